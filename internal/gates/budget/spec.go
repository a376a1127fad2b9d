package budgetgate

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/maestro-conductor/releasegate/internal/budget"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// Spec is the `with:` block shared by the ci-budget and cost-forecast gates.
type Spec struct {
	// Source is where usage comes from.
	Source Source `yaml:"source" doc:"where usage comes from: a usage report export file, or the GitHub REST API"`
	// Tenants are sets of repositories.
	Tenants []Tenant `yaml:"tenants" required:"true" doc:"the tenants: sets of repositories by name, topic or glob; a repository may belong to one tenant only"`
	// Budgets are per-tenant limits.
	Budgets []Budget `yaml:"budgets" required:"true" doc:"one budget per tenant: period, limit in USD or minutes, warning levels, grace, protected workflows"`
	// Prices override the default per-minute rates.
	Prices map[string]float64 `yaml:"prices" doc:"USD per minute by billing SKU (linux, windows, macos, linux_4_core, self_hosted, ...), on top of GitHub's published rates"`
	// Runners map runner labels to SKUs.
	Runners []Runner `yaml:"runners" doc:"runner label globs mapped to billing SKUs, for larger and self-hosted runners; a label nothing maps is an error, never free"`
	// AsOf is the evaluation time.
	AsOf string `yaml:"as-of" default:"now (latest for a usage file)" doc:"the time to evaluate at: now, latest (the end of the usage data) or an RFC 3339 timestamp"`
	// Throttle configures throttling (ci-budget only).
	Throttle Throttle `yaml:"throttle" doc:"what ci-budget does to a tenant over budget and past grace (dry run unless enforce)"`
	// Notify configures the webhook (ci-budget only).
	Notify Notify `yaml:"notify" doc:"a webhook told about warnings, grace and overruns (ci-budget only)"`
	// Forecast configures cost-forecast.
	Forecast Forecast `yaml:"forecast" doc:"forecast settings (cost-forecast only)"`
}

// Source selects the usage source.
type Source struct {
	UsageFile string `yaml:"usage-file" doc:"a GitHub usage report CSV export (summarized, detailed or hourly), relative to the policy file"`
	Basis     string `yaml:"basis" default:"gross" enum:"gross,net" doc:"gross counts all usage at list price; net is what is billed after included minutes and discounts"`
	GitHub    GitHub `yaml:"github" doc:"read usage from the GitHub REST API instead of a file"`
}

// GitHub configures the REST source.
type GitHub struct {
	Org         string  `yaml:"org" doc:"the organization whose repositories the tenants select"`
	Mode        string  `yaml:"mode" default:"jobs" enum:"jobs,billing-usage" doc:"jobs prices every job by its runner labels; billing-usage reads /organizations/{org}/settings/billing/usage"`
	APIURL      string  `yaml:"api-url" doc:"REST API root; default $GITHUB_API_URL, then https://api.github.com"`
	Token       string  `yaml:"token" secret:"true" doc:"API token; default $GITHUB_TOKEN"`
	CacheDir    string  `yaml:"cache-dir" doc:"directory for the ETag cache kept between runs; default $RUNNER_TEMP or the user cache directory"`
	Concurrency int     `yaml:"concurrency" default:"8" doc:"API requests in flight at once"`
	Enterprise  string  `yaml:"enterprise" doc:"read billing usage from the enterprise form of the endpoint, /enterprises/{enterprise}/settings/billing/usage, keeping the organization's items (billing-usage mode and reconciliation)"`
	Reconcile   float64 `yaml:"reconcile" doc:"jobs mode: also read the billing usage API and compare each repository's job-derived spend with its billed gross amount over the period's complete days; a repository differing by more than this fraction (e.g. 0.05) fails the billing reconciliation check. 0 (the default) turns it off"`
	RateBudget  int     `yaml:"rate-budget" doc:"primary rate-limit points per hour the gate may spend, leaving the rest of the token's limit to others; default all of it. Requests are paced to never spend the last point: the gate waits for the reset when that ends before the gate's timeout, else fails (exit 3) at once"`
}

// Tenant selects repositories.
type Tenant struct {
	Name     string   `yaml:"name" required:"true" doc:"the tenant's name, shown in results"`
	Repos    []string `yaml:"repos" doc:"repositories by name (owner/name or name)"`
	Topics   []string `yaml:"topics" doc:"repositories carrying any of these topics (GitHub source only)"`
	Patterns []string `yaml:"patterns" doc:"globs over repository names, e.g. acme-*"`
}

