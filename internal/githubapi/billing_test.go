package githubapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/budget"
	"github.com/maestro-conductor/releasegate/internal/githubapi/githubtest"
)

// collect runs budget.Collect against the server for one tenant owning
// every repository and returns the spend in USD and minutes.
func collect(t *testing.T, srv *githubtest.Server, p *budget.Prices, since, until time.Time) (*budget.Collection, float64, float64) {
	t.Helper()
	c, _ := newClient(t, srv)
	col, err := budget.Collect(context.Background(), &Actions{C: c}, "maestro-conductor",
		budget.Tenants{{Name: "all", Patterns: []string{"*"}}}, p, since, until, until, 4)
	if err != nil {
		t.Fatal(err)
	}
	return col, budget.Total(col.Records, budget.USD, since.Add(-time.Hour), until.Add(time.Hour)),
		budget.Total(col.Records, budget.Minutes, since.Add(-time.Hour), until.Add(time.Hour))
}

func cents(v float64) string { return fmt.Sprintf("%.3f", math.Round(v*1000)/1000) }

// TestQueueWaitIsNotBilled: GitHub fills started_at of a queued job; the
// job costs from started_at only once a runner took it, each job (of each
// attempt) rounded up to a whole minute.
func TestQueueWaitIsNotBilled(t *testing.T) {
	t.Parallel()
	srv := githubtest.New()
	defer srv.Close()
	repo := "maestro-conductor/app"
	srv.Repos = []githubtest.Repo{{FullName: repo}}
	now := t0
	run := func(id int64, status string, created time.Time) {
		srv.Runs = append(srv.Runs, githubtest.Run{ID: id, Repo: repo, WorkflowID: 1, Path: ".github/workflows/ci.yml", Status: status, CreatedAt: created})
	}
	run(1, "completed", now.Add(-50*time.Minute))
	run(2, "queued", now.Add(-7*time.Minute))
	run(3, "in_progress", now.Add(-10*time.Minute))
	run(4, "waiting", now.Add(-20*time.Minute))
	srv.Jobs = []githubtest.Job{
		// run 1, attempt 1: 2 min 1 s on Linux → 3 min
		{ID: 11, RunID: 1, RunAttempt: 1, Status: "completed", RunnerName: "GitHub Actions 1", Labels: []string{"ubuntu-latest"},
			StartedAt: now.Add(-50 * time.Minute), CompletedAt: now.Add(-48*time.Minute + time.Second)},
		// run 1, attempt 2 (a re-run): 4 min exactly → 4 min, billed again
		{ID: 12, RunID: 1, RunAttempt: 2, Status: "completed", RunnerName: "GitHub Actions 2", Labels: []string{"ubuntu-latest"},
			StartedAt: now.Add(-30 * time.Minute), CompletedAt: now.Add(-26 * time.Minute)},
		// run 2: a macOS job queued for 7 minutes, started_at filled, no runner → 0
		{ID: 21, RunID: 2, Status: "queued", Labels: []string{"macos-latest"}, StartedAt: now.Add(-7 * time.Minute)},
		// run 3: a macOS job running for 2 min 30 s → 3 min at now
		{ID: 31, RunID: 3, Status: "in_progress", RunnerName: "GitHub Actions 3", Labels: []string{"macos-latest"}, StartedAt: now.Add(-150 * time.Second)},
		// run 4: a job waiting for an environment's approval → 0
		{ID: 41, RunID: 4, Status: "waiting", Labels: []string{"ubuntu-latest"}, StartedAt: now.Add(-20 * time.Minute)},
		// run 1, attempt 1: a job cancelled while queued (completed, no runner) → 0
		{ID: 13, RunID: 1, RunAttempt: 1, Status: "completed", Labels: []string{"macos-latest"},
			StartedAt: now.Add(-50 * time.Minute), CompletedAt: now.Add(-40 * time.Minute)},
	}
	p, _ := budget.NewPrices(nil, nil)
	col, usd, minutes := collect(t, srv, p, now.Add(-time.Hour), now)
	// Linux 3 + 4 = 7 min × $0.006 = $0.042; macOS 3 min × $0.062 = $0.186
	if col.Jobs != 6 || minutes != 10 || cents(usd) != "0.228" {
		t.Errorf("got %d jobs, %v min, $%s; want 6 jobs, 10 min, $0.228 (records %+v)", col.Jobs, minutes, cents(usd), col.Records)
	}
}

