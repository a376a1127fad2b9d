package syntheticgate

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/maestro-conductor/releasegate/internal/load"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// confidence is the confidence level of every bound the gate judges by: a
// pass means the threshold holds with this confidence, not only that the
// point estimate met it.
const confidence = 0.95

// z95 is the one-sided 95 % standard normal quantile: the Wilson bounds
// are one-sided because a threshold is one-sided.
const z95 = 1.6448536269514722

// wilson returns the one-sided 95 % Wilson score bounds of the proportion
// x/n: the true proportion is at most hi (and at least lo) with 95 %
// confidence. For n = 0 the bounds are [0, 1]: nothing is known.
func wilson(x, n int64) (lo, hi float64) {
	if n <= 0 {
		return 0, 1
	}
	p := float64(x) / float64(n)
	nn := float64(n)
	z2 := z95 * z95
	centre := p + z2/(2*nn)
	spread := z95 * math.Sqrt(p*(1-p)/nn+z2/(4*nn*nn))
	den := 1 + z2/nn
	return math.Max(0, (centre-spread)/den), math.Min(1, (centre+spread)/den)
}

// zeroTolerance reports whether c allows no occurrence at all (<= 0,
// == 0, < 0 or, for a share that must be complete, >= 1 and == 1). Such a
// threshold is judged on the count: one occurrence refutes it, and no
// confidence bound short of 0 (or 1) exists to judge it by.
func zeroTolerance(c policy.Condition) bool {
	switch c.Op {
	case "<=", "==":
		return c.Value == 0 || c.Op == "==" && c.Value == 1
	case "<":
		return c.Value <= 0
	case ">=":
		return c.Value >= 1
	}
	return false
}

// ratioVerdict is a ratio judged with its confidence bound.
type ratioVerdict struct {
	Point float64
	// Bound is the side of the Wilson interval the condition is judged
	// by: the upper bound for < and <=, the lower for > and >=, the point
	// estimate for zero-tolerance and ==, != conditions.
	Bound float64
	Side  string // "upper", "lower" or "point"
	Holds bool
}

// judgeRatio judges x of n against c by the 95 % Wilson bound on the side
// the condition constrains.
func judgeRatio(c policy.Condition, x, n int64) ratioVerdict {
	lo, hi := wilson(x, n)
	v := ratioVerdict{Point: math.NaN(), Bound: math.NaN(), Side: "point"}
	if n > 0 {
		v.Point = float64(x) / float64(n)
	}
	switch {
	case zeroTolerance(c):
		v.Bound = v.Point
	case c.Op == "<" || c.Op == "<=":
		v.Bound, v.Side = hi, "upper"
	case c.Op == ">" || c.Op == ">=":
		v.Bound, v.Side = lo, "lower"
	case c.Op == "between":
		v.Holds = n > 0 && lo >= c.Value && hi <= c.Upper
		v.Bound, v.Side = hi, "upper"
		return v
	default:
		v.Bound = v.Point
	}
	v.Holds = n > 0 && c.Holds(v.Bound)
	return v
}

// describe renders the verdict for a message: "0.20% (95% upper bound
// 1.10%)".
func (v ratioVerdict) describe() string {
	if v.Side == "point" {
		return fmt.Sprintf("%.2f%%", v.Point*100)
	}
	return fmt.Sprintf("%.2f%% (95%% %s bound %.2f%%)", v.Point*100, v.Side, v.Bound*100)
}

// minSamplesRatio is the smallest n for which a perfect sample (no
// occurrence for an upper threshold, all for a lower one) passes c by its
// Wilson bound: below it the check cannot pass whatever the service does,
// so a verdict would only reflect the sample size. Zero-tolerance and
// point-judged conditions need one sample.
func minSamplesRatio(c policy.Condition) int64 {
	perfect := func(n int64) bool {
		switch c.Op {
		case "<", "<=":
			return judgeRatio(c, 0, n).Holds
		case ">", ">=":
			return judgeRatio(c, n, n).Holds
		}
		return true
	}
	if zeroTolerance(c) || c.Op != "<" && c.Op != "<=" && c.Op != ">" && c.Op != ">=" {
		return 1
	}
	const limit = 1 << 40
	if !perfect(limit) {
		return limit // an unreachable threshold, e.g. "< 0.0000000000001"
	}
	n := int64(sort.Search(limit, func(i int) bool { return perfect(int64(i) + 1) })) + 1
	return n
}

// minSamplesQuantile is the smallest n for which the 95 % upper
// order-statistic bound of quantile q exists: the largest of n samples
// lies above the q-quantile with probability 1 − qⁿ, so n ≥ ln(0.05) /
// ln(q). p50 needs 5 samples, p95 59, p99 299, p99.9 2995.
func minSamplesQuantile(q float64) int64 {
	if q <= 0 || q >= 1 {
		return 1
	}
	return int64(math.Ceil(math.Log(1-confidence)/math.Log(q) - 1e-9))
}

// upperRank is the smallest k (1 ≤ k ≤ n) such that the k-th smallest of n
// samples lies at or above the true q-quantile with 95 % probability:
// P(Bin(n, q) < k) ≥ 0.95. ok is false when no such k exists (n below
// minSamplesQuantile).
func upperRank(n int64, q float64) (k int64, ok bool) {
	if n <= 0 || q <= 0 || q >= 1 {
		return 0, false
	}
	lq, l1q := math.Log(q), math.Log1p(-q)
	lgn, _ := math.Lgamma(float64(n) + 1)
	// the binomial mass more than 12 standard deviations below its mean
	// is below 1e-30: start there, so large runs cost O(√n)
	start := int64(math.Max(0, math.Floor(float64(n)*q-12*math.Sqrt(float64(n)*q*(1-q)))))
	var cdf float64
	for j := start; j < n; j++ {
		lgj, _ := math.Lgamma(float64(j) + 1)
		lgr, _ := math.Lgamma(float64(n-j) + 1)
		cdf += math.Exp(lgn - lgj - lgr + float64(j)*lq + float64(n-j)*l1q)
		if cdf >= confidence { // P(Bin ≤ j) ≥ 0.95, so k = j+1
			return j + 1, true
		}
	}
	return 0, false
}

// atRank returns the recorded value of rank k (1-based) as the upper edge
// of its bucket, capped at the maximum, like Histogram.Quantile: it never
// understates a latency.
func atRank(h *load.Histogram, k int64) time.Duration {
	var cum int64
	out := h.Max()
	done := false
	h.Buckets(func(upper time.Duration, c uint64) {
		if done {
			return
		}
		cum += int64(c)
		if cum >= k {
			out, done = min(upper, h.Max()), true
		}
	})
	return out
}

// quantileVerdict is a latency quantile with its 95 % upper bound.
type quantileVerdict struct {
	Point, Bound time.Duration
	Rank         int64
	OK           bool // the bound exists
}

func judgeQuantile(h *load.Histogram, q float64) quantileVerdict {
	p, _ := h.Quantile(q)
	k, ok := upperRank(int64(h.Count()), q)
	v := quantileVerdict{Point: p, Rank: k, OK: ok}
	if ok {
		v.Bound = atRank(h, k)
	}
	return v
}

// tooFew is the message of a check judged on fewer samples than it needs.
func tooFew(n, need int64, what string) string {
	return fmt.Sprintf("too few samples: %d, need %d for %s at %.0f%% confidence; raise rate or duration", n, need, what, confidence*100)
}
