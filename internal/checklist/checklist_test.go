package checklist

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func loadReport(t *testing.T, name string) []gate.Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var rep gate.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) == 0 {
		t.Fatalf("%s has no results", name)
	}
	return rep.Results
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("differs from %s (run go test -update to accept):\n%s", p, got)
	}
}

// TestBuiltinHasEveryBlank: the built-in template decodes and has a box for
// every blank of the team's release issue template, in its sections'
// order.
func TestBuiltinHasEveryBlank(t *testing.T) {
	t.Parallel()
	tm := Builtin()
	var ids []string
	labels := map[string]bool{}
	for _, s := range tm.Sections {
		ids = append(ids, s.ID)
		for _, b := range s.Boxes {
			labels[b.Label] = true
		}
	}
	if got, want := strings.Join(ids, " "), "provenance abuse cost privacy slo infra evidence tests pre-deploy rollback rollout sign-off metrics"; got != want {
		t.Errorf("sections %q, want %q", got, want)
	}
	for _, l := range []string{"Records migrated (entries in the v2 ledger)", "Migration checksum", "Genesis hash", "Latest hash", "Attestation URI",
		"Rekor log index", "Merkle root", "Merkle root signature bundle", "False-positive rate (normal queries refused)", "Throttle recovery",
		"abuseguard_throttles_total per test tenant", "429 count", "Complexity score", "Malformed payloads rejected (status answered)",
		"Abuse audit entries", "Forecast error %", "Light-tenant p95", "RTBF seconds", "RTBF records processed", "Audit entries", "Risk level",
		"5m burn rate", "1h burn rate", "SLO compliance %", "Violating tenants", "Rules active", "Dashboard id", "Performance baseline p50",
		"Performance baseline p95", "Performance baseline error rate", "Canary error-rate delta", "Canary latency delta", "Total deploy time",
		"Functional test results (passing)", "Tests run to a verdict", "Failed", "In error", "Skipped", "Flaky (passed on a rerun)",
		"Required suites present", "Test report files", "Performance test results (synthetic checks within SLO)"} {
		if !labels[l] {
			t.Errorf("no box %q", l)
		}
	}
}

func boxByLabel(t *testing.T, f *Filled, label string) FilledBox {
	t.Helper()
	for _, s := range f.Sections {
		for _, b := range s.Boxes {
			if b.Label == label {
				return b
			}
		}
	}
	t.Fatalf("no box %q", label)
	return FilledBox{}
}

func findCheck(t *testing.T, rs []gate.Result, gateID, name, tenant string) gate.Check {
	t.Helper()
	for _, r := range rs {
		for _, c := range r.Checks {
			if r.Gate == gateID && c.Name == name && c.Tenant == tenant {
				return c
			}
		}
	}
	t.Fatalf("no check %s/%s/%s in the results", gateID, name, tenant)
	return gate.Check{}
}

func detail(t *testing.T, rs []gate.Result, gateID string, path ...string) any {
	t.Helper()
	for _, r := range rs {
		if r.Gate == gateID {
			var v any = r.Details
			for _, p := range path {
				switch x := v.(type) {
				case map[string]any:
					v = x[p]
				case []any:
					v = x[0]
				}
			}
			return v
		}
	}
	t.Fatalf("no gate %s", gateID)
	return nil
}

