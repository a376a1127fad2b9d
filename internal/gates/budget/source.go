package budgetgate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/maestro-conductor/releasegate/internal/budget"
	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/githubapi"
)

// usage is what a source yielded for one evaluation.
type usage struct {
	recs []budget.Record
	// daily is true when records are day buckets.
	daily bool
	// covered is true when the source lists every job of the period, so a
	// tenant without records really spent nothing.
	covered bool
	topics  map[string][]string
	asOf    time.Time
	inputs  []gate.Input
	// gh is set for the GitHub source; throttling needs it.
	gh     *githubapi.Actions
	client *githubapi.Client
	repos  []budget.Repo
	desc   string
}

// setup resolves the GitHub client and cache directory from the spec and
// the environment.
func (g *common) client() (*githubapi.Client, string, error) {
	gh := g.spec.Source.GitHub
	base := gh.APIURL
	if base == "" {
		base = g.env.Getenv("GITHUB_API_URL")
	}
	token := gh.Token
	if token == "" {
		token = g.env.Getenv("GITHUB_TOKEN")
	}
	cacheDir := gh.CacheDir
	if cacheDir == "" {
		if rt := g.env.Getenv("RUNNER_TEMP"); rt != "" {
			cacheDir = filepath.Join(rt, "releasegate-cache")
		} else if d, err := os.UserCacheDir(); err == nil {
			cacheDir = filepath.Join(d, "releasegate")
		}
	} else {
		cacheDir = g.env.Path(cacheDir)
	}
	opts := []githubapi.Option{githubapi.WithConcurrency(max(gh.Concurrency, 0))}
	if gh.Concurrency == 0 {
		opts[0] = githubapi.WithConcurrency(8)
	}
	if cacheDir != "" {
		c, err := githubapi.NewCache(filepath.Join(cacheDir, "etags"))
		if err != nil {
			return nil, "", fmt.Errorf("ETag cache %s: %w", cacheDir, err)
		}
		opts = append(opts, githubapi.WithCache(c))
	}
	c, err := githubapi.New(base, token, opts...)
	if err != nil {
		return nil, "", err
	}
	if g.httpClient != nil {
		githubapi.WithHTTPClient(g.httpClient)(c)
	}
	if g.sleep != nil {
		c.Sleep = g.sleep
	}
	c.Now = g.now
	c.Budget = gh.RateBudget
	return c, cacheDir, nil
}

// usageSource is where a budget gate's usage comes from: an exported usage
// report (fileSource), the billing usage API (billingSource) or the jobs of
// the organization's workflow runs (jobsSource).
type usageSource interface {
	// load reads usage from [since(asOf), asOf); a file source reads the
	// whole file.
	load(ctx context.Context, g *common, since func(asOf time.Time) time.Time) (*usage, error)
}

// source is the usage source the spec names.
func (g *common) source() usageSource {
	switch {
	case g.spec.Source.UsageFile != "":
		return fileSource{}
	case g.spec.Source.GitHub.Mode == "billing-usage":
		return billingSource{}
	}
	return jobsSource{}
}

// load reads usage from [since, asOf) where since is chosen by the caller
// from the as-of time (for a file source the whole file is read).
func (g *common) load(ctx context.Context, since func(asOf time.Time) time.Time) (*usage, error) {
	return g.source().load(ctx, g, since)
}

// fileSource reads the exported usage report source.usage-file.
type fileSource struct{}

func (fileSource) load(ctx context.Context, g *common, _ func(time.Time) time.Time) (*usage, error) {
	s := g.spec
	b, err := fsx.ReadFile(ctx, g.env.Path(s.Source.UsageFile), fsx.MaxDataSize)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &gate.InputError{Input: s.Source.UsageFile, Err: errors.New("usage file not found; export a usage report from the billing settings or point usage-file at one")}
		}
		if errors.Is(err, fsx.ErrNotRegular) || errors.Is(err, fsx.ErrTooLarge) {
			return nil, &gate.InputError{Input: s.Source.UsageFile, Err: fmt.Errorf("usage file %w", err)}
		}
		return nil, fmt.Errorf("%w: reading %s: %v", gate.ErrUnreachable, s.Source.UsageFile, err)
	}
	rep, err := budget.ReadUsageCSV(bytesReader(b), s.basis())
	if err != nil {
		return nil, fmt.Errorf("usage file %s: %w", s.Source.UsageFile, err)
	}
	u := &usage{recs: rep.Records, daily: rep.Daily, inputs: []gate.Input{{Name: s.Source.UsageFile, Digest: gate.Digest(b)}},
		desc: fmt.Sprintf("usage report %s (%d Actions rows)", s.Source.UsageFile, len(rep.Records))}
	_, last := budget.Span(rep.Records)
	end := last.Add(time.Hour)
	if rep.Daily {
		end = last.AddDate(0, 0, 1)
	}
	u.asOf, err = g.asOf(end)
	if err != nil {
		return nil, err
	}
	// overlapping tenants over the repositories the file names
	var repos []budget.Repo
	seen := map[string]bool{}
	for _, r := range rep.Records {
		if !seen[r.Repo] {
			seen[r.Repo] = true
			repos = append(repos, budget.Repo{Name: r.Repo})
		}
	}
	if _, err := g.tenants.Assign(repos); err != nil {
		return nil, err
	}
	return u, nil
}

