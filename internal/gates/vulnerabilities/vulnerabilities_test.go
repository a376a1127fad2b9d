package vulngate

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/provenance/sigstoretest"
)

// real is the domain package's directory of real reports.
const real = "../../vuln/testdata/real/"

const (
	alpineDigest = "sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4"
	grypeDigest  = "sha256:ca738abb87a8d58f112d3400ebb079b61ceae7dc290beb34bda735be4b1941d5"
)

// trivyCreated is alpine-310.json's CreatedAt.
var trivyCreated = time.Date(2021, 8, 25, 12, 20, 30, 0, time.UTC)

// good is a passing spec: Trivy's real alpine-310 report (4 medium
// findings) for its image, at fail-on high, 1 day after the scan.
func good() Spec {
	return Spec{FailOn: "high", MaxAge: policy.Duration(7 * 24 * time.Hour),
		Artifacts: []Artifact{{Name: "alpine", Digest: alpineDigest, Reports: []string{real + "trivy/alpine-310.json"}}}}
}

func run(t *testing.T, s Spec, now time.Time) *gate.Result {
	t.Helper()
	g := New(gate.Meta{ID: "vulns", Required: true}, s, gate.Env{})
	g.now = func() time.Time { return now }
	res, err := evaluate(context.Background(), g)
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	return res
}

