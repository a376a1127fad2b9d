package githubapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/budget"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/githubapi/githubtest"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// fakeClock records sleeps instead of sleeping.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (f *fakeClock) Now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
func (f *fakeClock) Sleep(_ context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slept = append(f.slept, d)
	f.now = f.now.Add(d)
	return nil
}

func newClient(t *testing.T, srv *githubtest.Server, opts ...Option) (*Client, *fakeClock) {
	t.Helper()
	c, err := New(srv.URL, "tok-123", opts...)
	if err != nil {
		t.Fatal(err)
	}
	clk := &fakeClock{now: t0}
	c.Now, c.Sleep = clk.Now, clk.Sleep
	return c, clk
}

func seed(s *githubtest.Server, repos, runsPerRepo, jobsPerRun int) {
	id := int64(1)
	for r := 0; r < repos; r++ {
		name := fmt.Sprintf("maestro-conductor/acme-%d", r)
		s.Repos = append(s.Repos, githubtest.Repo{FullName: name, Topics: []string{"tenant-acme"}})
		for k := 0; k < runsPerRepo; k++ {
			run := githubtest.Run{ID: id, Repo: name, WorkflowID: 7, Path: ".github/workflows/ci.yml", Name: "CI", Status: "completed",
				CreatedAt: t0.Add(-time.Duration(k) * time.Minute)}
			id++
			s.Runs = append(s.Runs, run)
			for j := 0; j < jobsPerRun; j++ {
				s.Jobs = append(s.Jobs, githubtest.Job{ID: id*100 + int64(j), RunID: run.ID, Status: "completed",
					StartedAt: run.CreatedAt, CompletedAt: run.CreatedAt.Add(90 * time.Second), Labels: []string{"ubuntu-latest"}, RunnerName: "GitHub Actions 1"})
			}
		}
	}
	s.Repos = append(s.Repos, githubtest.Repo{FullName: "maestro-conductor/old", Archived: true})
}

