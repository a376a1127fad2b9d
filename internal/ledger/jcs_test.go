package ledger

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"
)

func TestCanonicalize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want string
	}{
		{"object members are sorted by UTF-16 code units", `{"b":1,"a":2,"\u20ac":3,"\ud83d\ude00":4,"\r":5}`, "{\"\\r\":5,\"a\":2,\"b\":1,\"€\":3,\"\U0001F600\":4}"},
		{"insignificant whitespace is removed", " [ 1 , { \"x\" : [ ] } , {} ] ", `[1,{"x":[]},{}]`},
		{"numbers take the ECMAScript shortest form", `[1.0, 1e2, -0, 0.000001, 1e-7, 1e21, 123456789012345680000e0, 4.50, 2e-3, 1E+30]`, `[1,100,0,0.000001,1e-7,1e+21,123456789012345680000,4.5,0.002,1e+30]`},
		{"strings keep non-ASCII raw and escape controls minimally", `"\u00e9\u2028\u001f\/\b\f\n\r\t\"\\"`, "\"é\u2028\\u001f/\\b\\f\\n\\r\\t\\\"\\\\\""},
		{"literals pass through", `[true,false,null]`, `[true,false,null]`},
		{"RFC 8785 section 3.2.2 example (with a number a double holds exactly)", `{"numbers": [333333333.3333333, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", "literals": [null, true, false]}`,
			`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := Canonicalize([]byte(c.in))
			if err != nil {
				t.Fatalf("Canonicalize(%s): %v", c.in, err)
			}
			if string(got) != c.want {
				t.Errorf("Canonicalize(%s)\n got %s\nwant %s", c.in, got, c.want)
			}
		})
	}
}

func TestCanonicalizeRejects(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in string }{
		{"empty input", ``},
		{"a duplicate key", `{"a":1,"a":2}`},
		{"a lone high surrogate", `"\ud800"`},
		{"a lone low surrogate", `"\udc00x"`},
		{"invalid UTF-8", "\"\xff\""},
		{"a number beyond float64", `1e400`},
		{"an integer that would lose digits", `12345678901234567891`},
		{"a literal with more digits than a double holds (RFC 8785 3.2.2)", `333333333.33333329`},
		{"a leading zero", `01`},
		{"a trailing comma", `[1,]`},
		{"trailing data", `{} {}`},
		{"an unescaped control character", "\"a\tb\""},
		{"a bare word", `nul`},
		{"deep nesting", string(make([]byte, 0)) + repeat("[", 600) + repeat("]", 600)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got, err := Canonicalize([]byte(c.in)); !errors.Is(err, ErrNotCanonicalizable) {
				t.Errorf("Canonicalize(%q) = %q, %v; want ErrNotCanonicalizable", c.in, got, err)
			}
		})
	}
}

func repeat(s string, n int) string {
	b := make([]byte, 0, len(s)*n)
	for range n {
		b = append(b, s...)
	}
	return string(b)
}

func TestFormatNumberMatchesECMAScript(t *testing.T) {
	t.Parallel()
	// Expected values from ECMAScript's Number.prototype.toString.
	cases := map[float64]string{
		0: "0", math.Copysign(0, -1): "0", 1: "1", -1.5: "-1.5", 1e21: "1e+21", 1e20: "100000000000000000000",
		1e-6: "0.000001", 1e-7: "1e-7", 123e-20: "1.23e-18", 5e-324: "5e-324", math.MaxFloat64: "1.7976931348623157e+308",
		9007199254740993: "9007199254740992", 295147905179352830000: "295147905179352830000",
	}
	point3 := 0.1
	point3 += 0.2
	cases[point3] = "0.30000000000000004"
	for f, want := range cases {
		if got := FormatNumber(f); got != want {
			t.Errorf("FormatNumber(%v) = %s, want %s", f, got, want)
		}
	}
}

// FuzzCanonicalize checks that canonical output is valid JSON meaning the
// same as the input, and that canonicalizing is idempotent.
func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x"]}`, `"\ud83d\ude00"`, `[1e400]`, `{"b":{"a":null}}`, `-0.0`, `{"a":1,"a":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Canonicalize(in)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Canonicalize(%q) = %q, not valid JSON", in, out)
		}
		again, err := Canonicalize(out)
		if err != nil || string(again) != string(out) {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
		var a, b any
		if json.Unmarshal(in, &a) == nil && json.Unmarshal(out, &b) == nil {
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("meaning changed: %q -> %q", in, out)
			}
		}
	})
}

func TestFormatNumberRoundTrips(t *testing.T) {
	t.Parallel()
	for _, f := range []float64{1.7976931348623157e308, 2.2250738585072014e-308, 0.1, 1 / 3.0, 1e15 + 0.3} {
		back, err := strconv.ParseFloat(FormatNumber(f), 64)
		if err != nil || back != f {
			t.Errorf("FormatNumber(%v) = %s does not round-trip: %v %v", f, FormatNumber(f), back, err)
		}
	}
}

// FuzzIsCanonical checks the allocation-free fast path against the
// reference: IsCanonical(b) must equal Canonicalize(b) == b.
func FuzzIsCanonical(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[true,null,"x\u001f"]}`, `{"b":1,"a":2}`, `{"a":1,"a":1}`, `-0`, `1.5`, `"\u00e9"`, `"é"`, `{"é":1,"z":2}`, `[1,2 ]`, `1234567890123456`, `"\/"`, `"\n"`, `"\u000a"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Canonicalize(b)
		want := err == nil && string(c) == string(b)
		if got := IsCanonical(b); got != want {
			t.Fatalf("IsCanonical(%q) = %v, want %v (canonical %q, %v)", b, got, want, c, err)
		}
	})
}

func TestCanonicalizeHugeExponentsAreCheap(t *testing.T) {
	t.Parallel()
	start := time.Now()
	for _, in := range []string{`1e-999999999`, `0e-999999999`, `-0.000e999999999`, `[1e-400]`} {
		Canonicalize([]byte(in))
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("huge exponents took %s; the exactness check must not expand them", d)
	}
	if got, err := Canonicalize([]byte(`0e-999999999`)); err != nil || string(got) != "0" {
		t.Errorf("0e-999999999 = %s, %v; want 0", got, err)
	}
	if _, err := Canonicalize([]byte(`1e-400`)); err == nil {
		t.Error("1e-400 underflows to 0 and must be rejected")
	}
}

func TestAppendTimeMatchesTimeLayout(t *testing.T) {
	t.Parallel()
	for _, tm := range []time.Time{
		time.Unix(0, 0), time.Date(2026, 11, 28, 9, 5, 7, 123456789, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("x", 3600)), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		if got, want := string(appendTime(nil, tm)), tm.UTC().Format(TimeLayout); got != want {
			t.Errorf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}