func failing(res *gate.Result) []gate.Check {
	var out []gate.Check
	for _, c := range res.Checks {
		if c.Status == gate.StatusFail {
			out = append(out, c)
		}
	}
	return out
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGate(t *testing.T) {
	t.Parallel()
	day := trivyCreated.Add(24 * time.Hour)
	vexFor := func(product, status string) string {
		extra := `"justification":"vulnerable_code_not_in_execute_path"`
		if status != "not_affected" {
			extra = `"action_statement":"upgrade"`
		}
		return `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"security@example.com","timestamp":"2025-01-01T00:00:00Z","version":1,
 "statements":[{"vulnerability":{"name":"CVE-1999-0002"},"products":[{"@id":"` + product + `"}],"status":"` + status + `",` + extra + `}]}`
	}
	grype := func(s *Spec) {
		s.MaxAge = 0
		s.Artifacts = []Artifact{{Name: "image", Digest: grypeDigest, Reports: []string{real + "grype/image.json"}}}
	}
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, s *Spec)
		now    time.Time
		want   gate.Status
		fails  []string // substrings of the failing checks' messages, in order
		passes string   // a substring of some passing check's message
	}{
		{name: "medium findings pass at high", change: func(*testing.T, *Spec) {}, now: day, want: gate.StatusPass, passes: "4 distinct finding(s)"},
		{name: "fail-on medium counts them", change: func(_ *testing.T, s *Spec) { s.FailOn = "medium" }, now: day, want: gate.StatusFail,
			fails: []string{"medium CVE-2019-1549", "medium CVE-2019-1551", "medium CVE-2019-1549", "medium CVE-2019-1551", "4 distinct"}},
		{name: "Trivy's SARIF and JSON of one scan state the same findings", change: func(_ *testing.T, s *Spec) {
			s.FailOn, s.MaxAge = "medium", 0
			s.Artifacts[0].Reports = append(s.Artifacts[0].Reports, real+"trivy/alpine-310.sarif")
		}, now: day, want: gate.StatusFail,
			fails: []string{"alpine-310.json, ../../vuln/testdata/real/trivy/alpine-310.sarif", "CVE-2019-1551", "CVE-2019-1549", "CVE-2019-1551", "4 distinct finding(s) in 2 report(s)"}},
		{name: "a report for another digest fails", change: func(_ *testing.T, s *Spec) { s.Artifacts[0].Digest = grypeDigest }, now: day, want: gate.StatusFail,
			fails: []string{"made for another digest", "none of its 1 report(s) could be judged"}},
		{name: "a report naming no digest fails", change: func(_ *testing.T, s *Spec) {
			s.Artifacts[0].Reports = []string{real + "grype/dir.json"}
			s.MaxAge = 0
		}, now: day, want: gate.StatusFail, fails: []string{"names no image digest", "none of its 1 report(s) could be judged"}},
		{name: "a stale report fails", change: func(*testing.T, *Spec) {}, now: trivyCreated.Add(30 * 24 * time.Hour), want: gate.StatusFail, fails: []string{"older than 168h", "none of its 1 report(s) could be judged"}},
		{name: "a report without a time fails max-age", change: func(_ *testing.T, s *Spec) { s.Artifacts[0].Reports = []string{real + "trivy/alpine-310.sarif"} },
			now: day, want: gate.StatusFail, fails: []string{"carries no scan time", "none of its 1 report(s) could be judged"}},
		{name: "a missing report fails", change: func(_ *testing.T, s *Spec) { s.Artifacts[0].Reports = append(s.Artifacts[0].Reports, "nope.json") },
			now: day, want: gate.StatusFail, fails: []string{"nope.json: not found"}},
		{name: "a truncated report fails at its position", change: func(t *testing.T, s *Spec) {
			s.Artifacts[0].Reports = []string{writeTemp(t, "t.json", "{\"SchemaVersion\": 2,\n \"Results\": [")}
		}, now: day, want: gate.StatusFail, fails: []string{"trivy: truncated", "none of its 1 report(s) could be judged"}},
		{name: "a 100 MB report fails", change: func(t *testing.T, s *Spec) {
			p := writeTemp(t, "big.json", `{"SchemaVersion": 2, "Results": [`)
			if err := os.Truncate(p, 100<<20); err != nil { // sparse: NUL bytes after the prefix
				t.Fatal(err)
			}
			s.Artifacts[0].Reports = []string{p}
		}, now: day, want: gate.StatusFail, fails: []string{"big.json: 1:34: trivy: not valid JSON", "none of its 1 report(s) could be judged"}},
		{name: "sarif with no runs fails", change: func(t *testing.T, s *Spec) {
			s.Artifacts[0].Reports = []string{writeTemp(t, "e.sarif", `{"version":"2.1.0","runs":[]}`)}
		}, now: day, want: gate.StatusFail, fails: []string{"e.sarif: 1:27: sarif: no runs", "none of its 1 report(s) could be judged"}},
		{name: "the same report twice fails", change: func(t *testing.T, s *Spec) {
			data, _ := os.ReadFile(real + "trivy/alpine-310.json")
			s.Artifacts[0].Reports = append(s.Artifacts[0].Reports, writeTemp(t, "copy.json", string(data)))
		}, now: day, want: gate.StatusFail, fails: []string{"is the same report as"}},
		{name: "critical counts", change: func(_ *testing.T, s *Spec) { grype(s) }, want: gate.StatusFail, fails: []string{"critical CVE-1999-0002", "2 distinct"}},
		{name: "not_affected VEX for the image waives", change: func(t *testing.T, s *Spec) {
			grype(s)
			s.Artifacts[0].VEX = []VEXFile{{Path: writeTemp(t, "v.json", vexFor("pkg:oci/app@"+grypeDigest, "not_affected"))}}
		}, want: gate.StatusPass, passes: "waived by VEX v.json states not_affected (vulnerable_code_not_in_execute_path)"},
		{name: "VEX for another product fails", change: func(t *testing.T, s *Spec) {
			grype(s)
			s.Artifacts[0].VEX = []VEXFile{{Path: writeTemp(t, "v.json", vexFor("pkg:oci/other@sha256:"+strings.Repeat("0", 64), "not_affected"))}}
		}, want: gate.StatusFail, fails: []string{"another product", "critical CVE-1999-0002", "2 distinct"}},
		{name: "VEX affected does not waive", change: func(t *testing.T, s *Spec) {
			grype(s)
			s.Artifacts[0].VEX = []VEXFile{{Path: writeTemp(t, "v.json", vexFor("pkg:oci/app@"+grypeDigest, "affected"))}}
		}, want: gate.StatusFail, fails: []string{"critical CVE-1999-0002", "2 distinct"}},
		{name: "VEX with an unknown status fails", change: func(t *testing.T, s *Spec) {
			grype(s)
			s.Artifacts[0].VEX = []VEXFile{{Path: writeTemp(t, "v.json", strings.Replace(vexFor("pkg:oci/app@"+grypeDigest, "fixed"), `"fixed"`, `"maybe"`, 1))}}
		}, want: gate.StatusFail, fails: []string{"invalid status value", "critical CVE-1999-0002", "2 distinct"}},
		{name: "an unexpired allow-list entry waives", change: func(_ *testing.T, s *Spec) {
			grype(s)
			s.Allow = []Allow{{ID: "CVE-1999-0002", Expires: "2099-12-31", Reason: "no fix upstream"}}
		}, want: gate.StatusPass, passes: "the allow-list until 2100-01-01: no fix upstream"},
		{name: "an expired allow-list entry fails", change: func(_ *testing.T, s *Spec) {
			grype(s)
			s.Allow = []Allow{{ID: "CVE-1999-0002", Expires: "2020-01-31", Reason: "no fix upstream"}}
		}, want: gate.StatusFail, fails: []string{"expired on 2020-01-31", "its allow-list entry expired", "2 distinct"}},
		{name: "an allow-list entry for another artifact does not waive", change: func(_ *testing.T, s *Spec) {
			grype(s)
			s.Artifacts = append(s.Artifacts, Artifact{Name: "other", Reports: []string{real + "grype/empty.json"}})
			s.Allow = []Allow{{ID: "CVE-1999-0002", Expires: "2099-12-31", Reason: "r", Artifacts: []string{"other"}}}
		}, want: gate.StatusFail, fails: []string{"critical CVE-1999-0002", "2 distinct"}},
		{name: "cvss counts the low finding with 8.2", change: func(_ *testing.T, s *Spec) {
			grype(s)
			s.SeverityFrom = "cvss"
		}, want: gate.StatusFail, fails: []string{"high CVE-1999-0001", "high CVE-1999-0002", "2 distinct"}},
		{name: "govulncheck's called vulnerabilities count", change: func(_ *testing.T, s *Spec) {
			s.MaxAge = 0
			s.Artifacts = []Artifact{{Name: "src", Reports: []string{real + "govulncheck/source_call_json.json"}}}
		}, want: gate.StatusFail, fails: []string{"unknown GO-2021-0265", "unknown GO-2021-0054", "2 distinct"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := good()
			tc.change(t, &s)
			if tc.now.IsZero() {
				tc.now = day
			}
			res := run(t, s, tc.now)
			if res.Status != tc.want {
				t.Fatalf("status %s, want %s: %s", res.Status, tc.want, dump(res))
			}
			fails := failing(res)
			if len(fails) != len(tc.fails) {
				t.Fatalf("%d failing checks, want %d: %s", len(fails), len(tc.fails), dump(res))
			}
			for i, want := range tc.fails {
				if !strings.Contains(fails[i].Message, want) {
					t.Errorf("failing check %d: %q, want it to say %q", i, fails[i].Message, want)
				}
			}
			if tc.passes != "" && !strings.Contains(dump(res), tc.passes) {
				t.Errorf("no check says %q: %s", tc.passes, dump(res))
			}
			for _, in := range res.Inputs {
				if !strings.HasPrefix(in.Digest, "sha256:") || len(in.Digest) != 71 {
					t.Errorf("input %s has digest %q", in.Name, in.Digest)
				}
			}
		})
	}
}

