package testreport

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Real reports from public repositories' test data (see testdata/real/*/SOURCE.md),
// with the totals a person counts from their <testcase> elements or events.
func TestRealReports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file   string
		format Format
		want   Totals
		suites int
		flaky  []string // IDs of the flaky cases
	}{
		{file: "surefire/TEST-org.acme.FlakyTest.xml", format: FormatJUnit,
			want: Totals{Tests: 2, Passed: 2, Flaky: 1, Reruns: 4}, suites: 1, flaky: []string{"org.acme.FlakyTest › testFlaky"}},
		{file: "surefire/TEST-com.shape.CircleTest.xml", format: FormatJUnit,
			want: Totals{Tests: 8, Passed: 6, Failed: 1, Errors: 1}, suites: 1},
		{file: "surefire/TEST-org.apache.maven.surefire.test.FailingTest.xml", format: FormatJUnit,
			want: Totals{Tests: 2, Failed: 2}, suites: 1},
		{file: "surefire/TEST-classWithNoTests.NoMethodsTestCase.xml", format: FormatJUnit, want: Totals{}},
		{file: "gotestsum/junitxml-report.xml", format: FormatJUnit,
			want: Totals{Tests: 60, Passed: 42, Failed: 13, Skipped: 5}, suites: 4},
		// the same run as go test -json: gotestsum's JUnit calls the
		// package whose TestMain failed a failed "TestMain" case; the
		// event stream shows a package failing outside any test (error)
		{file: "gotestsum/go-test-json.out", format: FormatGoTestJSON,
			want: Totals{Tests: 60, Passed: 42, Failed: 12, Errors: 1, Skipped: 5}, suites: 4},
		{file: "gotestsum/go-test-json-flaky-rerun.out", format: FormatGoTestJSON,
			want: Totals{Tests: 6, Passed: 6, Flaky: 3, Reruns: 6}, suites: 1,
			flaky: []string{"gotest.tools/gotestsum/testdata/e2e/flaky › TestFailsRarely", "gotest.tools/gotestsum/testdata/e2e/flaky › TestFailsSometimes", "gotest.tools/gotestsum/testdata/e2e/flaky › TestFailsOften"}},
		{file: "gotestsum/go-test-build-failed.out", format: FormatGoTestJSON,
			want: Totals{Tests: 1, Errors: 1}, suites: 1},
		{file: "publish-unit-test-result-action/junit.fail.xml", format: FormatJUnit,
			want: Totals{Tests: 5, Passed: 3, Failed: 1, Skipped: 1}, suites: 1},
		{file: "publish-unit-test-result-action/no-cases.xml", format: FormatJUnit, want: Totals{}},
		{file: "test-reporter/jest-junit.xml", format: FormatJUnit,
			want: Totals{Tests: 6, Passed: 1, Failed: 4, Skipped: 1}, suites: 2},
		// the file says tests="15"; it holds 10 <testcase> elements
		{file: "test-reporter/python-xunit-pytest.xml", format: FormatJUnit,
			want: Totals{Tests: 10, Passed: 6, Failed: 2, Skipped: 2}, suites: 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join("testdata", "real", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := Parse(b, FormatAuto)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if rep.Format != tt.format {
				t.Errorf("format = %s, want %s", rep.Format, tt.format)
			}
			if got := rep.Totals(); got != tt.want {
				t.Errorf("totals = %+v\nwant     %+v", got, tt.want)
			}
			if got := len(rep.Suites()); got != tt.suites {
				t.Errorf("suites = %d, want %d", got, tt.suites)
			}
			var flaky []string
			for _, c := range rep.Cases {
				if c.Flaky {
					flaky = append(flaky, c.ID())
				}
				if c.Runs < 1 {
					t.Errorf("%s: runs = %d", c.ID(), c.Runs)
				}
			}
			if strings.Join(flaky, "|") != strings.Join(tt.flaky, "|") {
				t.Errorf("flaky = %q, want %q", flaky, tt.flaky)
			}
		})
	}
}