func TestPaginationAndETagCache(t *testing.T) {
	t.Parallel()
	srv := githubtest.New()
	defer srv.Close()
	seed(srv, 1, 250, 1)
	cache, err := NewCache(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, srv, WithCache(cache))
	a := &Actions{C: c}
	runs, err := a.Runs(context.Background(), "maestro-conductor/acme-0", t0.Add(-24*time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 250 || srv.Requests["GET /repos/maestro-conductor/acme-0/actions/runs"] != 3 {
		t.Fatalf("got %d runs in %d requests; want 250 runs over 3 pages", len(runs), srv.Requests["GET /repos/maestro-conductor/acme-0/actions/runs"])
	}
	// a second client over the same cache directory is a second run
	c2, _ := newClient(t, srv, WithCache(cache))
	runs2, err := (&Actions{C: c2}).Runs(context.Background(), "maestro-conductor/acme-0", t0.Add(-24*time.Hour), t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	st := c2.Stats()
	if len(runs2) != 250 || st.NotModified != 3 || st.Points() != 0 {
		t.Errorf("warm cache: %d runs, stats %+v; want every page a 304 spending no points", len(runs2), st)
	}
	// another token must not reuse the entries
	c3, err := New(srv.URL, "other-token", WithCache(cache))
	if err != nil {
		t.Fatal(err)
	}
	srv.Token = ""
	if _, err := (&Actions{C: c3}).Runs(context.Background(), "maestro-conductor/acme-0", t0.Add(-24*time.Hour), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if c3.Stats().NotModified != 0 {
		t.Error("a different token reused cached entries")
	}
}

func TestRateLimitsAndRetries(t *testing.T) {
	t.Parallel()
	reset := t0.Add(30 * time.Second).Unix()
	cases := []struct {
		name     string
		fault    githubtest.Fault
		maxWait  time.Duration
		wantErr  error
		wantWait []time.Duration
	}{
		{"a secondary 403 with Retry-After waits that long and retries",
			githubtest.Fault{Times: 1, Status: 403, Headers: map[string]string{"Retry-After": "7"}, Body: `{"message":"You have exceeded a secondary rate limit."}`},
			time.Minute, nil, []time.Duration{7 * time.Second}},
		{"a 429 with Retry-After waits and retries (go-github v60 would not)",
			githubtest.Fault{Times: 2, Status: 429, Headers: map[string]string{"Retry-After": "3"}},
			time.Minute, nil, []time.Duration{3 * time.Second, 3 * time.Second}},
		{"a primary limit waits until X-RateLimit-Reset",
			githubtest.Fault{Times: 1, Status: 403, Headers: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": strconv.FormatInt(reset, 10)},
				Body: `{"message":"API rate limit exceeded"}`},
			time.Minute, nil, []time.Duration{31 * time.Second}},
		{"a wait beyond MaxWait is reported, not slept",
			githubtest.Fault{Times: 1, Status: 429, Headers: map[string]string{"Retry-After": "3600"}},
			time.Minute, gate.ErrUnreachable, nil},
		{"a secondary limit without headers backs off at least a minute",
			githubtest.Fault{Times: 1, Status: 403, Body: `{"message":"You have exceeded a secondary rate limit"}`},
			2 * time.Minute, nil, []time.Duration{time.Minute}},
		{"5xx is retried with exponential backoff",
			githubtest.Fault{Times: 3, Status: 502, Body: `{"message":"Server Error"}`},
			time.Minute, nil, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{"5xx beyond the retry bound is unreachable",
			githubtest.Fault{Times: 10, Status: 503},
			time.Minute, gate.ErrUnreachable, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}},
		{"a 403 without rate-limit signs is a permission error, not retried",
			githubtest.Fault{Times: 1, Status: 403, Body: `{"message":"Resource not accessible by integration"}`},
			time.Minute, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := githubtest.New()
			defer srv.Close()
			seed(srv, 1, 3, 1)
			c.fault.Path = "/repos/"
			srv.Inject(c.fault)
			cl, clk := newClient(t, srv)
			cl.MaxWait = c.maxWait
			_, err := (&Actions{C: cl}).Workflows(context.Background(), "maestro-conductor/acme-0")
			if c.name == "a 403 without rate-limit signs is a permission error, not retried" {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Status != 403 || !strings.Contains(err.Error(), "check the token's permissions") {
					t.Errorf("err = %v, want a 403 APIError that says what to check", err)
				}
			} else if !errors.Is(err, c.wantErr) && !(c.wantErr == nil && err == nil) {
				t.Errorf("err = %v, want %v", err, c.wantErr)
			}
			if fmt.Sprint(clk.slept) != fmt.Sprint(c.wantWait) {
				t.Errorf("slept %v, want %v", clk.slept, c.wantWait)
			}
		})
	}
}

func TestRetiredBillingEndpointIsGone(t *testing.T) {
	t.Parallel()
	srv := githubtest.New()
	defer srv.Close()
	c, _ := newClient(t, srv)
	_, err := c.Get(context.Background(), "/orgs/maestro-conductor/settings/billing/actions", nil)
	if !errors.Is(err, ErrGone) || !strings.Contains(err.Error(), "/organizations/{org}/settings/billing/usage") {
		t.Errorf("err = %v, want ErrGone pointing at the replacement", err)
	}
}

func TestBadCredentialsAndBaseURL(t *testing.T) {
	t.Parallel()
	srv := githubtest.New()
	defer srv.Close()
	srv.Token = "right"
	c, _ := newClient(t, srv)
	_, err := (&Actions{C: c}).Repos(context.Background(), "maestro-conductor")
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || !strings.Contains(err.Error(), "GITHUB_TOKEN") {
		t.Errorf("err = %v, want 401 mentioning GITHUB_TOKEN", err)
	}
	if strings.Contains(err.Error(), "tok-123") {
		t.Error("the token leaked into an error")
	}
	if _, err := New("ftp://ghe", ""); !errors.Is(err, gate.ErrBadInput) {
		t.Errorf("a non-http GITHUB_API_URL must be bad input: %v", err)
	}
	ghes, _ := New("https://ghe.example.com/api/v3/", "")
	if u, _ := ghes.resolve("/repos/o/r", nil); u.String() != "https://ghe.example.com/api/v3/repos/o/r" {
		t.Errorf("GHES path = %s", u)
	}
	if _, err := ghes.resolve("https://evil.example.com/x", nil); err == nil {
		t.Error("a Link to another host must not be followed (it would carry the token)")
	}
}

func TestActionsEndToEnd(t *testing.T) {
	t.Parallel()
	srv := githubtest.New()
	defer srv.Close()
	seed(srv, 2, 5, 2)
	srv.Runs = append(srv.Runs,
		githubtest.Run{ID: 900, Repo: "maestro-conductor/acme-0", WorkflowID: 7, Path: ".github/workflows/ci.yml", Status: "queued", CreatedAt: t0},
		githubtest.Run{ID: 901, Repo: "maestro-conductor/acme-0", WorkflowID: 8, Path: ".github/workflows/release.yml", Status: "in_progress", CreatedAt: t0},
		githubtest.Run{ID: 902, Repo: "maestro-conductor/acme-0", WorkflowID: 7, Path: ".github/workflows/ci.yml", Status: "completed", CreatedAt: t0})
	srv.Workflows = []githubtest.Workflow{{ID: 7, Repo: "maestro-conductor/acme-0", Name: "CI", Path: ".github/workflows/ci.yml", State: "active"}}
	srv.Usage = []githubtest.UsageItem{
		{Date: t0, Product: "Actions", SKU: "Actions Linux", Quantity: 120, UnitType: "Minutes", PricePerUnit: 0.006, GrossAmount: 0.72, NetAmount: 0, Org: "maestro-conductor", Repo: "maestro-conductor/acme-0"},
		{Date: t0, Product: "Actions", SKU: "Actions Storage", Quantity: 3, UnitType: "GigabyteHours", Org: "maestro-conductor", Repo: "maestro-conductor/acme-0"},
	}
	c, _ := newClient(t, srv, WithConcurrency(4))
	a := &Actions{C: c}
	ctx := context.Background()
	p, _ := budget.NewPrices(nil, nil)
	col, err := budget.Collect(ctx, a, "maestro-conductor", budget.Tenants{{Name: "acme", Topics: []string{"tenant-acme"}}}, p, t0.Add(-time.Hour), t0.Add(2*time.Minute), t0.Add(2*time.Minute), 4)
	if err != nil {
		t.Fatal(err)
	}
	// 2 repos × 5 runs × 2 jobs × 2 minutes (90 s rounds up) × $0.006
	if col.Jobs != 20 || budget.Total(col.Records, budget.Minutes, t0.Add(-2*time.Hour), t0.Add(time.Hour)) != 40 || len(col.Repos) != 2 {
		t.Errorf("collection: %d jobs, %d repos, records %+v", col.Jobs, len(col.Repos), col.Records)
	}
	active, err := a.ActiveRuns(ctx, "maestro-conductor/acme-0")
	if err != nil || len(active) != 2 {
		t.Fatalf("active runs %+v, %v", active, err)
	}
	if err := a.CancelRun(ctx, "maestro-conductor/acme-0", 900); err != nil {
		t.Errorf("a 202 from cancel is success: %v", err)
	}
	if err := a.CancelRun(ctx, "maestro-conductor/acme-0", 902); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("cancelling a completed run must fail: %v", err)
	}
	if err := a.DisableWorkflow(ctx, "maestro-conductor/acme-0", 7); err != nil {
		t.Error(err)
	}
	if err := a.EnableWorkflow(ctx, "maestro-conductor/acme-0", 7); err != nil {
		t.Error(err)
	}
	if fmt.Sprint(srv.Actions) != "[cancel maestro-conductor/acme-0 900 disable maestro-conductor/acme-0 7 enable maestro-conductor/acme-0 7]" {
		t.Errorf("server saw %v", srv.Actions)
	}
	recs, err := a.BillingUsage(ctx, "maestro-conductor", 2026, time.November, budget.Gross)
	if err != nil || len(recs) != 1 || recs[0].SKU != "linux" || recs[0].USD != 0.72 {
		t.Errorf("billing usage %+v, %v", recs, err)
	}
}

func TestRunsSplitWhenOverTheFilteredCap(t *testing.T) {
	t.Parallel()
	srv := githubtest.New()
	defer srv.Close()
	seed(srv, 1, 120, 0)
	srv.MaxFiltered = 50 // stands in for GitHub's 1000
	c, _ := newClient(t, srv)
	runs, err := (&Actions{C: c, SplitAbove: 50}).Runs(context.Background(), "maestro-conductor/acme-0", t0.Add(-3*time.Hour), t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, r := range runs {
		seen[r.ID] = true
	}
	if len(runs) != 120 || len(seen) != 120 {
		t.Errorf("got %d runs (%d distinct), want all 120 despite the cap", len(runs), len(seen))
	}
}
