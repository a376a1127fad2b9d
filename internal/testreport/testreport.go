// Package testreport reads test reports — JUnit XML in its common dialects
// (Maven Surefire, pytest, go-junit-report and gotestsum, jest-junit) and
// the event stream of `go test -json` — into one model: every test case
// with its final outcome, how many times it ran, and whether it failed
// before it passed (a flaky retry), grouped by suite.
//
// It reads outside input, so it is strict: a file that is not a report, is
// cut short or breaks its format is an error with the line (and column)
// where reading stopped, never an empty report that could pass. A report
// with no test cases parses (it is a real outcome) and says so in its
// totals; judging it is the gate's business.
package testreport

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Format is a report format.
type Format string

// The formats Parse reads.
const (
	// FormatAuto tells Parse to detect the format from the first byte
	// that is not white space: '<' is JUnit XML, '{' is go test -json.
	FormatAuto Format = "auto"
	// FormatJUnit is JUnit XML.
	FormatJUnit Format = "junit"
	// FormatGoTestJSON is the output of `go test -json` (test2json).
	FormatGoTestJSON Format = "go-test-json"
)

// Formats lists the formats a policy may name.
var Formats = []Format{FormatAuto, FormatJUnit, FormatGoTestJSON}

// ErrMalformed means the input is not a report of the expected format or
// is cut short. Errors from Parse wrap it; *SyntaxError says where.
var ErrMalformed = errors.New("malformed test report")

// SyntaxError is a malformed report with the position where reading
// stopped. It matches ErrMalformed.
type SyntaxError struct {
	// Line and Column are 1-based; Column is 0 when unknown.
	Line, Column int
	// Msg says what was expected and what was found.
	Msg string
}

