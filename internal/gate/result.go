// Package gate defines the Gate interface, the Result model every gate
// returns, and the ordered runner that evaluates a policy's gates.
//
// A Result is data: it is serialised as versioned JSON (SchemaVersion) and
// every renderer (text, Markdown, annotations, check runs, evidence) reads it
// without recomputing anything.
package gate

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// SchemaVersion identifies the JSON shape of Result and Report. It changes
// when a field changes meaning or is removed; adding a field keeps it.
const SchemaVersion = "releasegate.result/v1"

// Status is the outcome of a check, a gate or a whole run.
type Status string

// The statuses, from best to worst for a release. Error means the gate could
// not be evaluated (a source was unreachable, a timeout): it blocks a release
// just like Fail.
const (
	StatusPass  Status = "pass"
	StatusSkip  Status = "skip"
	StatusWarn  Status = "warn"
	StatusError Status = "error"
	StatusFail  Status = "fail"
)

// statuses are every status in order of increasing severity.
var statuses = []Status{StatusPass, StatusSkip, StatusWarn, StatusError, StatusFail}

// Statuses returns every status in order of increasing severity.
func Statuses() []Status { return slices.Clone(statuses) }

func (s Status) rank() int {
	for i, v := range statuses {
		if v == s {
			return i
		}
	}
	return len(statuses) // unknown statuses are worse than anything known
}

// Worse reports whether s is more severe than o.
func (s Status) Worse(o Status) bool { return s.rank() > o.rank() }

// Blocks reports whether the status blocks a release.
func (s Status) Blocks() bool {
	return s == StatusFail || s == StatusError || s.rank() >= len(statuses)
}

// Valid reports whether s is one of the known statuses.
func (s Status) Valid() bool { return s.rank() < len(statuses) }

// Symbol is the checklist mark for the status.
func (s Status) Symbol() string {
	switch s {
	case StatusPass:
		return "✅"
	case StatusWarn:
		return "⚠️"
	case StatusSkip:
		return "⏭️"
	case StatusError:
		return "⛔"
	default:
		return "❌"
	}
}

// Worst returns the most severe of the given statuses, or StatusSkip when
// there are none: an empty set of checks never passes.
func Worst(ss ...Status) Status {
	if len(ss) == 0 {
		return StatusSkip
	}
	w := ss[0]
	for _, s := range ss[1:] {
		if s.Worse(w) {
			w = s
		}
	}
	return w
}

// Location points at a place in an input file, usually the policy.
type Location struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// String renders the location as file:line:col.
func (l Location) String() string {
	switch {
	case l.Line == 0:
		return l.File
	case l.Column == 0:
		return fmt.Sprintf("%s:%d", l.File, l.Line)
	default:
		return fmt.Sprintf("%s:%d:%d", l.File, l.Line, l.Column)
	}
}

// Check is one judged fact: one threshold for one tenant, one signature, one
// link of a chain.
type Check struct {
	// Name says what was checked, e.g. "5m burn rate".
	Name string `json:"name"`
	// Tenant is set when the check fans out per tenant.
	Tenant string `json:"tenant,omitempty"`
	// Status is the outcome of this check.
	Status Status `json:"status"`
	// Observed is what was found: a number, a string or a boolean. It is
	// absent when nothing was found, which Message then says.
	Observed Value `json:"observed,omitzero"`
	// Expected is the condition the observed value had to meet, e.g. "< 2".
	Expected string `json:"expected,omitempty"`
	// Unit of Observed, e.g. "ms", "USD", "ratio".
	Unit string `json:"unit,omitempty"`
	// Message says what was expected, what was found and what to do.
	Message string `json:"message"`
	// Location points at the policy line that declared this check.
	Location *Location `json:"location,omitempty"`
}

// Value is an observed value. It holds a float64, an int64, a string, a bool
// or nothing. Non-finite floats (NaN, ±Inf) are encoded as strings because
// JSON cannot carry them, and they never compare as passing.
type Value struct {
	v any
}