// TestDemoChecklist fills the built-in template from the demo policy's
// results: every box is either filled from a gate of the demo (its values
// checked here against the Results) or says "not checked by this policy",
// never ✅ without a value; the whole is compared with a golden file.
func TestDemoChecklist(t *testing.T) {
	t.Parallel()
	rs := loadReport(t, "demo-report.json")
	f := Fill(Builtin(), rs, nil)

	for _, s := range f.Sections {
		for _, b := range s.Boxes {
			if !b.Checked() {
				if b.Note != NotChecked || b.Status != "" || len(b.Gates) != 0 {
					t.Errorf("box %q without values: note %q, status %q, gates %v", b.Label, b.Note, b.Status, b.Gates)
				}
				continue
			}
			if len(b.Gates) == 0 || b.Status != gate.StatusPass {
				t.Errorf("box %q: gates %v status %q; the demo passes every gate", b.Label, b.Gates, b.Status)
			}
			for _, it := range b.Items {
				if it.Text == "" || it.Text == "no value" {
					t.Errorf("box %q: item without a value: %+v", b.Label, it)
				}
			}
		}
	}
	// The not-checked boxes are exactly those no demo gate exposes.
	var open []string
	for _, s := range f.Sections {
		for _, b := range s.Boxes {
			if !b.Checked() {
				open = append(open, b.Label)
			}
		}
	}
	if got, want := strings.Join(open, "; "), "Migration checksum; Throttle recovery; abuseguard_throttles_total per test tenant; Complexity score; "+
		"Abuse audit entries; Forecast error %; Light-tenant p95; Audit entries; Risk level; Dashboard id; Performance baseline p50; "+
		"Canary error-rate delta; Canary latency delta; Total deploy time"; got != want {
		t.Errorf("not checked:\n%s\nwant\n%s", got, want)
	}

	// Values against the Results.
	item := func(label string, i int) Item {
		b := boxByLabel(t, f, label)
		if i >= len(b.Items) {
			t.Fatalf("box %q has %d items", label, len(b.Items))
		}
		return b.Items[i]
	}
	genesis := detail(t, rs, "ledger-chain", "chains", "acme", "genesis_hash").(string)
	if it := item("Genesis hash", 0); it.Label != "acme" || it.Full != genesis || it.Text != genesis[:12]+"…" {
		t.Errorf("genesis hash item %+v, want acme %s", it, genesis)
	}
	latest := detail(t, rs, "ledger-chain", "chains", "initech", "latest_hash").(string)
	if it := item("Latest hash", 2); it.Label != "initech" || it.Full != latest {
		t.Errorf("latest hash item %+v, want initech %s", it, latest)
	}
	root := findCheck(t, rs, "ledger-chain", "signed checkpoint 2026-12-05", "globex").Observed.String()
	if it := item("Merkle root", 1); it.Full != root || it.Label != "globex" {
		t.Errorf("merkle root item %+v, want globex %s", it, root)
	}
	if it := item("Rekor log index", 0); it.Text != "174298180" || detail(t, rs, "slsa-provenance", "artifacts", "*", "rekor_log_index").(float64) != 174298180 {
		t.Errorf("rekor log index %+v", it)
	}
	if it := item("Attestation URI", 0); it.Text != detail(t, rs, "slsa-provenance", "artifacts", "*", "provenance").(string) {
		t.Errorf("attestation uri %+v", it)
	}
	for i, tenant := range []string{"acme", "globex", "initech"} {
		c := findCheck(t, rs, "error-budget", "availability 5m burn rate", tenant)
		v, _ := c.Observed.Float()
		if it := item("5m burn rate", i); it.Label != tenant || it.Text != gate.FormatFloat(round(v, 3))+"×" {
			t.Errorf("5m burn rate %+v, want %s %v×", it, tenant, v)
		}
		c = findCheck(t, rs, "graph-complexity-guard", "bomb queries answered 429", tenant)
		if it := item("429 count", i); it.Text != c.Observed.String() {
			t.Errorf("429 count %+v, want %s", it, c.Observed)
		}
		c = findCheck(t, rs, "tenants-synthetic", "slo compliance", tenant)
		v, _ = c.Observed.Float()
		if it := item("SLO compliance %", i); it.Text != gate.FormatFloat(v*100)+"%" {
			t.Errorf("slo compliance %+v, want %v%%", it, v*100)
		}
	}
	erased := findCheck(t, rs, "rtbf-job", "json .erased", "")
	if it := item("RTBF records processed", 0); it.Text != erased.Observed.String() || it.Gate != "rtbf-job" {
		t.Errorf("rtbf records %+v, want %s", it, erased.Observed)
	}
	for _, r := range rs {
		if r.Gate != "ledger-chain" {
			continue
		}
		if it := item("Merkle root signature bundle", 0); it.Label != r.Inputs[0].Name || it.Full != r.Inputs[0].Digest {
			t.Errorf("signature bundle %+v, want %s %s", it, r.Inputs[0].Name, r.Inputs[0].Digest)
		}
	}
	rtbf := findCheck(t, rs, "rtbf-job", "deadline", "")
	if sec, _ := rtbf.Observed.Float(); item("RTBF seconds", 0).Text != time.Duration(sec*float64(time.Second)).Round(100*time.Microsecond).String() {
		t.Errorf("rtbf seconds %+v, want %vs", item("RTBF seconds", 0), sec)
	}
	p95 := findCheck(t, rs, "tenants-synthetic", "p95 latency", "globex")
	if ms, _ := p95.Observed.Float(); item("Performance baseline p95", 1).Text != time.Duration(ms*float64(time.Millisecond)).Round(100*time.Microsecond).String() {
		t.Errorf("baseline p95 %+v, want %vms", item("Performance baseline p95", 1), ms)
	}
	if it := item("Rules active", 0); it.Text != "1 (of 1 checked)" {
		t.Errorf("rules active %+v", it)
	}
	if it := item("Violating tenants", 0); it.Text != "none" {
		t.Errorf("violating tenants %+v", it)
	}

	var md bytes.Buffer
	if err := f.Markdown(&md, "##", nil); err != nil {
		t.Fatal(err)
	}
	golden(t, "demo-checklist.md", md.Bytes())
	html := string(f.HTML())
	if !strings.Contains(html, `<code title="`+genesis+`">`+genesis[:12]+"…</code>") {
		t.Errorf("report.html's checklist does not keep the full genesis hash in the title attribute")
	}
	if strings.Count(html, NotChecked) != len(open) {
		t.Errorf("report.html marks %d boxes not checked, want %d", strings.Count(html, NotChecked), len(open))
	}
}

