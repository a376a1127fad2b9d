package budgetgate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/budget"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/githubapi/githubtest"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

var now = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// org builds a GitHub-shaped server: acme (by topic) spends 10 jobs × 3 min
// on ubuntu-latest, globex 20 jobs × 10 min on a 16-core runner, and
// globex has a queued CI run and an in-progress release run.
func org(t *testing.T) *githubtest.Server {
	t.Helper()
	s := githubtest.New()
	t.Cleanup(s.Close)
	s.Token = "ghs_test_token"
	s.Repos = []githubtest.Repo{{FullName: "maestro-conductor/acme-api", Topics: []string{"tenant-acme"}}, {FullName: "maestro-conductor/globex-ingest"}}
	id := int64(100)
	add := func(repo string, n int, d time.Duration, labels ...string) {
		for i := 0; i < n; i++ {
			id++
			created := now.Add(-time.Duration(i+1) * time.Hour)
			s.Runs = append(s.Runs, githubtest.Run{ID: id, Repo: repo, WorkflowID: 1, Path: ".github/workflows/ci.yml", Name: "CI", Status: "completed", CreatedAt: created})
			s.Jobs = append(s.Jobs, githubtest.Job{ID: id * 10, RunID: id, Status: "completed", StartedAt: created, CompletedAt: created.Add(d), Labels: labels, RunnerName: "GitHub Actions 7"})
		}
	}
	add("maestro-conductor/acme-api", 10, 2*time.Minute+time.Second, "ubuntu-latest")
	add("maestro-conductor/globex-ingest", 20, 10*time.Minute, "globex-16core")
	s.Runs = append(s.Runs,
		githubtest.Run{ID: 900, Repo: "maestro-conductor/globex-ingest", WorkflowID: 1, Path: ".github/workflows/ci.yml", Name: "CI", Status: "queued", CreatedAt: now},
		githubtest.Run{ID: 901, Repo: "maestro-conductor/globex-ingest", WorkflowID: 2, Path: ".github/workflows/release.yml", Name: "Release", Status: "in_progress", CreatedAt: now})
	s.Workflows = []githubtest.Workflow{
		{ID: 1, Repo: "maestro-conductor/globex-ingest", Name: "CI", Path: ".github/workflows/ci.yml", State: "active"},
		{ID: 2, Repo: "maestro-conductor/globex-ingest", Name: "Release", Path: ".github/workflows/release.yml", State: "active"},
	}
	return s
}

