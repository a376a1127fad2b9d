package slogate

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// benchChecks are 100 error-ratio checks over the 200 tenants of
// bench_requests_total (loaded by scripts/services/prometheus.sh), over 50
// windows from 2m to 51m (each window twice, with two thresholds): a policy
// that shares little, beside the realistic one of BenchmarkCheckSLOSpeed.
func benchChecks() []MetricCheck {
	cs := make([]MetricCheck, 100)
	for i := range cs {
		w := 2 + i%50
		cs[i] = MetricCheck{
			Name:      fmt.Sprintf("error ratio %d", i),
			Query:     fmt.Sprintf(`sum by (tenant) (rate(bench_requests_total{code="500"}[%dm])) / sum by (tenant) (rate(bench_requests_total[%dm]))`, w, w),
			Condition: policy.MustCondition(fmt.Sprintf("< %g", 0.01+float64(i)/1000)),
		}
	}
	return cs
}

// BenchmarkSlowestSingleQuery reports the slowest of the 100 queries run
// one at a time (slowest-ms): the bound the concurrent gate is held to.
func BenchmarkSlowestSingleQuery(b *testing.B) {
	prom := promSource(b)
	cs := benchChecks()
	var slowest time.Duration
	for b.Loop() {
		for _, c := range cs {
			start := time.Now()
			v, err := prom.Query(context.Background(), c.Query, prom.Now())
			if err != nil || len(v) != 200 {
				b.Fatalf("%d series, %v", len(v), err)
			}
			slowest = max(slowest, time.Since(start))
		}
	}
	b.ReportMetric(float64(slowest.Microseconds())/1000, "slowest-ms")
}

// BenchmarkMetricGate100x200 runs the 100 checks over 200 tenants (20,000
// verdicts) at several concurrency limits; concurrency=1 is the sequential
// loop.
func BenchmarkMetricGate100x200(b *testing.B) {
	prom := promSource(b)
	for _, conc := range []int{1, 8, 32, 100} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			spec := &MetricSpec{Source: SourceSpec{URL: "x"}, TenantLabel: "tenant", Concurrency: conc, Checks: benchChecks()}
			g := NewMetricGate(gate.Meta{ID: "bench"}, spec, prom)
			for b.Loop() {
				res, err := g.Run(context.Background())
				if err != nil || len(res.Checks) != 20000 {
					b.Fatalf("%v, %d checks", err, len(res.Checks))
				}
			}
		})
	}
}
