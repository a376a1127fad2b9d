package testreport

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// goEvent is one line of `go test -json` (cmd/test2json's TestEvent, and
// the build events `go test -json` adds since Go 1.24).
type goEvent struct {
	Action      string `json:"Action"`
	Package     string `json:"Package"`
	Test        string `json:"Test"`
	Output      string `json:"Output"`
	ImportPath  string `json:"ImportPath"`
	FailedBuild string `json:"FailedBuild"`
}

// goPackage is the state of a package between its first event and its
// package-level pass or fail.
type goPackage struct {
	name       string
	open       map[string]string // tests running → their first message line
	order      []string          // tests in the order they started
	testFailed bool              // a test of this run failed
	output     string            // the package's first panic or timeout line
}

// ParseGoTestJSON reads the event stream of `go test -json` (also
// concatenated runs, as gotestsum --rerun-fails writes them: a test that
// failed and passed on a rerun is flaky). Every test and subtest with a
// pass, fail or skip event is a case, its package the suite. Fail closed:
//
//   - a package that failed to build is a case with outcome error
//     ("[build failed]");
//   - a package that failed with no failing test (a panic, TestMain, a
//     timeout) is a case with outcome error ("[package]");
//   - a test that started and never finished is a case with outcome error;
//   - a stream that ends before a package finished is cut short: an error.
//
// Lines that are not JSON events are errors with their line number.
func ParseGoTestJSON(data []byte) (*Report, error) {
	var b builder
	pkgs := map[string]*goPackage{}
	var pkgOrder []string
	line := 0
	for len(data) > 0 {
		var raw []byte
		raw, data, _ = bytes.Cut(data, []byte("\n"))
		line++
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		if raw[0] != '{' {
			return nil, &SyntaxError{Line: line, Column: 1, Msg: fmt.Sprintf("%q is not a go test -json event; expected one JSON object per line (run go test -json, and keep stderr out of the file)", cut(string(raw), 60))}
		}
		var ev goEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, &SyntaxError{Line: line, Msg: fmt.Sprintf("not a go test -json event (%v); the line is broken or cut short", err)}
		}
		if ev.Action == "" {
			return nil, &SyntaxError{Line: line, Msg: "event without an Action; expected go test -json output"}
		}
		if ev.Package == "" {
			continue // build-output and build-fail carry ImportPath; the package's fail event follows
		}
		st := pkgs[ev.Package]
		if st == nil {
			st = &goPackage{name: ev.Package, open: map[string]string{}}
			pkgs[ev.Package] = st
			pkgOrder = append(pkgOrder, ev.Package)
		}
		if ev.Test != "" {
			st.test(&b, ev)
			continue
		}
		if st.pkg(&b, ev) {
			delete(pkgs, ev.Package)
		}
	}
	if len(pkgs) > 0 {
		var unfinished []string
		for _, p := range pkgOrder {
			if _, ok := pkgs[p]; ok {
				unfinished = append(unfinished, p)
			}
		}
		sort.Strings(unfinished)
		return nil, &SyntaxError{Line: line, Msg: fmt.Sprintf("the stream ends before package %s finished (no pass or fail event); the report is cut short", strings.Join(unfinished, ", "))}
	}
	return &Report{Format: FormatGoTestJSON, Cases: b.cases}, nil
}

// test handles an event of one test.
func (st *goPackage) test(b *builder, ev goEvent) {
	c := Case{Suite: ev.Package, Name: ev.Test}
	switch ev.Action {
	case "run":
		if _, ok := st.open[ev.Test]; !ok {
			st.order = append(st.order, ev.Test)
		}
		st.open[ev.Test] = ""
		return
	case "output":
		if m, ok := st.open[ev.Test]; ok && m == "" && isFailureLine(ev.Output) {
			st.open[ev.Test] = firstLine(ev.Output)
		}
		return
	case "pass":
		c.Outcome = Passed
	case "fail":
		c.Outcome = Failed
		c.Message = st.open[ev.Test]
		st.testFailed = true
	case "skip":
		c.Outcome = Skipped
	default: // pause, cont, bench and actions of newer Go versions
		return
	}
	delete(st.open, ev.Test)
	b.add(c)
}

// pkg handles a package-level event; it reports whether the package
// finished.
func (st *goPackage) pkg(b *builder, ev goEvent) bool {
	switch ev.Action {
	case "output":
		if st.output == "" && (strings.HasPrefix(ev.Output, "panic:") || strings.Contains(ev.Output, "test timed out")) {
			st.output = firstLine(ev.Output)
		}
		return false
	case "pass", "skip":
	case "fail":
		st.closeOpen(b)
		switch {
		case ev.FailedBuild != "":
			b.add(Case{Suite: ev.Package, Name: "[build failed]", Outcome: Errored, Message: "the test binary failed to build: " + ev.FailedBuild})
		case !st.testFailed:
			b.add(Case{Suite: ev.Package, Name: "[package]", Outcome: Errored,
				Message: firstNonEmpty(st.output, "the package failed outside any test (panic, TestMain, timeout); see its output")})
		}
	default:
		return false
	}
	st.closeOpen(b)
	return true
}

// closeOpen records the tests that started and never finished as errors.
func (st *goPackage) closeOpen(b *builder) {
	for _, t := range st.order {
		if _, ok := st.open[t]; !ok {
			continue
		}
		b.add(Case{Suite: st.name, Name: t, Outcome: Errored,
			Message: firstNonEmpty(st.output, "the test started and never finished (the test binary panicked, exited or timed out)")})
		st.testFailed = true
		delete(st.open, t)
	}
	st.order = nil
}

// isFailureLine reports whether a test's output line looks like a failure
// report: "    file_test.go:12: message" or a panic.
func isFailureLine(s string) bool {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "panic:") {
		return true
	}
	file, rest, ok := strings.Cut(s, ".go:")
	return ok && file != "" && !strings.ContainsAny(file, " \t") && rest != "" && rest[0] >= '0' && rest[0] <= '9'
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