func (e *SyntaxError) Error() string {
	if e.Column > 0 {
		return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%d: %s", e.Line, e.Msg)
}

// Is makes a SyntaxError match ErrMalformed.
func (e *SyntaxError) Is(target error) bool { return target == ErrMalformed }

// Outcome is a test case's final outcome.
type Outcome string

// The outcomes. Error is JUnit's <error> (the test could not run to an
// assertion: a crash, a setup failure, a build failure, a test that never
// finished), Failed is an assertion that failed.
const (
	Passed  Outcome = "passed"
	Failed  Outcome = "failed"
	Errored Outcome = "error"
	Skipped Outcome = "skipped"
)

// Case is one test case with its final outcome.
type Case struct {
	// Suite is the suite that holds the case: the JUnit <testsuite> name,
	// or the Go package.
	Suite string
	// Class is JUnit's classname; empty for go test -json.
	Class string
	// Name is the test's name (Go subtests keep their parent: A/b).
	Name string
	// Outcome is the final outcome: the last run's.
	Outcome Outcome
	// Runs is how many times the case ran, reruns included (at least 1).
	Runs int
	// Flaky is set when an earlier run failed or errored and the last
	// one passed.
	Flaky bool
	// Message is the first line of the last failure or error, cut to
	// MaxMessage bytes.
	Message string
}

// ID names the case for people: suite, class and name.
func (c *Case) ID() string {
	parts := make([]string, 0, 3)
	for _, p := range []string{c.Suite, c.Class, c.Name} {
		if p != "" && (len(parts) == 0 || parts[len(parts)-1] != p) {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, " › ")
}

// MaxMessage bounds a case's message.
const MaxMessage = 200

// Totals counts cases by final outcome. Flaky cases are counted as passed
// and also in Flaky; Reruns counts the runs beyond each case's first.
type Totals struct {
	Tests   int `json:"tests"`
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Errors  int `json:"errors"`
	Skipped int `json:"skipped"`
	Flaky   int `json:"flaky"`
	Reruns  int `json:"reruns"`
}

// Add counts c.
func (t *Totals) Add(c *Case) {
	t.Tests++
	switch c.Outcome {
	case Passed:
		t.Passed++
	case Failed:
		t.Failed++
	case Errored:
		t.Errors++
	case Skipped:
		t.Skipped++
	}
	if c.Flaky {
		t.Flaky++
	}
	if c.Runs > 1 {
		t.Reruns += c.Runs - 1
	}
}

// Plus returns the sum of t and o.
func (t Totals) Plus(o Totals) Totals {
	return Totals{Tests: t.Tests + o.Tests, Passed: t.Passed + o.Passed, Failed: t.Failed + o.Failed,
		Errors: t.Errors + o.Errors, Skipped: t.Skipped + o.Skipped, Flaky: t.Flaky + o.Flaky, Reruns: t.Reruns + o.Reruns}
}

// Report is a parsed test report.
type Report struct {
	// Format is the format that was read.
	Format Format
	// Cases are the test cases in the order they first appeared.
	Cases []Case
}

// Totals counts the report's cases.
func (r *Report) Totals() Totals {
	var t Totals
	for i := range r.Cases {
		t.Add(&r.Cases[i])
	}
	return t
}

// Suites returns the totals per suite, by suite name.
func (r *Report) Suites() map[string]Totals {
	m := map[string]Totals{}
	for i := range r.Cases {
		t := m[r.Cases[i].Suite]
		t.Add(&r.Cases[i])
		m[r.Cases[i].Suite] = t
	}
	return m
}

// SuiteNames returns the suite names, sorted.
func (r *Report) SuiteNames() []string {
	m := r.Suites()
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Parse reads a report of the given format (FormatAuto detects it).
func Parse(data []byte, f Format) (*Report, error) {
	if f == "" || f == FormatAuto {
		var err error
		if f, err = Detect(data); err != nil {
			return nil, err
		}
	}
	switch f {
	case FormatJUnit:
		return ParseJUnit(data)
	case FormatGoTestJSON:
		return ParseGoTestJSON(data)
	}
	return nil, fmt.Errorf("%w: unknown format %q; expected one of junit, go-test-json", ErrMalformed, f)
}

// Detect tells the format from the first byte that is not white space (a
// UTF-8 byte order mark is skipped).
func Detect(data []byte) (Format, error) {
	s := strings.TrimLeft(strings.TrimPrefix(string(data[:min(len(data), 4096)]), "\ufeff"), " \t\r\n")
	switch {
	case s == "":
		return "", &SyntaxError{Line: 1, Msg: "empty file; expected JUnit XML or go test -json output"}
	case s[0] == '<':
		return FormatJUnit, nil
	case s[0] == '{':
		return FormatGoTestJSON, nil
	}
	return "", &SyntaxError{Line: 1, Column: 1, Msg: fmt.Sprintf("starts with %q; expected JUnit XML ('<') or go test -json output ('{')", firstRune(s))}
}

func firstRune(s string) string {
	for _, r := range s {
		return string(r)
	}
	return ""
}

// builder collects cases, merging reruns: a case seen again after it
// failed or errored is a rerun of it; a case seen again after it passed
// or was skipped is another case of the same name (parameterised tests
// may share names), counted on its own.
type builder struct {
	cases []Case
	open  map[caseKey]int // case key → index of the case still open to reruns
}

type caseKey struct{ suite, class, name string }

func (b *builder) add(c Case) {
	if b.open == nil {
		b.open = map[caseKey]int{}
	}
	if c.Runs < 1 {
		c.Runs = 1
	}
	k := caseKey{c.Suite, c.Class, c.Name}
	if i, ok := b.open[k]; ok {
		prev := &b.cases[i]
		prev.Runs += c.Runs
		prev.Outcome = c.Outcome
		prev.Flaky = c.Outcome == Passed || c.Flaky
		if c.Message != "" || c.Outcome == Passed {
			prev.Message = c.Message
		}
		if !failing(prev.Outcome) {
			delete(b.open, k)
		}
		return
	}
	b.cases = append(b.cases, c)
	if failing(c.Outcome) {
		b.open[k] = len(b.cases) - 1
	}
}

func failing(o Outcome) bool { return o == Failed || o == Errored }

// firstLine returns s's first non-empty line, trimmed and cut to
// MaxMessage bytes (on a rune boundary).
func firstLine(s string) string {
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return cut(line, MaxMessage)
		}
	}
	return ""
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !isRuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Merge merges reruns across reports, in order, as Parse does within one:
// a case that failed or errored and appears again is the same case run
// again (flaky when it then passed).
func Merge(cases []Case) []Case {
	var b builder
	for _, c := range cases {
		b.add(c)
	}
	return b.cases
}
