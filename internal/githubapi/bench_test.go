package githubapi

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/budget"
	"github.com/maestro-conductor/releasegate/internal/githubapi/githubtest"
)

// BenchmarkCollect5000Runs collects 5,000 runs / 20,000 jobs (50
// repositories × 100 runs × 4 jobs) through a server that adds 50 ms to
// every request, then collects again over a warm ETag cache. It reports
// the wall time against the bound requests ÷ concurrency × 50 ms, and the
// second run's rate-limit points as a share of the first's. Run it by hand:
//
//	go test ./internal/githubapi -run XXX -bench Collect5000 -benchtime 1x
func BenchmarkCollect5000Runs(b *testing.B) {
	const (
		repos, runsPer, jobsPer = 50, 100, 4
		latency                 = 50 * time.Millisecond
		concurrency             = 32
	)
	srv := githubtest.New()
	defer srv.Close()
	id := int64(1)
	for r := 0; r < repos; r++ {
		name := fmt.Sprintf("maestro-conductor/svc-%02d", r)
		srv.Repos = append(srv.Repos, githubtest.Repo{FullName: name})
		for k := 0; k < runsPer; k++ {
			created := t0.Add(-time.Duration(k) * time.Minute)
			srv.Runs = append(srv.Runs, githubtest.Run{ID: id, Repo: name, WorkflowID: 1, Path: ".github/workflows/ci.yml", Status: "completed", CreatedAt: created})
			for j := 0; j < jobsPer; j++ {
				srv.Jobs = append(srv.Jobs, githubtest.Job{ID: id*10 + int64(j), RunID: id, Status: "completed", StartedAt: created,
					CompletedAt: created.Add(3 * time.Minute), Labels: []string{"ubuntu-latest"}, RunnerName: "GitHub Actions 3"})
			}
			id++
		}
	}
	srv.Latency = latency
	// 5,051 points in one run: a GitHub App installation's 15,000 an hour
	// (pacing against 5,000 is TestPacing20000Jobs, on a simulated clock)
	srv.Limit = 15000
	p, _ := budget.NewPrices(nil, nil)
	ts := budget.Tenants{{Name: "all", Patterns: []string{"svc-*"}}}
	for i := 0; i < b.N; i++ {
		cache, err := NewCache(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		collect := func() (time.Duration, Stats) {
			c, err := New(srv.URL, "tok", WithCache(cache), WithConcurrency(concurrency))
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			col, err := budget.Collect(context.Background(), &Actions{C: c}, "maestro-conductor", ts, p, t0.Add(-24*time.Hour), t0.Add(time.Hour), t0, concurrency)
			if err != nil {
				b.Fatal(err)
			}
			if col.Runs != repos*runsPer || col.Jobs != repos*runsPer*jobsPer {
				b.Fatalf("collected %d runs, %d jobs", col.Runs, col.Jobs)
			}
			return time.Since(start), c.Stats()
		}
		cold, st1 := collect()
		warm, st2 := collect()
		bound := time.Duration(math.Ceil(float64(st1.Requests)/concurrency)) * latency
		b.ReportMetric(cold.Seconds(), "cold-s")
		b.ReportMetric(float64(st1.Requests), "requests")
		b.ReportMetric(cold.Seconds()/bound.Seconds(), "cold/bound")
		b.ReportMetric(warm.Seconds(), "warm-s")
		b.ReportMetric(float64(st2.Points())/float64(st1.Points()), "warm-points/cold-points")
	}
}
