package slogate

import (
	"context"
	"fmt"
	"time"

	"github.com/maestro-conductor/releasegate/internal/metrics"
)

// freshness says which tenants have live data for a query: at least one of
// its series selectors has a sample within the source's lookback (5m in
// Prometheus, and a staleness marker ends a series at once) at the
// evaluation time. A range query such as rate(x[1h]) keeps answering for an
// hour after scraping stopped; a tenant whose data went stale is no data,
// never judged on what is left in the window.
type freshness struct {
	// all is set when a selector without the tenant label (or any selector,
	// without fan-out) is fresh: every tenant counts as fresh.
	all     bool
	tenants map[string]bool
}

func (f freshness) fresh(tenant string) bool { return f.all || f.tenants[tenant] }

// freshnessQueries returns one query per series selector of q that counts
// its fresh series by label (or in total without fan-out). Selectors with
// an offset or @ are only asked about when the query has no other: the
// hour a day ago is not where data stops arriving.
func freshnessQueries(q, label string) []string {
	sels, err := metrics.Selectors(q)
	if err != nil {
		return nil
	}
	out := make([]string, len(sels))
	for i, s := range sels {
		if label == "" {
			out[i] = fmt.Sprintf("count(%s)", s)
		} else {
			out[i] = fmt.Sprintf("count by (%s) (%s)", label, s)
		}
	}
	return out
}

// checkFresh asks the source which tenants have fresh data for q at at.
func checkFresh(ctx context.Context, plan *metrics.Planner, q, label string, at time.Time) (freshness, error) {
	fqs := freshnessQueries(q, label)
	f := freshness{tenants: map[string]bool{}, all: len(fqs) == 0}
	for _, fq := range fqs {
		v, err := plan.Query(ctx, fq, at)
		if err != nil {
			return f, err
		}
		for _, s := range v {
			t := s.Labels[label]
			if label == "" || t == "" {
				f.all = true
			} else {
				f.tenants[t] = true
			}
		}
	}
	return f, nil
}

func staleMessage(label, tenant string) string {
	return fmt.Sprintf("the data is stale: no series of the query has a sample%s within the lookback (5m) before the evaluation time, so what is left in longer windows is not judged; check that it is still scraped",
		forTenant(label, tenant))
}
