package slogate

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/metrics"
)

// noData policies.
const (
	onNoDataFail = "fail"
	onNoDataWarn = "warn"
	onNoDataSkip = "skip"
)

func noDataStatus(s string) gate.Status {
	switch s {
	case onNoDataWarn:
		return gate.StatusWarn
	case onNoDataSkip:
		return gate.StatusSkip
	}
	return gate.StatusFail
}

// ShapeError means a query's result cannot be split per tenant: several
// series for one tenant, or a series without the tenant label. It is a
// problem in the query, not in the data.
type ShapeError struct {
	Query string
	Msg   string
}

func (e *ShapeError) Error() string { return fmt.Sprintf("query %s: %s", e.Query, e.Msg) }

// byTenant splits a vector into one value per tenant. With no tenant label
// the query must return at most one series, keyed "".
func byTenant(q string, v metrics.Vector, label string) (map[string]float64, error) {
	out := make(map[string]float64, len(v))
	if label == "" {
		if len(v) > 1 {
			return nil, &ShapeError{Query: q, Msg: fmt.Sprintf("returned %d series (%s, …); expected one: aggregate with sum(…) or set tenant-label to fan out", len(v), v[0].LabelString())}
		}
		for _, s := range v {
			out[""] = s.Value
		}
		return out, nil
	}
	for _, s := range v {
		t, ok := s.Labels[label]
		if !ok || t == "" {
			return nil, &ShapeError{Query: q, Msg: fmt.Sprintf("series %s has no %q label; keep it with sum by (%s) (…)", s.LabelString(), label, label)}
		}
		if _, dup := out[t]; dup {
			return nil, &ShapeError{Query: q, Msg: fmt.Sprintf("returned several series for %s %q; aggregate with sum by (%s) (…)", label, t, label)}
		}
		out[t] = s.Value
	}
	return out, nil
}

// tenantsOf returns the sorted union of the maps' keys and the expected
// tenants.
func tenantsOf(expected []string, ms ...map[string]float64) []string {
	seen := map[string]bool{}
	for _, t := range expected {
		seen[t] = true
	}
	for _, m := range ms {
		for t := range m {
			seen[t] = true
		}
	}
	out := make([]string, 0, len(seen))
	for t := range seen {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func isNaN(f float64) bool { return math.IsNaN(f) }

// parallel runs fn for i in [0,n) with at most limit at once and returns
// the first error by index.
func parallel(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	if limit <= 0 {
		limit = 8
	}
	errs := make([]error, n)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = fn(ctx, i)
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// concurrency is the policy's concurrency (8 by default), capped at the
// server's own --query.max-concurrency when the server tells it.
func concurrency(ctx context.Context, src metrics.Source, want int) (n, server int) {
	if want <= 0 {
		want = 8
	}
	if s, ok := src.(interface{ MaxConcurrency(context.Context) int }); ok {
		if server = s.MaxConcurrency(ctx); server > 0 && server < want {
			return server, server
		}
	}
	return want, server
}
