package budget

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// RunRef identifies a workflow run whose jobs are to be priced.
type RunRef struct {
	ID           int64
	Repo         string
	WorkflowPath string
	// UpdatedAt is the run's updated_at (zero when unknown): a re-run or a
	// job finishing moves it, so a run not updated since a time has no job
	// that completed after it.
	UpdatedAt time.Time
}

// runLookback is how long before a window's start Collect lists runs by
// creation time: GitHub lets a run be re-run up to 30 days after it was
// created, and a run may last up to 35 days, so a job completing in the
// window may belong to a run created up to 35 days before it.
const runLookback = 35 * 24 * time.Hour

// Source lists what usage collection needs from GitHub.
type Source interface {
	// Repos lists the organization's repositories with their topics.
	Repos(ctx context.Context, org string) ([]Repo, error)
	// Runs lists the runs of a repository created in [since, until).
	Runs(ctx context.Context, repo string, since, until time.Time) ([]RunRef, error)
	// Jobs lists the jobs of a run.
	Jobs(ctx context.Context, repo string, runID int64) ([]Job, error)
	// ActiveRuns lists queued and in-progress runs of a repository.
	ActiveRuns(ctx context.Context, repo string) ([]Run, error)
	// Workflows lists a repository's workflows with their state.
	Workflows(ctx context.Context, repo string) ([]Workflow, error)
}

// Collection is job-derived usage for a set of repositories.
type Collection struct {
	Records []Record
	// Repos are the repositories collected, with topics.
	Repos []Repo
	// Runs and Jobs count what was read.
	Runs, Jobs int
}

// Collect prices the jobs that ran in [since, until] in every repository a
// tenant claims, with at most concurrency requests in flight.
//
// A job belongs to the window in which it completed (a job still running,
// to now): GitHub's documentation does not say how a job straddling a
// period boundary is billed, so releasegate attributes it, whole, by
// completion time. Runs are listed by creation over [since−RunLookback,
// until), so re-runs and long runs of older runs are caught; runs whose
// updated_at precedes since are skipped without listing their jobs, and
// every job is filtered by its own completion time.
//
// Any API error or unpriced runner fails the collection: partial usage
// would understate spend.
func Collect(ctx context.Context, src Source, org string, ts Tenants, p *Prices, since, until, now time.Time, concurrency int) (*Collection, error) {
	if concurrency <= 0 {
		concurrency = 8
	}
	all, err := src.Repos(ctx, org)
	if err != nil {
		return nil, fmt.Errorf("listing repositories of %s: %w", org, err)
	}
	owners, err := ts.Assign(all)
	if err != nil {
		return nil, err
	}
	col := &Collection{}
	for _, r := range all {
		if _, ok := owners[r.Name]; ok {
			col.Repos = append(col.Repos, r)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu   sync.Mutex
		errs []error
		runs []RunRef
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		cancel()
	}
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for _, r := range col.Repos {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rs, err := src.Runs(ctx, r.Name, since.Add(-runLookback), until)
			if err != nil {
				fail(fmt.Errorf("listing runs of %s: %w", r.Name, err))
				return
			}
			var keep []RunRef
			for _, run := range rs {
				if run.UpdatedAt.IsZero() || !run.UpdatedAt.Before(since) {
					keep = append(keep, run)
				}
			}
			mu.Lock()
			runs = append(runs, keep...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(dedupe(errs)...)
	}
	col.Runs = len(runs)
	for _, run := range runs {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			jobs, err := src.Jobs(ctx, run.Repo, run.ID)
			if err != nil {
				fail(fmt.Errorf("listing jobs of %s run %d: %w", run.Repo, run.ID, err))
				return
			}
			recs, perrs := priceJobs(jobs, run, p, org, since, until, now)
			mu.Lock()
			col.Jobs += len(jobs)
			col.Records = append(col.Records, recs...)
			errs = append(errs, perrs...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(dedupe(errs)...)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	SortRecords(col.Records)
	return col, nil
}

// priceJobs prices the jobs of one run that completed within [since,
// until] (a running job, by now); a job without its own workflow path takes
// the run's.
func priceJobs(jobs []Job, run RunRef, p *Prices, org string, since, until, now time.Time) ([]Record, []error) {
	var recs []Record
	var errs []error
	for _, j := range jobs {
		if end := j.End(now); end.Before(since) || end.After(until) {
			continue
		}
		if j.Workflow == "" {
			j.Workflow = run.WorkflowPath
		}
		rec, err := p.Price(j, now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rec.Org = org
		recs = append(recs, rec)
	}
	return recs, errs
}

// dedupe keeps the first error of each distinct message, so ten thousand
// jobs on one unmapped runner report the runner once, and drops the
// cancellations the first failure caused in the other requests.
func dedupe(errs []error) []error {
	seen := map[string]bool{}
	var out []error
	cause := false
	for _, e := range errs {
		cause = cause || !errors.Is(e, context.Canceled)
	}
	for _, e := range errs {
		if cause && errors.Is(e, context.Canceled) {
			continue
		}
		var k string
		if errors.Is(e, ErrUnpriced) {
			k = unpricedKey(e)
		} else {
			k = e.Error()
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Error() < out[j].Error() })
	return out
}

func unpricedKey(e error) string {
	// the wrapped ErrUnpriced message names the labels or SKU; strip the
	// job-specific prefix before it
	msg := e.Error()
	if i := len(msg) - len(errors.Unwrap(e).Error()); i >= 0 {
		return msg[i:]
	}
	return msg
}