// TestFailingDemoChecklist: the failing demo's killed RTBF job marks its box
// ❌ with the measured value; the boxes of the checks it skipped are not
// ticked.
func TestFailingDemoChecklist(t *testing.T) {
	t.Parallel()
	rs := loadReport(t, "failing-demo-report.json")
	f := Fill(Builtin(), rs, nil)
	b := boxByLabel(t, f, "RTBF seconds")
	c := findCheck(t, rs, "rtbf-job", "deadline", "")
	sec, _ := c.Observed.Float()
	if b.Status != gate.StatusFail || len(b.Items) != 1 || b.Items[0].Text != duration(sec) {
		t.Fatalf("RTBF seconds box %+v; want fail with %s", b, duration(sec))
	}
	var md bytes.Buffer
	if err := f.Markdown(&md, "##", nil); err != nil {
		t.Fatal(err)
	}
	if want := "- [ ] ❌ **RTBF seconds**: " + duration(sec) + " ❌ — _rtbf-job_\n"; !strings.Contains(md.String(), want) {
		t.Errorf("checklist lacks %q:\n%s", want, md.String())
	}
	if b := boxByLabel(t, f, "RTBF records processed"); b.Status != gate.StatusSkip || strings.Contains(boxLine(b), "[x]") {
		t.Errorf("a skipped check's box is ticked: %s", boxLine(b))
	}
	golden(t, "failing-demo-checklist.md", md.Bytes())
}

// TestGateWithoutChecks: a gate that could not be evaluated answers its
// boxes with its status, never ✅ and never "not checked".
func TestGateWithoutChecks(t *testing.T) {
	t.Parallel()
	rs := []gate.Result{{Gate: "ledger-chain", Kind: "ledger", Status: gate.StatusError, Summary: "could not evaluate"}}
	b := boxByLabel(t, Fill(Builtin(), rs, nil), "Genesis hash")
	if b.Status != gate.StatusError || !b.Checked() || strings.Contains(boxLine(b), "[x]") || !strings.Contains(boxLine(b), "gave no value") {
		t.Errorf("box %+v: %s", b, boxLine(b))
	}
	// an unknown status is never a pass
	rs = []gate.Result{{Gate: "x", Kind: "slo", Status: "weird", Checks: []gate.Check{{Name: "availability 5m burn rate", Status: "weird", Observed: gate.Number(0.1), Unit: "x"}}}}
	if b := boxByLabel(t, Fill(Builtin(), rs, nil), "5m burn rate"); b.Status.Blocks() == false {
		t.Errorf("unknown status folded to %q", b.Status)
	}
}