// githubUsage starts the usage of a GitHub source: the client, the as-of
// time and the start of the window.
func (g *common) githubUsage(since func(time.Time) time.Time) (*usage, time.Time, error) {
	c, cacheDir, err := g.client()
	if err != nil {
		return nil, time.Time{}, err
	}
	g.cacheDir = cacheDir
	asOf, err := g.asOf(g.now())
	if err != nil {
		return nil, time.Time{}, err
	}
	u := &usage{asOf: asOf, gh: &githubapi.Actions{C: c}, client: c, covered: true, topics: map[string][]string{},
		inputs: []gate.Input{{Name: "GitHub Actions usage of " + g.spec.Source.GitHub.Org, URI: c.BaseURL()}}}
	return u, since(asOf), nil
}

// billingSource reads the billing usage API month by month. It lists only
// what was billed, so a tenant without items is not known to be idle.
type billingSource struct{}

func (billingSource) load(ctx context.Context, g *common, since func(time.Time) time.Time) (*usage, error) {
	s := g.spec
	u, from, err := g.githubUsage(since)
	if err != nil {
		return nil, err
	}
	u.covered = false
	// the repositories (with topics) tell which tenant each usage item
	// belongs to and which repositories throttling acts on
	repos, err := u.gh.Repos(ctx, s.Source.GitHub.Org)
	if err != nil {
		return nil, fmt.Errorf("listing repositories of %s: %w", s.Source.GitHub.Org, err)
	}
	if _, err := g.tenants.Assign(repos); err != nil {
		return nil, err
	}
	u.repos = repos
	for _, r := range repos {
		u.topics[r.Name] = r.Topics
	}
	for m := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC); m.Before(u.asOf); m = m.AddDate(0, 1, 0) {
		recs, err := g.billingUsage(ctx, u.gh, m.Year(), m.Month(), s.basis())
		if err != nil {
			return nil, fmt.Errorf("billing usage of %s: %w", s.Source.GitHub.Org, err)
		}
		u.recs = append(u.recs, recs...)
	}
	if len(u.recs) == 0 {
		return nil, fmt.Errorf("%w: the billing usage API returned no Actions minutes for %s since %s; expected usage items with product Actions; check the token's billing permission and the organization",
			gate.ErrNoData, s.Source.GitHub.Org, from.Format(time.DateOnly))
	}
	u.daily = true
	for _, r := range u.recs {
		if r.Time.Hour() != 0 {
			u.daily = false
		}
	}
	u.desc = fmt.Sprintf("billing usage API of %s (%d items)", s.Source.GitHub.Org, len(u.recs))
	return u, nil
}

// jobsSource prices every job of the organization's workflow runs in the
// window; it lists every job, so a tenant without records spent nothing.
type jobsSource struct{}

func (jobsSource) load(ctx context.Context, g *common, since func(time.Time) time.Time) (*usage, error) {
	s := g.spec
	u, from, err := g.githubUsage(since)
	if err != nil {
		return nil, err
	}
	col, err := budget.Collect(ctx, u.gh, s.Source.GitHub.Org, g.tenants, g.prices, from, u.asOf, u.asOf, max(s.Source.GitHub.Concurrency, 8))
	if err != nil {
		return nil, fmt.Errorf("collecting jobs of %s: %w", s.Source.GitHub.Org, err)
	}
	u.recs, u.repos = col.Records, col.Repos
	for _, r := range col.Repos {
		u.topics[r.Name] = r.Topics
	}
	u.desc = fmt.Sprintf("%d jobs of %d runs in %d repositories of %s", col.Jobs, col.Runs, len(col.Repos), s.Source.GitHub.Org)
	return u, nil
}

// billingUsage reads one month of the billing usage API, in its enterprise
// form when source.github.enterprise is set.
func (g *common) billingUsage(ctx context.Context, gh *githubapi.Actions, year int, month time.Month, basis budget.Basis) ([]budget.Record, error) {
	src := g.spec.Source.GitHub
	if src.Enterprise != "" {
		return gh.EnterpriseBillingUsage(ctx, src.Enterprise, src.Org, year, month, basis)
	}
	return gh.BillingUsage(ctx, src.Org, year, month, basis)
}

func (g *common) asOf(latest time.Time) (time.Time, error) {
	switch a := g.spec.AsOf; a {
	case "latest":
		return latest, nil
	case "", "now":
		if a == "" && g.spec.Source.UsageFile != "" {
			return latest, nil
		}
		return g.now(), nil
	default:
		t, err := time.Parse(time.RFC3339, a)
		if err != nil {
			return time.Time{}, &gate.InputError{Input: "as-of", Err: err}
		}
		return t.UTC(), nil
	}
}

// tenantRecords returns the records of each budget's tenant.
func (u *usage) byTenant(ts budget.Tenants) map[string][]budget.Record {
	m := budget.ByTenant(u.recs, ts, u.topics)
	for k := range m {
		sort.SliceStable(m[k], func(i, j int) bool { return m[k][i].Time.Before(m[k][j].Time) })
	}
	return m
}
