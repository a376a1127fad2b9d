package gate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

type fakeGate struct {
	id    string
	run   func(ctx context.Context) (*Result, error)
	calls atomic.Int32
}

func (f *fakeGate) Name() string { return f.id }
func (f *fakeGate) Run(ctx context.Context) (*Result, error) {
	f.calls.Add(1)
	return f.run(ctx)
}

func withStatus(s Status) func(context.Context) (*Result, error) {
	return func(context.Context) (*Result, error) {
		return &Result{Checks: []Check{{Name: "c", Status: s, Message: "m"}}}, nil
	}
}

func plan(id string, run func(context.Context) (*Result, error), needs ...string) Planned {
	return Planned{Meta: Meta{ID: id, Kind: "fake", Required: true, Needs: needs}, Gate: &fakeGate{id: id, run: run}}
}

func TestRunner(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		plan []Planned
		want []Status
		msg  string // substring of the last result's summary
	}{
		{"a passing gate passes", []Planned{plan("a", withStatus(StatusPass))}, []Status{StatusPass}, ""},
		{"a gate with no checks fails", []Planned{plan("a", func(context.Context) (*Result, error) { return &Result{}, nil })},
			[]Status{StatusFail}, "no checks"},
		{"an error from a gate is status error", []Planned{plan("a", func(context.Context) (*Result, error) {
			return nil, errors.New("prometheus: connection refused")
		})}, []Status{StatusError}, "connection refused"},
		{"a nil result without error is an error", []Planned{plan("a", func(context.Context) (*Result, error) { return nil, nil })},
			[]Status{StatusError}, "no result"},
		{"a panic is status error", []Planned{plan("a", func(context.Context) (*Result, error) { panic("boom") })},
			[]Status{StatusError}, "panicked"},
		{"not implemented never passes", []Planned{plan("a", func(context.Context) (*Result, error) { return nil, ErrNotImplemented })},
			[]Status{StatusError}, "not implemented"},
		{"a gate after a failed need is skipped", []Planned{plan("a", withStatus(StatusFail)), plan("b", withStatus(StatusPass), "a")},
			[]Status{StatusFail, StatusSkip}, "did not pass"},
		{"a gate after a passing need runs", []Planned{plan("a", withStatus(StatusPass)), plan("b", withStatus(StatusWarn), "a")},
			[]Status{StatusPass, StatusWarn}, ""},
		{"a need outside the run skips", []Planned{plan("b", withStatus(StatusPass), "a")}, []Status{StatusSkip}, "not in this run"},
		{"passes mixed with skips warn", []Planned{plan("a", func(context.Context) (*Result, error) {
			return &Result{Checks: []Check{{Status: StatusPass}, {Status: StatusSkip}}}, nil
		})}, []Status{StatusWarn}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := (&Runner{}).Run(context.Background(), tt.plan)
			if len(res) != len(tt.want) {
				t.Fatalf("got %d results, want %d", len(res), len(tt.want))
			}
			for i, r := range res {
				if r.Status != tt.want[i] {
					t.Errorf("result %d (%s) status = %s, want %s (summary %q)", i, r.Gate, r.Status, tt.want[i], r.Summary)
				}
				if r.Schema != SchemaVersion || r.Gate != tt.plan[i].ID || r.Checks == nil {
					t.Errorf("result %d not stamped: %+v", i, r)
				}
			}
			if last := res[len(res)-1]; !strings.Contains(last.Summary, tt.msg) {
				t.Errorf("summary %q does not contain %q", last.Summary, tt.msg)
			}
		})
	}
}

// TestRunnerTimeout runs in a synctest bubble: the gate's deadline passes
// on the bubble's clock, exactly, without waiting for it.
func TestRunnerTimeout(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		p := plan("slow", func(ctx context.Context) (*Result, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		})
		p.Timeout = 50 * time.Millisecond
		start := time.Now()
		res := (&Runner{}).Run(t.Context(), []Planned{p})
		if res[0].Status != StatusError || !strings.Contains(res[0].Error, "timed out") {
			t.Fatalf("status %s error %q, want error with timed out", res[0].Status, res[0].Error)
		}
		if el := time.Since(start); el != p.Timeout || res[0].DurationMS != 50 {
			t.Errorf("the gate ended after %s (duration %d ms), want exactly its 50ms timeout", el, res[0].DurationMS)
		}
	})
}

