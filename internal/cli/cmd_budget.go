package cli

import (
	"context"
	"flag"

	"github.com/maestro-conductor/releasegate/internal/gate"
	budgetgate "github.com/maestro-conductor/releasegate/internal/gates/budget"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/release"
)

const ciBudgetUsage = `Usage:
  releasegate ci-budget [--policy FILE] [--gate ID] [--usage-file CSV] [--enforce] [--format text|json|markdown] [--out DIR]

Evaluates the policy's ci-budget gates: each tenant's CI spend this period
(jobs rounded up to whole minutes × the price table, or a GitHub usage report)
against its budget, warning levels and grace. A tenant over budget and past
grace fails, and its unprotected workflows are throttled: without --enforce
this is a dry run that says exactly which runs would be cancelled and which
workflows disabled; with --enforce it acts through the GitHub API and
re-enables what it disabled once the tenant is back under budget. Every
action and webhook delivery is recorded in the result.

--usage-file replaces the gate's source with a usage report export, so the
same policy runs offline.

Example:
  releasegate ci-budget --policy examples/budget/policy.yml
  GITHUB_TOKEN=... releasegate ci-budget --policy .github/release-policy.yml --enforce
`

const forecastUsage = `Usage:
  releasegate forecast --tenant T [--hours 24] [--assert-drift 0.05] [--policy FILE] [--gate ID] [--usage-file CSV]

Backtests the tenant's CI spend forecast: the last --hours hours are forecast
from the history before them only (seasonal naive, seasonal growth, simple
exponential smoothing and Holt-Winters, chosen by backtests on that history),
and the drift is reported as WAPE = Σ|forecast − actual| / Σ actual. An idle
tenant forecast idle has zero drift. Exits 1 when the drift is above
--assert-drift (default: the gate's forecast.max-drift).

The tenant, source and prices come from the policy's cost-forecast gate (or
its ci-budget gate when it has none).

Example:
  releasegate forecast --policy examples/budget/policy.yml --tenant globex --hours 24 --assert-drift 0.05
`

func withUsageFile(s budgetgate.Spec, file string) budgetgate.Spec {
	if file != "" {
		s.Source.UsageFile = file
		s.Source.GitHub = budgetgate.GitHub{}
	}
	return s
}

func ciBudgetCmd(ctx context.Context, o *IO, args []string) error {
	c, _ := lookup("ci-budget")
	fs := o.NewFlagSet(c)
	var (
		pol, id, usage string
		enforce        bool
		out            OutputOptions
	)
	fs.StringVar(&pol, "policy", policy.DefaultPath, "policy file")
	fs.StringVar(&id, "gate", "", "id of the ci-budget gate to run (default: all of them)")
	fs.StringVar(&usage, "usage-file", "", "read usage from this usage report CSV instead of the gate's source")
	fs.BoolVar(&enforce, "enforce", false, "throttle for real (cancel runs, disable and re-enable workflows); default is a dry run")
	addOutputFlags(fs, &out)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, ""); err != nil {
		return err
	}
	p, err := o.openPolicy(pol)
	if err != nil {
		return err
	}
	gates, err := release.Choose(p, release.Choice{IDs: splitList(id), Kinds: []string{budgetgate.KindBudget}, Doc: "docs/budget.md"})
	if err != nil {
		return err
	}
	opts := o.evaluateOptions(out, true)
	opts.Gates = gates
	opts.Build = func(g policy.Gate, m gate.Meta, env gate.Env) (gate.Planned, error) {
		gt, err := budgetgate.NewBudget(m, withUsageFile(*g.Spec.(*budgetgate.Spec), usage), env, budgetgate.Options{Enforce: enforce})
		return gate.Planned{Meta: m, Gate: gt}, err
	}
	rep, err := release.Evaluate(ctx, p, opts)
	if err != nil {
		return err
	}
	return emitReport(ctx, o, out, rep)
}

// forecastFlags are forecast's flags.
type forecastFlags struct {
	pol, id, usage string
	drift          budgetgate.Drift
	out            OutputOptions
}

func forecastCmd(ctx context.Context, o *IO, args []string) error {
	f, err := parseForecast(o, args)
	if err != nil {
		return err
	}
	p, err := o.openPolicy(f.pol)
	if err != nil {
		return err
	}
	gates, err := release.Choose(p, release.Choice{IDs: splitList(f.id), Kinds: []string{budgetgate.KindForecast, budgetgate.KindBudget}, Doc: "docs/budget.md"})
	if err != nil {
		return err
	}
	g := gates[0]
	for _, x := range gates { // prefer a cost-forecast gate
		if x.Kind == budgetgate.KindForecast {
			g = x
			break
		}
	}
	opts := o.evaluateOptions(f.out, true)
	opts.Gates = []policy.Gate{g}
	opts.Build = func(g policy.Gate, m gate.Meta, env gate.Env) (gate.Planned, error) {
		return budgetgate.PlanDrift(m, withUsageFile(*g.Spec.(*budgetgate.Spec), f.usage), env, f.drift)
	}
	rep, err := release.Evaluate(ctx, p, opts)
	if err != nil {
		return err
	}
	return emitReport(ctx, o, f.out, rep)
}

// parseForecast parses and checks forecast's flags.
func parseForecast(o *IO, args []string) (*forecastFlags, error) {
	c, _ := lookup("forecast")
	fs := o.NewFlagSet(c)
	var f forecastFlags
	d := &f.drift
	fs.StringVar(&f.pol, "policy", policy.DefaultPath, "policy file")
	fs.StringVar(&f.id, "gate", "", "id of the cost-forecast (or ci-budget) gate whose tenants and source to use")
	fs.StringVar(&f.usage, "usage-file", "", "read usage from this usage report CSV instead of the gate's source")
	fs.StringVar(&d.Tenant, "tenant", "", "the tenant to backtest (required)")
	fs.IntVar(&d.Hours, "hours", 24, "how many final hours to forecast from the history before them")
	fs.Float64Var(&d.MaxDrift, "assert-drift", 0, "the largest WAPE accepted, e.g. 0.05 (default: the gate's forecast.max-drift)")
	addOutputFlags(fs, &f.out)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	fs.Visit(func(fl *flag.Flag) { d.MaxDriftSet = d.MaxDriftSet || fl.Name == "assert-drift" })
	switch {
	case fs.NArg() > 0:
		return nil, noArgs(fs, "")
	case d.Tenant == "":
		return nil, inputf("--tenant is required; name a tenant of the policy's cost gates")
	case d.Hours <= 0 || d.Hours > 24*31:
		return nil, inputf("--hours %d: expected 1 to 744", d.Hours)
	case d.MaxDrift < 0 || d.MaxDrift != d.MaxDrift:
		return nil, inputf("--assert-drift %v: expected a non-negative ratio such as 0.05", d.MaxDrift)
	}
	return &f, nil
}
