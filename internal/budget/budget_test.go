package budget

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func TestBillableMinutesRoundUp(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		start, end time.Duration
		want       float64
	}{
		{"one second is a whole minute", 0, time.Second, 1},
		{"exactly a minute is one minute", 0, time.Minute, 1},
		{"a minute and a second is two", 0, time.Minute + time.Second, 2},
		{"a skipped job completed before it started is free", time.Minute, 0, 0},
		{"a job still running counts until now", 0, -1, 6},
	}
	now := t0.Add(5*time.Minute + 10*time.Second)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := Job{StartedAt: t0.Add(c.start), Status: "completed", RunnerName: "GitHub Actions 1"}
			if c.end >= 0 {
				j.CompletedAt = t0.Add(c.end)
			}
			if got := billableMinutes(j, now); got != c.want {
				t.Errorf("BillableMinutes = %v, want %v", got, c.want)
			}
		})
	}
	if got := billableMinutes(Job{}, now); got != 0 {
		t.Errorf("a job that never started: %v minutes, want 0", got)
	}
}

// TestQueuedJobsAreNotBilled: GitHub fills started_at of a queued job with
// the time it was queued; a job costs only once a runner took it.
func TestQueuedJobsAreNotBilled(t *testing.T) {
	t.Parallel()
	queuedAt := t0
	now := t0.Add(7*time.Minute + 5*time.Second)
	cases := []struct {
		name   string
		status string
		runner string
		done   time.Duration // 0: still open
		want   float64
	}{
		{"queued for 7 minutes with started_at filled costs nothing", "queued", "", 0, 0},
		{"waiting for an approval costs nothing", "waiting", "", 0, 0},
		{"pending costs nothing", "pending", "", 0, 0},
		{"requested costs nothing", "requested", "", 0, 0},
		{"in progress without a runner name costs nothing yet", "in_progress", "", 0, 0},
		{"cancelled before a runner took it costs nothing", "completed", "", 3 * time.Minute, 0},
		{"a status in capitals is still queued", "QUEUED", "GitHub Actions 4", 0, 0},
		{"in progress on a runner counts until now, rounded up", "in_progress", "GitHub Actions 4", 0, 8},
		{"completed on a runner counts to completed_at, rounded up", "completed", "GitHub Actions 4", 2*time.Minute + time.Second, 3},
		{"completed after now counts until now", "completed", "GitHub Actions 4", 9 * time.Minute, 8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := Job{Status: c.status, RunnerName: c.runner, StartedAt: queuedAt}
			if c.done > 0 {
				j.CompletedAt = queuedAt.Add(c.done)
			}
			if got := billableMinutes(j, now); got != c.want {
				t.Errorf("BillableMinutes = %v, want %v", got, c.want)
			}
		})
	}
}

