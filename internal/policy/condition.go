package policy

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Condition is a threshold expression from the policy, such as "< 2.0",
// "<= 0.01", ">= 10000000", "== 0", "!= 0", "between 0.1 and 0.5", or a
// relative form "<= baseline * 1.1" / ">= baseline - 5" where the reference
// value (baseline) is supplied when the condition is evaluated.
//
// A condition never holds for NaN, ±Inf or a missing value.
//
// A value within RelTolerance of its bound counts as equal to it, for every
// operator: "< 2" fails for 1.9999999999999982 (a burn rate computed in
// binary floating point from an error ratio of exactly twice the budget),
// "<= 2" and "== 2" hold for it, and "!= 2" does not.
type Condition struct {
	// Op is one of <, <=, >, >=, ==, !=, between.
	Op string
	// Value is the bound (the lower bound for between).
	Value float64
	// Upper is the upper bound for between.
	Upper float64
	// Ref names the reference value for relative forms ("baseline"); empty
	// for absolute conditions.
	Ref string
	// RefOp is how the reference is adjusted: "*", "+", "-" or "" (none).
	RefOp string
	// src is the text as written.
	src string
}

// ParseCondition parses a threshold expression.
func ParseCondition(s string) (Condition, error) {
	c := Condition{src: strings.TrimSpace(s)}
	t := c.src
	if t == "" {
		return c, fmt.Errorf("empty condition; expected e.g. \"< 2.0\" or \"between 0.1 and 0.5\"")
	}
	if rest, ok := strings.CutPrefix(t, "between "); ok {
		lo, hi, ok := strings.Cut(rest, " and ")
		if !ok {
			return c, fmt.Errorf("condition %q: expected \"between LOW and HIGH\"", s)
		}
		var err error
		if c.Value, err = parseNum(lo); err != nil {
			return c, fmt.Errorf("condition %q: lower bound: %w", s, err)
		}
		if c.Upper, err = parseNum(hi); err != nil {
			return c, fmt.Errorf("condition %q: upper bound: %w", s, err)
		}
		if c.Value > c.Upper {
			return c, fmt.Errorf("condition %q: lower bound %s is above upper bound %s", s,
				fmtNum(c.Value), fmtNum(c.Upper))
		}
		c.Op = "between"
		return c, nil
	}
	for _, op := range []string{"<=", ">=", "==", "!=", "<", ">"} {
		if rest, ok := strings.CutPrefix(t, op); ok {
			c.Op = op
			t = strings.TrimSpace(rest)
			break
		}
	}
	if c.Op == "" {
		return c, fmt.Errorf("condition %q: expected an operator (<, <=, >, >=, ==, !=) or \"between A and B\"", s)
	}
	if v, err := parseNum(t); err == nil {
		c.Value = v
		return c, nil
	}
	// relative form: NAME [op NUMBER]
	fields := strings.Fields(t)
	if len(fields) == 0 || !isIdent(fields[0]) {
		return c, fmt.Errorf("condition %q: %q is neither a number nor a reference such as baseline", s, t)
	}
	c.Ref = fields[0]
	switch len(fields) {
	case 1:
		c.Value = 0
	case 3:
		if !strings.Contains("*+-", fields[1]) || len(fields[1]) != 1 {
			return c, fmt.Errorf("condition %q: expected %s * N, %s + N or %s - N", s, c.Ref, c.Ref, c.Ref)
		}
		c.RefOp = fields[1]
		v, err := parseNum(fields[2])
		if err != nil {
			return c, fmt.Errorf("condition %q: %w", s, err)
		}
		c.Value = v
	default:
		return c, fmt.Errorf("condition %q: expected %s * N, %s + N or %s - N", s, c.Ref, c.Ref, c.Ref)
	}
	return c, nil
}

// MustCondition parses s and panics on error; for tests and constants.
func MustCondition(s string) Condition {
	c, err := ParseCondition(s)
	if err != nil {
		panic(err)
	}
	return c
}

// String returns the condition as written.
func (c Condition) String() string { return c.src }

// IsZero reports whether the condition is unset.
func (c Condition) IsZero() bool { return c.Op == "" }

// Relative reports whether the condition needs a reference value.
func (c Condition) Relative() bool { return c.Ref != "" }

// UnmarshalText parses the condition.
func (c *Condition) UnmarshalText(b []byte) error {
	v, err := ParseCondition(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// MarshalText returns the condition as written.
func (c Condition) MarshalText() ([]byte, error) { return []byte(c.src), nil }

// Bound returns the effective bound for a relative condition given the
// reference value, and the condition itself for an absolute one.
func (c Condition) Bound(ref float64) float64 {
	if !c.Relative() {
		return c.Value
	}
	switch c.RefOp {
	case "*":
		return ref * c.Value
	case "+":
		return ref + c.Value
	case "-":
		return ref - c.Value
	}
	return ref
}

// Holds reports whether v meets an absolute condition. It is false for NaN
// and ±Inf, and for a relative condition (use HoldsRel).
func (c Condition) Holds(v float64) bool {
	if c.Relative() {
		return false
	}
	return c.holds(v, c.Value)
}

// HoldsRel reports whether v meets the condition given the reference value
// ref. It is false when either is NaN or infinite.
func (c Condition) HoldsRel(v, ref float64) bool {
	if !finite(ref) {
		return false
	}
	return c.holds(v, c.Bound(ref))
}

func (c Condition) holds(v, bound float64) bool {
	if !finite(v) || !finite(bound) {
		return false
	}
	switch c.Op {
	case "<":
		return less(v, bound)
	case "<=":
		return !Greater(v, bound)
	case ">":
		return Greater(v, bound)
	case ">=":
		return !less(v, bound)
	case "==":
		return Equal(v, bound)
	case "!=":
		return !Equal(v, bound)
	case "between":
		return !less(v, c.Value) && !Greater(v, c.Upper)
	}
	return false
}

// relTolerance is the relative tolerance within which a value equals its
// threshold: a and b are equal when |a − b| ≤ RelTolerance × max(|a|, |b|).
// It absorbs the rounding of binary floating point (a burn rate of exactly 2
// computed as 1.9999999999999982) and nothing a measurement could mean. A
// threshold of 0 is compared exactly.
const relTolerance = 1e-9

// Equal reports whether a and b are equal within RelTolerance. It is false
// when either is NaN.
func Equal(a, b float64) bool {
	if a == b {
		return true
	}
	if math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0) {
		return false
	}
	return math.Abs(a-b) <= relTolerance*math.Max(math.Abs(a), math.Abs(b))
}

// less reports whether a is below b by more than RelTolerance.
func less(a, b float64) bool { return a < b && !Equal(a, b) }

// Greater reports whether a is above b by more than RelTolerance.
func Greater(a, b float64) bool { return a > b && !Equal(a, b) }

// Describe renders the condition with a resolved reference, e.g.
// "<= 1.1 × baseline (0.0242)".
func (c Condition) Describe(ref float64) string {
	if !c.Relative() {
		return c.src
	}
	return fmt.Sprintf("%s (%s = %s)", c.src, c.Ref, fmtNum(ref))
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func parseNum(s string) (float64, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "_", ""))
	mult := 1.0
	if strings.HasSuffix(s, "%") {
		mult, s = 0.01, strings.TrimSuffix(s, "%")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !finite(v) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return v * mult, nil
}

func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func isIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}
