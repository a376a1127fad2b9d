package jsonpath

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		steps []Step
		canon string
	}{
		{"a single dot is the whole document", ".", nil, "."},
		{"a dollar is the whole document", "$", nil, "."},
		{"keys are separated by dots", ".a.b", []Step{{Key: "a"}, {Key: "b"}}, ".a.b"},
		{"a dollar prefix is allowed", "$.a", []Step{{Key: "a"}}, ".a"},
		{"indexes follow keys", ".items[0].id", []Step{{Key: "items"}, {Index: 0, IsIndex: true}, {Key: "id"}}, ".items[0].id"},
		{"a path may start with an index", "[2]", []Step{{Index: 2, IsIndex: true}}, "[2]"},
		{"dashes and digits are part of key names", ".p99-ms.v2", []Step{{Key: "p99-ms"}, {Key: "v2"}}, ".p99-ms.v2"},
		{"quoted keys may contain dots", `.["p99.latency"]`, []Step{{Key: "p99.latency"}}, `["p99.latency"]`},
		{"quoted keys without a dot", `["a b"][1]`, []Step{{Key: "a b"}, {Index: 1, IsIndex: true}}, `["a b"][1]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.Steps, tt.steps) {
				t.Errorf("steps = %+v, want %+v", p.Steps, tt.steps)
			}
			if p.String() != tt.canon {
				t.Errorf("String() = %q, want %q", p.String(), tt.canon)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"an empty path":              "",
		"a key without a dot":        "a.b",
		"a trailing dot":             ".a.",
		"a negative index":           ".a[-1]",
		"an unclosed bracket":        ".a[1",
		"a wildcard":                 ".a[*]",
		"an unterminated quoted key": `.["a]`,
		"a quoted key without ]":     `.["a"`,
		"a huge index":               ".a[99999999999999999999]",
		"a filter expression":        ".a[?(@.x)]",
		"two dots":                   "..a",
		"a space inside":             ".a b",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := Parse(in); !errors.Is(err, ErrSyntax) {
				t.Errorf("Parse(%q) = %v, want ErrSyntax", in, err)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	doc, err := Decode([]byte(`{"a": {"b": [10, {"c": "x"}]}, "n": null, "big": 12345678901234567890}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want any
		err  string
	}{
		{"a nested value", ".a.b[1].c", "x", ""},
		{"null is a value", ".n", nil, ""},
		{"a missing key", ".a.x", nil, "key .a.x is missing"},
		{"an index past the end", ".a.b[5]", nil, ".a.b has 2 element(s)"},
		{"an index into an object", ".a[0]", nil, ".a is an object, not an array"},
		{"a key of a number", ".a.b[0].c", nil, ".a.b[0] is a number, not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := MustParse(tt.path).Lookup(doc)
			if tt.err != "" {
				if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want ErrNotFound with %q", err, tt.err)
				}
				return
			}
			if err != nil || v != tt.want {
				t.Fatalf("got %v, %v; want %v", v, err, tt.want)
			}
		})
	}
}

func TestDecodeRefusesTrailingData(t *testing.T) {
	t.Parallel()
	if _, err := Decode([]byte(`{"a":1} {"a":2}`)); err == nil {
		t.Fatal("two documents were accepted")
	}
}

func TestExpectCheck(t *testing.T) {
	t.Parallel()
	doc, _ := Decode([]byte(`{"n": 5, "f": 0.25, "s": "ok", "b": true, "z": null, "o": {}, "a": [1, "x", {"k": null}], "huge": 1e400}`))
	c := func(s string) *policy.Condition { x := policy.MustCondition(s); return &x }
	eq := func(s string) *string { return &s }
	tests := []struct {
		name string
		e    Expect
		want gate.Status
	}{
		{"a number meeting its condition passes", Expect{Path: MustParse(".n"), Condition: c("<= 5")}, gate.StatusPass},
		{"a number missing its condition fails", Expect{Path: MustParse(".f"), Condition: c("< 0.1")}, gate.StatusFail},
		{"a string under a condition fails", Expect{Path: MustParse(".s"), Condition: c(">= 0")}, gate.StatusFail},
		{"a null under a condition fails", Expect{Path: MustParse(".z"), Condition: c("== 0")}, gate.StatusFail},
		{"an infinite number fails", Expect{Path: MustParse(".huge"), Condition: c("> 0")}, gate.StatusFail},
		{"an equal string passes", Expect{Path: MustParse(".s"), Equals: eq("ok")}, gate.StatusPass},
		{"numbers compare numerically", Expect{Path: MustParse(".n"), Equals: eq("5.0")}, gate.StatusPass},
		{"a boolean matches its literal", Expect{Path: MustParse(".b"), Equals: eq("true")}, gate.StatusPass},
		{"null matches null", Expect{Path: MustParse(".z"), Equals: eq("null")}, gate.StatusPass},
		{"a different string fails", Expect{Path: MustParse(".s"), Equals: eq("OK")}, gate.StatusFail},
		{"an empty object equals {}", Expect{Path: MustParse(".o"), Equals: eq("{}")}, gate.StatusPass},
		{"an array equals its JSON", Expect{Path: MustParse(".a"), Equals: eq(`[1.0, "x", {"k": null}]`)}, gate.StatusPass},
		{"a different array fails", Expect{Path: MustParse(".a"), Equals: eq(`[1, "x"]`)}, gate.StatusFail},
		{"an object does not equal text", Expect{Path: MustParse(".o"), Equals: eq("object")}, gate.StatusFail},
		{"a missing field fails", Expect{Path: MustParse(".x"), Equals: eq("")}, gate.StatusFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.e.Check(doc, nil, "body")
			if got.Status != tt.want {
				t.Errorf("status = %s, want %s: %s", got.Status, tt.want, got.Message)
			}
		})
	}
	if got := (Expect{Path: MustParse(".n"), Condition: c("> 0")}).Check(nil, errors.New("unexpected EOF"), "body"); got.Status != gate.StatusFail {
		t.Errorf("a document that is not JSON passed: %+v", got)
	}
}

// FuzzParse: Parse never panics, and a parsed path prints in a form that
// parses back to the same steps.
func FuzzParse(f *testing.F) {
	for _, s := range []string{".", "$", ".a.b[0].c", `.["a.b"][1]`, "[0][1]", ".a-b_c", `["\u00e9\n"]`, ".a[", `.["`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error without ErrSyntax: %v", err)
			}
			return
		}
		q, err := Parse(p.String())
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", p.String(), s, err)
		}
		if !reflect.DeepEqual(p.Steps, q.Steps) {
			t.Fatalf("round trip of %q: %+v != %+v", s, p.Steps, q.Steps)
		}
		doc, _ := Decode([]byte(`{"a":[1,{"b":null}],"c":"d"}`))
		_, _ = p.Lookup(doc)
	})
}