func TestPricesByLabels(t *testing.T) {
	t.Parallel()
	p, err := NewPrices(map[string]float64{"self_hosted": 0.001}, []LabelRule{{Match: "acme-gpu-*", SKU: "linux_16_core"}})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		labels []string
		sku    string
		usd    float64
	}{
		{"ubuntu-latest is the standard Linux runner", []string{"ubuntu-latest"}, "linux", 0.006 * 3},
		{"an arm label is the arm runner", []string{"ubuntu-24.04-arm"}, "linux_2_core_arm", 0.005 * 3},
		{"macOS large is the 12-core runner", []string{"macos-15-large"}, "macos_l", 0.077 * 3},
		{"a policy rule prices a larger runner's custom label", []string{"acme-gpu-a100"}, "linux_16_core", 0.042 * 3},
		{"self-hosted uses the policy's price", []string{"self-hosted", "linux", "x64"}, "self_hosted", 0.001 * 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, err := p.Price(Job{Labels: c.labels, Status: "completed", RunnerName: "r", StartedAt: t0, CompletedAt: t0.Add(2*time.Minute + time.Second)}, t0.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if rec.SKU != c.sku || rec.Minutes != 3 || fmt.Sprintf("%.6f", rec.USD) != fmt.Sprintf("%.6f", c.usd) {
				t.Errorf("got %s %v min $%v, want %s 3 min $%v", rec.SKU, rec.Minutes, rec.USD, c.sku, c.usd)
			}
		})
	}
	_, err = p.Price(Job{ID: 9, Repo: "o/r", Labels: []string{"gpu-box"}, StartedAt: t0, CompletedAt: t0.Add(time.Minute)}, t0)
	if !errors.Is(err, ErrUnpriced) || !strings.Contains(err.Error(), "gpu-box") {
		t.Errorf("an unknown runner label must be reported, never free: %v", err)
	}
	if _, err := p.Price(Job{Labels: []string{"ubuntu-22.04-12core"}, StartedAt: t0, CompletedAt: t0.Add(time.Minute)}, t0); !errors.Is(err, ErrUnpriced) ||
		!strings.Contains(err.Error(), "ubuntu-22.04-12core") || !strings.Contains(err.Error(), "linux_12_core") {
		t.Errorf("a SKU without a published price must be reported with the label and the SKU to price: %v", err)
	}
	if _, err := NewPrices(map[string]float64{"linux": -1}, []LabelRule{{Match: "[", SKU: "x"}}); !errors.Is(err, gate.ErrBadInput) ||
		!strings.Contains(err.Error(), "prices.linux") || !strings.Contains(err.Error(), "runners[0].match") {
		t.Errorf("a negative price and a bad glob must both be reported: %v", err)
	}
}

var tenants = Tenants{
	{Name: "acme", Patterns: []string{"acme-*"}},
	{Name: "globex", Repos: []string{"maestro-conductor/globex-ingest"}},
	{Name: "initech", Topics: []string{"tenant-initech"}},
}

