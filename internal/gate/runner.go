package gate

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// Meta is what the policy says about a gate, besides its kind's settings.
type Meta struct {
	// ID is the gate's unique id in the policy.
	ID string
	// Kind is the gate kind, e.g. "command".
	Kind string
	// Group is the checklist group, used by --only.
	Group string
	// Required gates block the release.
	Required bool
	// Needs lists gate ids that must pass before this gate runs.
	Needs []string
	// Timeout bounds the gate's evaluation; zero means no bound beyond ctx.
	Timeout time.Duration
	// Location is where the gate is declared.
	Location *Location
}

// Planned is a gate ready to run with its policy metadata.
type Planned struct {
	Meta
	Gate Gate
}

// Event is a progress notification from the runner.
type Event struct {
	// Gate is the gate's id.
	Gate string
	// Started is true when the gate starts, false when it finished.
	Started bool
	// Result is set when the gate finished.
	Result *Result
}

// Runner evaluates planned gates: independent gates concurrently, a gate
// after the gates it needs, results in policy order.
type Runner struct {
	// Concurrency bounds how many gates run at once; 0 means 4.
	Concurrency int
	// Progress, when set, is called as gates start and finish. It is called
	// from several goroutines.
	Progress func(Event)
	// Now returns the current time; tests replace it.
	Now func() time.Time
}

// Run evaluates every planned gate and returns one Result per gate, in the
// order given. It never returns fewer results than gates: a gate that could
// not run reports StatusError, a gate whose needs did not pass StatusSkip.
func (r *Runner) Run(ctx context.Context, plan []Planned) []Result {
	n := r.Concurrency
	if n <= 0 {
		n = 4
	}
	now := r.Now
	if now == nil {
		now = time.Now
	}
	index := make(map[string]int, len(plan))
	for i, p := range plan {
		index[p.ID] = i
	}
	results := make([]Result, len(plan))
	done := make([]chan struct{}, len(plan))
	for i := range done {
		done[i] = make(chan struct{})
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, p := range plan {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[i])
			var blocked []string
			for _, need := range p.Needs {
				j, ok := index[need]
				if !ok {
					blocked = append(blocked, need+" (not in this run)")
					continue
				}
				<-done[j]
				if s := results[j].Status; s != StatusPass && s != StatusWarn {
					blocked = append(blocked, fmt.Sprintf("%s (%s)", need, s))
				}
			}
			if len(blocked) > 0 {
				t := now()
				res := skipped(p, blocked, t)
				results[i] = res
				r.notify(Event{Gate: p.ID, Result: &res})
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = errored(p, fmt.Errorf("not started: %w", Stopped(ctx)), now(), now())
				return
			}
			defer func() { <-sem }()
			if ctx.Err() != nil { // both were ready: a stopped run starts nothing new
				results[i] = errored(p, fmt.Errorf("not started: %w", Stopped(ctx)), now(), now())
				return
			}
			r.notify(Event{Gate: p.ID, Started: true})
			res, _ := runOne(ctx, p, now)
			results[i] = res
			r.notify(Event{Gate: p.ID, Result: &res})
		}()
	}
	wg.Wait()
	return results
}

// RunOne evaluates one planned gate under the same rules as Run (timeout,
// panics, nil results, the verdict rules, a stopped run starts nothing) and
// also returns why it could not be evaluated: the error its Run returned
// (wrapped with why the run stopped, when it did) or the runner's reason.
// The error is nil when the gate returned a Result, even one whose status is
// error. Commands that evaluate a single gate use the cause to choose an
// exit code (bad input is not a failure to evaluate). Needs are not
// consulted: a single gate has nothing to wait for.
func (r *Runner) RunOne(ctx context.Context, p Planned) (Result, error) {
	now := r.Now
	if now == nil {
		now = time.Now
	}
	if ctx.Err() != nil {
		err := fmt.Errorf("not started: %w", Stopped(ctx))
		return errored(p, err, now(), now()), err
	}
	r.notify(Event{Gate: p.ID, Started: true})
	res, err := runOne(ctx, p, now)
	r.notify(Event{Gate: p.ID, Result: &res})
	return res, err
}

func (r *Runner) notify(e Event) {
	if r.Progress != nil {
		r.Progress(e)
	}
}