// TestRunnerCancelled: a run cancelled from outside (a signal) ends every
// gate as status error saying it was cancelled and why, never "timed out".
func TestRunnerCancelled(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testRunnerCancelled)
}

func testRunnerCancelled(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	started := make(chan struct{})
	var once sync.Once
	// whichever gate runs first blocks until the signal; the other is queued
	// behind it (concurrency 1) and must not start once the run is cancelled
	slow := func(ctx context.Context) (*Result, error) {
		once.Do(func() { close(started) })
		select {
		case <-ctx.Done(): // as many gates do: a context that ended is called a timeout
			return nil, fmt.Errorf("%w: %w", ErrTimeout, ctx.Err())
		case <-time.After(100 * time.Millisecond):
			return &Result{Checks: []Check{{Name: "c", Status: StatusPass, Message: "ran after the cancel"}}}, nil
		}
	}
	a, b := plan("a", slow), plan("b", slow)
	a.Timeout, b.Timeout = time.Hour, time.Hour
	go func() {
		<-started
		cancel(fmt.Errorf("%w by SIGHUP", ErrCancelled))
	}()
	res := (&Runner{Concurrency: 1}).Run(ctx, []Planned{a, b})
	for _, r := range res {
		if r.Status != StatusError {
			t.Errorf("%s: status %s, want error", r.Gate, r.Status)
		}
		if !strings.HasPrefix(r.Error, "cancelled by SIGHUP") && !strings.HasPrefix(r.Error, "not started: cancelled by SIGHUP") {
			t.Errorf("%s: error %q, want it to start saying cancelled by SIGHUP", r.Gate, r.Error)
		}
	}
}

func TestStopped(t *testing.T) {
	t.Parallel()
	if err := Stopped(context.Background()); err != nil {
		t.Errorf("live context: Stopped = %v, want nil", err)
	}
	dl, cancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer cancel()
	<-dl.Done()
	if err := Stopped(dl); !errors.Is(err, ErrTimeout) || errors.Is(err, ErrCancelled) {
		t.Errorf("deadline: Stopped = %v, want ErrTimeout only", err)
	}
	plain, cancelPlain := context.WithCancel(context.Background())
	cancelPlain()
	if err := Stopped(plain); !errors.Is(err, ErrCancelled) || errors.Is(err, ErrTimeout) {
		t.Errorf("plain cancel: Stopped = %v, want ErrCancelled", err)
	}
	// a gate's own timeout under a run cancelled by a signal: the signal wins
	parent, cancelParent := context.WithCancelCause(context.Background())
	child, cancelChild := context.WithTimeout(parent, time.Hour)
	defer cancelChild()
	cancelParent(fmt.Errorf("%w by SIGTERM", ErrCancelled))
	if err := Stopped(child); !errors.Is(err, ErrCancelled) || err.Error() != "cancelled by SIGTERM" {
		t.Errorf("signal: Stopped = %v, want cancelled by SIGTERM", err)
	}
}

// TestRunnerConcurrency runs in a synctest bubble: six gates of 30ms at
// concurrency 3 take exactly two rounds on the bubble's clock.
func TestRunnerConcurrency(t *testing.T) {
	t.Parallel()
	synctest.Test(t, testRunnerConcurrency)
}

func testRunnerConcurrency(t *testing.T) {
	var running, peak atomic.Int32
	run := func(context.Context) (*Result, error) {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond)
		running.Add(-1)
		return &Result{Checks: []Check{{Status: StatusPass}}}, nil
	}
	var ps []Planned
	for _, id := range []string{"a", "b", "c", "d", "e", "f"} {
		ps = append(ps, plan(id, run))
	}
	start := time.Now()
	(&Runner{Concurrency: 3}).Run(context.Background(), ps)
	if peak.Load() != 3 {
		t.Errorf("peak concurrency = %d, want 3", peak.Load())
	}
	if el := time.Since(start); el != 60*time.Millisecond {
		t.Errorf("6 gates of 30ms at concurrency 3 took %s, want 60ms; not concurrent", el)
	}
}