type hook struct {
	mu    sync.Mutex
	fail  bool
	got   []budget.Notification
	bad   int
	calls int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if h.fail {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	if !budget.Verify("hook-secret", b, r.Header.Get(budget.SignatureHeader)) {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var n budget.Notification
	_ = json.Unmarshal(b, &n)
	h.got = append(h.got, n)
}

func spec(srv *githubtest.Server, hookURL, dir string, globexUSD float64) Spec {
	return Spec{
		Source:  Source{GitHub: GitHub{Org: "maestro-conductor", APIURL: srv.URL, CacheDir: dir}},
		Tenants: []Tenant{{Name: "acme", Topics: []string{"tenant-acme"}}, {Name: "globex", Patterns: []string{"globex-*"}}},
		Budgets: []Budget{
			{Tenant: "acme", Period: "month", USD: 100},
			{Tenant: "globex", Period: "month", USD: globexUSD, Protected: []string{"release.yml"}},
		},
		Runners:  []Runner{{Match: "globex-16core", SKU: "linux_16_core"}},
		Throttle: Throttle{Mode: "disable"},
		Notify:   Notify{URL: hookURL, Secret: "hook-secret"},
	}
}

func run(t *testing.T, s Spec, o Options) (*gate.Result, error) {
	t.Helper()
	o.Sleep = func(context.Context, time.Duration) error { return nil }
	env := gate.Env{PolicyDir: t.TempDir(), Clock: func() time.Time { return now }, Getenv: func(k string) string {
		if k == "GITHUB_TOKEN" {
			return "ghs_test_token"
		}
		return ""
	}}
	m := gate.Meta{ID: "ci-budget", Kind: KindBudget}
	g, err := NewBudget(m, s, env, o)
	if err != nil {
		t.Fatal(err)
	}
	return evaluate(context.Background(), g, m)
}

func find(r *gate.Result, name, tenant string) gate.Check {
	for _, c := range r.Checks {
		if strings.HasPrefix(c.Name, name) && c.Tenant == tenant {
			return c
		}
	}
	return gate.Check{}
}

func TestThrottleDryRunEnforceAndRecover(t *testing.T) {
	t.Parallel()
	srv := org(t)
	h := &hook{}
	wh := httptest.NewServer(h)
	defer wh.Close()
	dir := t.TempDir()
	// globex: 20 jobs × 10 min × $0.042 = $8.40 against a $5 budget
	s := spec(srv, wh.URL, dir, 5)

	// 1. dry run: says exactly what it would do, does nothing
	res, err := run(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	spend := find(res, "CI spend", "globex")
	if v, _ := spend.Observed.Float(); spend.Status != gate.StatusFail || v != 8.4 {
		t.Fatalf("globex spend check %+v; want fail at $8.40", spend)
	}
	if c := find(res, "CI spend", "acme"); c.Status != gate.StatusPass {
		t.Errorf("acme (by topic, 10 × 3 min × $0.006 = $0.18) should pass: %+v", c)
	}
	th := find(res, "throttle", "globex")
	for _, want := range []string{"dry run: would disable workflow .github/workflows/ci.yml (id 1)", "dry run: would cancel run 900", "--enforce"} {
		if !strings.Contains(th.Message, want) {
			t.Errorf("dry-run message lacks %q: %s", want, th.Message)
		}
	}
	if strings.Contains(th.Message, "901") || strings.Contains(th.Message, "release.yml") {
		t.Errorf("the protected release workflow must never be throttled: %s", th.Message)
	}
	if len(srv.Actions) != 0 {
		t.Fatalf("a dry run changed GitHub: %v", srv.Actions)
	}
	if len(h.got) != 1 || h.got[0].Tenant != "globex" || h.got[0].Level != budget.LevelOver || !strings.Contains(h.got[0].Text, "globex") {
		t.Errorf("webhook got %+v; want one signed notification for globex", h.got)
	}

	// 2. enforce: acts, records every action, remembers what it disabled
	res, err = run(t, s, Options{Enforce: true})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(srv.Actions) != "[disable maestro-conductor/globex-ingest 1 cancel maestro-conductor/globex-ingest 900]" {
		t.Errorf("server actions %v", srv.Actions)
	}
	acts, _ := res.Details["actions"].([]budget.Action)
	if len(acts) != 2 || !acts[0].Applied || !acts[1].Applied {
		t.Errorf("actions not recorded as applied: %+v", acts)
	}
	if h.got[1].IdempotencyKey != h.got[0].IdempotencyKey {
		t.Error("the same overrun must keep its idempotency key so the receiver can drop repeats")
	}

	// 3. recovery: the budget is raised; releasegate re-enables what it disabled
	res, err = run(t, spec(srv, wh.URL, dir, 50), Options{Enforce: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(srv.Actions[2:]); got != "[enable maestro-conductor/globex-ingest 1]" {
		t.Errorf("recovery actions %s", got)
	}
	if res.Status != gate.StatusWarn && res.Status != gate.StatusPass {
		t.Errorf("back under budget: status %s", res.Status)
	}
	if h.bad != 0 {
		t.Errorf("%d notifications had a bad signature", h.bad)
	}
	// the token never appears in the result
	b, _ := json.Marshal(res)
	if strings.Contains(string(b), "ghs_test_token") || strings.Contains(string(b), "hook-secret") {
		t.Error("a secret leaked into the result")
	}
}

func TestFailedNotificationNeverBlocks(t *testing.T) {
	t.Parallel()
	srv := org(t)
	h := &hook{fail: true}
	wh := httptest.NewServer(h)
	defer wh.Close()
	s := spec(srv, wh.URL, t.TempDir(), 50)
	s.Budgets[1].Warn = []float64{0.1} // globex warns, nothing fails
	res, err := run(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	n := find(res, "notification", "globex")
	if n.Status != gate.StatusWarn || !strings.Contains(n.Message, "failed after 4 attempt(s)") || h.calls != 4 {
		t.Errorf("notification check %+v after %d calls", n, h.calls)
	}
	if res.Status.Blocks() {
		t.Errorf("a failed webhook must not block: %s", res.Status)
	}
}

func TestFailsClosed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		setup func(*githubtest.Server, *Spec)
		is    error
	}{
		{"an API that keeps failing is unreachable, never zero spend", func(s *githubtest.Server, _ *Spec) {
			s.Inject(githubtest.Fault{Path: "/repos/", Times: 100, Status: 502})
		}, gate.ErrUnreachable},
		{"a secondary rate limit longer than the client waits is unreachable", func(s *githubtest.Server, _ *Spec) {
			s.Inject(githubtest.Fault{Path: "/orgs/", Times: 1, Status: 429, Headers: map[string]string{"Retry-After": "3600"}})
		}, gate.ErrUnreachable},
		{"an unpriced runner label is bad input, never free", func(_ *githubtest.Server, sp *Spec) { sp.Runners = nil }, budget.ErrUnpriced},
		{"the billing usage API without Actions items is no data", func(_ *githubtest.Server, sp *Spec) { sp.Source.GitHub.Mode = "billing-usage" }, gate.ErrNoData},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := org(t)
			s := spec(srv, "", t.TempDir(), 50)
			c.setup(srv, &s)
			_, err := run(t, s, Options{})
			if !errors.Is(err, c.is) {
				t.Errorf("err = %v, want %v", err, c.is)
			}
		})
	}
}

func TestUsageFileFailsClosed(t *testing.T) {
	t.Parallel()
	base := func(file string) Spec {
		return Spec{Source: Source{UsageFile: file}, Tenants: []Tenant{{Name: "acme", Patterns: []string{"acme-*"}}},
			Budgets: []Budget{{Tenant: "acme", USD: 100}}}
	}
	td, _ := filepath.Abs("../../../testdata/budget")
	cases := []struct {
		name string
		file string
		is   error
	}{
		{"an empty export is no data", "header-only.csv", gate.ErrNoData},
		{"a corrupt export is bad input", "corrupt.csv", gate.ErrBadInput},
		{"a missing export is bad input", "missing.csv", gate.ErrBadInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := NewBudget(gate.Meta{ID: "b"}, base(filepath.Join(td, c.file)), gate.Env{}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g.Run(context.Background()); !errors.Is(err, c.is) {
				t.Errorf("err = %v, want %v", err, c.is)
			}
		})
	}
	// a tenant without rows in the export fails its check: no data is not zero
	s := base(filepath.Join(td, "summarized.csv"))
	s.Tenants[0].Patterns = []string{"nobody-*"}
	g, _ := NewBudget(gate.Meta{ID: "b", Kind: KindBudget}, s, gate.Env{}, Options{})
	res, err := evaluate(context.Background(), g, gate.Meta{ID: "b", Kind: KindBudget})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != gate.StatusFail || !strings.Contains(res.Checks[0].Message, "no usage data") {
		t.Errorf("tenant without usage: %s %+v", res.Status, res.Checks)
	}
}

func TestSpecValidation(t *testing.T) {
	t.Parallel()
	good := func() Spec {
		return Spec{Source: Source{UsageFile: "u.csv"}, Tenants: []Tenant{{Name: "a", Repos: []string{"x"}}, {Name: "b", Patterns: []string{"y-*"}}},
			Budgets: []Budget{{Tenant: "a", USD: 10}}}
	}
	cases := []struct {
		name   string
		change func(*Spec)
		field  string
	}{
		{"a negative budget is refused", func(s *Spec) { s.Budgets[0].USD = -5 }, "budgets[0]"},
		{"a budget in both units is refused", func(s *Spec) { s.Budgets[0].Minutes = 100 }, "budgets[0].usd"},
		{"a budget for an unknown tenant is refused", func(s *Spec) { s.Budgets[0].Tenant = "zed" }, "budgets[0].tenant"},
		{"overlapping tenants are refused", func(s *Spec) { s.Tenants[1].Repos = []string{"x"} }, "tenants[1].repos[0]"},
		{"topics need the GitHub source", func(s *Spec) { s.Tenants[0].Topics = []string{"t"} }, "tenants[0].topics"},
		{"no source is refused", func(s *Spec) { s.Source.UsageFile = "" }, "source"},
		{"enforce needs the GitHub source", func(s *Spec) { s.Throttle.Enforce = true }, "throttle.enforce"},
		{"a negative price is refused", func(s *Spec) { s.Prices = map[string]float64{"linux": -1} }, "prices.linux"},
		{"a bad as-of is refused", func(s *Spec) { s.AsOf = "yesterday" }, "as-of"},
	}
	if g := good(); len(g.Validate()) != 0 {
		errs := g.Validate()
		t.Fatalf("the known-good spec has problems: %v", errs)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := good()
			c.change(&s)
			errs := s.Validate()
			if len(errs) == 0 {
				t.Fatal("no problem reported")
			}
			found := false
			for _, e := range errs {
				var fe *policy.FieldError
				var ie *gate.InputError
				if (errors.As(e, &fe) && fe.Field == c.field) || (errors.As(e, &ie) && strings.HasSuffix(ie.Input, c.field)) {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem at %s: %v", c.field, errs)
			}
		})
	}
}

func TestForecastGate(t *testing.T) {
	t.Parallel()
	srv := org(t)
	srv.Repos = append(srv.Repos, githubtest.Repo{FullName: "maestro-conductor/idle-svc"})
	s := spec(srv, "", t.TempDir(), 5)
	s.Tenants = append(s.Tenants, Tenant{Name: "idle", Repos: []string{"idle-svc"}})
	s.Budgets = append(s.Budgets, Budget{Tenant: "idle", Period: "week", USD: 10})
	g, err := NewForecast(gate.Meta{ID: "f", Kind: KindForecast}, s, gate.Env{PolicyDir: t.TempDir(), Clock: func() time.Time { return now }, Getenv: func(string) string { return "ghs_test_token" }},
		Options{Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	res, err := g.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Checks {
		t.Logf("%s %s %s: %s", c.Status, c.Tenant, c.Name, c.Message)
	}
	if c := find(res, "period-end forecast", "globex"); c.Status != gate.StatusFail {
		t.Errorf("globex has already spent $8.40 of $5: the forecast must fail: %+v", c)
	}
	idleF, idleD := find(res, "period-end forecast", "idle"), find(res, "forecast drift", "idle")
	if v, _ := idleD.Observed.Float(); idleF.Status != gate.StatusPass || idleD.Status != gate.StatusPass || v != 0 {
		t.Errorf("an idle tenant has zero drift and no alarm: %+v %+v", idleF, idleD)
	}
}

func TestBillingUsageSourceThrottles(t *testing.T) {
	t.Parallel()
	srv := org(t)
	srv.Usage = []githubtest.UsageItem{
		{Date: now.Add(-48 * time.Hour), Product: "Actions", SKU: "linux_16_core", Quantity: 500, UnitType: "Minutes", PricePerUnit: 0.042, GrossAmount: 21, NetAmount: 21,
			Org: "maestro-conductor", Repo: "maestro-conductor/globex-ingest"},
		{Date: now.Add(-48 * time.Hour), Product: "Actions", SKU: "Actions Linux", Quantity: 100, UnitType: "Minutes", PricePerUnit: 0.006, GrossAmount: 0.6, NetAmount: 0,
			Org: "maestro-conductor", Repo: "maestro-conductor/acme-api"},
	}
	s := spec(srv, "", t.TempDir(), 5)
	s.Source.GitHub.Mode = "billing-usage"
	res, err := run(t, s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := find(res, "CI spend", "globex"); c.Status != gate.StatusFail {
		t.Errorf("globex ($21 of $5) must fail: %+v", c)
	}
	if c := find(res, "CI spend", "acme"); c.Status != gate.StatusPass {
		t.Errorf("acme, found by topic through the repository list, must pass: %+v", c)
	}
	if th := find(res, "throttle", "globex"); !strings.Contains(th.Message, "would cancel run 900") {
		t.Errorf("billing-usage must still throttle through the API: %+v", th)
	}
}

// TestRunsWaitingForApprovalAreInFlight: waiting, pending and requested runs
// are in flight; --enforce cancels them (throttle.waiting: cancel, the
// default) or records them as left (leave).
func TestRunsWaitingForApprovalAreInFlight(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		waiting string
		want    string
	}{
		{"", "[cancel maestro-conductor/globex-ingest 900 cancel maestro-conductor/globex-ingest 902 cancel maestro-conductor/globex-ingest 903 cancel maestro-conductor/globex-ingest 904]"},
		{"leave", "[cancel maestro-conductor/globex-ingest 900]"},
	} {
		t.Run("waiting="+c.waiting, func(t *testing.T) {
			t.Parallel()
			srv := org(t)
			for i, st := range []string{"waiting", "pending", "requested"} {
				srv.Runs = append(srv.Runs, githubtest.Run{ID: int64(902 + i), Repo: "maestro-conductor/globex-ingest", WorkflowID: 3,
					Path: ".github/workflows/deploy.yml", Name: "Deploy", Status: st, CreatedAt: now.Add(-time.Hour)})
			}
			s := spec(srv, "", t.TempDir(), 5)
			s.Notify = Notify{}
			s.Throttle = Throttle{Mode: "cancel", Waiting: c.waiting}
			res, err := run(t, s, Options{Enforce: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(srv.Actions); got != c.want {
				t.Errorf("server actions %s; want %s", got, c.want)
			}
			th := find(res, "throttle", "globex")
			if c.waiting == "leave" {
				for _, id := range []string{"902", "903", "904"} {
					if !strings.Contains(th.Message, "left run "+id) {
						t.Errorf("run %s waits for approval and must be recorded as left: %s", id, th.Message)
					}
				}
			}
			if strings.Contains(th.Message, "901") {
				t.Errorf("the protected release run must never be throttled: %s", th.Message)
			}
		})
	}
}

// TestBillingReconciliation: the job-derived estimate and the billing
// usage API (organization and enterprise forms) are compared per
// repository over the month's complete days; the gate names the
// repositories that differ.
func TestBillingReconciliation(t *testing.T) {
	t.Parallel()
	day := time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)
	build := func() *githubtest.Server {
		s := githubtest.New()
		t.Cleanup(s.Close)
		s.Token = "ghs_test_token"
		s.Repos = []githubtest.Repo{{FullName: "maestro-conductor/acme-api", Topics: []string{"tenant-acme"}}, {FullName: "maestro-conductor/globex-ingest"}}
		id := int64(500)
		add := func(repo string, n int, d time.Duration, labels ...string) {
			for i := 0; i < n; i++ {
				id++
				start := day.Add(time.Duration(8+i) * time.Hour)
				s.Runs = append(s.Runs, githubtest.Run{ID: id, Repo: repo, WorkflowID: 1, Path: ".github/workflows/ci.yml", Status: "completed", CreatedAt: start})
				s.Jobs = append(s.Jobs, githubtest.Job{ID: id * 10, RunID: id, Status: "completed", RunnerName: "r", StartedAt: start, CompletedAt: start.Add(d), Labels: labels})
			}
		}
		add("maestro-conductor/acme-api", 5, 3*time.Minute+20*time.Second, "ubuntu-latest") // 5 × 4 min × $0.006 = $0.12
		add("maestro-conductor/globex-ingest", 3, 10*time.Minute, "globex-16core")          // 3 × 10 min × $0.042 = $1.26
		// today's jobs are not compared: the usage report has no complete day for them
		add("maestro-conductor/globex-ingest", 1, 0, "ubuntu-latest")
		s.Runs[len(s.Runs)-1].CreatedAt = now.Add(-time.Hour)
		s.Jobs[len(s.Jobs)-1].StartedAt, s.Jobs[len(s.Jobs)-1].CompletedAt = now.Add(-time.Hour), now.Add(-30*time.Minute)
		item := func(org, ent, repo string, minutes, usd float64) githubtest.UsageItem {
			return githubtest.UsageItem{Date: day, Product: "Actions", SKU: "Actions Linux", Quantity: minutes, UnitType: "Minutes", GrossAmount: usd, NetAmount: usd,
				Org: org, Enterprise: ent, Repo: repo}
		}
		s.Usage = []githubtest.UsageItem{
			item("maestro-conductor", "maestro-ent", "maestro-conductor/acme-api", 20, 0.12),
			// billed as 2-core minutes: the usage report says $0.18, the jobs $1.26
			item("maestro-conductor", "maestro-ent", "maestro-conductor/globex-ingest", 30, 0.18),
			// another organization of the enterprise is not compared
			item("other-org", "maestro-ent", "other-org/app", 1000, 6),
		}
		return s
	}
	for _, ent := range []string{"", "maestro-ent"} {
		t.Run("enterprise="+ent, func(t *testing.T) {
			t.Parallel()
			srv := build()
			s := spec(srv, "", t.TempDir(), 100)
			s.Notify = Notify{}
			s.Source.GitHub.Reconcile = 0.05
			s.Source.GitHub.Enterprise = ent
			res, err := run(t, s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			c := find(res, "billing reconciliation", "")
			if c.Status != gate.StatusFail || !strings.Contains(c.Message, "maestro-conductor/globex-ingest: jobs $1.26 vs billed $0.18") ||
				strings.Contains(c.Message, "acme-api:") || strings.Contains(c.Message, "other-org") || !strings.Contains(c.Message, "1 of 2 repositories") {
				t.Errorf("reconciliation check %+v", c)
			}
			path := "GET /organizations/maestro-conductor/settings/billing/usage"
			if ent != "" {
				path = "GET /enterprises/maestro-ent/settings/billing/usage"
			}
			if srv.Requests[path] != 1 {
				t.Errorf("want one request to %s, got %v", path, srv.Requests)
			}
		})
	}
	t.Run("agreeing sources pass", func(t *testing.T) {
		t.Parallel()
		srv := build()
		srv.Usage[1].GrossAmount = 1.25 // within 5 % of $1.26
		s := spec(srv, "", t.TempDir(), 100)
		s.Notify = Notify{}
		s.Source.GitHub.Reconcile = 0.05
		res, err := run(t, s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c := find(res, "billing reconciliation", ""); c.Status != gate.StatusPass || !strings.Contains(c.Message, "jobs $1.38 and billed $1.37") {
			t.Errorf("reconciliation check %+v", c)
		}
	})
	t.Run("an unreadable billing API is an error, never a pass", func(t *testing.T) {
		t.Parallel()
		srv := build()
		srv.Inject(githubtest.Fault{Path: "/organizations/", Times: 1, Status: 403, Body: `{"message":"Must have admin rights to Repository."}`})
		s := spec(srv, "", t.TempDir(), 100)
		s.Notify = Notify{}
		s.Source.GitHub.Reconcile = 0.05
		res, err := run(t, s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if c := find(res, "billing reconciliation", ""); c.Status != gate.StatusError {
			t.Errorf("reconciliation check %+v", c)
		}
	})
}