func TestSignOff(t *testing.T) {
	t.Parallel()
	roles := []Role{{Role: "Release manager"}, {Role: "SRE on call", Environment: "production"}, {Role: "Engineering lead"}}
	data := []byte(`[
	  {"state":"approved","comment":"Ship it","environments":[{"id":1,"name":"staging"}],"user":{"login":"dana","id":7},"submitted_at":"2026-12-04T09:30:00Z"},
	  {"state":"rejected","comment":"","environments":[{"name":"production"}],"user":{"login":"sam"}}
	]`)
	as, err := ParseApprovals("approvals.json", data)
	if err != nil {
		t.Fatal(err)
	}
	rows := signOff(roles, as)
	if rows[0].Name != "dana" || rows[0].Decision != "go (approved)" || !rows[0].Time.Equal(time.Date(2026, 12, 4, 9, 30, 0, 0, time.UTC)) {
		t.Errorf("release manager %+v", rows[0])
	}
	if rows[1].Name != "sam" || rows[1].Status != gate.StatusFail || !rows[1].Time.IsZero() {
		t.Errorf("sre %+v", rows[1])
	}
	if rows[2].Name != "" {
		t.Errorf("engineering lead filled without an approval: %+v", rows[2])
	}
	f := &Filled{Sections: []FilledSection{{ID: "sign-off", Title: "Sign-off", IsSignOff: true, SignOff: rows}}}
	var md bytes.Buffer
	if err := f.Markdown(&md, "##", nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| Release manager | @dana | 2026-12-04 09:30 UTC | go (approved) ✅ · environment staging · “Ship it” |",
		"| SRE on call | @sam | not recorded by GitHub | no-go (rejected) ❌ · environment production |",
		"| Engineering lead | _____ | _____ | _____ |",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("sign-off lacks %q:\n%s", want, md.String())
		}
	}
	// Without approvals every row stays open.
	for _, r := range signOff(roles, nil) {
		if r.Name != "" || r.Decision != "" {
			t.Errorf("row filled without an approval: %+v", r)
		}
	}
	for name, bad := range map[string]string{
		"not an array":   `{"state":"approved"}`,
		"pending state":  `[{"state":"pending","user":{"login":"x"}}]`,
		"no reviewer":    `[{"state":"approved"}]`,
		"bad time":       `[{"state":"approved","user":{"login":"x"},"submitted_at":"yesterday"}]`,
		"truncated JSON": `[{"state":"approved"`,
	} {
		var ie *gate.InputError
		if _, err := ParseApprovals("a.json", []byte(bad)); !errors.As(err, &ie) || !errors.Is(err, gate.ErrBadInput) {
			t.Errorf("%s: error %v, want a bad-input *gate.InputError", name, err)
		}
	}
}

