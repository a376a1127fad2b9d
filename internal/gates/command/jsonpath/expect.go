package jsonpath

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// Expect is one expectation on a field of a JSON document, as written in a
// policy: a threshold condition on a number, or equality with a value.
type Expect struct {
	// Path selects the field.
	Path Path `yaml:"path" required:"true" doc:"the field, e.g. .deleted or .checks[0].status (.[\"a.b\"] for keys with dots)"`
	// Condition is a threshold on a numeric field.
	Condition *policy.Condition `yaml:"condition" doc:"a threshold on a numeric field, e.g. \">= 10000000\""`
	// Equals is compared with a string, number, boolean or null field.
	Equals *string `yaml:"equals" doc:"the value the field must equal: text for strings, numbers compare numerically, true/false/null match JSON literals, arrays and objects are written as JSON ([] or {\"a\": 1})"`
}

// Validate checks that exactly one of condition and equals is set, and that
// the condition is absolute. field prefixes the reported key paths.
func (e Expect) Validate(field string) []error {
	var errs []error
	switch {
	case e.Condition == nil && e.Equals == nil:
		errs = append(errs, &policy.FieldError{Field: field, Err: errors.New("needs condition or equals; e.g. condition: \">= 1\"")})
	case e.Condition != nil && e.Equals != nil:
		errs = append(errs, &policy.FieldError{Field: field + ".equals", Err: errors.New("give condition or equals, not both")})
	case e.Condition != nil && e.Condition.Relative():
		errs = append(errs, &policy.FieldError{Field: field + ".condition", Err: fmt.Errorf("%q refers to %s, which this gate has no value for; use an absolute threshold", e.Condition, e.Condition.Ref)})
	}
	return errs
}

// Expected renders what the field must satisfy.
func (e Expect) Expected() string {
	if e.Condition != nil {
		return e.Condition.String()
	}
	if e.Equals != nil {
		return "== " + *e.Equals
	}
	return ""
}

// Check judges the document against the expectation. doc is a document
// from Decode; docErr, when set, says why there is no document (not JSON,
// empty), and the check fails with it: no data is never a pass. source
// names the document in messages, e.g. "stdout" or "response body".
func (e Expect) Check(doc any, docErr error, source string) gate.Check {
	c := gate.Check{Name: "json " + e.Path.String(), Expected: e.Expected(), Status: gate.StatusFail}
	if docErr != nil {
		c.Message = fmt.Sprintf("expected %s %s in %s, but %s is not JSON (%v); expected exactly one JSON document", e.Path, e.Expected(), source, source, docErr)
		return c
	}
	v, err := e.Path.Lookup(doc)
	if err != nil {
		c.Message = fmt.Sprintf("expected %s %s, found nothing: %v", e.Path, e.Expected(), err)
		return c
	}
	c.Observed = value(v)
	switch {
	case e.Condition != nil:
		n, ok := v.(json.Number)
		if !ok {
			c.Message = fmt.Sprintf("expected %s to be a number %s, found %s %s", e.Path, e.Condition, Kind(v), brief(v))
			return c
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			c.Message = fmt.Sprintf("expected %s to be a finite number %s, found %s", e.Path, e.Condition, n)
			return c
		}
		if e.Condition.Holds(f) {
			c.Status = gate.StatusPass
			c.Message = fmt.Sprintf("%s = %s meets %s", e.Path, n, e.Condition)
			return c
		}
		c.Message = fmt.Sprintf("expected %s %s, found %s", e.Path, e.Condition, n)
	case e.Equals != nil:
		if equal(v, *e.Equals) {
			c.Status = gate.StatusPass
			c.Message = fmt.Sprintf("%s = %s as expected", e.Path, brief(v))
			return c
		}
		c.Message = fmt.Sprintf("expected %s == %s, found %s %s", e.Path, *e.Equals, Kind(v), brief(v))
	default:
		c.Message = fmt.Sprintf("%s has no condition or equals to judge by", e.Path)
	}
	return c
}

// equal compares a JSON value with the policy's text: strings exactly,
// numbers numerically, booleans and null by their literal.
func equal(v any, want string) bool {
	switch x := v.(type) {
	case string:
		return x == want
	case json.Number:
		a, err1 := strconv.ParseFloat(string(x), 64)
		b, err2 := strconv.ParseFloat(want, 64)
		return err1 == nil && err2 == nil && a == b
	case bool:
		return strconv.FormatBool(x) == want
	case nil:
		return want == "null"
	case []any, map[string]any:
		w, err := Decode([]byte(want))
		return err == nil && deepEqual(v, w)
	}
	return false
}

// deepEqual compares decoded JSON values, numbers numerically.
func deepEqual(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !deepEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !deepEqual(xv, yv) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		return ok && equal(x, string(y))
	default:
		return a == b
	}
}

// value turns a decoded JSON scalar into an observed value; objects and
// arrays are summarised.
func value(v any) gate.Value {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return gate.Int(i)
		}
		f, _ := x.Float64()
		return gate.Number(f)
	case string:
		return gate.Text(x)
	case bool:
		return gate.Bool(x)
	case nil:
		return gate.Value{}
	}
	return gate.Text(Kind(v))
}

// brief renders a value for a message, shortened.
func brief(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