func TestFailureMessages(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("testdata/real/surefire/TEST-com.shape.CircleTest.xml")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := ParseJUnit(b)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range rep.Cases {
		if c.Outcome != Passed {
			got[c.Name] = string(c.Outcome) + ": " + c.Message
		}
	}
	want := map[string]string{"testRadius": "failed: expected:<20> but was:<10>", "testProperties": "error: / by zero"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestReruns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want Totals
	}{
		{"gotestsum junit rerun: failed then passed is one flaky case",
			`<testsuites><testsuite name="p"><testcase classname="p" name="TestA"><failure message="boom"/></testcase>` +
				`<testcase classname="p" name="TestA"/></testsuite></testsuites>`,
			Totals{Tests: 1, Passed: 1, Flaky: 1, Reruns: 1}},
		{"failed on every rerun stays failed",
			`<testsuite name="p"><testcase name="A"><failure/></testcase><testcase name="A"><failure/></testcase></testsuite>`,
			Totals{Tests: 1, Failed: 1, Reruns: 1}},
		{"two passing cases of one name are two cases",
			`<testsuite name="p"><testcase name="A"/><testcase name="A"/></testsuite>`,
			Totals{Tests: 2, Passed: 2}},
		{"surefire rerunFailure: failed with reruns",
			`<testsuite name="S"><testcase name="t" classname="C"><failure message="x"/><rerunFailure message="y"/><rerunError/></testcase></testsuite>`,
			Totals{Tests: 1, Failed: 1, Reruns: 2}},
		{"surefire flakyError: passed after an error",
			`<testsuite name="S"><testcase name="t" classname="C"><flakyError message="x"/></testcase></testsuite>`,
			Totals{Tests: 1, Passed: 1, Flaky: 1, Reruns: 1}},
		{"error outranks failure and skip",
			`<testsuite name="S"><testcase name="t"><skipped/><failure/><error/></testcase></testsuite>`,
			Totals{Tests: 1, Errors: 1}},
		{"nested suites: cases belong to the innermost",
			`<testsuites><testsuite name="outer"><testsuite name="inner"><testcase name="a"/></testsuite><testcase name="b"/></testsuite></testsuites>`,
			Totals{Tests: 2, Passed: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep, err := ParseJUnit([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Totals(); got != tt.want {
				t.Errorf("totals = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNestedSuiteNames(t *testing.T) {
	t.Parallel()
	rep, err := ParseJUnit([]byte(`<testsuites><testsuite name="outer"><testsuite name="inner"><testcase name="a"/></testsuite><testcase name="b"/></testsuite></testsuites>`))
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.SuiteNames(); strings.Join(got, ",") != "inner,outer" {
		t.Errorf("suites = %q, want inner,outer", got)
	}
}

func TestGoTestJSONFailClosed(t *testing.T) {
	t.Parallel()
	ev := func(s string) string { return s + "\n" }
	tests := []struct {
		name string
		in   string
		want Totals
		msg  string // the message of the errored case
	}{
		{"a test that started and never finished is an error",
			ev(`{"Action":"run","Package":"p","Test":"TestHang"}`) +
				ev(`{"Action":"output","Package":"p","Output":"panic: test timed out after 10m0s\n"}`) +
				ev(`{"Action":"fail","Package":"p","Elapsed":600}`),
			Totals{Tests: 1, Errors: 1}, "panic: test timed out after 10m0s"},
		{"a package failing with no failing test is an error",
			ev(`{"Action":"run","Package":"p","Test":"TestA"}`) + ev(`{"Action":"pass","Package":"p","Test":"TestA"}`) +
				ev(`{"Action":"fail","Package":"p","Elapsed":1}`),
			Totals{Tests: 2, Passed: 1, Errors: 1}, "the package failed outside any test (panic, TestMain, timeout); see its output"},
		{"a failing test explains its package's failure",
			ev(`{"Action":"run","Package":"p","Test":"TestA"}`) +
				ev(`{"Action":"output","Package":"p","Test":"TestA","Output":"    a_test.go:12: got 1, want 2\n"}`) +
				ev(`{"Action":"fail","Package":"p","Test":"TestA"}`) + ev(`{"Action":"fail","Package":"p"}`),
			Totals{Tests: 1, Failed: 1}, "a_test.go:12: got 1, want 2"},
		{"a package without tests adds nothing",
			ev(`{"Action":"start","Package":"p"}`) + ev(`{"Action":"output","Package":"p","Output":"?   \tp\t[no test files]\n"}`) +
				ev(`{"Action":"skip","Package":"p","Elapsed":0}`),
			Totals{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep, err := ParseGoTestJSON([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Totals(); got != tt.want {
				t.Errorf("totals = %+v, want %+v", got, tt.want)
			}
			var msg string
			for _, c := range rep.Cases {
				if c.Outcome != Passed {
					msg = c.Message
				}
			}
			if msg != tt.msg {
				t.Errorf("message = %q, want %q", msg, tt.msg)
			}
		})
	}
}

// Bad input: each is ErrMalformed with the line where reading stopped,
// never an empty report that could pass.
func TestMalformed(t *testing.T) {
	t.Parallel()
	real := func(p string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "real", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	flaky := real("gotestsum/go-test-json-flaky-rerun.out")
	tests := []struct {
		name string
		in   string
		line int
	}{
		{"empty file", "", 1},
		{"white space only", " \n\t\n", 1},
		{"neither XML nor JSON", "PASS\nok  \tp\t0.1s\n", 1},
		{"truncated XML (a real file cut short)", real("publish-unit-test-result-action/corrupt-xml.xml"), 11},
		{"XML cut inside the root", `<testsuites><testsuite name="s"><testcase name="a"/>`, 1},
		{"not a JUnit root", `<?xml version="1.0"?>` + "\n<checkstyle/>", 2},
		{"a second root", `<testsuite name="a"/>` + "\n" + `<testsuite name="b"/>`, 2},
		{"testcase without a name", `<testsuite name="s">` + "\n" + `<testcase classname="c"/></testsuite>`, 2},
		{"prolog only", `<?xml version="1.0"?>`, 1},
		{"mismatched tags", "<testsuite name=\"s\">\n<testcase name=\"a\"></testsuite>", 2},
		{"go test -json cut mid-line (a real stream cut short)", flaky[:len(flaky)/2], strings.Count(flaky[:len(flaky)/2], "\n") + 1},
		{"go test -json stream ends before its package", strings.Join(strings.Split(flaky, "\n")[:10], "\n"), 10},
		{"go test -json with stderr mixed in", `{"Action":"run","Package":"p","Test":"T"}` + "\ngo: downloading x v1\n", 2},
		{"JSON that is not an event", `{"foo":1}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep, err := Parse([]byte(tt.in), FormatAuto)
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", rep.Totals())
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not match ErrMalformed", err)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SyntaxError", err)
			}
			if se.Line != tt.line {
				t.Errorf("line = %d, want %d (%v)", se.Line, tt.line, err)
			}
		})
	}
}

func TestFormatMismatch(t *testing.T) {
	t.Parallel()
	if _, err := Parse([]byte(`<testsuite name="s"><testcase name="a"/></testsuite>`), FormatGoTestJSON); !errors.Is(err, ErrMalformed) {
		t.Errorf("JUnit read as go test -json: err = %v, want ErrMalformed", err)
	}
	if _, err := Parse([]byte(`{"Action":"pass","Package":"p"}`), FormatJUnit); !errors.Is(err, ErrMalformed) {
		t.Errorf("go test -json read as JUnit: err = %v, want ErrMalformed", err)
	}
}

func TestMessagesAreCut(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", MaxMessage)
	rep, err := ParseJUnit([]byte(`<testsuite name="s"><testcase name="a"><failure message="` + long + `"/></testcase></testsuite>`))
	if err != nil {
		t.Fatal(err)
	}
	m := rep.Cases[0].Message
	if len(m) > MaxMessage+len("…") || !strings.HasSuffix(m, "…") || !strings.HasPrefix(m, "éé") {
		t.Errorf("message not cut on a rune boundary: %d bytes %q", len(m), m)
	}
}
