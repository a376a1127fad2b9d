// Package budgetgate implements the cost gates of the checklist, group
// "cost":
//
//   - ci-budget: per-tenant CI spend for the budget period against its
//     limit, warning levels and grace; tenants over budget and past grace
//     fail, and their unprotected workflows are throttled (dry run unless
//     enforce); tenants back under budget get the workflows releasegate
//     disabled re-enabled; a signed webhook is told. Every action and
//     delivery is recorded in the Result.
//   - cost-forecast: the period-end spend forecast with its 90% interval
//     against the budget beyond grace, and the forecast's accuracy: the
//     last 24 hours forecast from the history before them, as WAPE.
//
// Usage comes from a GitHub usage report export (the offline default) or
// the GitHub REST API (jobs priced by runner labels, or the enhanced
// billing usage API). No usage, an empty export or an API error is never a
// pass.
package budgetgate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/budget"
	"github.com/maestro-conductor/releasegate/internal/gate"
)

// The registered kind names.
const (
	KindBudget   = "ci-budget"
	KindForecast = "cost-forecast"
	group        = "cost"
)

func init() {
	gate.RegisterTyped(gate.Typed[Spec]{Name: KindBudget, Group: group,
		Summary: "per-tenant CI spend against budgets with warnings and grace; throttles unprotected workflows and notifies",
		New: func(m gate.Meta, s Spec, env gate.Env) (gate.Gate, error) {
			return NewBudget(m, s, env, Options{})
		}})
	gate.RegisterTyped(gate.Typed[Spec]{Name: KindForecast, Group: group,
		Summary: "forecasts each tenant's period-end CI spend with a 90% interval and reports the forecast's drift (24h backtest WAPE)",
		New: func(m gate.Meta, s Spec, env gate.Env) (gate.Gate, error) {
			return NewForecast(m, s, env, Options{})
		}})

}

// Options are what the CLI and tests may change besides the spec.
type Options struct {
	// Enforce overrides throttle.enforce when true (--enforce).
	Enforce bool
	// HTTPClient replaces the HTTP client for GitHub and the webhook.
	HTTPClient *http.Client
	// Sleep replaces waiting between retries (GitHub API and webhook).
	Sleep func(ctx context.Context, d time.Duration) error
}

type common struct {
	meta       gate.Meta
	spec       Spec
	env        gate.Env
	tenants    budget.Tenants
	prices     *budget.Prices
	budgets    []budget.Budget
	now        func() time.Time
	httpClient *http.Client
	sleep      func(ctx context.Context, d time.Duration) error
	cacheDir   string
}

func newCommon(m gate.Meta, s Spec, env gate.Env, o Options) (*common, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, &gate.InputError{Input: "with", Err: errors.Join(errs...)}
	}
	p, err := budget.NewPrices(s.Prices, s.rules())
	if err != nil {
		return nil, err
	}
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Logf == nil {
		env.Logf = func(string, ...any) {}
	}
	for i := range s.Budgets {
		if s.Budgets[i].Warn == nil {
			s.Budgets[i].Warn = []float64{0.75, 0.9}
		}
	}
	c := &common{meta: m, spec: s, env: env, tenants: s.tenants(), prices: p, now: env.Now, httpClient: o.HTTPClient, sleep: o.Sleep}
	for i := range s.Budgets {
		c.budgets = append(c.budgets, s.budget(i))
	}
	if o.Enforce {
		c.spec.Throttle.Enforce = true
		if s.Source.GitHub.Org == "" {
			return nil, &gate.InputError{Input: "enforce", Err: errors.New("throttling acts through the GitHub API; configure source.github in the gate")}
		}
	}
	return c, nil
}

// BudgetGate is a ci-budget gate.
type BudgetGate struct{ *common }

// NewBudget builds a ci-budget gate.
func NewBudget(m gate.Meta, s Spec, env gate.Env, o Options) (*BudgetGate, error) {
	c, err := newCommon(m, s, env, o)
	if err != nil {
		return nil, err
	}
	return &BudgetGate{c}, nil
}

