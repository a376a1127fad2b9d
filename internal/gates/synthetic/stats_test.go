package syntheticgate

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/load"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

func TestWilsonBounds(t *testing.T) {
	t.Parallel()
	// reference values computed independently from the Wilson formula
	// with z = 1.6448536 (one-sided 95 %)
	for _, tc := range []struct {
		x, n   int64
		lo, hi float64
	}{
		{0, 300, 0, 0.0089379},
		{3, 300, 0.0040034, 0.0247558},
		{295, 300, 0.9661625, 0.9918642},
	} {
		lo, hi := wilson(tc.x, tc.n)
		if math.Abs(lo-tc.lo) > 1e-6 || math.Abs(hi-tc.hi) > 1e-6 {
			t.Errorf("wilson(%d, %d) = [%.7f, %.7f], want [%.7f, %.7f]", tc.x, tc.n, lo, hi, tc.lo, tc.hi)
		}
	}
	if lo, hi := wilson(0, 0); lo != 0 || hi != 1 {
		t.Errorf("wilson of nothing = [%g, %g], want [0, 1]", lo, hi)
	}
}

func TestMinimumSamples(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cond string
		want int64
	}{
		{"< 0.01", 268}, {"<= 0.01", 268}, {"< 0.05", 52}, {">= 0.95", 52}, {"<= 0", 1}, {"== 1", 1},
	} {
		if got := minSamplesRatio(policy.MustCondition(tc.cond)); got != tc.want {
			t.Errorf("minimum for %s = %d, want %d", tc.cond, got, tc.want)
		}
	}
	for _, tc := range []struct {
		q    float64
		want int64
	}{{0.5, 5}, {0.95, 59}, {0.99, 299}, {0.999, 2995}} {
		if got := minSamplesQuantile(tc.q); got != tc.want {
			t.Errorf("minimum for quantile %g = %d, want %d", tc.q, got, tc.want)
		}
		if _, ok := upperRank(tc.want, tc.q); !ok {
			t.Errorf("no upper bound of quantile %g at its minimum %d", tc.q, tc.want)
		}
		if _, ok := upperRank(tc.want-1, tc.q); ok {
			t.Errorf("an upper bound of quantile %g below its minimum %d", tc.q, tc.want)
		}
	}
	// reference ranks from the exact binomial distribution
	for _, tc := range []struct {
		n    int64
		q    float64
		want int64
	}{{1000, 0.95, 962}, {300, 0.99, 300}, {59, 0.95, 59}, {100, 0.5, 59}} {
		if got, _ := upperRank(tc.n, tc.q); got != tc.want {
			t.Errorf("upper rank of quantile %g of %d = %d, want %d", tc.q, tc.n, got, tc.want)
		}
	}
}

// stream is a judged-looking stream of n responses, failed of them 500,
// with latencies 1ms, 2ms, … n ms.
func stream(tenant string, n, failed int64) *load.StreamResult {
	s := &load.StreamResult{Tenant: tenant, Scenario: ScenarioSLO, Planned: n, Sent: n, Responses: n, OK: n - failed, Good: n - failed,
		Status: map[int]int64{200: n - failed}, Errors: map[string]int64{}, FirstThrottledUS: -1, LastThrottledUS: -1, LastFailedUS: -1}
	if failed > 0 {
		s.Status[500] = failed
		s.CheckFailed = failed
	}
	for i := range n {
		s.Latency.Record(time.Duration(i+1) * time.Millisecond)
	}
	return s
}

// TestTooFewSamplesNeverPass: a perfect tenant judged on too few samples
// fails every check with the sample message; enough samples pass; a
// point estimate inside the threshold fails when its bound is not.
func TestTooFewSamplesNeverPass(t *testing.T) {
	t.Parallel()
	th := Spec{Tenants: []string{"x"}}.withDefaults().Thresholds
	th.P95 = policy.MustCondition("<= 1000")
	judge := func(s *load.StreamResult, min int) []gate.Check {
		return Evaluate(&Record{Judge: Judge{Scenario: ScenarioSLO, Tenants: []string{s.Tenant}, Rate: 1, Thresholds: th, MinSamples: min},
			Run: &load.Run{Streams: []*load.StreamResult{s}}})
	}
	for _, tc := range []struct {
		name    string
		s       *load.StreamResult
		min     int
		failed  []string
		message string
	}{
		{"one request", stream("acme", 1, 0), 0, []string{"slo compliance", "p95 latency", "error rate"}, "too few samples: 1, need"},
		{"40 requests are too few for p95 and error-rate < 0.01", stream("acme", 40, 0), 0, []string{"slo compliance", "p95 latency", "error rate"}, "too few samples: 40, need 59"},
		{"300 perfect requests pass", stream("acme", 300, 0), 0, nil, ""},
		{"2 errors in 300 are a 0.67% point estimate but a 95% upper bound above 1%", stream("acme", 300, 2), 0, []string{"error rate"}, "0.67% (95% upper bound 1.99%)"},
		{"min-samples raises the minimum", stream("acme", 300, 0), 500, []string{"slo compliance", "p95 latency", "error rate"}, "too few samples: 300, need 500"},
		{"min-samples lowered below what the bounds need still fails", stream("acme", 40, 0), 10, []string{"slo compliance", "p95 latency", "error rate"}, "too few samples: 40, need 59"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			msgs := ""
			for _, c := range judge(tc.s, tc.min) {
				if c.Status != gate.StatusPass {
					got = append(got, c.Name)
					msgs += c.Message + "\n"
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.failed, ",") {
				t.Fatalf("failed %v, want %v:\n%s", got, tc.failed, msgs)
			}
			if !strings.Contains(msgs, tc.message) {
				t.Errorf("messages lack %q:\n%s", tc.message, msgs)
			}
		})
	}
}

// TestLatencyBoundIsTheOrderStatistic: p95 of 1..100 ms is 95 ms, its
// 95 % upper bound the 99th smallest (99 ms); a threshold between the two
// fails, one above the bound passes.
func TestLatencyBoundIsTheOrderStatistic(t *testing.T) {
	t.Parallel()
	s := stream("acme", 100, 0)
	v := judgeQuantile(&s.Latency, 0.95)
	if !v.OK || v.Rank != 99 || v.Point.Round(time.Millisecond) != 95*time.Millisecond || v.Bound.Round(time.Millisecond) != 99*time.Millisecond {
		t.Fatalf("p95 %s, bound %s (rank %d, ok %v); want 95ms, 99ms (rank 99)", v.Point, v.Bound, v.Rank, v.OK)
	}
	for _, tc := range []struct {
		cond string
		want gate.Status
	}{{"<= 97", gate.StatusFail}, {"<= 100", gate.StatusPass}} {
		c := quantileCheck(Judge{}, "p95 latency", "acme", 0.95, policy.MustCondition(tc.cond), s)
		if c.Status != tc.want || !strings.Contains(c.Message, "95% upper bound") {
			t.Errorf("p95 %s: %s (%s), want %s with the bound in the message", tc.cond, c.Status, c.Message, tc.want)
		}
	}
}