func TestTenants(t *testing.T) {
	t.Parallel()
	owners, err := tenants.Assign([]Repo{{Name: "o/acme-api"}, {Name: "maestro-conductor/globex-ingest"}, {Name: "o/billing", Topics: []string{"Tenant-Initech"}}, {Name: "o/other"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"o/acme-api": "acme", "maestro-conductor/globex-ingest": "globex", "o/billing": "initech"}
	if fmt.Sprint(owners) != fmt.Sprint(want) {
		t.Errorf("Assign = %v, want %v", owners, want)
	}
	_, err = tenants.Assign([]Repo{{Name: "o/acme-billing", Topics: []string{"tenant-initech"}}})
	var oe *overlapError
	if !errors.As(err, &oe) || !errors.Is(err, gate.ErrBadInput) || fmt.Sprint(oe.Tenants) != "[acme initech]" {
		t.Errorf("a repository in two tenants must be an overlap error: %v", err)
	}
	bad := Tenants{{Name: "a", Repos: []string{"x"}}, {Name: "a", Topics: []string{"t"}}, {Name: "b"}, {Name: "", Patterns: []string{"["}}, {Name: "c", Repos: []string{"X"}}}
	errs := bad.Validate()
	msg := fmt.Sprint(errs)
	for _, s := range []string{"already defined", "in both tenant", "selects no repositories", "tenants[3].name", "not a valid glob"} {
		if !strings.Contains(msg, s) {
			t.Errorf("Validate does not report %q: %v", s, msg)
		}
	}
}

func hourly(perHour float64, from time.Time, hours int) []Record {
	var recs []Record
	for i := 0; i < hours; i++ {
		recs = append(recs, Record{Time: from.Add(time.Duration(i) * time.Hour), Repo: "o/r", SKU: "linux", Minutes: perHour / 0.006, USD: perHour})
	}
	return recs
}

func TestAssess(t *testing.T) {
	t.Parallel()
	monthStart := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	base := Budget{Tenant: "acme", Period: Month, Limit: 100, Unit: USD, Warn: []float64{0.75, 0.9}}
	hours := int(t0.Sub(monthStart).Hours()) // 466 hours up to t0
	cases := []struct {
		name   string
		change func(*Budget)
		spend  float64 // total spread evenly over the month so far
		level  Level
		msg    string
	}{
		{"spend under every level passes", nil, 50, LevelOK, "50%"},
		{"spend past the first warning warns at 75%", nil, 80, levelWarn, "past the 75% warning"},
		{"spend past the second warning warns at 90%", nil, 95, levelWarn, "past the 90% warning"},
		{"spend over the limit without grace is over", nil, 120, LevelOver, "past grace (no grace configured)"},
		{"over the limit within the overage grace is grace", func(b *Budget) { b.GraceOverage = 0.25 }, 120, levelGrace, "25% overage"},
		{"over the overage grace is over", func(b *Budget) { b.GraceOverage = 0.1 }, 120, LevelOver, "10% overage"},
		{"crossed within the time grace is grace", func(b *Budget) { b.Grace = 10 * 24 * time.Hour }, 120, levelGrace, "until"},
		{"crossed before the time grace is over", func(b *Budget) { b.Grace = time.Hour }, 120, LevelOver, "past grace"},
		{"minutes budgets count minutes", func(b *Budget) { b.Unit = Minutes; b.Limit = 20000 }, 50, LevelOK, "min"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := base
			if c.change != nil {
				c.change(&b)
			}
			a, err := Assess(b, hourly(c.spend/float64(hours), monthStart, hours), t0, false)
			if err != nil {
				t.Fatal(err)
			}
			if a.Level != c.level || !strings.Contains(a.Message, c.msg) {
				t.Errorf("level %s, message %q; want %s mentioning %q", a.Level, a.Message, c.level, c.msg)
			}
		})
	}
	if _, err := Assess(base, hourly(1, monthStart.AddDate(0, -1, 0), 24), t0, false); !errors.Is(err, errNoUsage) {
		t.Errorf("usage only from last month must be no data for this month, got %v", err)
	}
	a, err := Assess(base, nil, t0, true)
	if err != nil || a.Level != LevelOK || a.Spent != 0 {
		t.Errorf("a covered tenant without jobs spent nothing: %+v %v", a, err)
	}
	errs := Budget{Tenant: "", Period: "day", Limit: -5, Unit: "EUR", Warn: []float64{1.5}, GraceOverage: -1}.Validate("budgets[0]")
	if len(errs) != 6 {
		t.Errorf("want 6 problems (tenant, period, limit, unit, warn, grace-overage), got %d: %v", len(errs), errs)
	}
}

func TestPeriodBounds(t *testing.T) {
	t.Parallel()
	s, e := Week.Bounds(time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)) // a Sunday
	if !s.Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)) || !e.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("week of Sunday 29 Nov: %v – %v, want Monday 23 – Monday 30", s, e)
	}
	s, e = Month.Bounds(time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC))
	if !s.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || !e.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("month of 31 Dec: %v – %v", s, e)
	}
}

type fakeActuator struct {
	calls []string
	fail  map[int64]error
}

func (f *fakeActuator) CancelRun(_ context.Context, repo string, id int64) error {
	f.calls = append(f.calls, fmt.Sprintf("cancel %s %d", repo, id))
	return f.fail[id]
}
func (f *fakeActuator) DisableWorkflow(_ context.Context, repo string, id int64) error {
	f.calls = append(f.calls, fmt.Sprintf("disable %s %d", repo, id))
	return f.fail[id]
}
func (f *fakeActuator) EnableWorkflow(_ context.Context, repo string, id int64) error {
	f.calls = append(f.calls, fmt.Sprintf("enable %s %d", repo, id))
	return f.fail[id]
}

