package sbomgate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/provenance/sigstoretest"
)

// real is the domain package's directory of real SBOMs.
const real = "../../sbom/testdata/real/"

const (
	centosID   = "sha256:f1cb7c7d58b73eac859c395882eec49d50651244e342cd6c68a5c7809785f427"
	fluentdID  = "sha256:5a992077baba51b97f27591a10d54d2f2723dc9c81a3fe419e261023f2554933"
	otherImage = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
)

// good passes: Trivy's real CycloneDX SBOM of its centos-7 test image,
// bound by the image id, with 3 components that all have a version.
func good() Spec {
	return Spec{MinComponents: 3, RequireFields: []string{"version"},
		Artifacts: []Artifact{{Name: "centos", Digest: centosID, SBOM: real + "trivy/centos-7-cyclonedx.json"}}}
}

func run(t *testing.T, s Spec) *gate.Result {
	t.Helper()
	res, err := evaluate(context.Background(), New(gate.Meta{ID: "sbom", Required: true}, s, gate.Env{}))
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	return res
}

func failing(res *gate.Result) []string {
	var out []string
	for _, c := range res.Checks {
		if c.Status == gate.StatusFail {
			out = append(out, c.Message)
		}
	}
	return out
}

func dump(res *gate.Result) string {
	var b strings.Builder
	for _, c := range res.Checks {
		b.WriteString("\n  " + string(c.Status) + " " + c.Name + ": " + c.Message)
	}
	return b.String()
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, s *Spec)
		want   gate.Status
		fails  []string
	}{
		{name: "the real SBOM passes", change: func(*testing.T, *Spec) {}, want: gate.StatusPass},
		{name: "an SBOM for another digest fails", change: func(_ *testing.T, s *Spec) { s.Artifacts[0].Digest = otherImage }, want: gate.StatusFail,
			fails: []string{"is the SBOM of another artifact (" + centosID + ")"}},
		{name: "an SBOM naming no digest fails", change: func(_ *testing.T, s *Spec) { s.Artifacts[0].SBOM = real + "trivy/conda-spdx.json" }, want: gate.StatusFail,
			fails: []string{"names no digest"}},
		{name: "a missing SBOM fails", change: func(_ *testing.T, s *Spec) { s.Artifacts[0].SBOM = "nope.cdx.json" }, want: gate.StatusFail,
			fails: []string{"nope.cdx.json: not found"}},
		{name: "a truncated SBOM fails at its position", change: func(t *testing.T, s *Spec) {
			data, _ := os.ReadFile(real + "trivy/centos-7-cyclonedx.json")
			s.Artifacts[0].SBOM = writeTemp(t, "t.json", data[:300])
		}, want: gate.StatusFail, fails: []string{"malformed SBOM"}},
		{name: "SPDX 3.0 is refused clearly", change: func(t *testing.T, s *Spec) {
			s.Artifacts[0].SBOM = writeTemp(t, "s.json", []byte(`{"@context":"https://spdx.org/rdf/3.0.1/spdx-context.jsonld","@graph":[]}`))
		}, want: gate.StatusFail, fails: []string{"no maintained Go library reads SPDX 3.0"}},
		{name: "too few components fail", change: func(_ *testing.T, s *Spec) { s.MinComponents = 4 }, want: gate.StatusFail,
			fails: []string{"lists 3 component(s), expected at least 4"}},
		{name: "a missing purl fails", change: func(_ *testing.T, s *Spec) { s.RequireFields = []string{"version", "purl", "supplier"} }, want: gate.StatusFail,
			fails: []string{"1 of 3 components of centos have no purl: centos@7.6.1810", "3 of 3 components of centos have no supplier"}},
		{name: "a denied licence fails", change: func(_ *testing.T, s *Spec) { s.LicensesDeny = []string{"GPLv3+"} }, want: gate.StatusFail,
			fails: []string{"1 component(s) carry a denied licence: bash@4.2.46-31.el7 (GPLv3+)"}},
		{name: "the allow list fails others and unlicensed", change: func(_ *testing.T, s *Spec) { s.LicensesAllow = []string{"GPLv3+"} }, want: gate.StatusFail,
			fails: []string{"2 component(s) carry a licence outside the allow list (or none): openssl-libs@1.0.2k-16.el7 (OpenSSL+), centos@7.6.1810 (no licence)"}},
		{name: "a large real SBOM", change: func(_ *testing.T, s *Spec) {
			s.Artifacts[0] = Artifact{Name: "fluentd", Digest: fluentdID, SBOM: real + "trivy/fluentd-multiple-lockfiles.cdx.json"}
			s.MinComponents = 100
			s.RequireFields = []string{"version", "purl"}
		}, want: gate.StatusFail, fails: []string{"1 of 161 components of fluentd have no purl: debian@10.2"}},
		{name: "SPDX 2.3 bound by its described package's checksum", change: func(_ *testing.T, s *Spec) {
			s.Artifacts[0] = Artifact{Name: "glibc", Digest: "sha256:11b6d3ee554eedf79299905a98f9b9a04e498210b59f15094c916c91d150efcd", SBOM: real + "spdx-tools-golang/SPDXJSONExample-v2.3.spdx.json"}
		}, want: gate.StatusFail, fails: []string{"1 of 4 components of glibc have no version: Apache Commons Lang"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := good()
			tc.change(t, &s)
			res := run(t, s)
			if res.Status != tc.want {
				t.Fatalf("status %s, want %s: %s", res.Status, tc.want, dump(res))
			}
			f := failing(res)
			if len(f) != len(tc.fails) {
				t.Fatalf("%d failing checks, want %d: %s", len(f), len(tc.fails), dump(res))
			}
			for i, want := range tc.fails {
				if !strings.Contains(f[i], want) {
					t.Errorf("failing check %d: %q, want it to say %q", i, f[i], want)
				}
			}
		})
	}
}