// Name implements gate.Gate.
func (g *BudgetGate) Name() string { return g.meta.ID }

// Describe implements gate.Describer.
func (g *BudgetGate) Describe() string {
	mode := "dry run"
	if g.spec.Throttle.Enforce {
		mode = "enforcing"
	}
	return fmt.Sprintf("CI spend of %d tenant(s) against their budgets (%s)", len(g.budgets), mode)
}

// Run implements gate.Gate.
func (g *BudgetGate) Run(ctx context.Context) (*gate.Result, error) {
	u, err := g.load(ctx, func(asOf time.Time) time.Time {
		first := asOf
		for _, b := range g.budgets {
			if s, _ := b.Period.Bounds(asOf); s.Before(first) {
				first = s
			}
		}
		return first
	})
	if err != nil {
		return nil, err
	}
	res := &gate.Result{Inputs: u.inputs, Details: map[string]any{"source": u.desc, "as_of": u.asOf}}
	byTenant := u.byTenant(g.tenants)
	var state *budget.State
	stateFile := ""
	if u.gh != nil {
		stateFile = g.spec.Throttle.StateFile
		if stateFile == "" {
			stateFile = filepath.Join(g.cacheDir, "throttle-state.json")
		} else {
			stateFile = g.env.Path(stateFile)
		}
		if state, err = budget.LoadState(stateFile); err != nil {
			return nil, err
		}
	}
	mode := budget.Mode(g.spec.Throttle.Mode)
	if mode == "" {
		mode = budget.ModeCancel
	}
	var assessments []budget.Assessment
	var allActions []budget.Action
	var deliveries []budget.Delivery
	over := 0
	for _, b := range g.budgets {
		a, err := budget.Assess(b, byTenant[b.Tenant], u.asOf, u.covered)
		if err != nil {
			res.Add(gate.Check{Name: "CI spend", Tenant: b.Tenant, Status: gate.StatusFail, Expected: fmt.Sprintf("<= %g", b.Limit), Unit: string(b.Unit),
				Message: err.Error()})
			continue
		}
		assessments = append(assessments, a)
		res.Add(gate.Check{Name: fmt.Sprintf("CI spend this %s", b.Period), Tenant: b.Tenant, Status: a.Level.Status(),
			Observed: gate.Number(round2(a.Spent)), Expected: fmt.Sprintf("<= %g", b.Limit), Unit: string(b.Unit), Message: a.Message})
		if a.Level == budget.LevelOver {
			over++
		}
		acts, err := g.throttle(ctx, u, b, a, mode, state, byTenant[b.Tenant])
		if err != nil {
			res.Add(gate.Check{Name: "throttle", Tenant: b.Tenant, Status: gate.StatusError,
				Message: fmt.Sprintf("tenant %s: could not plan throttling: %v; throttle by hand or fix access and rerun", b.Tenant, err)})
		}
		if len(acts) > 0 {
			res.Add(throttleCheck(b.Tenant, acts, g.spec.Throttle.Enforce))
		}
		allActions = append(allActions, acts...)
		if g.spec.Notify.URL != "" && a.Level != budget.LevelOK {
			d := g.notifier().Send(ctx, budget.NewNotification(a, acts))
			deliveries = append(deliveries, d)
			res.Add(notifyCheck(d))
		}
	}
	if tol := g.spec.Source.GitHub.Reconcile; tol > 0 && u.gh != nil {
		rc, c := g.reconcile(ctx, u, tol)
		res.Add(c)
		if rc != nil {
			res.Details["reconciliation"] = rc
		}
	}
	if state != nil && g.spec.Throttle.Enforce {
		if err := state.Save(stateFile); err != nil {
			res.Add(gate.Check{Name: "throttle state", Status: gate.StatusError,
				Message: fmt.Sprintf("could not save %s: %v; workflows disabled in this run will not be re-enabled automatically", stateFile, err)})
		}
	}
	if u.client != nil {
		st := u.client.Stats()
		res.Details["github_api"] = map[string]any{"requests": st.Requests, "not_modified": st.NotModified, "rate_limit_points": st.Points(), "retries": st.Retries,
			"paced_waits": st.PacedWaits, "paced_for": st.PacedFor.String()}
	}
	res.Details["assessments"] = assessments
	res.Details["actions"] = allActions
	if len(deliveries) > 0 {
		res.Details["notifications"] = deliveries
	}
	mode2 := "dry run"
	if g.spec.Throttle.Enforce {
		mode2 = "enforced"
	}
	res.Summary = fmt.Sprintf("%d of %d tenant(s) over budget; %d throttling action(s) (%s); from %s", over, len(g.budgets), len(allActions), mode2, u.desc)
	return res, nil
}

