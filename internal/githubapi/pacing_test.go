package githubapi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/budget"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/githubapi/githubtest"
)

// simClock is a simulated clock shared by the client and the server: a
// sleep advances it at once. Concurrent sleepers would each advance it,
// which only makes the deadline checks stricter.
type simClock struct {
	mu  sync.Mutex
	now time.Time
}

func (s *simClock) Now() time.Time { s.mu.Lock(); defer s.mu.Unlock(); return s.now }
func (s *simClock) Sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
	return nil
}

// org20k is 50 repositories × 100 runs × 4 jobs = 20,000 jobs: about 5,050
// requests, more than one hour's 5,000 points.
func org20k(clk *simClock) *githubtest.Server {
	srv := githubtest.New()
	srv.Now = clk.Now
	id := int64(1)
	for r := 0; r < 50; r++ {
		name := fmt.Sprintf("maestro-conductor/svc-%02d", r)
		srv.Repos = append(srv.Repos, githubtest.Repo{FullName: name})
		for k := 0; k < 100; k++ {
			created := t0.Add(-time.Duration(k+1) * time.Minute)
			srv.Runs = append(srv.Runs, githubtest.Run{ID: id, Repo: name, WorkflowID: 1, Path: ".github/workflows/ci.yml", Status: "completed", CreatedAt: created})
			for j := 0; j < 4; j++ {
				srv.Jobs = append(srv.Jobs, githubtest.Job{ID: id*10 + int64(j), RunID: id, Status: "completed", RunnerName: "GitHub Actions 1",
					StartedAt: created, CompletedAt: created.Add(30 * time.Second), Labels: []string{"ubuntu-latest"}})
			}
			id++
		}
	}
	return srv
}

func collect20k(t *testing.T, srv *githubtest.Server, clk *simClock, budgetPoints int, deadline time.Duration) (*budget.Collection, *Client, error) {
	t.Helper()
	c, err := New(srv.URL, "tok", WithConcurrency(8))
	if err != nil {
		t.Fatal(err)
	}
	c.Now, c.Sleep = clk.Now, clk.Sleep
	c.Budget = budgetPoints
	c.Deadline = t0.Add(deadline)
	p, _ := budget.NewPrices(nil, nil)
	col, err := budget.Collect(context.Background(), &Actions{C: c}, "maestro-conductor", budget.Tenants{{Name: "all", Patterns: []string{"*"}}},
		p, t0.Add(-24*time.Hour), t0, t0, 8)
	return col, c, err
}

// TestPacing20000Jobs: 20,000 jobs under a 5,000-points-per-hour limit
// (simulated clock) finish, waiting for the reset instead of spending the
// last point: no request is ever sent with none left.
func TestPacing20000Jobs(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 requests")
	}
	t.Parallel()
	clk := &simClock{now: t0}
	srv := org20k(clk)
	defer srv.Close()
	col, c, err := collect20k(t, srv, clk, 0, 3*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	elapsed := clk.Now().Sub(t0)
	t.Logf("20,000 jobs: %d requests, %d paced wait(s) totalling %s, %d retries; simulated time %s; requests at 0 remaining: %d",
		st.Requests, st.PacedWaits, st.PacedFor, st.Retries, elapsed, srv.Exhausted)
	if col.Jobs != 20000 || budget.Total(col.Records, budget.Minutes, t0.Add(-48*time.Hour), t0.Add(time.Hour)) != 20000 {
		t.Errorf("collected %d jobs", col.Jobs)
	}
	if srv.Exhausted != 0 {
		t.Errorf("%d request(s) sent with no rate-limit points left", srv.Exhausted)
	}
	if st.PacedWaits < 1 || st.Retries != 0 || elapsed < time.Hour || elapsed > 2*time.Hour {
		t.Errorf("want one wait for the reset (about an hour) and no retries: %+v, simulated %s", st, elapsed)
	}
}

// TestPacingRespectsBudgetAndDeadline: a rate budget leaves the rest of the
// limit to others; work that cannot finish before the deadline stops at
// once (exit 3: gate.ErrUnreachable) without waiting in vain.
func TestPacingRespectsBudgetAndDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("thousands of requests")
	}
	t.Parallel()
	t.Run("budget", func(t *testing.T) {
		t.Parallel()
		clk := &simClock{now: t0}
		srv := org20k(clk)
		defer srv.Close()
		srv.Limit = 15000
		_, c, err := collect20k(t, srv, clk, 1200, 6*time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		// 5,051 points at 1,200 an hour: four waits for a reset
		if st := c.Stats(); st.PacedWaits != 4 || srv.Exhausted != 0 {
			t.Errorf("paced %d times (want 4), exhausted %d", st.PacedWaits, srv.Exhausted)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		clk := &simClock{now: t0}
		srv := org20k(clk)
		defer srv.Close()
		_, _, err := collect20k(t, srv, clk, 0, 30*time.Minute)
		var rl *RateLimitError
		if !errors.As(err, &rl) || !errors.Is(err, gate.ErrUnreachable) || rl.Deadline.IsZero() {
			t.Fatalf("want a rate-limit error naming the deadline, got %v", err)
		}
		if srv.Exhausted != 0 || clk.Now().After(t0.Add(30*time.Minute)) {
			t.Errorf("exhausted %d, clock %s: must stop before spending the last point, without waiting", srv.Exhausted, clk.Now().Sub(t0))
		}
	})
}
