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

func runCmd(ctx context.Context, o *IO, args []string) int {
	c, _ := lookup("run")
	fs := o.NewFlagSet(c)
	var ro RunOptions
	var only string
	fs.StringVar(&ro.Policy, "policy", policy.DefaultPath, "policy file")
	fs.StringVar(&only, "only", "", "comma-separated groups or gate ids to run (default: all)")
	fs.IntVar(&ro.Concurrency, "concurrency", 0, "gates to run at once (default: the policy's defaults.concurrency, or 4)")
	fs.BoolVar(&ro.Quiet, "quiet", false, "no progress on stderr")
	addOutputFlags(fs, &ro.Output)
	if code, ok := Parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(o.Stderr, "releasegate run: unexpected arguments %q; the policy is given with --policy\n", fs.Args())
		return ExitBadInput
	}
	for _, s := range strings.Split(only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			ro.Only = append(ro.Only, s)
		}
	}
	return RunPolicy(ctx, o, ro)
}

// RunPolicy loads the policy, builds its gates, runs them and emits the
// results. Nothing runs when the policy or any gate's settings are bad.
func RunPolicy(ctx context.Context, o *IO, ro RunOptions) int {
	if err := ro.Output.validate(); err != nil {
		fmt.Fprintf(o.Stderr, "releasegate: %v\n", err)
		return ExitBadInput
	}
	p, code := o.loadPolicy(ro.Policy)
	if p == nil {
		return code
	}
	o.Redact(p.Secrets) // masks them in Actions too (::add-mask::)
	gates, err := p.Select(ro.Only)
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate: %v\n", err)
		return ExitBadInput
	}
	if len(gates) == 0 {
		// Only checklist groups this policy has no gate in: nothing to judge,
		// which the release workflow shows as a skipped group, not a failure.
		o.Logf("releasegate: the policy has no gate in %s; nothing to judge (skip)", strings.Join(ro.Only, ", "))
		ro.Output.Policy, ro.Output.Release = gate.Input{Name: p.File, Digest: p.Digest}, releaseOf(p.Release)
		return EmitReport(ctx, o, ro.Output, &gate.Report{Schema: gate.SchemaVersion, Status: gate.StatusSkip, Policy: ro.Output.Policy,
			Tool: "releasegate " + ToolVersion(), Results: []gate.Result{}})
	}
	plan, code := buildPlan(o, p, gates)
	if plan == nil {
		return code
	}
	if code := ro.Output.prepare(o); code != ExitOK { // results must be writable before any gate runs
		return code
	}
	conc := ro.Concurrency
	if conc == 0 {
		conc = p.Defaults.Concurrency
	}
	runner := &gate.Runner{Concurrency: conc}
	if !ro.Quiet {
		runner.Progress = progress(o)
	}
	if !ro.Quiet {
		o.Logf("releasegate %s: %d gate(s) from %s", ToolVersion(), len(plan), p.File)
	}
	results := runner.Run(ctx, plan)
	if stop := gate.Stopped(ctx); errors.Is(stop, gate.ErrCancelled) {
		o.Logf("releasegate: the run was %v; gates that had not finished are status error; writing the results", stop)
	}
	ro.Output.Policy, ro.Output.Release = gate.Input{Name: p.File, Digest: p.Digest}, releaseOf(p.Release)
	return Emit(ctx, o, ro.Output, results)
}

// buildPlan turns policy gates into runnable gates. Every gate that cannot
// be built is reported before returning; then nothing runs.
func buildPlan(o *IO, p *policy.Policy, gates []policy.Gate) ([]gate.Planned, int) {
	env := gate.Env{PolicyDir: p.Dir(), Getenv: o.Getenv, Logf: o.Logf, Redact: o.redactor().String}
	var plan []gate.Planned
	bad := 0
	for _, g := range gates {
		k, _ := gate.Lookup(g.Kind) // the policy package has checked the kind
		m := p.Meta(g)
		gt, err := k.New(m, g.Spec, env)
		if err != nil {
			fmt.Fprintf(o.Stderr, "%s: gate %s: %v\n", g.Location, g.ID, err)
			bad++
			continue
		}
		plan = append(plan, gate.Planned{Meta: m, Gate: gt})
	}
	if bad > 0 {
		fmt.Fprintf(o.Stderr, "%d gate(s) could not be built; nothing was run\n", bad)
		return nil, ExitBadInput
	}
	return plan, ExitOK
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
