package policy

import (
	"fmt"
	"math"
	"testing"
)

// TestConditionAtThreshold checks every operator at exactly its bound,
// within RelTolerance of it (the rounding of binary floating point), and
// beyond the tolerance on either side.
func TestConditionAtThreshold(t *testing.T) {
	t.Parallel()
	// holds for: below (beyond tolerance), within tolerance below, exactly,
	// within tolerance above, above (beyond tolerance)
	ops := []struct {
		op   string
		want [5]bool
	}{
		{"<", [5]bool{true, false, false, false, false}},
		{"<=", [5]bool{true, true, true, true, false}},
		{">", [5]bool{false, false, false, false, true}},
		{">=", [5]bool{false, true, true, true, true}},
		{"==", [5]bool{false, true, true, true, false}},
		{"!=", [5]bool{true, false, false, false, true}},
	}
	for _, bound := range []float64{2, 0.01, 14.4, 1e7, -3, 0.999} {
		d := math.Abs(bound)
		values := [5]float64{
			bound - 1e-8*d, // 10× the tolerance below
			bound - 1e-12*d,
			bound,
			bound + 1e-12*d,
			bound + 1e-8*d,
		}
		for _, o := range ops {
			c := MustCondition(fmt.Sprintf("%s %v", o.op, bound))
			for i, v := range values {
				if got := c.Holds(v); got != o.want[i] {
					t.Errorf("%q holds for %v (%s): got %v, want %v", c, v, []string{"below", "within tolerance below", "exactly", "within tolerance above", "above"}[i], got, o.want[i])
				}
			}
		}
	}
}

// TestConditionBurnRateAtThreshold is the case that motivated the
// tolerance: an error ratio of exactly twice a 99% budget, divided in binary
// floating point by 1 − 0.99, is 1.9999999999999982.
func TestConditionBurnRateAtThreshold(t *testing.T) {
	t.Parallel()
	ratio, objective := 0.02, 0.99 // variables: Go's constant arithmetic is exact
	burn := ratio / (1 - objective)
	if burn == 2 {
		t.Fatalf("the float rounding this test is about did not happen: %v", burn)
	}
	tests := []struct {
		cond string
		want bool
	}{
		{"< 2", false}, {"<= 2", true}, {"> 2", false}, {">= 2", true}, {"== 2", true}, {"!= 2", false},
		{"between 2 and 3", true}, {"between 1 and 2", true}, {"between 2.0000001 and 3", false},
	}
	for _, tt := range tests {
		if got := MustCondition(tt.cond).Holds(burn); got != tt.want {
			t.Errorf("%q holds for %v: got %v, want %v", tt.cond, burn, got, tt.want)
		}
	}
}

// TestConditionBetweenAtBounds checks between at and beyond both bounds.
func TestConditionBetweenAtBounds(t *testing.T) {
	t.Parallel()
	c := MustCondition("between 0.1 and 0.5")
	tests := []struct {
		v    float64
		want bool
	}{
		{0.1, true}, {0.1 * (1 - 1e-12), true}, {0.1 * (1 - 1e-8), false},
		{0.5, true}, {0.5 * (1 + 1e-12), true}, {0.5 * (1 + 1e-8), false},
		{0.3, true},
	}
	for _, tt := range tests {
		if got := c.Holds(tt.v); got != tt.want {
			t.Errorf("%q holds for %v: got %v, want %v", c, tt.v, got, tt.want)
		}
	}
}

// TestConditionZeroIsExact checks that a bound of 0 has no tolerance: a
// relative tolerance of zero is zero.
func TestConditionZeroIsExact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cond string
		v    float64
		want bool
	}{
		{"== 0", 0, true}, {"== 0", 1e-300, false}, {"> 0", 1e-300, true}, {"<= 0", 1e-300, false}, {"!= 0", -1e-300, true},
	}
	for _, tt := range tests {
		if got := MustCondition(tt.cond).Holds(tt.v); got != tt.want {
			t.Errorf("%q holds for %v: got %v, want %v", tt.cond, tt.v, got, tt.want)
		}
	}
}

// TestConditionRelativeAtThreshold checks the tolerance against a bound
// computed from a reference: 0.022 × 1.1 is 0.024200000000000003.
func TestConditionRelativeAtThreshold(t *testing.T) {
	t.Parallel()
	c := MustCondition("<= baseline * 1.1")
	if !c.HoldsRel(0.0242, 0.022) {
		t.Errorf("%q does not hold for 0.0242 with baseline 0.022", c)
	}
	if c.HoldsRel(0.0242*(1+1e-8), 0.022) {
		t.Errorf("%q holds for a value 1e-8 above the bound", c)
	}
	lt := MustCondition("< baseline * 1.1")
	if lt.HoldsRel(0.0242, 0.022) {
		t.Errorf("%q holds for 0.0242 with baseline 0.022 (equal to the bound)", lt)
	}
}
