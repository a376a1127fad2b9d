package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/release"
)

// Exit codes and what a command returns. A command returns an error; Main
// maps it to the exit code and the message on stderr in one place
// (exitFor):
//
//   - nil, or flag.ErrHelp after --help: 0;
//   - a *verdictError, a verdict the report already shows: 1 when a gate
//     failed, 3 when one could not be evaluated, nothing printed;
//   - an exitCode, a code whose reason is already on stderr (a flag error
//     the flag package printed; the usage printed for a missing
//     subcommand): that code, nothing printed;
//   - an error matching gate.ErrBadInput (a *gate.InputError, policy
//     errors, an unreadable or oversized input file, inputf): 2, printed;
//   - any other error: 3 (could not evaluate), printed.
//
// Errors are printed once, as "releasegate COMMAND [SUBCOMMAND]: message";
// policy errors and gates that could not be built print one located
// problem per line (file:line:col: …) and a count.

// verdictError is a verdict that blocks the release: the report on stdout
// already says why.
type verdictError struct{ status gate.Status }

func (e *verdictError) Error() string { return "the verdict is " + string(e.status) }

// verdict returns nil for a verdict that lets the release go (pass, warn,
// skip) and a *verdictError otherwise.
func verdict(s gate.Status) error {
	if exitForStatus(s) == ExitOK {
		return nil
	}
	return &verdictError{status: s}
}

// exitCode is an exit code whose reason is already on stderr.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// inputError is bad input (exit 2) that says itself what is wrong: it adds
// nothing to the message of the error it marks.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }

func (e *inputError) Unwrap() error { return e.err }

// Is makes every inputError match gate.ErrBadInput.
func (e *inputError) Is(target error) bool { return target == gate.ErrBadInput }

// inputf formats a bad-input error (exit 2), wrapping a %w argument.
func inputf(format string, args ...any) error {
	return &inputError{err: fmt.Errorf(format, args...)}
}

// asInput marks err as bad input unless it already is (or is nil).
func asInput(err error) error {
	if err == nil || isBadInput(err) {
		return err
	}
	return &inputError{err: err}
}

func isBadInput(err error) bool {
	return errors.Is(err, gate.ErrBadInput) || errors.Is(err, fsx.ErrNotRegular) || errors.Is(err, fsx.ErrTooLarge)
}

// exitFor prints err, unless it was already explained, under prefix
// ("releasegate run") and returns the exit code for it.
func (o *IO) exitFor(prefix string, err error) int {
	var (
		code exitCode
		v    *verdictError
		pe   *policyErrors
		be   release.BuildErrors
	)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &v):
		return exitForStatus(v.status)
	case errors.As(err, &pe), errors.As(err, &be):
		fmt.Fprintln(o.Stderr, asFlags(err)) // file:line:col first, for editors
	default:
		fmt.Fprintf(o.Stderr, "%s: %v\n", prefix, asFlags(err))
	}
	return exitFor(err)
}

// fieldFlags are the settings the domain packages name in their errors
// that a command sets with a flag.
var fieldFlags = map[string]string{"only": "--only", "enforce": "--enforce", "tenant": "--tenant"}

// asFlags words err for the command line: the setting a domain error names
// (a *gate.InputError's Input) becomes the flag that sets it. Errors stay
// matchable: the result unwraps to err.
func asFlags(err error) error {
	var ie *gate.InputError
	if !errors.As(err, &ie) {
		return err
	}
	flag, ok := fieldFlags[ie.Input]
	if !ok {
		return err
	}
	return &flagError{msg: strings.Replace(err.Error(), ie.Error(), flag+": "+ie.Err.Error(), 1), err: err}
}

// flagError is an error reworded by asFlags.
type flagError struct {
	msg string
	err error
}

func (e *flagError) Error() string { return e.msg }

func (e *flagError) Unwrap() error { return e.err }

// exitFor maps an error from a domain package to an exit code: bad input
// is 2, anything else means the gate could not be evaluated (3).
func exitFor(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case isBadInput(err):
		return ExitBadInput
	}
	return ExitError
}

// exitForStatus maps a verdict to an exit code.
func exitForStatus(s gate.Status) int {
	switch s {
	case gate.StatusPass, gate.StatusWarn, gate.StatusSkip:
		return ExitOK
	case gate.StatusError:
		return ExitError
	}
	return ExitFail
}

// parseFlags parses args. After --help it returns flag.ErrHelp (exit 0);
// after a flag error, which the flag package printed with the usage, an
// exitCode of ExitBadInput.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, flag.ErrHelp):
		return flag.ErrHelp
	}
	return exitCode(ExitBadInput)
}

// noArgs refuses positional arguments a command does not take; hint says
// what to do instead, e.g. "the policy is given with --policy".
func noArgs(fs *flag.FlagSet, hint string) error {
	if fs.NArg() == 0 {
		return nil
	}
	if hint != "" {
		hint = "; " + hint
	}
	return inputf("unexpected arguments %q%s", fs.Args(), hint)
}

// policyErrors are every problem in a policy file, one per line with its
// position, and a count; nothing was run.
type policyErrors struct {
	path string
	errs policy.Errors
}

func (e *policyErrors) Error() string {
	s := ""
	for _, err := range e.errs {
		s += err.Error() + "\n"
	}
	return s + fmt.Sprintf("%d problem(s) in %s; nothing was run", len(e.errs), e.path)
}

func (e *policyErrors) Unwrap() error { return e.errs }

// openPolicy loads a policy; its problems come back all at once as
// *policyErrors (bad input).
func (o *IO) openPolicy(path string) (*policy.Policy, error) {
	p, err := policy.Load(path, policy.Options{LookupEnv: o.LookupEnv})
	if err != nil {
		var pe policy.Errors
		if errors.As(err, &pe) {
			return nil, &policyErrors{path: path, errs: pe}
		}
		return nil, err
	}
	o.Redact(p.Secrets) // masks them in Actions too (::add-mask::)
	return p, nil
}