func dump(res *gate.Result) string {
	var b strings.Builder
	for _, c := range res.Checks {
		b.WriteString("\n  " + string(c.Status) + " " + c.Name + ": " + c.Message)
	}
	return b.String()
}

// TestInputsAndDetails: the evidence reads the inputs (every report with
// its SHA-256) and the details (per artifact counts and waivers).
func TestInputsAndDetails(t *testing.T) {
	t.Parallel()
	res := run(t, good(), trivyCreated.Add(time.Hour))
	if len(res.Inputs) != 1 || res.Inputs[0].Name != "report "+real+"trivy/alpine-310.json" ||
		res.Inputs[0].Digest != "sha256:3320485c817ca9a88e424a18a4490643ace8ba8d042284997f6d36cceca4ddaa" {
		t.Fatalf("inputs %+v, want the report with its SHA-256", res.Inputs)
	}
	arts, _ := res.Details["artifacts"].([]map[string]any)
	if len(arts) != 1 || arts[0]["total"] != 4 || arts[0]["counted"] != 0 || arts[0]["below"] != 4 {
		t.Fatalf("details %+v", res.Details)
	}
}

// TestBadPolicy: settings the policy must not hold are bad input (exit 2),
// each at its key.
func TestBadPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(*Spec)
		field  string
	}{
		{"a waiver without expiry", func(s *Spec) { s.Allow = []Allow{{ID: "CVE-1", Reason: "r"}} }, "allow[0].expires"},
		{"a waiver with a bad date", func(s *Spec) { s.Allow = []Allow{{ID: "CVE-1", Reason: "r", Expires: "soon"}} }, "allow[0].expires"},
		{"a waiver without reason", func(s *Spec) { s.Allow = []Allow{{ID: "CVE-1", Expires: "2099-01-01"}} }, "allow[0].reason"},
		{"a waiver for an unknown artifact", func(s *Spec) {
			s.Allow = []Allow{{ID: "CVE-1", Reason: "r", Expires: "2099-01-01", Artifacts: []string{"nope"}}}
		}, "allow[0].artifacts[0]"},
		{"no artifacts", func(s *Spec) { s.Artifacts = nil }, "artifacts"},
		{"no reports", func(s *Spec) { s.Artifacts[0].Reports = nil }, "artifacts[0].reports"},
		{"a report listed twice", func(s *Spec) { s.Artifacts[0].Reports = []string{"a.json", "a.json"} }, "artifacts[0].reports[1]"},
		{"a bad digest", func(s *Spec) { s.Artifacts[0].Digest = "sha256:abc" }, "artifacts[0].digest"},
		{"fail-on none", func(s *Spec) { s.FailOn = "none" }, "fail-on"},
		{"a bundle without trusted root", func(s *Spec) { s.Artifacts[0].VEX = []VEXFile{{Path: "v.json", Bundle: "v.sigstore.json"}} }, "trusted-root"},
		{"require-signed-vex without bundle", func(s *Spec) {
			s.RequireSignedVEX, s.TrustedRoot, s.CertificateIdentity, s.CertificateOIDCIssuer = true, "tr.json", "me@example.com", "https://accounts.example.com"
			s.Artifacts[0].VEX = []VEXFile{{Path: "v.json"}}
		}, "artifacts[0].vex[0].bundle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := good()
			tc.change(&s)
			var found bool
			for _, err := range s.Validate() {
				var fe *policy.FieldError
				if errors.As(err, &fe) && fe.Field == tc.field {
					found = true
				}
			}
			if !found {
				t.Fatalf("no error at %s: %v", tc.field, s.Validate())
			}
			g := New(gate.Meta{ID: "v"}, s, gate.Env{})
			if _, err := evaluate(context.Background(), g); !errors.Is(err, gate.ErrBadInput) {
				t.Fatalf("evaluate: %v, want bad input", err)
			}
		})
	}
}