// throttle plans (and, enforcing, applies) the actions for one tenant.
func (g *BudgetGate) throttle(ctx context.Context, u *usage, b budget.Budget, a budget.Assessment, mode budget.Mode, st *budget.State, recs []budget.Record) ([]budget.Action, error) {
	if u.gh == nil {
		if a.Level != budget.LevelOver {
			return nil, nil
		}
		// a usage file cannot list runs: say what would be throttled
		repos := map[string]bool{}
		for _, r := range recs {
			repos[r.Repo] = true
		}
		var acts []budget.Action
		for _, r := range sortedKeys(repos) {
			acts = append(acts, budget.Action{Kind: budget.ActCancel, Tenant: a.Tenant, Repo: r, Workflow: "unprotected workflows",
				Reason:  fmt.Sprintf("tenant %s is over its %s budget (%.0f%%) and past grace", a.Tenant, a.Period, 100*a.Ratio),
				Outcome: fmt.Sprintf("dry run: would %s queued and in-progress runs of unprotected workflows in %s (protected: %s); configure source.github and --enforce to act", verb(g.spec.Throttle.Mode), r, protectedText(b))})
		}
		return acts, nil
	}
	var runs []budget.Run
	var wfs []budget.Workflow
	if a.Level == budget.LevelOver {
		for _, r := range u.repos {
			if t, ok := g.tenants.Owner(r); !ok || t.Name != a.Tenant {
				continue
			}
			rs, err := u.gh.ActiveRuns(ctx, r.Name)
			if err != nil {
				return nil, err
			}
			runs = append(runs, rs...)
			if mode == budget.ModeDisable {
				ws, err := u.gh.Workflows(ctx, r.Name)
				if err != nil {
					return nil, err
				}
				wfs = append(wfs, ws...)
			}
		}
	}
	waiting := budget.WaitingPolicy(g.spec.Throttle.Waiting)
	if waiting == "" {
		waiting = budget.WaitingCancel
	}
	acts := budget.Plan(b, a, mode, waiting, runs, wfs, st)
	budget.Apply(ctx, u.gh, acts, g.spec.Throttle.Enforce, st, g.now())
	return acts, nil
}