func TestThrottlePlanApplyAndRecover(t *testing.T) {
	t.Parallel()
	b := Budget{Tenant: "acme", Period: Month, Limit: 10, Unit: USD, Protected: []string{"release.yml", "Security scan"}}
	over := Assessment{Tenant: "acme", Period: Month, Level: LevelOver, Ratio: 1.3}
	runs := []Run{
		{ID: 11, Repo: "o/acme-api", WorkflowID: 1, WorkflowPath: ".github/workflows/ci.yml", Status: "queued"},
		{ID: 12, Repo: "o/acme-api", WorkflowID: 2, WorkflowPath: ".github/workflows/release.yml", Status: "in_progress"},
		{ID: 13, Repo: "o/acme-api", WorkflowID: 3, WorkflowPath: ".github/workflows/codeql.yml", WorkflowName: "Security scan", Status: "queued"},
		{ID: 14, Repo: "o/acme-web", WorkflowID: 4, WorkflowPath: ".github/workflows/ci.yml", Status: "in_progress"},
	}
	wfs := []Workflow{
		{ID: 1, Repo: "o/acme-api", Path: ".github/workflows/ci.yml", State: "active"},
		{ID: 2, Repo: "o/acme-api", Path: ".github/workflows/release.yml", State: "active"},
		{ID: 5, Repo: "o/acme-api", Path: ".github/workflows/old.yml", State: "disabled_manually"},
	}
	st := &State{Disabled: map[string]disabledWorkflow{}}

	dry := Plan(b, over, ModeDisable, WaitingCancel, runs, wfs, st)
	Apply(context.Background(), nil, dry, false, st, t0)
	var got []string
	for _, a := range dry {
		got = append(got, a.Outcome)
	}
	want := []string{
		"dry run: would disable workflow .github/workflows/ci.yml (id 1) in o/acme-api; run with --enforce to do it",
		"dry run: would cancel run 11 of .github/workflows/ci.yml in o/acme-api; run with --enforce to do it",
		"dry run: would cancel run 14 of .github/workflows/ci.yml in o/acme-web; run with --enforce to do it",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("dry run outcomes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	act := &fakeActuator{fail: map[int64]error{14: errors.New("HTTP 409: run already completed")}}
	acts := Plan(b, over, ModeDisable, WaitingCancel, runs, wfs, st)
	if failed := Apply(context.Background(), act, acts, true, st, t0); failed != 1 {
		t.Errorf("failed = %d, want 1", failed)
	}
	if fmt.Sprint(act.calls) != "[disable o/acme-api 1 cancel o/acme-api 11 cancel o/acme-web 14]" {
		t.Errorf("calls = %v", act.calls)
	}
	if !acts[0].Applied || acts[2].Applied || !strings.Contains(acts[2].Outcome, "failed to cancel run 14") {
		t.Errorf("outcomes not recorded: %+v", acts)
	}
	if len(st.Disabled) != 1 {
		t.Fatalf("state should remember the disabled workflow: %+v", st.Disabled)
	}
	file := t.TempDir() + "/state/throttle.json"
	if err := st.Save(file); err != nil {
		t.Fatal(err)
	}
	st, err := LoadState(file)
	if err != nil {
		t.Fatal(err)
	}

	back := Assessment{Tenant: "acme", Period: Month, Level: levelWarn, Ratio: 0.8}
	act = &fakeActuator{}
	acts = Plan(b, back, ModeDisable, WaitingCancel, runs, wfs, st)
	Apply(context.Background(), act, acts, true, st, t0)
	if fmt.Sprint(act.calls) != "[enable o/acme-api 1]" || len(st.Disabled) != 0 {
		t.Errorf("recovery re-enables exactly what releasegate disabled: calls %v, state %v", act.calls, st.Disabled)
	}
	if acts := Plan(b, back, ModeDisable, WaitingCancel, runs, wfs, st); len(acts) != 0 {
		t.Errorf("nothing left to recover, got %+v", acts)
	}
}