// TestPolicyWaiverWithoutExpiry goes through the policy decoder: the
// error points at the allow entry's line.
func TestPolicyWaiverWithoutExpiry(t *testing.T) {
	t.Parallel()
	path := writeTemp(t, "release-policy.yml", `version: 1
gates:
  - id: vulns
    kind: vulnerabilities
    with:
      artifacts:
        - name: app
          reports: [scan.json]
      allow:
        - id: CVE-2024-1
          reason: no fix yet
`)
	_, err := policy.Load(path, policy.Options{})
	if err == nil || !strings.Contains(err.Error(), "release-policy.yml:10") || !strings.Contains(err.Error(), `missing required key "expires"`) {
		t.Fatalf("got %v, want an error at line 10 about the expiry", err)
	}
}

// TestSignedVEX: a VEX document signed keylessly (an in-process Sigstore)
// waives, and the result names the signer; signed by someone else, it
// does not.
func TestSignedVEX(t *testing.T) {
	t.Parallel()
	ss, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	trJSON, err := ss.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	vexDoc := []byte(`{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"security@example.com","timestamp":"2025-01-01T00:00:00Z","version":1,
 "statements":[{"vulnerability":{"name":"CVE-1999-0002"},"products":[{"@id":"pkg:oci/app@` + grypeDigest + `"}],"status":"fixed"}]}`)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const issuer = "https://accounts.example.com"
	bundle, err := ss.SignBlob(sigstoretest.Signer{Identity: "security@example.com", Issuer: issuer}, vexDoc)
	if err != nil {
		t.Fatal(err)
	}
	spec := Spec{FailOn: "high", TrustedRoot: write("trusted_root.json", trJSON), CertificateIdentity: "security@example.com", CertificateOIDCIssuer: issuer,
		RequireSignedVEX: true,
		Artifacts: []Artifact{{Name: "image", Digest: grypeDigest, Reports: []string{real + "grype/image.json"},
			VEX: []VEXFile{{Path: write("app.vex.json", vexDoc), Bundle: write("app.vex.sigstore.json", bundle)}}}}}
	res := run(t, spec, time.Now())
	if res.Status != gate.StatusPass || !strings.Contains(dump(res), "signed by security@example.com") {
		t.Fatalf("status %s: %s", res.Status, dump(res))
	}
	if len(res.Inputs) != 4 { // trusted root, report, vex, bundle
		t.Errorf("inputs %+v, want trusted root, report, vex and bundle", res.Inputs)
	}
	spec.CertificateIdentity = "someone-else@example.com"
	res = run(t, spec, time.Now())
	if res.Status != gate.StatusFail || !strings.Contains(failing(res)[0].Message, "signature") {
		t.Fatalf("another signer: status %s: %s", res.Status, dump(res))
	}
	// a document changed after signing
	spec.CertificateIdentity = "security@example.com"
	spec.Artifacts[0].VEX[0].Path = write("changed.vex.json", append(vexDoc, '\n'))
	res = run(t, spec, time.Now())
	if res.Status != gate.StatusFail {
		t.Fatalf("changed document: status %s: %s", res.Status, dump(res))
	}
}

