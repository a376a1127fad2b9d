package vuln

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/fsx"
)

// TestRealReports reads real reports from the scanners' own test data
// (testdata/real/*/SOURCE.md) and judges each at the threshold high: the
// findings that count are the expected verdict.
func TestRealReports(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file    string
		format  Format
		total   int
		counted []string // ids that count at high, in order of severity
		digest  string   // a digest the report names
		created bool     // the report carries a time
	}{
		{file: "codeql-action/empty-sarif.sarif", format: FormatSARIF},
		{file: "codeql-action/fingerprinting.input.sarif", format: FormatSARIF, total: 2},
		{file: "codeql-action/valid-sarif.sarif", format: FormatSARIF, total: 3},
		{file: "grype/image.json", format: FormatGrype, total: 2, counted: []string{"CVE-1999-0002"},
			digest: "sha256:ca738abb87a8d58f112d3400ebb079b61ceae7dc290beb34bda735be4b1941d5"},
		{file: "grype/dir.json", format: FormatGrype, total: 2, counted: []string{"CVE-1999-0002"}},
		{file: "grype/empty.json", format: FormatGrype},
		{file: "grype/image.sarif", format: FormatSARIF, total: 2, counted: []string{"CVE-1999-0001", "CVE-1999-0002"}},
		{file: "trivy/alpine-310.json", format: FormatTrivy, total: 4, created: true,
			digest: "sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4"},
		{file: "trivy/alpine-310.sarif", format: FormatSARIF, total: 4,
			digest: "sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4"},
		{file: "trivy/alpine-39-high-critical.json", format: FormatTrivy, total: 2, counted: []string{"CVE-2019-14697", "CVE-2019-14697"}, created: true},
		{file: "osv-scanner/filter-some.json", format: FormatOSV, total: 4, counted: []string{"CVE-2024-3847", "GHSA-vvpx-j8f3-3w6h"}},
		{file: "osv-scanner/multiple-packages.json", format: FormatOSV, total: 3, counted: []string{"GHSA-43w2-9j62-hq99", "GHSA-qc84-gqf4-9926"}},
		{file: "osv-scanner/results-a.json", format: FormatOSV, total: 2, counted: []string{"GO-2021-0053", "GHSA-m5pq-gvj9-9vr8"}},
		{file: "govulncheck/source_call_json.json", format: FormatGovulncheck, total: 2, counted: []string{"GO-2021-0265", "GO-2021-0054"}, created: true},
		{file: "govulncheck/binary_call_json.json", format: FormatGovulncheck, total: 2, counted: []string{"GO-2021-0265", "GO-2021-0054"}, created: true},
		{file: "govulncheck/source_module_json.json", format: FormatGovulncheck, created: true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			f, err := ParseFile(context.Background(), filepath.Join("testdata/real", tc.file), "", fsx.MaxDocSize)
			if err != nil {
				t.Fatal(err)
			}
			rep := f.Report
			if rep.Format != tc.format {
				t.Errorf("format %s, want %s", rep.Format, tc.format)
			}
			if len(f.SHA256) != 64 || f.Size == 0 {
				t.Errorf("sha256 %q size %d", f.SHA256, f.Size)
			}
			if tc.digest != "" && !rep.NamesDigest(tc.digest) {
				t.Errorf("digests %v, want %s among them", rep.Digests, tc.digest)
			}
			if got := !rep.Created.IsZero(); got != tc.created {
				t.Errorf("created %v, want a time: %v", rep.Created, tc.created)
			}
			out := Judge([]Named{{Name: tc.file, Report: rep}}, Criteria{Threshold: SeverityHigh, Now: time.Now()})
			if out.Total != tc.total {
				t.Errorf("total %d, want %d", out.Total, tc.total)
			}
			var ids []string
			for _, c := range out.Counted {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tc.counted) {
				t.Errorf("counted %v, want %v", ids, tc.counted)
			}
			if out.Below+len(out.Counted)+len(out.Waived) != out.Total {
				t.Errorf("below %d + counted %d + waived %d != total %d", out.Below, len(out.Counted), len(out.Waived), out.Total)
			}
		})
	}
}

