package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
)

func TestGithubSlug(t *testing.T) {
	t.Parallel()
	// Expected values are the anchors github.com gives these headings.
	cases := map[string]string{
		"✅ gate":                "-gate",
		"⛔ Release gate: ERROR": "-release-gate-error",
		"ledger-chain":          "ledger-chain",
		"tenant_a.items (v2)":   "tenant_aitems-v2",
		"Ünïcode  Straße":       "ünïcode--straße",
		"Tenant × gate":         "tenant--gate",
		"slsa-provenance":       "slsa-provenance",
	}
	for in, want := range cases {
		if got := githubSlug(in); got != want {
			t.Errorf("githubSlug(%q) = %q, want %q", in, got, want)
		}
	}
	s := newSlugger()
	for _, want := range []string{"a", "a-1", "a-2"} {
		if got := s.Slug("a"); got != want {
			t.Errorf("repeated heading: got %q, want %q", got, want)
		}
	}
	if got := s.Slug("a-1"); got != "a-1-1" {
		t.Errorf("heading equal to an earlier suffixed slug: got %q, want a-1-1", got)
	}
}

// demoReports are the demo's passing and failing runs (report.json of
// `releasegate demo` and `releasegate demo --policy failing-policy.yml`,
// with the scratch directory and port replaced).
func demoReports(t *testing.T) map[string]*gate.Report {
	t.Helper()
	out := map[string]*gate.Report{"fixture": fixture()}
	for _, name := range []string{"demo-pass", "demo-fail"} {
		b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var rep gate.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = &rep
	}
	return out
}

// githubIDs gives headings GitHub's anchors (the same rule as slugger, but
// over the text goldmark parsed, so a heading written differently from what
// Markdown links to is caught).
type githubIDs struct{ s *slugger }

func (g githubIDs) Generate(value []byte, _ ast.NodeKind) []byte {
	return []byte(g.s.Slug(string(value)))
}
func (g githubIDs) Put(value []byte) { g.s.seen[string(value)] = 0 }

// TestMarkdownAnchorsResolve renders the step summary as GitHub does
// (goldmark, GFM tables, auto heading IDs) and checks every in-page link
// points at a heading ID, both with GitHub's slug rule and with goldmark's
// own ASCII rule, which agree on gate names.
func TestMarkdownAnchorsResolve(t *testing.T) {
	t.Parallel()
	for name, rep := range demoReports(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var md bytes.Buffer
			if err := Markdown(&md, rep); err != nil {
				t.Fatal(err)
			}
			for _, ids := range []struct {
				name string
				ctx  parser.Context
			}{
				{"github", parser.NewContext(parser.WithIDs(githubIDs{newSlugger()}))},
				{"goldmark", parser.NewContext()},
			} {
				gm := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithParserOptions(parser.WithAutoHeadingID()))
				doc := gm.Parser().Parse(text.NewReader(md.Bytes()), parser.WithContext(ids.ctx))
				headings := map[string]bool{}
				var links []string
				tables := 0
				ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
					if !entering {
						return ast.WalkContinue, nil
					}
					switch n := n.(type) {
					case *ast.Heading:
						if id, ok := n.AttributeString("id"); ok {
							headings[string(id.([]byte))] = true
						}
					case *ast.Link:
						if d := string(n.Destination); strings.HasPrefix(d, "#") {
							links = append(links, d[1:])
						}
					}
					if n.Kind().String() == "Table" {
						tables++
					}
					return ast.WalkContinue, nil
				})
				if len(links) < 2*len(rep.Results) {
					t.Errorf("%s: %d in-page links, want at least 2 per gate (matrix and gate table) for %d gates", ids.name, len(links), len(rep.Results))
				}
				if tables < 2 {
					t.Errorf("%s: %d tables rendered, want the matrix and the gate table at least", ids.name, tables)
				}
				for _, l := range links {
					if !headings[l] {
						t.Errorf("%s: link #%s resolves to no heading; headings: %v", ids.name, l, headings)
					}
				}
			}
		})
	}
}

