package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// The commands in cmd_ledger*.go and cmd_slo.go still return exit codes
// and print their own errors; they are being rewritten on other branches.
// Converting one is a signature change: return error instead of int, drop
// legacy() from its commandTable entry, and use parseFlags, openPolicy,
// emit and runPolicy instead of the helpers below. Delete this file when
// the last of them is converted.

// legacy adapts a command that returns an exit code to Command.Run.
func legacy(run func(ctx context.Context, o *IO, args []string) int) func(context.Context, *IO, []string) error {
	return func(ctx context.Context, o *IO, args []string) error {
		return codeOnly(run(ctx, o, args))
	}
}

// Parse parses args; it returns (code, false) when the command must stop:
// ExitOK after --help, ExitBadInput after a flag error.
func Parse(fs *flag.FlagSet, args []string) (int, bool) {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK, false
	}
	if err != nil {
		return ExitBadInput, false
	}
	return 0, true
}

// loadPolicy loads a policy, printing every problem on failure.
func (o *IO) loadPolicy(path string) (*policy.Policy, int) {
	p, err := o.openPolicy(path)
	if err != nil {
		return nil, o.exitFor("releasegate", err)
	}
	return p, ExitOK
}

// Emit is emit for the commands that return exit codes.
func Emit(ctx context.Context, o *IO, opts OutputOptions, results []gate.Result) int {
	return o.exitFor("releasegate", emit(ctx, o, opts, results))
}

// RunPolicy is runPolicy for the commands that return exit codes.
func RunPolicy(ctx context.Context, o *IO, ro RunOptions) int {
	return o.exitFor("releasegate", runPolicy(ctx, o, ro))
}

// badInput prints err and returns the exit code for bad input.
func badInput(o *IO, cmd string, err error) int {
	fmt.Fprintf(o.Stderr, "releasegate %s: %v\n", cmd, err)
	return ExitBadInput
}

// prepare is check for the commands that return exit codes: it prints the
// problem and returns ExitBadInput, or ExitOK.
func (opts OutputOptions) prepare(o *IO) int {
	if err := opts.check(o); err != nil {
		fmt.Fprintf(o.Stderr, "releasegate: %v\n", err)
		return ExitBadInput
	}
	return ExitOK
}