// runOne runs a gate with its timeout, turning panics, errors and empty
// results into StatusError results, and returns why: the error is set when
// the gate could not be evaluated (its Run failed, it panicked, returned
// nothing or broke the verdict rules), nil when it returned a Result, even
// one whose checks or declared status are errors.
func runOne(ctx context.Context, p Planned, now func() time.Time) (res Result, cause error) {
	start := now()
	if p.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.Timeout)
		defer cancel()
	}
	defer func() {
		if v := recover(); v != nil {
			cause = fmt.Errorf("gate panicked: %v\n%s", v, debug.Stack())
			res = errored(p, cause, start, now())
		}
	}()
	out, err := p.Gate.Run(ctx)
	end := now()
	if err != nil {
		// Say why the gate was stopped, first: a gate that saw its context
		// end may call it a timeout when the run was in fact cancelled.
		if stop := Stopped(ctx); stop != nil && !errors.Is(err, ErrCancelled) && (errors.Is(stop, ErrCancelled) || !errors.Is(err, ErrTimeout)) {
			err = fmt.Errorf("%w after %s: %w", stop, end.Sub(start).Round(time.Millisecond), err)
		}
		r := errored(p, err, start, end)
		if out != nil {
			r.Checks, r.Inputs, r.Details = out.Checks, out.Inputs, out.Details
		}
		return r, err
	}
	if out == nil {
		err := errors.New("gate returned no result; this is a bug in the gate")
		return errored(p, err, start, end), err
	}
	res = *out
	if err := judge(&res); err != nil {
		return errored(p, err, start, end), err
	}
	stamp(&res, p, start, end)
	return res, nil
}

// judge applies the verdict rules no gate can opt out of: the checks are
// always folded, and the Result keeps the worse of the status the gate
// declared and the folded one. A gate that declares pass over a failing
// check fails; one that judged nothing (no checks) fails, whatever it
// declared; an unknown status, declared or on a check, is an error.
func judge(res *Result) error {
	declared := res.Status
	if declared != "" && !declared.Valid() {
		return fmt.Errorf("gate returned unknown status %q; this is a bug in the gate", declared)
	}
	for i, c := range res.Checks {
		if !c.Status.Valid() {
			return fmt.Errorf("check %d (%s) has unknown status %q; this is a bug in the gate", i, c.Name, c.Status)
		}
	}
	if len(res.Checks) == 0 && declared != StatusFail && declared != StatusError {
		// Fold fails it; say why, keeping what the gate said.
		summary := res.Summary
		res.Summary = "no checks were evaluated; expected at least one"
		if summary != "" {
			res.Summary += " (the gate reported: " + summary + ")"
		}
	}
	folded := res.Fold()
	if declared != "" && declared.Worse(folded) || declared == StatusError {
		// The gate's own verdict is worse; or it could not evaluate, which
		// stays an error (exit 3) even with no checks to fold.
		res.Status = declared
	}
	return nil
}

func stamp(r *Result, p Planned, start, end time.Time) {
	r.Schema = SchemaVersion
	r.Gate = p.ID
	r.Kind = p.Kind
	r.Group = p.Group
	r.Required = p.Required
	r.Location = p.Location
	r.StartedAt = start.UTC()
	r.FinishedAt = end.UTC()
	r.DurationMS = end.Sub(start).Milliseconds()
	if r.Checks == nil {
		r.Checks = []Check{}
	}
}

func errored(p Planned, err error, start, end time.Time) Result {
	r := Result{Status: StatusError, Error: err.Error(),
		Summary: "could not evaluate: " + err.Error()}
	if errors.Is(err, ErrNotImplemented) {
		r.Summary = fmt.Sprintf("gate kind %q is not implemented in this build; it cannot pass", p.Kind)
	}
	stamp(&r, p, start, end)
	return r
}

func skipped(p Planned, blocked []string, t time.Time) Result {
	r := Result{Status: StatusSkip,
		Summary: fmt.Sprintf("not run: needs %v, which did not pass", blocked)}
	stamp(&r, p, t, t)
	return r
}

// Errored builds the Result for a gate that could not be evaluated; the CLI
// uses it for gates that fail to build from the policy.
func Errored(m Meta, err error, at time.Time) Result {
	return errored(Planned{Meta: m}, err, at, at)
}