// TestMarkdownMatrixFirst checks the tenant × gate matrix comes before the
// gate table and the gates are listed worst first.
func TestMarkdownMatrixFirst(t *testing.T) {
	t.Parallel()
	var md bytes.Buffer
	if err := Markdown(&md, fixture()); err != nil {
		t.Fatal(err)
	}
	s := md.String()
	if m, g := strings.Index(s, "| Gate | Result | acme | globex | initech | (all) |"), strings.Index(s, "| | Gate | Group |"); m < 0 || g < 0 || m > g {
		t.Fatalf("matrix header at %d, gate table at %d: want the matrix first\n%s", m, g, s)
	}
	order := regexp.MustCompile(`(?m)^### (\S+)$`).FindAllStringSubmatch(s, -1)
	var got []string
	for _, m := range order {
		got = append(got, m[1])
	}
	if want := "burn-rate cost ledger health"; strings.Join(got, " ") != want {
		t.Errorf("sections in order %v, want %s (fail, fail, error, pass)", got, want)
	}
	if !strings.Contains(s, "| [burn-rate](#burn-rate) | ❌ fail | ❌ | ✅ | ❌ | — |") {
		t.Errorf("burn-rate matrix row missing or wrong:\n%s", s)
	}
}

func TestFormatDurationNeverZero(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "< 1 ms"},
		{300, "300 ns"},
		{840 * time.Microsecond, "840 µs"},
		{2430 * time.Microsecond, "2.43 ms"},
		{999 * time.Millisecond, "999 ms"},
		{7020 * time.Millisecond, "7.02 s"},
		{150 * time.Second, "2.5 min"},
	} {
		if got := FormatDuration(c.d); got != c.want {
			t.Errorf("FormatDuration(%v) = %q, want %q", c.d, got, c.want)
		}
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := gate.Result{StartedAt: t0, FinishedAt: t0.Add(840 * time.Microsecond), DurationMS: 0}
	if got := Elapsed(&r); got != "840 µs" {
		t.Errorf("Elapsed of an 840µs gate = %q, want 840 µs", got)
	}
}

func TestObservedNoDataBesidePass(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		check gate.Check
		want  string
	}{
		{gate.Check{Status: gate.StatusPass}, "—"},
		{gate.Check{Status: gate.StatusFail}, "no data"},
		{gate.Check{Status: gate.StatusError}, "no data"},
		{gate.Check{Status: gate.StatusPass, Observed: gate.Number(0.00084), Unit: "s"}, "0.00084 s"},
		{gate.Check{Status: gate.StatusPass, Observed: gate.Int(0), Unit: "x"}, "0 x"},
	} {
		if got := Observed(&c.check); got != c.want {
			t.Errorf("Observed(%+v) = %q, want %q", c.check, got, c.want)
		}
	}
}

// TestMarkdownChecksChart reads the Mermaid chart back and checks each bar
// against the Results: the gates with checks, worst first, their check
// counts and how many passed.
func TestMarkdownChecksChart(t *testing.T) {
	t.Parallel()
	for name, rep := range demoReports(t) {
		var md bytes.Buffer
		if err := Markdown(&md, rep); err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile("(?s)```mermaid\nxychart-beta\n.*?x-axis \\[(.*?)\\]\n.*?bar \\[(.*?)\\]\n    bar \\[(.*?)\\]\n```").FindStringSubmatch(md.String())
		if m == nil {
			t.Errorf("%s: no xychart-beta block in the summary:\n%s", name, md.String())
			continue
		}
		var names, total, passed []string
		for _, r := range WorstFirst(rep.Results) {
			if len(r.Checks) == 0 {
				continue
			}
			names = append(names, `"`+r.Gate+`"`)
			total = append(total, strconv.Itoa(len(r.Checks)))
			passed = append(passed, strconv.Itoa(r.Counts()[gate.StatusPass]))
		}
		for i, want := range [][]string{names, total, passed} {
			if got := m[i+1]; got != strings.Join(want, ", ") {
				t.Errorf("%s: chart series %d = [%s], want [%s]", name, i, got, strings.Join(want, ", "))
			}
		}
	}
}

func TestMarkdownChecksChartNoChecks(t *testing.T) {
	t.Parallel()
	rep := &gate.Report{Status: gate.StatusError, Results: []gate.Result{{Gate: "ledger", Status: gate.StatusError, Required: true}}}
	var md bytes.Buffer
	if err := Markdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(md.String(), "```mermaid") {
		t.Errorf("a chart with no bars was drawn:\n%s", md.String())
	}
}

func TestMarkdownRunLink(t *testing.T) {
	t.Parallel()
	rep := fixture()
	for _, run := range []*gate.Run{nil, {URL: "https://github.com/o/r/actions/runs/42"}} {
		rep.Run = run
		var md bytes.Buffer
		if err := Markdown(&md, rep); err != nil {
			t.Fatal(err)
		}
		has := strings.Contains(md.String(), "[Workflow run](https://github.com/o/r/actions/runs/42)")
		if has != (run != nil) {
			t.Errorf("run %+v: link present = %v, want %v", run, has, run != nil)
		}
	}
}