// TestParseErrors: a bad template is reported all at once, each problem
// with file:line:col, as bad input.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key and bad format at once", "version: 1\nsections:\n  - id: a\n    title: A\n    boxes:\n      - label: X\n        form: [{kind: slo}]\n        format: fancy\n",
			[]string{"t.yml:7:9: sections[0].boxes[0]: unknown key \"form\"; expected one of label, from, format",
				"t.yml:8:17: sections[0].boxes[0].format: unknown format \"fancy\"; expected one of auto, number, percent, duration, hash, text",
				"t.yml:6:9: sections[0].boxes[0]: from missing; name the checks that answer this box (gate or kind, check, value)"}},
		{"wrong version", "version: 2\nsections: [{id: a, title: A}]\n", []string{"t.yml:1:10: version: expected 1, got \"2\""}},
		{"no version", "sections: [{id: a, title: A}]\n", []string{"t.yml:1:1: template: version missing; expected version: 1"}},
		{"bad value and pattern", "version: 1\nsections:\n- id: a\n  title: A\n  boxes:\n  - label: X\n    from: [{check: \"[\", value: median}]\n",
			[]string{"t.yml:7:20: sections[0].boxes[0].from[0].check: bad pattern \"[\": syntax error in pattern",
				"t.yml:7:32: sections[0].boxes[0].from[0].value: unknown value \"median\"; expected observed, expected, count, failing-tenants, input or details.PATH"}},
		{"input without value input", "version: 1\nsections:\n- id: a\n  title: A\n  boxes:\n  - label: X\n    from: [{kind: ledger, input: \"x*\"}]\n",
			[]string{"t.yml:7:34: sections[0].boxes[0].from[0].input: only used with value: input"}},
		{"duplicate section id, missing title", "version: 1\nsections:\n- {id: a, title: A}\n- {id: a}\n",
			[]string{"t.yml:4:3: sections[1]: title missing", "t.yml:4:3: sections[1]: id \"a\" given twice"}},
		{"sign-off row without role", "version: 1\nsections:\n- id: s\n  title: S\n  sign-off: [{environment: prod}]\n",
			[]string{"t.yml:5:14: sections[0].sign-off[0]: role missing; expected e.g. role: Release manager"}},
		{"not YAML", "version: 1\nsections: [\n", []string{"t.yml:2:1: not YAML"}},
		{"empty", "", []string{"t.yml:1:1: empty template"}},
		{"a list at the top", "- a\n", []string{"t.yml:1:1: template: expected a mapping, got a list"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("t.yml", []byte(tc.yaml))
			if !errors.Is(err, gate.ErrBadInput) {
				t.Fatalf("error %v is not bad input", err)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not Errors", err)
			}
			if len(es) != len(tc.want) {
				t.Errorf("%d errors, want %d:\n%v", len(es), len(tc.want), err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors lack %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestCustomBox maps a box of one's own by gate id + check name, as
// docs/checklist.md shows.
func TestCustomBox(t *testing.T) {
	t.Parallel()
	tm, err := Parse("custom.yml", []byte(`version: 1
sections:
  - id: privacy
    title: Privacy
    boxes:
      - label: Records erased by the RTBF job
        from: [{gate: rtbf-job, check: "json .erased"}]
      - label: Tenants over their CI budget
        from: [{kind: ci-budget, value: failing-tenants}]
`))
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := Fill(tm, loadReport(t, "demo-report.json"), nil).Markdown(&md, "##", nil); err != nil {
		t.Fatal(err)
	}
	want := "## Privacy\n\n- [x] ✅ **Records erased by the RTBF job**: 10000000 — _rtbf-job_\n- [x] ✅ **Tenants over their CI budget**: none — _ci-budget_\n\n"
	if md.String() != want {
		t.Errorf("got\n%s\nwant\n%s", md.String(), want)
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v            gate.Value
		unit, format string
		want         string
	}{
		{gate.Number(0.0123), "ratio", "", "1.23%"},
		{gate.Number(4.127), "ms", "", "4.1ms"},
		{gate.Number(0.998), "s", "duration", "998ms"},
		{gate.Number(5400), "s", "duration", "1h30m0s"},
		{gate.Number(251.15), "USD", "number", "$251.15"},
		{gate.Number(0.400000000000001), "x", "", "0.4×"},
		{gate.Text("NaN"), "ratio", "percent", "NaN"},
		{gate.Int(1001), "entries", "", "1001 entries"},
		{gate.Text("sha256:" + strings.Repeat("ab", 32)), "", "", "sha256:abababababab…"},
		{gate.Value{}, "s", "duration", "no value"},
	}
	for _, tc := range tests {
		if got, _ := formatValue(tc.v, tc.unit, tc.format); got != tc.want {
			t.Errorf("formatValue(%v, %q, %q) = %q, want %q", tc.v, tc.unit, tc.format, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(builtinYAML)
	f.Add([]byte("version: 1\nsections: [{id: a, title: A, boxes: [{label: x, from: [{check: '['}]}]}]\n"))
	f.Add([]byte("- *a\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tm, err := Parse("f.yml", b)
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 || !errors.Is(err, gate.ErrBadInput) {
				t.Fatalf("error %v is not template Errors", err)
			}
			return
		}
		var md bytes.Buffer
		if err := Fill(tm, nil, nil).Markdown(&md, "##", nil); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzParseApprovals(f *testing.F) {
	f.Add([]byte(`[{"state":"approved","user":{"login":"a"},"environments":[{"name":"p"}]}]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		as, err := ParseApprovals("a.json", b)
		if err != nil {
			return
		}
		for _, r := range signOff([]Role{{Role: "a"}, {Role: "b"}}, as) {
			if r.Name != "" && r.Decision == "" {
				t.Fatalf("row %+v filled without a decision", r)
			}
		}
	})
}

// TestDocsTemplate keeps docs/checklist.md's example template valid.
func TestDocsTemplate(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "checklist.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "<!-- checked by TestDocsTemplate -->\n```yaml\n")
	if !ok {
		t.Fatal("no yaml block after the marker in docs/checklist.md")
	}
	block, _, _ := strings.Cut(after, "\n```\n")
	tm, err := Parse("docs/checklist.md", []byte(block))
	if err != nil {
		t.Fatal(err)
	}
	f := Fill(tm, loadReport(t, "demo-report.json"), nil)
	if b := boxByLabel(t, f, "Records erased"); len(b.Items) != 1 || b.Items[0].Text != "10000000" {
		t.Errorf("records erased box %+v", b)
	}
}