// TestAttestedVEX: an OpenVEX document carried by a keyless in-toto
// attestation for the image (vexctl attest) waives, naming the signer; an
// attestation for another image does not.
func TestAttestedVEX(t *testing.T) {
	t.Parallel()
	ss, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	trJSON, err := ss.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	vexDoc := `{"@context":"https://openvex.dev/ns/v0.2.0","@id":"x","author":"security@example.com","timestamp":"2025-01-01T00:00:00Z","version":1,
 "statements":[{"vulnerability":{"name":"CVE-1999-0002"},"products":[{"@id":"pkg:oci/app@` + grypeDigest + `"}],"status":"not_affected","justification":"inline_mitigations_already_exist"}]}`
	const issuer, signer = "https://token.actions.githubusercontent.com", "https://github.com/acme/app/.github/workflows/vex.yml@refs/heads/main"
	attest := func(digest string) string {
		st := `{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://openvex.dev/ns/v0.2.0",
 "subject":[{"name":"ghcr.io/acme/app","digest":{"sha256":"` + strings.TrimPrefix(digest, "sha256:") + `"}}],"predicate":` + vexDoc + `}`
		b, err := ss.Attest(sigstoretest.Signer{Identity: signer, Issuer: issuer}, []byte(st))
		if err != nil {
			t.Fatal(err)
		}
		return writeTemp(t, "vex.sigstore.json", string(b))
	}
	spec := Spec{FailOn: "high", TrustedRoot: writeTemp(t, "trusted_root.json", string(trJSON)), CertificateIdentity: signer, CertificateOIDCIssuer: issuer,
		RequireSignedVEX: true,
		Artifacts:        []Artifact{{Name: "image", Digest: grypeDigest, Reports: []string{real + "grype/image.json"}, VEX: []VEXFile{{Attestation: attest(grypeDigest)}}}}}
	res := run(t, spec, time.Now())
	if res.Status != gate.StatusPass || !strings.Contains(dump(res), "not_affected (inline_mitigations_already_exist), signed by "+signer) {
		t.Fatalf("status %s: %s", res.Status, dump(res))
	}
	spec.Artifacts[0].VEX[0].Attestation = attest(alpineDigest)
	res = run(t, spec, time.Now())
	if res.Status != gate.StatusFail || !strings.Contains(failing(res)[0].Message, "the attestation is for another artifact") {
		t.Fatalf("another image: status %s: %s", res.Status, dump(res))
	}
}

// TestTimeout: a cancelled context is an error, never a pass.
func TestTimeout(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g := New(gate.Meta{ID: "v"}, good(), gate.Env{})
	res, err := evaluate(ctx, g)
	if err == nil || res.Status != gate.StatusError {
		t.Fatalf("status %s err %v, want an error", res.Status, err)
	}
}