// Number returns a Value holding f.
func Number(f float64) Value { return Value{v: f} }

// Int returns a Value holding i.
func Int(i int64) Value { return Value{v: i} }

// Text returns a Value holding s.
func Text(s string) Value { return Value{v: s} }

// Bool returns a Value holding b.
func Bool(b bool) Value { return Value{v: b} }

// IsZero reports whether the value is absent (for omitempty).
func (v Value) IsZero() bool { return v.v == nil }

// Any returns the held value (nil when absent).
func (v Value) Any() any { return v.v }

// Float returns the value as a float64 and whether it is a finite number.
func (v Value) Float() (float64, bool) {
	switch x := v.v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case int64:
		return float64(x), true
	}
	return 0, false
}

// String formats the value for people: numbers with up to 4 significant
// decimals, "no data" when absent.
func (v Value) String() string {
	switch x := v.v.(type) {
	case nil:
		return "no data"
	case float64:
		return FormatFloat(x)
	case int64:
		return fmt.Sprintf("%d", x)
	case bool:
		return fmt.Sprintf("%t", x)
	default:
		return fmt.Sprint(x)
	}
}

// FormatFloat formats f compactly: 0.0123, 3.1, 1200, NaN.
func FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	s := fmt.Sprintf("%.4f", f)
	if math.Abs(f) < 0.001 && f != 0 {
		s = fmt.Sprintf("%.4g", f)
	}
	if strings.Contains(s, ".") && !strings.ContainsAny(s, "eE") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// MarshalJSON encodes the value; non-finite floats become strings.
func (v Value) MarshalJSON() ([]byte, error) {
	if f, ok := v.v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
		return json.Marshal(FormatFloat(f))
	}
	return json.Marshal(v.v)
}

// UnmarshalJSON decodes numbers (integers stay integers), strings and bools.
func (v *Value) UnmarshalJSON(b []byte) error {
	var x any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&x); err != nil {
		return err
	}
	switch t := x.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			v.v = i
			return nil
		}
		f, err := t.Float64()
		if err != nil {
			return err
		}
		v.v = f
	case string, bool, nil:
		v.v = t
	default:
		return fmt.Errorf("observed value must be a number, string or boolean, got %s", string(b))
	}
	return nil
}

// Input names something a gate judged, with its digest, so evidence can
// prove what was checked.
type Input struct {
	// Name of the input, e.g. a file path or a query.
	Name string `json:"name"`
	// URI where the input came from, when it is not a local file.
	URI string `json:"uri,omitempty"`
	// Digest as "sha256:<hex>".
	Digest string `json:"digest,omitempty"`
}

// Result is what a gate returns: its overall status and the checks behind it.
type Result struct {
	// Schema is SchemaVersion.
	Schema string `json:"schema"`
	// Gate is the gate's id in the policy.
	Gate string `json:"gate"`
	// Kind is the gate's kind, e.g. "command", "http", "slo".
	Kind string `json:"kind"`
	// Group is the checklist group, e.g. "provenance", "slo", "cost".
	Group string `json:"group,omitempty"`
	// Required gates block the release when they fail or error; optional
	// gates that fail show as warnings in the verdict.
	Required bool `json:"required"`
	// Status is the gate's outcome: the worst of its checks, unless the gate
	// could not be evaluated (error).
	Status Status `json:"status"`
	// Summary is one line for people.
	Summary string `json:"summary"`
	// Checks are the judged facts.
	Checks []Check `json:"checks"`
	// Inputs are the digests of what was judged.
	Inputs []Input `json:"inputs,omitempty"`
	// Error is set when Status is error: why the gate could not be evaluated.
	Error string `json:"error,omitempty"`
	// Location points at the gate's declaration in the policy.
	Location *Location `json:"location,omitempty"`
	// Details carries gate-specific data for renderers (e.g. builder ids,
	// chain heads). It is informative; Status and Checks are the verdict.
	Details map[string]any `json:"details,omitempty"`
	// StartedAt and FinishedAt bound the evaluation.
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// DurationMS is FinishedAt-StartedAt in milliseconds.
	DurationMS int64 `json:"duration_ms"`
}

