package githubapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/budget"
)

// Actions adapts the REST API to budget.Source and budget.Actuator.
type Actions struct {
	C *Client
	// SplitAbove is the run count above which a created-range query is
	// split in halves: GitHub returns at most 1000 runs for a query with a
	// created filter. Zero means 1000.
	SplitAbove int
}

var (
	_ budget.Source   = (*Actions)(nil)
	_ budget.Actuator = (*Actions)(nil)
)

func splitRepo(repo string) (string, error) {
	o, n, ok := strings.Cut(repo, "/")
	if !ok || o == "" || n == "" || strings.Contains(n, "/") {
		return "", fmt.Errorf("repository %q is not owner/name", repo)
	}
	return url.PathEscape(o) + "/" + url.PathEscape(n), nil
}

// Repos lists the organization's repositories (GET /orgs/{org}/repos),
// skipping archived ones, which run no workflows.
func (a *Actions) Repos(ctx context.Context, org string) ([]budget.Repo, error) {
	var out []budget.Repo
	err := a.C.GetAll(ctx, "/orgs/"+url.PathEscape(org)+"/repos", url.Values{"per_page": {"100"}, "type": {"all"}}, func(b []byte) error {
		var page []struct {
			FullName string   `json:"full_name"`
			Topics   []string `json:"topics"`
			Archived bool     `json:"archived"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return fmt.Errorf("unexpected repository list: %w", err)
		}
		for _, r := range page {
			if !r.Archived {
				out = append(out, budget.Repo{Name: r.FullName, Topics: r.Topics})
			}
		}
		return nil
	})
	return out, err
}

type runJSON struct {
	ID         int64     `json:"id"`
	WorkflowID int64     `json:"workflow_id"`
	Path       string    `json:"path"`
	Name       string    `json:"name"`
	Status     string    `json:"status"`
	UpdatedAt  time.Time `json:"updated_at"`
}

type runsPage struct {
	TotalCount   int       `json:"total_count"`
	WorkflowRuns []runJSON `json:"workflow_runs"`
}

// Runs lists the runs created in [since, until). Ranges holding more runs
// than the API returns for one filtered query are split until each fits.
func (a *Actions) Runs(ctx context.Context, repo string, since, until time.Time) ([]budget.RunRef, error) {
	rp, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	limit := a.SplitAbove
	if limit <= 0 {
		limit = 1000
	}
	var out []budget.RunRef
	var walk func(from, to time.Time) error
	walk = func(from, to time.Time) error {
		q := url.Values{"per_page": {"100"}, "created": {from.UTC().Format(time.RFC3339) + ".." + to.Add(-time.Second).UTC().Format(time.RFC3339)}}
		first := true
		var got []budget.RunRef
		split := false
		err := a.C.GetAll(ctx, "/repos/"+rp+"/actions/runs", q, func(b []byte) error {
			var p runsPage
			if err := json.Unmarshal(b, &p); err != nil {
				return fmt.Errorf("unexpected run list: %w", err)
			}
			if first && p.TotalCount > limit && to.Sub(from) > time.Minute {
				split = true
				return errStop
			}
			first = false
			for _, r := range p.WorkflowRuns {
				got = append(got, budget.RunRef{ID: r.ID, Repo: repo, WorkflowPath: r.Path, UpdatedAt: r.UpdatedAt})
			}
			return nil
		})
		if split {
			mid := from.Add(to.Sub(from) / 2).Truncate(time.Second)
			if err := walk(from, mid); err != nil {
				return err
			}
			return walk(mid, to)
		}
		if err != nil {
			return err
		}
		out = append(out, got...)
		return nil
	}
	if err := walk(since, until); err != nil {
		return nil, err
	}
	return out, nil
}

var errStop = stopError{}

type stopError struct{}

func (stopError) Error() string { return "stop" }

// Jobs lists every job of every attempt of a run (filter=all: all attempts
// are billed).
func (a *Actions) Jobs(ctx context.Context, repo string, runID int64) ([]budget.Job, error) {
	rp, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	var out []budget.Job
	err = a.C.GetAll(ctx, fmt.Sprintf("/repos/%s/actions/runs/%d/jobs", rp, runID), url.Values{"per_page": {"100"}, "filter": {"all"}}, func(b []byte) error {
		var p struct {
			Jobs []struct {
				ID          int64      `json:"id"`
				RunID       int64      `json:"run_id"`
				RunAttempt  int        `json:"run_attempt"`
				Status      string     `json:"status"`
				RunnerName  *string    `json:"runner_name"`
				StartedAt   *time.Time `json:"started_at"`
				CompletedAt *time.Time `json:"completed_at"`
				Labels      []string   `json:"labels"`
			} `json:"jobs"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("unexpected job list: %w", err)
		}
		for _, j := range p.Jobs {
			job := budget.Job{ID: j.ID, RunID: j.RunID, RunAttempt: j.RunAttempt, Repo: repo, Labels: j.Labels, Status: j.Status}
			if j.RunnerName != nil {
				job.RunnerName = *j.RunnerName
			}
			if j.StartedAt != nil {
				job.StartedAt = *j.StartedAt
			}
			if j.CompletedAt != nil {
				job.CompletedAt = *j.CompletedAt
			}
			out = append(out, job)
		}
		return nil
	})
	return out, err
}

