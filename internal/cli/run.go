package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/release"
)

const runUsage = `Usage: releasegate run [--policy FILE] [--only GROUP,…] [--format text|json|markdown] [--out DIR]

Evaluates every gate of the policy — independent gates concurrently, a gate
after the gates it needs — prints the results and exits with the verdict.
Results go to stdout, progress to stderr. Inside GitHub Actions it also sets
the status and result outputs, writes the step summary, annotates the
policy lines of failed checks and posts a status check per gate.

Exit codes: 0 passed (warnings allowed) · 1 a gate failed · 2 bad input ·
3 a gate could not be evaluated.

Example:
  releasegate run --policy .github/release-policy.yml --only provenance,slo --out results/
`

// RunOptions are the settings of one policy run.
type RunOptions struct {
	Policy      string
	Only        []string
	Output      OutputOptions
	Concurrency int
	Quiet       bool
}

func runCmd(ctx context.Context, o *IO, args []string) error {
	c, _ := lookup("run")
	fs := o.NewFlagSet(c)
	var ro RunOptions
	var only string
	fs.StringVar(&ro.Policy, "policy", policy.DefaultPath, "policy file")
	fs.StringVar(&only, "only", "", "comma-separated groups or gate ids to run (default: all)")
	fs.IntVar(&ro.Concurrency, "concurrency", 0, "gates to run at once (default: the policy's defaults.concurrency, or 4)")
	fs.BoolVar(&ro.Quiet, "quiet", false, "no progress on stderr")
	addOutputFlags(fs, &ro.Output)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, "the policy is given with --policy"); err != nil {
		return err
	}
	ro.Only = splitList(only)
	return runPolicy(ctx, o, ro)
}

// runPolicy loads the policy and evaluates it (release.Evaluate), then
// emits the report. Nothing runs when the policy or any gate's settings
// are bad, or when the results could not be written.
func runPolicy(ctx context.Context, o *IO, ro RunOptions) error {
	if err := ro.Output.validate(); err != nil {
		return asInput(err)
	}
	p, err := o.openPolicy(ro.Policy)
	if err != nil {
		return err
	}
	opts := o.evaluateOptions(ro.Output, ro.Quiet)
	opts.Only, opts.Concurrency = ro.Only, ro.Concurrency
	ready := opts.Ready
	opts.Ready = func(n int) error {
		if err := ready(n); err != nil {
			return err
		}
		if !ro.Quiet {
			o.Logf("releasegate %s: %d gate(s) from %s", toolVersion(), n, p.File)
		}
		return nil
	}
	rep, err := release.Evaluate(ctx, p, opts)
	if err != nil {
		return err
	}
	if len(rep.Results) == 0 {
		// Only checklist groups this policy has no gate in: nothing to judge,
		// which the release workflow shows as a skipped group, not a failure.
		o.Logf("releasegate: the policy has no gate in %s; nothing to judge (skip)", strings.Join(ro.Only, ", "))
	}
	if stop := gate.Stopped(ctx); errors.Is(stop, gate.ErrCancelled) {
		o.Logf("releasegate: the run was %v; gates that had not finished are status error; writing the results", stop)
	}
	return emitReport(ctx, o, ro.Output, rep)
}

// evaluateOptions are the release.Options every command starts from: the
// gates' environment, the tool's name, progress unless quiet, and a check
// that the results can be written before any gate runs.
func (o *IO) evaluateOptions(out OutputOptions, quiet bool) release.Options {
	opts := release.Options{
		Env:  gate.Env{Getenv: o.Getenv, Logf: o.Logf, Redact: o.redactor().String},
		Tool: "releasegate " + toolVersion(),
		// results must be writable before any gate runs
		Ready: func(int) error { return out.check(o) },
	}
	if !quiet {
		opts.Progress = progress(o)
	}
	return opts
}

// progress prints one line when a gate starts and one when it ends.
func progress(o *IO) func(gate.Event) {
	var mu sync.Mutex
	start := time.Now()
	return func(e gate.Event) {
		mu.Lock()
		defer mu.Unlock()
		el := time.Since(start).Round(100 * time.Millisecond)
		if e.Started {
			fmt.Fprintf(o.Stderr, "[%6s] ▶ %s\n", el, e.Gate)
			return
		}
		fmt.Fprintf(o.Stderr, "[%6s] %s %s: %s\n", el, e.Result.Status.Symbol(), e.Gate, e.Result.Summary)
	}
}
