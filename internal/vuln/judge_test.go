package vuln

import (
	"errors"
	"os"
	"testing"
	"time"
)

const alpineDigest = "sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126"

func loadVEX(t *testing.T, path string) *VEX {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ParseVEX(data)
	if err != nil {
		t.Fatal(err)
	}
	return &VEX{Name: path, Doc: doc}
}

func report(fs ...Finding) []Named {
	return []Named{{Name: "scan.json", Report: &Report{Format: FormatTrivy, Findings: fs}}}
}

func libssl(id string) Finding {
	return Finding{ID: id, Package: "libssl3", Version: "3.0.8-r3", PURL: "pkg:apk/alpine/libssl3@3.0.8-r3?arch=x86_64", Severity: SeverityHigh}
}

// TestJudgeVEX uses go-vex's real v0.2.0 example: statements for an alpine
// image (pkg:oci/alpine@sha256%3A124c…) and its libssl3/libcrypto3.
func TestJudgeVEX(t *testing.T) {
	t.Parallel()
	v := loadVEX(t, "testdata/real/openvex/v0.2.0.json")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		finding   Finding
		product   Product
		waived    string // the statement that waived it, "" when it counts
		namesProd bool
	}{
		{name: "not_affected with justification waives", finding: libssl("CVE-2023-3446"), product: Product{Digest: alpineDigest},
			waived: "not_affected (vulnerable_code_not_present)", namesProd: true},
		{name: "fixed waives", finding: libssl("CVE-2023-1255"), product: Product{Digest: alpineDigest}, waived: "fixed", namesProd: true},
		{name: "a purl product id matches too", finding: libssl("CVE-2023-1255"), product: Product{IDs: []string{"pkg:oci/alpine@sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126"}},
			waived: "fixed", namesProd: true},
		{name: "another digest is another product", finding: libssl("CVE-2023-3446"),
			product: Product{Digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"}},
		{name: "another subcomponent is not waived", finding: Finding{ID: "CVE-2023-3446", Package: "busybox", PURL: "pkg:apk/alpine/busybox@1.36", Severity: SeverityHigh},
			product: Product{Digest: alpineDigest}, namesProd: true},
		{name: "a vulnerability without a statement counts", finding: libssl("CVE-2024-0001"), product: Product{Digest: alpineDigest}, namesProd: true},
		{name: "an alias matches", finding: Finding{ID: "GHSA-xxxx-xxxx-xxxx", Aliases: []string{"CVE-2023-2650"}, Package: "libcrypto3", PURL: "pkg:apk/alpine/libcrypto3@3.0.8-r3", Severity: SeverityCritical},
			product: Product{Digest: alpineDigest}, waived: "fixed", namesProd: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := v.NamesProduct(tc.product); got != tc.namesProd {
				t.Errorf("NamesProduct = %v, want %v", got, tc.namesProd)
			}
			out := Judge(report(tc.finding), Criteria{Threshold: SeverityHigh, Product: tc.product, VEX: []*VEX{v}, Now: now})
			if tc.waived == "" {
				if len(out.Counted) != 1 || len(out.Waived) != 0 {
					t.Fatalf("counted %d waived %d, want the finding counted", len(out.Counted), len(out.Waived))
				}
				return
			}
			if len(out.Waived) != 1 {
				t.Fatalf("waived %d counted %d, want it waived", len(out.Waived), len(out.Counted))
			}
			w := out.Waived[0].Waiver
			if w.By != "vex" || w.Statement != tc.waived || w.Source != v.Name {
				t.Errorf("waiver %+v, want vex %q from %s", w, tc.waived, v.Name)
			}
		})
	}
}

// TestJudgeUnderInvestigation: go-vex's v020-1 example says
// under_investigation, which waives nothing.
func TestJudgeUnderInvestigation(t *testing.T) {
	t.Parallel()
	v := loadVEX(t, "testdata/real/openvex/v020-1.vex.json")
	f := Finding{ID: "CVE-9876-54321", Package: "bash", PURL: "pkg:apk/wolfi/bash@1.0.0", Severity: SeverityCritical}
	p := Product{IDs: []string{"pkg:apk/wolfi/bash@1.0.0"}}
	if !v.NamesProduct(p) {
		t.Fatal("the document names the product")
	}
	out := Judge(report(f), Criteria{Threshold: SeverityHigh, Product: p, VEX: []*VEX{v}})
	if len(out.Counted) != 1 {
		t.Fatalf("counted %d, want 1: under_investigation does not waive", len(out.Counted))
	}
}

// TestJudgeLatestStatementWins: a later affected statement overrides an
// earlier not_affected one, across documents.
func TestJudgeLatestStatementWins(t *testing.T) {
	t.Parallel()
	early := mustVEX(t, `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"a","author":"x","timestamp":"2025-01-01T00:00:00Z","version":1,
		"statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:oci/app"}],"status":"not_affected","justification":"component_not_present"}]}`)
	late := mustVEX(t, `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"b","author":"x","timestamp":"2025-06-01T00:00:00Z","version":1,
		"statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"pkg:oci/app"}],"status":"affected","action_statement":"upgrade"}]}`)
	f := Finding{ID: "CVE-1", Severity: SeverityHigh}
	c := Criteria{Threshold: SeverityHigh, Product: Product{IDs: []string{"pkg:oci/app"}}, VEX: []*VEX{late, early}}
	if out := Judge(report(f), c); len(out.Counted) != 1 {
		t.Fatalf("counted %d, want 1: the later affected statement wins", len(out.Counted))
	}
	c.VEX = []*VEX{early}
	if out := Judge(report(f), c); len(out.Waived) != 1 {
		t.Fatalf("waived %d, want 1", len(out.Waived))
	}
}