// reconcile compares the job-derived spend of the tenants' repositories
// with the billing usage API's gross amounts over the complete days of the
// month so far (the usage report is daily and lags): from the first of
// the month to the start of the as-of day.
func (g *BudgetGate) reconcile(ctx context.Context, u *usage, tol float64) (*budget.Reconciliation, gate.Check) {
	c := gate.Check{Name: "billing reconciliation", Unit: "repositories", Expected: fmt.Sprintf("jobs and billed usage within %.0f%% per repository", 100*tol)}
	from := time.Date(u.asOf.Year(), u.asOf.Month(), 1, 0, 0, 0, 0, time.UTC)
	to := u.asOf.UTC().Truncate(24 * time.Hour)
	if !to.After(from) {
		c.Status = gate.StatusSkip
		c.Message = fmt.Sprintf("no complete day of %s yet to compare with the billing usage API; reconciliation runs from the 2nd of the month", from.Format("January 2006"))
		return nil, c
	}
	billed, err := g.billingUsage(ctx, u.gh, from.Year(), from.Month(), budget.Gross)
	if err != nil {
		c.Status = gate.StatusError
		c.Message = fmt.Sprintf("could not read the billing usage API to reconcile: %v; give the token billing read access (organization administration: read) or turn source.github.reconcile off", err)
		return nil, c
	}
	claimed := map[string]bool{}
	for _, r := range u.repos {
		claimed[r.Name] = true
	}
	rc := budget.Reconcile(u.recs, billed, from, to, tol, func(repo string) bool { return claimed[repo] })
	c.Observed = gate.Int(int64(len(rc.Differ)))
	span := fmt.Sprintf("%s to %s", from.Format(time.DateOnly), to.Add(-time.Hour).Format(time.DateOnly))
	if len(rc.Differ) == 0 {
		c.Status = gate.StatusPass
		c.Message = fmt.Sprintf("jobs $%.2f and billed $%.2f agree within %.0f%% for each of %d repositories, %s", rc.Jobs, rc.Billed, 100*tol, rc.Repos, span)
		return &rc, c
	}
	var parts []string
	for i, d := range rc.Differ {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(rc.Differ)-10))
			break
		}
		parts = append(parts, fmt.Sprintf("%s: jobs $%.2f vs billed $%.2f (%.0f%%)", d.Repo, d.Jobs, d.Billed, 100*d.Rel))
	}
	c.Status = gate.StatusFail
	c.Message = fmt.Sprintf("%d of %d repositories differ by more than %.0f%% between job-derived and billed spend, %s: %s; check the runners: mapping and prices: of those repositories' runners against the usage report",
		len(rc.Differ), rc.Repos, 100*tol, span, strings.Join(parts, "; "))
	return &rc, c
}

func verb(mode string) string {
	if mode == "disable" {
		return "disable the workflows and cancel"
	}
	return "cancel"
}

func protectedText(b budget.Budget) string {
	if len(b.Protected) == 0 {
		return "none"
	}
	return strings.Join(b.Protected, ", ")
}

func throttleCheck(tenant string, acts []budget.Action, enforce bool) gate.Check {
	failed, applied := 0, 0
	var lines []string
	for _, a := range acts {
		if a.Error != "" {
			failed++
		}
		if a.Applied {
			applied++
		}
		lines = append(lines, a.Outcome)
	}
	c := gate.Check{Name: "throttle", Tenant: tenant, Observed: gate.Int(int64(len(acts))), Unit: "actions", Status: gate.StatusWarn}
	switch {
	case failed > 0:
		c.Status = gate.StatusError
		c.Message = fmt.Sprintf("tenant %s: %d of %d throttling actions failed: %s", tenant, failed, len(acts), strings.Join(lines, "; "))
	case !enforce:
		c.Message = fmt.Sprintf("tenant %s: %s", tenant, strings.Join(lines, "; "))
	default:
		c.Message = fmt.Sprintf("tenant %s: %d action(s) applied: %s", tenant, applied, strings.Join(lines, "; "))
	}
	return c
}

func notifyCheck(d budget.Delivery) gate.Check {
	c := gate.Check{Name: "notification", Tenant: d.Tenant, Observed: gate.Bool(d.Delivered), Status: gate.StatusPass,
		Message: fmt.Sprintf("tenant %s: webhook notified (idempotency key %s, %d attempt(s))", d.Tenant, d.IdempotencyKey, d.Attempts)}
	if !d.Delivered {
		// recorded and visible, but never the reason a release blocks
		c.Status = gate.StatusWarn
		c.Message = fmt.Sprintf("tenant %s: webhook notification failed after %d attempt(s): %s; the budget verdict stands, tell the tenant another way", d.Tenant, d.Attempts, d.Error)
	}
	return c
}

func (g *common) notifier() *budget.Notifier {
	n := &budget.Notifier{URL: g.spec.Notify.URL, Secret: g.spec.Notify.Secret, Attempts: g.spec.Notify.Attempts, Sleep: g.sleep, Redact: g.env.Redact}
	if g.httpClient != nil {
		n.Client = g.httpClient
	}
	return n
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