// Add appends a check and returns the result for chaining.
func (r *Result) Add(c Check) *Result {
	r.Checks = append(r.Checks, c)
	return r
}

// Fold sets the result's Status to the worst of its checks. A result with no
// checks fails: a gate that judged nothing must not pass. The runner folds
// every Result (see Runner); gates do not call it.
func (r *Result) Fold() Status {
	if len(r.Checks) == 0 && r.Summary == "" {
		r.Summary = "no checks were evaluated; expected at least one"
	}
	r.Status = Folded(r.Checks)
	return r.Status
}

// Folded returns the status the runner folds these checks to, without
// setting any Result's status: the worst of them, passes mixed with skips
// as a warning, and no checks as a failure. A gate uses it to word its
// summary or to decide whether to try again; the runner decides the status.
func Folded(checks []Check) Status {
	if len(checks) == 0 {
		return StatusFail
	}
	ss := make([]Status, len(checks))
	for i, c := range checks {
		ss[i] = c.Status
	}
	return mixSkips(ss)
}

// mixSkips is Worst, except that passes mixed with skips make a warning: a
// skipped check is visible, never silently folded into a pass.
func mixSkips(ss []Status) Status {
	w := Worst(ss...)
	if w == StatusSkip {
		for _, s := range ss {
			if s == StatusPass {
				return StatusWarn
			}
		}
	}
	return w
}

// Counts returns how many checks have each status.
func (r *Result) Counts() map[Status]int {
	m := map[Status]int{}
	for _, c := range r.Checks {
		m[c.Status]++
	}
	return m
}

// Release is the release a report gated: its name, version and source
// repository, as the policy states them.
type Release struct {
	Name       string `json:"name,omitempty"`
	Version    string `json:"version,omitempty"`
	Repository string `json:"repository,omitempty"`
}

// Run is the CI run a report came from: the link to it, for people who
// read the report elsewhere (the step summary, a check run).
type Run struct {
	// URL is the run's page, e.g. https://github.com/o/r/actions/runs/1.
	URL string `json:"url,omitempty"`
}

// Report is the outcome of a run: the verdict over every gate's Result.
type Report struct {
	// Schema is SchemaVersion.
	Schema string `json:"schema"`
	// Release names what was gated (the policy's release section), when
	// known. Added within v1: readers that do not know it skip it.
	Release *Release `json:"release,omitempty"`
	// Run is the CI run that produced the report, when known (GitHub
	// Actions). Added within v1: readers that do not know it skip it.
	Run *Run `json:"run,omitempty"`
	// Status is the verdict: fail when a required gate failed, error when a
	// required gate could not be evaluated, warn when only optional gates
	// failed or a gate warned, pass otherwise.
	Status Status `json:"status"`
	// Policy is the policy file that was evaluated and its digest.
	Policy Input `json:"policy"`
	// Tool is the releasegate version that produced the report.
	Tool string `json:"tool"`
	// Results are the gate results in policy order.
	Results []Result `json:"results"`
	// StartedAt and FinishedAt bound the run.
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
}

// Verdict computes a report's status from its results. Optional gates that
// fail or error count as warnings. No results is a failure.
func Verdict(results []Result) Status {
	if len(results) == 0 {
		return StatusFail
	}
	ss := make([]Status, 0, len(results))
	for _, r := range results {
		s := r.Status
		if !r.Required && s.Blocks() {
			s = StatusWarn
		}
		ss = append(ss, s)
	}
	if w := mixSkips(ss); w != StatusSkip {
		return w
	}
	// every gate skipped: nothing was judged, which is not a pass, but it is
	// what the policy asked for; report it as a warning.
	return StatusWarn
}