// TestArtifactFile: an artifact named by its file is bound by the file's
// SHA-256, as a binary built in the same job is.
func TestArtifactFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "app")
	if err := os.WriteFile(bin, []byte("the released binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("the released binary"))
	doc := `{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,
"metadata":{"component":{"type":"application","name":"app","version":"1.0.0","hashes":[{"alg":"SHA-256","content":"` + hex.EncodeToString(sum[:]) + `"}]}},
"components":[{"type":"library","name":"lib","version":"1.2.3","purl":"pkg:golang/example.com/lib@v1.2.3"}]}`
	sbomPath := filepath.Join(dir, "app.cdx.json")
	if err := os.WriteFile(sbomPath, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := func(file string) Spec {
		return Spec{MinComponents: 1, RequireFields: []string{"version", "purl"},
			Artifacts: []Artifact{{Name: "app", File: file, SBOM: sbomPath}}}
	}
	res := run(t, spec(bin))
	if res.Status != gate.StatusPass {
		t.Fatalf("status %s, want pass: %s", res.Status, dump(res))
	}
	if res.Inputs[0].URI != bin || res.Inputs[0].Digest != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Fatalf("inputs %+v, want the artifact file with its digest first", res.Inputs)
	}
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("another build"), 0o755); err != nil {
		t.Fatal(err)
	}
	if f := failing(run(t, spec(other))); len(f) != 1 || !strings.Contains(f[0], "is the SBOM of another artifact") {
		t.Fatalf("another file: failing %q, want the SBOM of another artifact", f)
	}
	if f := failing(run(t, spec(filepath.Join(dir, "missing")))); len(f) != 1 || !strings.Contains(f[0], "build the artifact before this gate runs") {
		t.Fatalf("a missing file: failing %q, want it named with what to do", f)
	}
}

func TestInputsAndDetails(t *testing.T) {
	t.Parallel()
	res := run(t, good())
	if len(res.Inputs) != 1 || !strings.HasPrefix(res.Inputs[0].Digest, "sha256:") || len(res.Inputs[0].Digest) != 71 {
		t.Fatalf("inputs %+v, want the SBOM with its SHA-256", res.Inputs)
	}
	arts := res.Details["artifacts"].([]map[string]any)
	if arts[0]["bound_by"] != "digest" || arts[0]["components"] != 3 || arts[0]["format"] != "cyclonedx" {
		t.Fatalf("details %+v", arts[0])
	}
}

func TestBadPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		change func(*Spec)
		field  string
	}{
		{"no artifacts", func(s *Spec) { s.Artifacts = nil }, "artifacts"},
		{"no digest", func(s *Spec) { s.Artifacts[0].Digest = "" }, "artifacts[0].digest"},
		{"digest and file", func(s *Spec) { s.Artifacts[0].File = "bin/app" }, "artifacts[0].file"},
		{"neither sbom nor attestation", func(s *Spec) { s.Artifacts[0].SBOM = "" }, "artifacts[0].sbom"},
		{"both sbom and attestation", func(s *Spec) { s.Artifacts[0].Attestation = "a.sigstore.json" }, "artifacts[0].attestation"},
		{"an unknown field", func(s *Spec) { s.RequireFields = []string{"colour"} }, "require-fields[0]"},
		{"allowed and denied", func(s *Spec) { s.LicensesAllow, s.LicensesDeny = []string{"MIT"}, []string{"mit"} }, "licenses-allow[0]"},
		{"attestation without trusted root", func(s *Spec) {
			s.Artifacts[0].SBOM, s.Artifacts[0].Attestation = "", "a.sigstore.json"
		}, "trusted-root"},
		{"attestation without identity", func(s *Spec) {
			s.Artifacts[0].SBOM, s.Artifacts[0].Attestation, s.TrustedRoot = "", "a.sigstore.json", "tr.json"
		}, "certificate-oidc-issuer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := good()
			tc.change(&s)
			found := false
			for _, err := range s.Validate() {
				var fe *policy.FieldError
				if errors.As(err, &fe) && fe.Field == tc.field {
					found = true
				}
			}
			if !found {
				t.Fatalf("no error at %s: %v", tc.field, s.Validate())
			}
			if _, err := evaluate(context.Background(), New(gate.Meta{ID: "s"}, s, gate.Env{})); !errors.Is(err, gate.ErrBadInput) {
				t.Fatalf("evaluate: %v, want bad input", err)
			}
		})
	}
}

// TestAttestation: the real centos SBOM attested keylessly (an in-process
// Sigstore) for the image binds it; for another image, by another signer
// or with another predicate type it does not.
func TestAttestation(t *testing.T) {
	t.Parallel()
	ss, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	trJSON, err := ss.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	bom, err := os.ReadFile(real + "trivy/conda-spdx.json") // an SBOM that names no digest itself
	if err != nil {
		t.Fatal(err)
	}
	const issuer = "https://token.actions.githubusercontent.com"
	const signer = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.0.0"
	attest := func(t *testing.T, predicateType, digest string) string {
		st, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": predicateType,
			"subject":   []any{map[string]any{"name": "ghcr.io/acme/app", "digest": map[string]string{"sha256": strings.TrimPrefix(digest, "sha256:")}}},
			"predicate": json.RawMessage(bom)})
		b, err := ss.Attest(sigstoretest.Signer{Identity: signer, Issuer: issuer}, st)
		if err != nil {
			t.Fatal(err)
		}
		return writeTemp(t, "att.sigstore.json", b)
	}
	tr := writeTemp(t, "trusted_root.json", trJSON)
	spec := func(att string) Spec {
		return Spec{MinComponents: 2, TrustedRoot: tr, CertificateIdentity: signer, CertificateOIDCIssuer: issuer,
			Artifacts: []Artifact{{Name: "app", Digest: centosID, Attestation: att}}}
	}
	res := run(t, spec(attest(t, "https://spdx.dev/Document", centosID)))
	if res.Status != gate.StatusPass || !strings.Contains(dump(res), "signed by "+signer) {
		t.Fatalf("status %s: %s", res.Status, dump(res))
	}
	if arts := res.Details["artifacts"].([]map[string]any); arts[0]["bound_by"] != "attestation" || arts[0]["signer"] != signer {
		t.Errorf("details %+v", arts[0])
	}
	for want, s := range map[string]Spec{
		"the attestation is for another artifact":              spec(attest(t, "https://spdx.dev/Document", otherImage)),
		"the attestation carries something other than an SBOM": spec(attest(t, "https://slsa.dev/provenance/v1", centosID)),
	} {
		if res := run(t, s); res.Status != gate.StatusFail || !strings.Contains(failing(res)[0], want) {
			t.Errorf("%s: status %s: %s", want, res.Status, dump(res))
		}
	}
	// Trivy's real CycloneDX attestation of centos: a DSSE envelope signed
	// with a key, no certificate and no log entry: never a pass here.
	trivyAtt := spec(real + "trivy/centos-7-cyclonedx.intoto.jsonl")
	trivyAtt.Artifacts[0].Digest = "sha256:be65f488b7764ad3638f236b7b515b3678369a5124c47b8d32916d6487418ea4"
	if res := run(t, trivyAtt); res.Status != gate.StatusFail {
		t.Errorf("a key-signed envelope without certificate: status %s: %s", res.Status, dump(res))
	} else {
		t.Logf("trivy's envelope: %s", failing(res)[0])
	}
	s := spec(attest(t, "https://cyclonedx.org/bom", centosID))
	s.CertificateIdentity = "https://github.com/evil/app/.github/workflows/release.yml@refs/tags/v1.0.0"
	if res := run(t, s); res.Status != gate.StatusFail {
		t.Errorf("another signer: status %s: %s", res.Status, dump(res))
	}
}
