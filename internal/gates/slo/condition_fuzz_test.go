package slogate

import (
	"math"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/policy"
)

// FuzzCondition holds the conditions the metric and slo gates judge with
// to their contract: whatever parses never holds for NaN or ±Inf, and
// re-parses to the same condition.
func FuzzCondition(f *testing.F) {
	for _, s := range []string{"< 2.0", "<= 0.01", "between 0.1 and 0.5", "<= baseline * 1.1", ">= baseline - 5", "!= 0", "> 99.9%", "== 1_000"} {
		f.Add(s, 1.0, 2.0)
	}
	f.Fuzz(func(t *testing.T, s string, v, ref float64) {
		c, err := policy.ParseCondition(s)
		if err != nil {
			return
		}
		for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			if c.Holds(bad) || c.HoldsRel(bad, ref) || c.HoldsRel(v, bad) {
				t.Fatalf("%q holds for a non-finite value", s)
			}
		}
		if c.Relative() && c.Holds(v) {
			t.Fatalf("relative %q holds without its reference", s)
		}
		again, err := policy.ParseCondition(c.String())
		if err != nil || again.Op != c.Op || again.Ref != c.Ref || again.RefOp != c.RefOp {
			t.Fatalf("%q does not re-parse to itself: %+v vs %+v (%v)", s, again, c, err)
		}
	})
}