func TestVerdict(t *testing.T) {
	t.Parallel()
	r := func(s Status, req bool) Result { return Result{Status: s, Required: req} }
	tests := []struct {
		name string
		in   []Result
		want Status
	}{
		{"no results fail", nil, StatusFail},
		{"all pass", []Result{r(StatusPass, true), r(StatusPass, true)}, StatusPass},
		{"a required failure fails", []Result{r(StatusPass, true), r(StatusFail, true)}, StatusFail},
		{"a required error errors", []Result{r(StatusPass, true), r(StatusError, true)}, StatusError},
		{"fail outranks error", []Result{r(StatusError, true), r(StatusFail, true)}, StatusFail},
		{"an optional failure warns", []Result{r(StatusPass, true), r(StatusFail, false)}, StatusWarn},
		{"all skipped warns", []Result{r(StatusSkip, true)}, StatusWarn},
	}
	for _, tt := range tests {
		if got := Verdict(tt.in); got != tt.want {
			t.Errorf("%s: Verdict = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestValueJSON(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		v    Value
		want string
	}{{Number(1.5), "1.5"}, {Number(math.NaN()), `"NaN"`}, {Number(math.Inf(1)), `"+Inf"`}, {Int(7), "7"}, {Text("x"), `"x"`}, {Bool(true), "true"}} {
		b, err := tt.v.MarshalJSON()
		if err != nil || string(b) != tt.want {
			t.Errorf("MarshalJSON(%v) = %s, %v; want %s", tt.v, b, err, tt.want)
		}
		var back Value
		if err := back.UnmarshalJSON(b); err != nil {
			t.Errorf("UnmarshalJSON(%s): %v", b, err)
		}
	}
	if _, ok := Number(math.NaN()).Float(); ok {
		t.Error("NaN reported as a finite number")
	}
}

// TestRunnerOwnsTheVerdict feeds the runner gates that misbehave: whatever a
// gate declares, the runner folds its checks and keeps the worse status, so
// no gate can pass by forgetting to fold or by declaring pass over a failure.
func TestRunnerOwnsTheVerdict(t *testing.T) {
	t.Parallel()
	check := func(s Status) Check { return Check{Name: "c", Status: s, Message: "m"} }
	result := func(declared Status, summary string, cs ...Check) func(context.Context) (*Result, error) {
		return func(context.Context) (*Result, error) {
			return &Result{Status: declared, Summary: summary, Checks: cs}, nil
		}
	}
	cases := []struct {
		name    string
		run     func(context.Context) (*Result, error)
		timeout time.Duration
		want    Status
		summary string // a substring of the Summary, when set
		errText string // a substring of the Error, when set
	}{
		{name: "declared pass over a failing check fails", run: result(StatusPass, "all good", check(StatusPass), check(StatusFail)), want: StatusFail},
		{name: "declared pass with no checks fails and says why", run: result(StatusPass, "all good"), want: StatusFail,
			summary: "no checks were evaluated; expected at least one (the gate reported: all good)"},
		{name: "no status and no checks fails", run: result("", ""), want: StatusFail, summary: "no checks were evaluated"},
		{name: "declared pass over an errored check is an error", run: result(StatusPass, "", check(StatusError)), want: StatusError},
		{name: "declared pass over skips only is a skip", run: result(StatusPass, "", check(StatusSkip)), want: StatusSkip},
		{name: "passes mixed with skips warn", run: result("", "", check(StatusPass), check(StatusSkip)), want: StatusWarn},
		{name: "a declared fail over passing checks stays failed", run: result(StatusFail, "", check(StatusPass)), want: StatusFail},
		{name: "a declared error over passing checks stays an error", run: result(StatusError, "", check(StatusPass)), want: StatusError},
		{name: "a declared error with no checks stays an error", run: result(StatusError, "could not reach it"), want: StatusError},
		{name: "a declared warn over passing checks warns", run: result(StatusWarn, "", check(StatusPass)), want: StatusWarn},
		{name: "an unknown declared status is an error", run: result("green", "", check(StatusPass)), want: StatusError, errText: `unknown status "green"`},
		{name: "an unknown check status is an error", run: result(StatusPass, "", check(StatusPass), check("ok")), want: StatusError, errText: `unknown status "ok"`},
		{name: "a panic is an error", run: func(context.Context) (*Result, error) { panic("boom") }, want: StatusError, errText: "gate panicked: boom"},
		{name: "a nil result is an error", run: func(context.Context) (*Result, error) { return nil, nil }, want: StatusError, errText: "no result"},
		{name: "an error with a passing result is an error", run: func(context.Context) (*Result, error) {
			return &Result{Status: StatusPass, Checks: []Check{check(StatusPass)}}, errors.New("source down")
		}, want: StatusError, errText: "source down"},
		{name: "a timeout is an error", timeout: time.Hour, run: func(ctx context.Context) (*Result, error) {
			<-ctx.Done()
			return &Result{Status: StatusPass, Checks: []Check{check(StatusPass)}}, ctx.Err()
		}, want: StatusError, errText: "timed out"},
		{name: "a well-behaved pass passes", run: result("", "", check(StatusPass)), want: StatusPass},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := plan("g", tc.run)
			p.Timeout = tc.timeout
			var res Result
			// in a bubble: the hour-long timeout passes at once
			synctest.Test(t, func(t *testing.T) { res = (&Runner{}).Run(t.Context(), []Planned{p})[0] })
			if res.Status != tc.want {
				t.Fatalf("status %s (summary %q, error %q), want %s", res.Status, res.Summary, res.Error, tc.want)
			}
			if tc.summary != "" && !strings.Contains(res.Summary, tc.summary) {
				t.Errorf("summary %q, want it to contain %q", res.Summary, tc.summary)
			}
			if tc.errText != "" && !strings.Contains(res.Error, tc.errText) {
				t.Errorf("error %q, want it to contain %q", res.Error, tc.errText)
			}
			if res.Schema != SchemaVersion || res.Gate != "g" || res.Checks == nil {
				t.Errorf("result not stamped: schema %q gate %q checks %v", res.Schema, res.Gate, res.Checks)
			}
			if v := Verdict([]Result{res}); v == StatusPass && tc.want != StatusPass {
				t.Errorf("verdict %s over a %s gate", v, res.Status)
			}
			// RunOne judges the same, and names the cause when the runner
			// made the error (res.Error is set only then).
			var one Result
			var err error
			synctest.Test(t, func(t *testing.T) { one, err = (&Runner{}).RunOne(t.Context(), p) })
			if one.Status != tc.want {
				t.Errorf("RunOne: status %s, want %s", one.Status, tc.want)
			}
			if (err != nil) != (res.Error != "") {
				t.Errorf("RunOne: error %v with result error %q", err, res.Error)
			}
			if tc.errText != "" && (err == nil || !strings.Contains(err.Error(), tc.errText)) {
				t.Errorf("RunOne: error %v, want it to contain %q", err, tc.errText)
			}
		})
	}
}

func TestRunOneKeepsTheCause(t *testing.T) {
	t.Parallel()
	g := plan("g", func(context.Context) (*Result, error) { return nil, fmt.Errorf("reading x: %w", ErrBadInput) })
	res, err := (&Runner{}).RunOne(context.Background(), g)
	if res.Status != StatusError || !errors.Is(err, ErrBadInput) {
		t.Fatalf("status %s, error %v; want error wrapping ErrBadInput", res.Status, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	res, err = (&Runner{}).RunOne(ctx, plan("g", func(context.Context) (*Result, error) {
		ran = true
		return &Result{Checks: []Check{{Name: "c", Status: StatusPass}}}, nil
	}))
	if ran || res.Status != StatusError || !errors.Is(err, ErrCancelled) {
		t.Fatalf("a stopped run: ran %v, status %s, error %v; want not run, error wrapping ErrCancelled", ran, res.Status, err)
	}
}