// Budget is one tenant's limit.
type Budget struct {
	Tenant       string          `yaml:"tenant" required:"true" doc:"the tenant's name"`
	Period       string          `yaml:"period" default:"month" enum:"month,week" doc:"the budget period (UTC calendar month or ISO week)"`
	USD          float64         `yaml:"usd" doc:"the hard limit in USD (give usd or minutes)"`
	Minutes      float64         `yaml:"minutes" doc:"the hard limit in billable minutes (give usd or minutes)"`
	Warn         []float64       `yaml:"warn" default:"[0.75, 0.9]" doc:"fractions of the limit that raise a warning"`
	Grace        policy.Duration `yaml:"grace" doc:"time after crossing the limit before throttling, e.g. 24h"`
	GraceOverage float64         `yaml:"grace-overage" doc:"fraction above the limit tolerated before throttling, e.g. 0.1"`
	Protected    []string        `yaml:"protected" doc:"workflow globs never throttled, by path, file or name, e.g. release.yml"`
}

// Runner maps labels to a SKU.
type Runner struct {
	Match string `yaml:"match" required:"true" doc:"a glob over one runner label, e.g. acme-gpu-*"`
	SKU   string `yaml:"sku" required:"true" doc:"the billing SKU it is priced as, e.g. linux_16_core"`
}

// Throttle configures throttling.
type Throttle struct {
	Mode      string `yaml:"mode" default:"cancel" enum:"cancel,disable" doc:"cancel in-flight runs (queued, in_progress, waiting, pending, requested) of unprotected workflows, or also disable those workflows until the tenant is back under budget"`
	Waiting   string `yaml:"waiting" default:"cancel" enum:"cancel,leave" doc:"runs waiting for an approval or a concurrency slot (waiting, pending, requested): cancel them like queued runs, or leave them (each is recorded as left)"`
	Enforce   bool   `yaml:"enforce" doc:"act; without it (or --enforce) the gate only says what it would do"`
	StateFile string `yaml:"state-file" doc:"where the workflows releasegate disabled are remembered for re-enabling; default in the cache directory"`
}

// Notify configures the webhook.
type Notify struct {
	URL      string `yaml:"url" secret:"true" doc:"webhook URL (Slack-compatible: the body has a text field)"`
	Secret   string `yaml:"secret" secret:"true" doc:"HMAC-SHA256 key for the X-Releasegate-Signature-256 header"`
	Attempts int    `yaml:"attempts" default:"4" doc:"delivery attempts with exponential backoff"`
}

// Forecast configures cost-forecast.
type Forecast struct {
	MaxDrift float64         `yaml:"max-drift" default:"0.05" doc:"the largest WAPE allowed when the last 24 hours are forecast from the history before them"`
	History  policy.Duration `yaml:"history" default:"28d" doc:"how much history before the period the forecast learns from"`
}