// TestCVSSInsteadOfScanner: Grype rates CVE-1999-0001 low although its
// CVSS base score is 8.2; judged by CVSS it is high and counts.
func TestCVSSInsteadOfScanner(t *testing.T) {
	t.Parallel()
	f, err := ParseFile(context.Background(), "testdata/real/grype/image.json", "", fsx.MaxDocSize)
	if err != nil {
		t.Fatal(err)
	}
	out := Judge([]Named{{Name: "g", Report: f.Report}}, Criteria{Threshold: SeverityHigh, CVSS: true})
	if len(out.Counted) != 2 {
		t.Fatalf("counted %d, want 2 (8.2 and 8.5 are high)", len(out.Counted))
	}
}

// TestBadReports: each malformed report is a *ParseError matching
// ErrMalformed, at its line and column when the fault has one.
func TestBadReports(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name, content string
		format        Format
		line, col     int
	}{
		{name: "sarif with no runs", content: `{"version":"2.1.0","runs":[]}`, format: FormatSARIF, line: 1, col: 27},
		{name: "sarif without runs key", content: `{"version":"2.1.0"}`, format: FormatSARIF},
		{name: "sarif results not an array", content: "{\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":\"x\"}},\n  \"results\": 42}]}", format: FormatSARIF, line: 2, col: 14},
		{name: "sarif run without results", content: `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}}}]}`, format: FormatSARIF},
		{name: "sarif failed invocation", content: `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"invocations":[{"executionSuccessful":false}],"results":[]}]}`, format: FormatSARIF},
		{name: "sarif version 2.0", content: `{"version":"2.0.0","runs":[]}`, format: FormatSARIF},
		{name: "sarif result without rule", content: `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"}}]}]}`, format: FormatSARIF},
		{name: "truncated sarif", content: "{\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":\"x\"}},\"results\":[{\"ruleId\":\"a\"", format: FormatSARIF},
		{name: "truncated grype", content: `{"matches":[{"vulnerability":{"id":"CVE-1"`, format: FormatGrype},
		{name: "grype without source", content: `{"matches":[]}`, format: FormatGrype},
		{name: "grype odd severity", content: `{"matches":[{"vulnerability":{"id":"CVE-1","severity":"dire"}}],"source":{"type":"directory","target":"."}}`, format: FormatGrype},
		{name: "trivy schema 1", content: `{"SchemaVersion":1}`, format: FormatTrivy},
		{name: "trivy trailing data", content: "{\"SchemaVersion\":2}\n{}", format: FormatTrivy, line: 2, col: 1},
		{name: "osv without results", content: `{"results":null}`, format: FormatOSV},
		{name: "govulncheck without config", content: `{"progress":{"message":"x"}}`, format: FormatGovulncheck},
		{name: "govulncheck bad json", content: "{\"config\":{}}\n{\"finding\": nope}", format: FormatGovulncheck, line: 2, col: 14},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, tc.name)
			writeFile(t, path, tc.content)
			_, err := ParseFile(context.Background(), path, "", 1<<20)
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want a *ParseError", err)
			}
			if pe.Format != tc.format {
				t.Errorf("format %s, want %s", pe.Format, tc.format)
			}
			if tc.line > 0 && (pe.Line != tc.line || pe.Column != tc.col) {
				t.Errorf("at %d:%d, want %d:%d (%v)", pe.Line, pe.Column, tc.line, tc.col, err)
			}
		})
	}
}

