// Package release evaluates a policy: it selects the gates, builds every
// one of them before any runs, hands them to gate.Runner, which judges, and
// assembles the Report. It also merges the shards of a sharded synthetic
// run into one Report. The commands in internal/cli parse their flags,
// call one function here and print what it returns.
package release

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// Options are the settings of one evaluation.
type Options struct {
	// Only keeps the gates in these groups or with these ids
	// (policy.Select); empty keeps every gate. Ignored when Gates is set.
	Only []string
	// Gates, when set, are the policy's gates to evaluate, already chosen
	// by the caller (the gates of one kind, say).
	Gates []policy.Gate
	// Build, when set, builds a chosen gate instead of its kind's New: a
	// command that overrides settings (ci-budget's usage file) or plans a
	// different gate over them (forecast's drift backtest).
	Build func(g policy.Gate, m gate.Meta, env gate.Env) (gate.Planned, error)
	// Env is what the gates may use from the run; PolicyDir is set to the
	// policy's directory.
	Env gate.Env
	// Concurrency bounds the gates run at once; 0 means the policy's
	// defaults.concurrency.
	Concurrency int
	// Progress, when set, hears when each gate starts and ends.
	Progress func(gate.Event)
	// Ready, when set, is called once every gate was built and before any
	// runs, with their number; an error stops the evaluation before
	// anything ran (results that could not be written, say).
	Ready func(gates int) error
	// Tool names the tool in the report, e.g. "releasegate v1.2.3".
	Tool string
}

// GateError says why one gate of the policy could not be built.
type GateError struct {
	// Gate is the policy's gate.
	Gate policy.Gate
	// Err is the reason.
	Err error
}

func (e *GateError) Error() string {
	return fmt.Sprintf("%s: gate %s: %v", e.Gate.Location, e.Gate.ID, e.Err)
}

// Unwrap returns the reason.
func (e *GateError) Unwrap() error { return e.Err }

// BuildErrors are every gate that could not be built; then nothing ran.
// They match gate.ErrBadInput.
type BuildErrors []*GateError

func (e BuildErrors) Error() string {
	lines := make([]string, 0, len(e)+1)
	for _, g := range e {
		lines = append(lines, g.Error())
	}
	lines = append(lines, fmt.Sprintf("%d gate(s) could not be built; nothing was run", len(e)))
	return strings.Join(lines, "\n")
}

// Is makes BuildErrors match gate.ErrBadInput: a gate's settings are input.
func (e BuildErrors) Is(target error) bool { return target == gate.ErrBadInput }

// Unwrap returns each gate's error.
func (e BuildErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, g := range e {
		out[i] = g
	}
	return out
}

// Evaluate runs the policy's chosen gates and returns the Report. It
// returns an error, and runs nothing, when the selection names no such
// group or gate, when any gate cannot be built (BuildErrors) or when
// opts.Ready refuses; all of these match gate.ErrBadInput unless Ready's
// error says otherwise. A selection with no gate at all is a skip report:
// the release workflow shows it as a skipped group, not a failure. Gates
// that could not finish (ctx cancelled) are status error in the report.
func Evaluate(ctx context.Context, p *policy.Policy, opts Options) (*gate.Report, error) {
	gates := opts.Gates
	if gates == nil {
		var err error
		if gates, err = p.Select(opts.Only); err != nil {
			return nil, err
		}
	}
	if len(gates) == 0 {
		rep := &gate.Report{Schema: gate.SchemaVersion, Status: gate.StatusSkip, Policy: policyInput(p),
			Tool: opts.Tool, Release: releaseOf(p.Release), Results: []gate.Result{}}
		return rep, nil
	}
	plan, err := plan(p, gates, opts)
	if err != nil {
		return nil, err
	}
	if opts.Ready != nil {
		if err := opts.Ready(len(plan)); err != nil {
			return nil, err
		}
	}
	conc := opts.Concurrency
	if conc == 0 {
		conc = p.Defaults.Concurrency
	}
	runner := &gate.Runner{Concurrency: conc, Progress: opts.Progress}
	rep := NewReport(policyInput(p), runner.Run(ctx, plan), opts.Tool)
	rep.Release = releaseOf(p.Release)
	return rep, nil
}

// plan builds the given gates of p, each by opts.Build or its kind's New.
// Every gate that cannot be built is in the returned BuildErrors.
func plan(p *policy.Policy, gates []policy.Gate, opts Options) ([]gate.Planned, error) {
	env := opts.Env
	env.PolicyDir = p.Dir()
	var plan []gate.Planned
	var bad BuildErrors
	for _, g := range gates {
		pl, err := build(p, g, env, opts.Build)
		if err != nil {
			bad = append(bad, &GateError{Gate: g, Err: err})
			continue
		}
		plan = append(plan, pl)
	}
	if len(bad) > 0 {
		return nil, bad
	}
	return plan, nil
}

func build(p *policy.Policy, g policy.Gate, env gate.Env, with func(policy.Gate, gate.Meta, gate.Env) (gate.Planned, error)) (gate.Planned, error) {
	m := p.Meta(g)
	if with != nil {
		return with(g, m, env)
	}
	k, ok := gate.Lookup(g.Kind)
	if !ok { // the policy package checks kinds; a policy built by hand may not
		return gate.Planned{}, &gate.InputError{Input: "kind " + g.Kind, Err: errors.New("no such gate kind in this build; see releasegate kinds")}
	}
	gt, err := k.New(m, g.Spec, env)
	if err != nil {
		return gate.Planned{}, err
	}
	return gate.Planned{Meta: m, Gate: gt}, nil
}

// NewReport assembles a Report from results: the verdict, the policy, the
// tool and the span of the results' timings.
func NewReport(pol gate.Input, results []gate.Result, tool string) *gate.Report {
	rep := &gate.Report{Schema: gate.SchemaVersion, Status: gate.Verdict(results), Policy: pol,
		Tool: tool, Results: results}
	if rep.Results == nil {
		rep.Results = []gate.Result{}
	}
	for _, r := range results {
		if rep.StartedAt.IsZero() || r.StartedAt.Before(rep.StartedAt) {
			rep.StartedAt = r.StartedAt
		}
		if r.FinishedAt.After(rep.FinishedAt) {
			rep.FinishedAt = r.FinishedAt
		}
	}
	return rep
}

func policyInput(p *policy.Policy) gate.Input {
	return gate.Input{Name: p.File, Digest: p.Digest}
}

// releaseOf is the policy's release section for the report, nil when the
// policy names nothing.
func releaseOf(r policy.Release) *gate.Release {
	if r == (policy.Release{}) {
		return nil
	}
	return &gate.Release{Name: r.Name, Version: r.Version, Repository: r.Repository}
}