// Validate reports every problem at once, each at its key.
func (s *Spec) Validate() []error {
	var errs []error
	fe := func(field string, err error) { errs = append(errs, &policy.FieldError{Field: field, Err: err}) }
	gh := s.Source.GitHub
	switch {
	case s.Source.UsageFile == "" && gh.Org == "":
		fe("source", errors.New("no usage source; give usage-file or github.org"))
	case s.Source.UsageFile != "" && gh.Org != "":
		fe("source", errors.New("both usage-file and github.org are set; give one"))
	}
	if s.Source.Basis != "" && s.Source.Basis != "gross" && s.Source.Basis != "net" {
		fe("source.basis", fmt.Errorf("%q: expected gross or net", s.Source.Basis))
	}
	ts := s.tenants()
	for _, err := range ts.Validate() {
		errs = append(errs, atField(err)...)
	}
	if s.Source.UsageFile != "" {
		for i, t := range s.Tenants {
			if len(t.Topics) > 0 {
				fe(fmt.Sprintf("tenants[%d].topics", i), errors.New("a usage file does not carry repository topics; select repositories by repos or patterns, or use source.github"))
			}
		}
	}
	seen := map[string]bool{}
	for i, b := range s.Budgets {
		at := fmt.Sprintf("budgets[%d]", i)
		if (b.USD != 0) == (b.Minutes != 0) {
			fe(at+".usd", errors.New("give exactly one of usd or minutes"))
		}
		if b.USD < 0 || b.Minutes < 0 {
			fe(at, fmt.Errorf("a negative budget (%v) cannot be met; expected a positive limit", b.USD+b.Minutes))
		}
		if _, ok := ts.Find(b.Tenant); b.Tenant != "" && !ok {
			fe(at+".tenant", fmt.Errorf("no tenant named %q; expected one of the tenants above", b.Tenant))
		}
		if seen[b.Tenant] {
			fe(at+".tenant", fmt.Errorf("tenant %q has two budgets; give one", b.Tenant))
		}
		seen[b.Tenant] = true
		dom := s.budget(i)
		if b.USD > 0 || b.Minutes > 0 {
			for _, err := range dom.Validate(at) {
				errs = append(errs, atField(err)...)
			}
		}
	}
	if _, err := budget.NewPrices(s.Prices, s.rules()); err != nil {
		errs = append(errs, atField(err)...)
	}
	if s.AsOf != "" && s.AsOf != "now" && s.AsOf != "latest" {
		if _, err := time.Parse(time.RFC3339, s.AsOf); err != nil {
			fe("as-of", fmt.Errorf("%q: expected now, latest or an RFC 3339 timestamp", s.AsOf))
		}
	}
	if s.Throttle.Enforce && gh.Org == "" {
		fe("throttle.enforce", errors.New("throttling acts through the GitHub API; configure source.github or drop enforce"))
	}
	if gh.Reconcile < 0 || gh.Reconcile >= 1 || math.IsNaN(gh.Reconcile) {
		fe("source.github.reconcile", fmt.Errorf("%v is not a fraction; expected e.g. 0.05 for 5%%, or 0 to turn reconciliation off", gh.Reconcile))
	}
	if gh.Reconcile > 0 && gh.Mode == "billing-usage" {
		fe("source.github.reconcile", errors.New("reconciliation compares jobs with the billing usage API; it needs mode jobs"))
	}
	if gh.RateBudget < 0 {
		fe("source.github.rate-budget", fmt.Errorf("%d is negative; expected points per hour, e.g. 2000, or 0 for the token's whole limit", gh.RateBudget))
	}
	if w := s.Throttle.Waiting; w != "" && w != string(budget.WaitingCancel) && w != string(budget.WaitingLeave) {
		fe("throttle.waiting", fmt.Errorf("%q: expected cancel or leave", w))
	}
	if s.Forecast.MaxDrift < 0 {
		fe("forecast.max-drift", fmt.Errorf("%v is negative; expected e.g. 0.05", s.Forecast.MaxDrift))
	}
	return errs
}

func (s *Spec) tenants() budget.Tenants {
	ts := make(budget.Tenants, len(s.Tenants))
	for i, t := range s.Tenants {
		ts[i] = budget.Tenant{Name: t.Name, Repos: t.Repos, Topics: t.Topics, Patterns: t.Patterns}
	}
	return ts
}

func (s *Spec) rules() []budget.LabelRule {
	rs := make([]budget.LabelRule, len(s.Runners))
	for i, r := range s.Runners {
		rs[i] = budget.LabelRule{Match: r.Match, SKU: r.SKU}
	}
	return rs
}

func (s *Spec) budget(i int) budget.Budget {
	b := s.Budgets[i]
	d := budget.Budget{Tenant: b.Tenant, Period: budget.Period(b.Period), Warn: b.Warn, Grace: b.Grace.D(),
		GraceOverage: b.GraceOverage, Protected: b.Protected, Limit: b.USD, Unit: budget.USD}
	if d.Period == "" {
		d.Period = budget.Month
	}
	if b.Minutes > 0 {
		d.Limit, d.Unit = b.Minutes, budget.Minutes
	}
	return d
}

func (s *Spec) basis() budget.Basis {
	if s.Source.Basis == "net" {
		return budget.Net
	}
	return budget.Gross
}

// atField turns the domain's *gate.InputError values (whose Input is the
// key path under with:) into policy.FieldErrors, so the policy reports
// each at its file:line:col; a joined error yields one per part.
func atField(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, atField(e)...)
		}
		return out
	}
	var ie *gate.InputError
	if errors.As(err, &ie) {
		return []error{&policy.FieldError{Field: ie.Input, Err: ie.Err}}
	}
	return []error{err}
}