// TestTooLargeReport: a report over the limit is refused with
// *fsx.TooLargeError, whatever its format.
func TestTooLargeReport(t *testing.T) {
	t.Parallel()
	_, err := ParseFile(context.Background(), "testdata/real/trivy/alpine-310.json", "", 1000)
	if !errors.Is(err, fsx.ErrTooLarge) {
		t.Fatalf("got %v, want fsx.ErrTooLarge", err)
	}
	_, err = ParseFile(context.Background(), "testdata/real/trivy/alpine-310.sarif", "", 1000)
	if !errors.Is(err, fsx.ErrTooLarge) {
		t.Fatalf("sarif: got %v, want fsx.ErrTooLarge", err)
	}
}

// TestSARIFDetails: rules found in CodeQL's query packs
// (rule.toolComponent.index), a result's own security-severity, and results
// absent from this run (baselineState) left out.
func TestSARIFDetails(t *testing.T) {
	t.Parallel()
	log := `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"CodeQL","semanticVersion":"2.19.0","rules":[]},
  "extensions":[{"name":"codeql/go-queries","rules":[
    {"id":"go/log-injection","properties":{"security-severity":"7.8"}},
    {"id":"go/sql-injection","properties":{"security-severity":"9.8"}}]}]},
  "invocations":[{"executionSuccessful":true,"startTimeUtc":"2026-11-30T09:00:00Z","endTimeUtc":"2026-11-30T09:05:00Z"}],
  "results":[
    {"ruleId":"go/sql-injection","ruleIndex":1,"rule":{"id":"go/sql-injection","index":1,"toolComponent":{"index":0}},
     "message":{"text":"m"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"db.go"},"region":{"startLine":42}}}]},
    {"ruleId":"go/log-injection","rule":{"id":"go/log-injection","index":0,"toolComponent":{"index":0}},"level":"note",
     "properties":{"security-severity":"2.0"},"message":{"text":"m"}},
    {"ruleId":"go/log-injection","baselineState":"absent","message":{"text":"gone"}}]}]}`
	rep, err := Parse(strings.NewReader(log), FormatSARIF)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Tool != "CodeQL" || rep.ToolVersion != "2.19.0" || !rep.Created.Equal(time.Date(2026, 11, 30, 9, 5, 0, 0, time.UTC)) {
		t.Errorf("tool %s %s created %v", rep.Tool, rep.ToolVersion, rep.Created)
	}
	if len(rep.Findings) != 2 || rep.Ignored != 1 {
		t.Fatalf("findings %+v ignored %d, want 2 and 1", rep.Findings, rep.Ignored)
	}
	if f := rep.Findings[0]; f.ID != "go/sql-injection" || f.Severity != SeverityCritical || f.Score != 9.8 || f.Location != "db.go:42" {
		t.Errorf("first finding %+v, want go/sql-injection critical 9.8 at db.go:42", f)
	}
	if f := rep.Findings[1]; f.Severity != SeverityLow || f.Score != 2 {
		t.Errorf("second finding %+v, want its own security-severity 2.0 (low)", f)
	}
}

// TestDetectSortedKeys: a report whose keys were sorted (jq -S) is still
// told apart by its keys.
func TestDetectSortedKeys(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Format{
		`{"descriptor":{"name":"grype","timestamp":""},"matches":[],"source":{"type":"image","target":{}}}`:                          FormatGrype,
		`{"ArtifactName":"x","ArtifactType":"container_image","Metadata":{"OS":{"Family":"alpine"}},"Results":[],"SchemaVersion":2}`: FormatTrivy,
		`{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","runs":[],"version":"2.1.0"}`:                                    FormatSARIF,
		`{"experimental_config":{"licenses":{"summary":false}},"results":[]}`:                                                        FormatOSV,
	} {
		if got, err := Detect([]byte(in)); got != want {
			t.Errorf("Detect(%.40s…) = %s, %v; want %s", in, got, err, want)
		}
	}
}

func TestDetectUnknown(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`[]`, `{"bomFormat":"CycloneDX"}`, ``, `nope`} {
		if _, err := Detect([]byte(in)); !errors.Is(err, ErrFormat) {
			t.Errorf("Detect(%q) = %v, want ErrFormat", in, err)
		}
	}
}