// TestLargerRunnersPricedBySKU: larger runners' labels are read by GitHub's
// label grammar, never priced as the 2-core standard runner; an unknown
// label stops the collection with the mapping to add.
func TestLargerRunnersPricedBySKU(t *testing.T) {
	t.Parallel()
	srv := githubtest.New()
	defer srv.Close()
	repo := "maestro-conductor/app"
	srv.Repos = []githubtest.Repo{{FullName: repo}}
	now := t0
	id := int64(0)
	add := func(n int, d time.Duration, labels ...string) {
		for i := 0; i < n; i++ {
			id++
			start := now.Add(-time.Duration(id) * time.Minute * 20)
			srv.Runs = append(srv.Runs, githubtest.Run{ID: id, Repo: repo, WorkflowID: 1, Path: ".github/workflows/ci.yml", Status: "completed", CreatedAt: start})
			srv.Jobs = append(srv.Jobs, githubtest.Job{ID: id * 10, RunID: id, Status: "completed", RunnerName: "larger-" + labels[0],
				Labels: labels, StartedAt: start, CompletedAt: start.Add(d)})
		}
	}
	add(10, 7*time.Minute+10*time.Second, "ubuntu-latest-4-cores") // 10 × 8 min × $0.012 = $0.960
	add(3, 5*time.Minute, "ubuntu-22.04-16core")                   // 3 × 5 min × $0.042 = $0.630
	add(2, 59*time.Second, "windows_8_core_arm")                   // 2 × 1 min × $0.026 = $0.052
	add(1, 30*time.Minute, "macos-15-xlarge")                      // 30 min × $0.102 = $3.060
	p, _ := budget.NewPrices(nil, nil)
	col, usd, minutes := collect(t, srv, p, now.Add(-24*time.Hour), now)
	if col.Jobs != 16 || minutes != 127 || cents(usd) != "4.702" {
		t.Errorf("got %d jobs, %v min, $%s; want 16 jobs, 127 min, $4.702", col.Jobs, minutes, cents(usd))
	}

	add(1, time.Minute, "acme-big-box")
	c, _ := newClient(t, srv)
	_, err := budget.Collect(context.Background(), &Actions{C: c}, "maestro-conductor", budget.Tenants{{Name: "all", Patterns: []string{"*"}}},
		p, now.Add(-24*time.Hour), now, now, 4)
	if !errors.Is(err, budget.ErrUnpriced) || !strings.Contains(err.Error(), `"acme-big-box"`) || !strings.Contains(err.Error(), "runners:") {
		t.Errorf("an unknown label must stop the collection naming the label and the mapping to add: %v", err)
	}
}

// TestJobsAttributedToThePeriodTheyRanIn: a re-run this month of a run
// created last month is billed this month; a job straddling the boundary
// is billed, whole, in the period it completed in; a run not updated since
// the period began is skipped without listing its jobs.
func TestJobsAttributedToThePeriodTheyRanIn(t *testing.T) {
	t.Parallel()
	srv := githubtest.New()
	defer srv.Close()
	repo := "maestro-conductor/app"
	srv.Repos = []githubtest.Repo{{FullName: repo}}
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	nov := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	at := func(mo time.Month, d, h, m int) time.Time { return time.Date(2026, mo, d, h, m, 0, 0, time.UTC) }
	run := func(id int64, created, updated time.Time) {
		srv.Runs = append(srv.Runs, githubtest.Run{ID: id, Repo: repo, WorkflowID: 1, Path: ".github/workflows/ci.yml", Status: "completed", CreatedAt: created, UpdatedAt: updated})
	}
	job := func(id, runID int64, attempt int, start, end time.Time) {
		srv.Jobs = append(srv.Jobs, githubtest.Job{ID: id, RunID: runID, RunAttempt: attempt, Status: "completed", RunnerName: "GitHub Actions 9",
			Labels: []string{"ubuntu-latest"}, StartedAt: start, CompletedAt: end})
	}
	// A: created in October, re-run on November 3: attempt 2 is November's (6 min)
	run(1, at(10, 25, 8, 0), at(11, 3, 12, 6))
	job(11, 1, 1, at(10, 25, 8, 0), at(10, 25, 8, 10))
	job(12, 1, 2, at(11, 3, 12, 0), at(11, 3, 12, 6))
	// B: straddles the boundary, 23:50 → 00:20: 30 min, all November's
	run(2, at(10, 31, 23, 50), at(11, 1, 0, 20))
	job(21, 2, 1, at(10, 31, 23, 50), at(11, 1, 0, 20))
	// C: all in October; not updated since: its jobs are never listed
	run(3, at(10, 31, 22, 0), at(10, 31, 23, 59))
	job(31, 3, 1, at(10, 31, 22, 0), at(10, 31, 23, 59))
	// D: this month, 5 min
	run(4, at(11, 20, 9, 0), at(11, 20, 9, 5))
	job(41, 4, 1, at(11, 20, 9, 0), at(11, 20, 9, 5))
	// E: created before the look-back: never listed
	run(5, at(9, 1, 0, 0), at(9, 1, 0, 5))
	job(51, 5, 1, at(9, 1, 0, 0), at(9, 1, 0, 5))

	p, _ := budget.NewPrices(nil, nil)
	c, _ := newClient(t, srv)
	col, err := budget.Collect(context.Background(), &Actions{C: c}, "maestro-conductor", budget.Tenants{{Name: "all", Patterns: []string{"*"}}},
		p, nov, now, now, 4)
	if err != nil {
		t.Fatal(err)
	}
	a, err := budget.Assess(budget.Budget{Tenant: "all", Period: budget.Month, Limit: 100, Unit: budget.USD}, col.Records, now, true)
	if err != nil {
		t.Fatal(err)
	}
	// 6 + 30 + 5 = 41 min × $0.006 = $0.246
	if m := budget.Total(col.Records, budget.Minutes, nov, now.Add(time.Hour)); m != 41 || cents(a.Spent) != "0.246" {
		t.Errorf("November: %v min, $%s; want 41 min, $0.246 (records %+v)", m, cents(a.Spent), col.Records)
	}
	if n := srv.Requests["GET /repos/"+repo+"/actions/runs/3/jobs"]; n != 0 {
		t.Errorf("run 3 was not updated in November, yet its jobs were listed %d times", n)
	}
	if n := srv.Requests["GET /repos/"+repo+"/actions/runs/5/jobs"]; n != 0 {
		t.Errorf("run 5 predates the look-back, yet its jobs were listed")
	}
	if col.Runs != 3 {
		t.Errorf("%d runs kept; want A, B and D", col.Runs)
	}
}