func mustVEX(t *testing.T, s string) *VEX {
	t.Helper()
	doc, err := ParseVEX([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return &VEX{Name: "inline", Doc: doc}
}

func TestJudgeAllowList(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f := libssl("CVE-2023-9999")
	for _, tc := range []struct {
		name    string
		allow   Allowance
		waived  bool
		expired bool
	}{
		{name: "unexpired entry waives", allow: Allowance{ID: "CVE-2023-9999", Expires: now.Add(24 * time.Hour), Reason: "no fix yet"}, waived: true},
		{name: "expired entry does not", allow: Allowance{ID: "CVE-2023-9999", Expires: now.Add(-time.Hour)}, expired: true},
		{name: "expiring now has expired", allow: Allowance{ID: "CVE-2023-9999", Expires: now}, expired: true},
		{name: "another package is not waived", allow: Allowance{ID: "CVE-2023-9999", Package: "openssl", Expires: now.Add(time.Hour)}},
		{name: "a purl without qualifiers matches", allow: Allowance{ID: "cve-2023-9999", Package: "pkg:apk/alpine/libssl3@3.0.8-r3", Expires: now.Add(time.Hour)}, waived: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := Judge(report(f), Criteria{Threshold: SeverityHigh, Allow: []Allowance{tc.allow}, Now: now})
			if got := len(out.Waived) == 1; got != tc.waived {
				t.Fatalf("waived %v, want %v", got, tc.waived)
			}
			if !tc.waived && (out.Counted[0].Expired != nil) != tc.expired {
				t.Errorf("expired %v, want %v", out.Counted[0].Expired, tc.expired)
			}
		})
	}
}

// TestJudgeMergesReports: the same finding in two reports is one finding
// at the higher severity, naming both reports; two equal results of one
// report stay two.
func TestJudgeMergesReports(t *testing.T) {
	t.Parallel()
	a := &Report{Findings: []Finding{{ID: "CVE-1", Package: "p", Version: "1", Severity: SeverityMedium}, {ID: "go/x", Location: "a.go", Severity: SeverityHigh}, {ID: "go/x", Location: "a.go", Severity: SeverityHigh}}}
	b := &Report{Findings: []Finding{{ID: "CVE-1", Package: "p", Version: "1", Severity: SeverityCritical}}}
	out := Judge([]Named{{Name: "a", Report: a}, {Name: "b", Report: b}}, Criteria{Threshold: SeverityHigh})
	if out.Total != 3 || len(out.Counted) != 3 {
		t.Fatalf("total %d counted %d, want 3 and 3", out.Total, len(out.Counted))
	}
	c := out.Counted[0]
	if c.ID != "CVE-1" || c.Severity != SeverityCritical || len(c.Reports) != 2 {
		t.Errorf("first counted %+v, want CVE-1 critical from both reports", c)
	}
}

func TestParseVEXBad(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"unknown status":                     `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"p"}],"status":"maybe"}]}`,
		"not_affected without justification": `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"products":[{"@id":"p"}],"status":"not_affected","impact_statement":"trust me"}]}`,
		"no products":                        `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-1"},"status":"fixed"}]}`,
		"no statements":                      `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[]}`,
		"not openvex":                        `{"bomFormat":"CycloneDX"}`,
		"truncated":                          `{"@context":"https://openvex.dev/ns/v0.2.0","statements":[`,
	} {
		if _, err := ParseVEX([]byte(doc)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: got %v, want ErrMalformed", name, err)
		}
	}
}

func TestSeverity(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]Severity{0: SeverityNone, 0.1: SeverityLow, 3.9: SeverityLow, 4: SeverityMedium, 6.9: SeverityMedium, 7: SeverityHigh, 8.9: SeverityHigh, 9: SeverityCritical, 10: SeverityCritical, 10.1: SeverityUnknown, -1: SeverityUnknown} {
		if got := FromCVSS(in); got != want {
			t.Errorf("FromCVSS(%v) = %s, want %s", in, got, want)
		}
	}
	if !SeverityUnknown.Meets(SeverityCritical) || SeverityHigh.Meets(SeverityCritical) || !SeverityHigh.Meets(SeverityHigh) {
		t.Error("Meets: unknown meets every threshold; high meets high, not critical")
	}
	if _, err := ParseSeverity("dire"); !errors.Is(err, ErrSeverity) {
		t.Errorf("ParseSeverity(dire) = %v, want ErrSeverity", err)
	}
	if s, _ := ParseSeverity("MODERATE"); s != SeverityMedium {
		t.Errorf("moderate = %s, want medium", s)
	}
}