// ActiveRuns lists the runs in every non-terminal status
// (budget.InFlightStatuses: queued, in_progress, waiting, pending,
// requested), one filtered listing per status.
func (a *Actions) ActiveRuns(ctx context.Context, repo string) ([]budget.Run, error) {
	rp, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	var out []budget.Run
	for _, status := range budget.InFlightStatuses {
		err := a.C.GetAll(ctx, "/repos/"+rp+"/actions/runs", url.Values{"per_page": {"100"}, "status": {status}}, func(b []byte) error {
			var p runsPage
			if err := json.Unmarshal(b, &p); err != nil {
				return fmt.Errorf("unexpected run list: %w", err)
			}
			for _, r := range p.WorkflowRuns {
				out = append(out, budget.Run{ID: r.ID, Repo: repo, WorkflowID: r.WorkflowID, WorkflowPath: r.Path, WorkflowName: r.Name, Status: r.Status})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Workflows lists a repository's workflows with their state.
func (a *Actions) Workflows(ctx context.Context, repo string) ([]budget.Workflow, error) {
	rp, err := splitRepo(repo)
	if err != nil {
		return nil, err
	}
	var out []budget.Workflow
	err = a.C.GetAll(ctx, "/repos/"+rp+"/actions/workflows", url.Values{"per_page": {"100"}}, func(b []byte) error {
		var p struct {
			Workflows []struct {
				ID    int64  `json:"id"`
				Name  string `json:"name"`
				Path  string `json:"path"`
				State string `json:"state"`
			} `json:"workflows"`
		}
		if err := json.Unmarshal(b, &p); err != nil {
			return fmt.Errorf("unexpected workflow list: %w", err)
		}
		for _, w := range p.Workflows {
			out = append(out, budget.Workflow{ID: w.ID, Repo: repo, Path: w.Path, Name: w.Name, State: w.State})
		}
		return nil
	})
	return out, err
}

// CancelRun cancels a run; GitHub answers 202 Accepted, which is success.
func (a *Actions) CancelRun(ctx context.Context, repo string, runID int64) error {
	rp, err := splitRepo(repo)
	if err != nil {
		return err
	}
	return a.C.Do(ctx, http.MethodPost, fmt.Sprintf("/repos/%s/actions/runs/%d/cancel", rp, runID), nil, nil)
}

// DisableWorkflow disables a workflow (204 No Content).
func (a *Actions) DisableWorkflow(ctx context.Context, repo string, id int64) error {
	rp, err := splitRepo(repo)
	if err != nil {
		return err
	}
	return a.C.Do(ctx, http.MethodPut, fmt.Sprintf("/repos/%s/actions/workflows/%d/disable", rp, id), nil, nil)
}

// EnableWorkflow enables a workflow (204 No Content).
func (a *Actions) EnableWorkflow(ctx context.Context, repo string, id int64) error {
	rp, err := splitRepo(repo)
	if err != nil {
		return err
	}
	return a.C.Do(ctx, http.MethodPut, fmt.Sprintf("/repos/%s/actions/workflows/%d/enable", rp, id), nil, nil)
}

// BillingUsage reads the enhanced billing usage API
// (GET /organizations/{org}/settings/billing/usage?year=&month=) and keeps
// the Actions minute items, priced by GitHub's own amounts (gross or net).
// No Actions items is an empty slice, which the caller must not read as
// zero spend.
func (a *Actions) BillingUsage(ctx context.Context, org string, year int, month time.Month, basis budget.Basis) ([]budget.Record, error) {
	return a.billingUsage(ctx, "/organizations/"+url.PathEscape(org)+"/settings/billing/usage", "", year, month, basis)
}

// EnterpriseBillingUsage reads the enterprise form of the billing usage API
// (GET /enterprises/{enterprise}/settings/billing/usage?year=&month=) and
// keeps the Actions minute items of one organization (every
// organization's when org is empty).
func (a *Actions) EnterpriseBillingUsage(ctx context.Context, enterprise, org string, year int, month time.Month, basis budget.Basis) ([]budget.Record, error) {
	return a.billingUsage(ctx, "/enterprises/"+url.PathEscape(enterprise)+"/settings/billing/usage", org, year, month, basis)
}

func (a *Actions) billingUsage(ctx context.Context, path, org string, year int, month time.Month, basis budget.Basis) ([]budget.Record, error) {
	q := url.Values{"year": {strconv.Itoa(year)}, "month": {strconv.Itoa(int(month))}}
	var p struct {
		UsageItems []struct {
			Date             string  `json:"date"`
			Product          string  `json:"product"`
			SKU              string  `json:"sku"`
			Quantity         float64 `json:"quantity"`
			UnitType         string  `json:"unitType"`
			PricePerUnit     float64 `json:"pricePerUnit"`
			GrossAmount      float64 `json:"grossAmount"`
			NetAmount        float64 `json:"netAmount"`
			OrganizationName string  `json:"organizationName"`
			RepositoryName   string  `json:"repositoryName"`
		} `json:"usageItems"`
	}
	pg, err := a.C.Get(ctx, path, q)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(pg.Body, &p); err != nil {
		return nil, fmt.Errorf("unexpected billing usage answer: %w", err)
	}
	var out []budget.Record
	for i, it := range p.UsageItems {
		if !strings.EqualFold(it.Product, "actions") || !strings.EqualFold(it.UnitType, "minutes") {
			continue
		}
		if org != "" && !strings.EqualFold(it.OrganizationName, org) {
			continue
		}
		t, err := time.Parse(time.RFC3339, it.Date)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, it.Date); err != nil {
				return nil, fmt.Errorf("billing usage item %d: date %q: expected RFC 3339", i, it.Date)
			}
		}
		if it.Quantity < 0 || it.GrossAmount < 0 || it.NetAmount < 0 {
			return nil, fmt.Errorf("billing usage item %d: negative amounts", i)
		}
		usd := it.GrossAmount
		if basis == budget.Net {
			usd = it.NetAmount
		}
		out = append(out, budget.Record{Time: t.UTC(), Org: it.OrganizationName, Repo: it.RepositoryName,
			SKU: budget.NormalizeSKU(it.SKU), Minutes: it.Quantity, USD: usd})
	}
	budget.SortRecords(out)
	return out, nil
}
