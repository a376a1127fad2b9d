package evidence

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

func provenanceResult(status gate.Status, builders ...string) gate.Result {
	r := gate.Result{Gate: "provenance", Kind: "provenance", Required: true, Status: status}
	for i, b := range builders {
		st := gate.StatusPass
		if status == gate.StatusFail && i == 0 {
			st = gate.StatusFail
		}
		r.Checks = append(r.Checks, gate.Check{Name: "slsa app" + string(rune('a'+i)), Status: st, Observed: gate.Text(b)})
	}
	return r
}

const (
	generatorL3 = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.0.0"
	githubL2    = "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.4.0"
	otherL1     = "https://ci.acme.example/builders/linux"
)

func TestVerifiedLevels(t *testing.T) {
	t.Parallel()
	sloPass := gate.Result{Gate: "slo", Kind: "slo", Required: true, Status: gate.StatusPass}
	tests := []struct {
		name     string
		result   string
		results  []gate.Result
		declared []string
		want     []string
		wantErr  bool
	}{
		{"no provenance gate: build level 0, never an empty list", ResultPassed, []gate.Result{sloPass}, nil, []string{"SLSA_BUILD_LEVEL_0"}, false},
		{"slsa-github-generator provenance: level 3", ResultPassed, []gate.Result{provenanceResult(gate.StatusPass, generatorL3)}, nil, []string{"SLSA_BUILD_LEVEL_3"}, false},
		{"a GitHub workflow builder: level 2", ResultPassed, []gate.Result{provenanceResult(gate.StatusPass, githubL2)}, nil, []string{"SLSA_BUILD_LEVEL_2"}, false},
		{"another builder: level 1", ResultPassed, []gate.Result{provenanceResult(gate.StatusPass, otherL1)}, nil, []string{"SLSA_BUILD_LEVEL_1"}, false},
		{"the weakest artifact sets the level", ResultPassed, []gate.Result{provenanceResult(gate.StatusPass, generatorL3, otherL1)}, nil, []string{"SLSA_BUILD_LEVEL_1"}, false},
		{"a level the gate reports wins over the builder", ResultPassed, []gate.Result{func() gate.Result {
			r := provenanceResult(gate.StatusPass, otherL1)
			r.Details = map[string]any{"slsa_build_level": float64(3)}
			return r
		}()}, nil, []string{"SLSA_BUILD_LEVEL_3"}, false},
		{"a failed provenance gate verifies nothing", ResultPassed, []gate.Result{provenanceResult(gate.StatusFail, generatorL3)}, nil, []string{"SLSA_BUILD_LEVEL_0"}, false},
		{"declared custom and other-track levels are added, one per track", ResultPassed, []gate.Result{provenanceResult(gate.StatusPass, generatorL3)},
			[]string{"FEDRAMP_LOW", "SLSA_SOURCE_LEVEL_1", "SLSA_SOURCE_LEVEL_2"}, []string{"SLSA_BUILD_LEVEL_3", "SLSA_SOURCE_LEVEL_2", "FEDRAMP_LOW"}, false},
		{"a declared build level at or below the verified one is kept at the verified one", ResultPassed, []gate.Result{provenanceResult(gate.StatusPass, generatorL3)},
			[]string{"SLSA_BUILD_LEVEL_2"}, []string{"SLSA_BUILD_LEVEL_3"}, false},
		{"a declared build level without provenance gates is the policy's word", ResultPassed, []gate.Result{sloPass}, []string{"SLSA_BUILD_LEVEL_2"}, []string{"SLSA_BUILD_LEVEL_2"}, false},
		{"a declared build level above the verified one is refused", ResultPassed, []gate.Result{provenanceResult(gate.StatusPass, githubL2)}, []string{"SLSA_BUILD_LEVEL_3"}, nil, true},
		{"a malformed SLSA level is refused", ResultPassed, []gate.Result{sloPass}, []string{"SLSA_BUILD_3"}, nil, true},
		{"FAILED cannot be declared", ResultPassed, []gate.Result{sloPass}, []string{"FAILED"}, nil, true},
		{"a failed release says FAILED only", ResultFailed, []gate.Result{provenanceResult(gate.StatusPass, generatorL3)}, []string{"FEDRAMP_LOW"}, []string{"FAILED"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := VerifiedLevels(tc.result, tc.results, tc.declared)
			if tc.wantErr {
				if !errors.Is(err, ErrLevel) {
					t.Fatalf("err %v; expected ErrLevel", err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, %v; expected %v", got, err, tc.want)
			}
		})
	}
}

func TestInputAttestations(t *testing.T) {
	t.Parallel()
	sum := strings.Repeat("ab", 32)
	other := strings.Repeat("cd", 32)
	got := inputAttestations(
		[]Input{{Name: "app.intoto.jsonl", Data: []byte("provenance")}},
		[]InputRef{
			{Gate: "prov", Name: "provenance app.intoto.jsonl", URI: "/home/runner/work/app/app.intoto.jsonl", Digest: Digest([]byte("provenance"))},
			{Gate: "prov", Name: "provenance other.jsonl", URI: "/abs/other.jsonl", Digest: "sha256:" + sum},
			{Gate: "prov", Name: "provenance again.jsonl", URI: "https://github.com/acme/app/releases/download/v1/again.jsonl", Digest: "sha256:" + sum},
			{Gate: "prov", Name: "bundle remote", URI: "https://downloads.acme.example/app.sigstore.json", Digest: "sha256:" + other},
			{Gate: "prov", Name: "provenance loop", URI: "http://127.0.0.1:8080/x", Digest: "sha256:" + strings.Repeat("ef", 32)},
			{Gate: "prov", Name: "provenance nodigest", URI: "https://example.com/p"},
			{Gate: "prov", Name: "app.tar.gz", URI: "/abs/app.tar.gz", Digest: "sha256:" + strings.Repeat("01", 32)},
			{Gate: "slo", Name: "prometheus", URI: "http://127.0.0.1:9090"},
			{Gate: "prov", Name: "trusted root", URI: "/abs/trusted_root.json", Digest: "sha256:" + strings.Repeat("02", 32)},
		})
	want := []ResourceDescriptor{
		{Name: "attestations/app.intoto.jsonl", Digest: digestMap(Digest([]byte("provenance")))},
		{Name: "provenance other.jsonl", Digest: map[string]string{"sha256": sum}},
		{URI: "https://downloads.acme.example/app.sigstore.json", Digest: map[string]string{"sha256": other}},
		{Name: "provenance loop", Digest: map[string]string{"sha256": strings.Repeat("ef", 32)}},
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Fatalf("inputAttestations\n got %s\nwant %s", gj, wj)
	}
	for _, rd := range got {
		if strings.Contains(rd.URI+rd.Name, "/abs") || strings.Contains(rd.URI, "127.0.0.1") || rd.Digest["sha256"] == "" {
			t.Errorf("entry %+v names a local path or loopback URL, or has no digest", rd)
		}
	}
}

func TestResourceAndPolicyURI(t *testing.T) {
	t.Parallel()
	gh := &GitHubContext{Repository: "Acme/TenantD", SHA: "0123456789abcdef0123456789abcdef01234567", ServerURL: "https://github.com"}
	tests := []struct {
		name             string
		o                Options
		pref             PolicyRef
		resource, policy string
	}{
		{"in GitHub Actions", Options{Version: "v1.4.0", GitHub: gh}, PolicyRef{Path: ".github/release-policy.yml", File: "policy/release-policy.yml"},
			"pkg:github/acme/tenantd@v1.4.0", "https://github.com/Acme/TenantD/blob/0123456789abcdef0123456789abcdef01234567/.github/release-policy.yml"},
		{"GitHub Enterprise Server", Options{Version: "v1.4.0", GitHub: &GitHubContext{Repository: "acme/app", SHA: "abc", ServerURL: "https://ghes.acme.example"}}, PolicyRef{Path: "./policy.yml"},
			"pkg:github/acme/app@v1.4.0?repository_url=https%3A%2F%2Fghes.acme.example", "https://ghes.acme.example/acme/app/blob/abc/policy.yml"},
		{"the policy's release.repository outside Actions", Options{Version: "v2", Repository: "acme/app"}, PolicyRef{Path: "/home/me/app/policy.yml", File: "policy/policy.yml"},
			"pkg:github/acme/app@v2", "policy/policy.yml"},
		{"nothing known", Options{Version: "v2", Release: "tenantd"}, PolicyRef{Path: "/home/me/app/policy.yml"},
			"pkg:generic/tenantd@v2", "policy.yml"},
		{"explicit URIs win", Options{Version: "v2", GitHub: gh, ResourceURI: "oci://ghcr.io/acme/app@sha256:" + strings.Repeat("a", 64), PolicyURI: "https://policies.acme.example/release.yml"}, PolicyRef{Path: "p.yml"},
			"oci://ghcr.io/acme/app@sha256:" + strings.Repeat("a", 64), "https://policies.acme.example/release.yml"},
		{"an absolute policy path is never joined to the repository", Options{Version: "v2", GitHub: gh}, PolicyRef{Path: "/etc/policy.yml"},
			"pkg:github/acme/tenantd@v2", "policy.yml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := resourceURI(tc.o); got != tc.resource {
				t.Errorf("resourceUri %q; expected %q", got, tc.resource)
			}
			if got := policyURI(tc.o, tc.pref); got != tc.policy {
				t.Errorf("policy.uri %q; expected %q", got, tc.policy)
			}
		})
	}
	o := testOptions(t, true)
	o.ResourceURI = "not a uri"
	if _, err := Create(o); !errors.Is(err, gate.ErrBadInput) {
		t.Errorf("a resourceUri without a scheme: err %v; expected bad input", err)
	}
}

// TestVSAFields checks the signed statement of a created bundle field by
// field against the SLSA VSA v1.0 specification.
func TestVSAFields(t *testing.T) {
	t.Parallel()
	o := testOptions(t, true)
	o.GitHub.SHA = "0123456789abcdef0123456789abcdef01234567"
	o.Results = append(o.Results, provenanceResult(gate.StatusPass, generatorL3))
	ev, err := Create(o)
	if err != nil {
		t.Fatal(err)
	}
	p := ev.Statement.Predicate
	if p.Verifier.ID != VerifierID || p.TimeVerified.IsZero() || p.SLSAVersion != "1.0" {
		t.Errorf("verifier %+v, time %v, slsaVersion %q", p.Verifier, p.TimeVerified, p.SLSAVersion)
	}
	if p.ResourceURI != "pkg:github/acme/tenantd@v1.4.0" {
		t.Errorf("resourceUri %q", p.ResourceURI)
	}
	if p.Policy.URI != "https://github.com/acme/tenantd/blob/0123456789abcdef0123456789abcdef01234567/.github/release-policy.yml" ||
		"sha256:"+p.Policy.Digest["sha256"] != Digest(o.Policy.Data) {
		t.Errorf("policy %+v", p.Policy)
	}
	if !slices.Equal(p.VerifiedLevels, []string{"SLSA_BUILD_LEVEL_3"}) || p.VerificationResult != ResultPassed {
		t.Errorf("verificationResult %s, verifiedLevels %v", p.VerificationResult, p.VerifiedLevels)
	}
	if len(p.InputAttestations) != 1 || p.InputAttestations[0].Name != "attestations/tenantd.intoto.jsonl" ||
		"sha256:"+p.InputAttestations[0].Digest["sha256"] != Digest(o.Attestations[0].Data) {
		t.Errorf("inputAttestations %+v; expected only the provenance file with its digest", p.InputAttestations)
	}
	if p.Manifest == nil || p.Manifest.Name != ManifestName("v1.4.0") {
		t.Errorf("manifest extension %+v", p.Manifest)
	}
	// The bare envelope is the bundle's, byte for byte in its fields.
	var env Envelope
	if err := json.Unmarshal(ev.Envelope, &env); err != nil {
		t.Fatal(err)
	}
	if env.Payload != ev.Bundle.DSSEEnvelope.Payload || env.Signatures[0] != ev.Bundle.DSSEEnvelope.Signatures[0] || env.Signatures[0].KeyID != "" {
		t.Errorf("bare envelope %s differs from the bundle's or carries a keyid", ev.Envelope)
	}
	// The raw JSON has every required field, and no keyid.
	raw, _ := base64.StdEncoding.DecodeString(ev.Bundle.DSSEEnvelope.Payload)
	var m struct {
		Predicate map[string]json.RawMessage `json:"predicate"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"verifier", "timeVerified", "resourceUri", "policy", "verificationResult", "verifiedLevels"} {
		if _, ok := m.Predicate[f]; !ok {
			t.Errorf("required VSA field %s missing", f)
		}
	}
	if strings.Contains(string(fileOf(t, ev, BundleFile)), "keyid") {
		t.Errorf("the bundle carries a keyid")
	}
}

// TestLegacyEvidenceStillVerifies: evidence from the release before this
// one (keyid = hex SHA-256 of the key, manifest among inputAttestations)
// verifies; its keyid pointing at another key does not.
func TestLegacyEvidenceStillVerifies(t *testing.T) {
	t.Parallel()
	tgz, err := os.ReadFile("testdata/legacy/evidence-v1.0.0.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := os.ReadFile("testdata/legacy/legacy.pub")
	if err != nil {
		t.Fatal(err)
	}
	art, err := os.ReadFile("testdata/legacy/app.bin")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pemKey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(tgz, VerifyOptions{Key: pub, Artifacts: []Input{{Name: "app.bin", Data: art}}})
	if err != nil {
		t.Fatalf("legacy evidence: %v (verified %q)", err, v.Passed)
	}
	if in := v.Statement.Predicate.InputAttestations; len(in) == 0 || in[0].URI != ManifestName("v1.0.0") || v.Statement.Predicate.Manifest != nil {
		t.Fatalf("fixture is not legacy-shaped: %+v", v.Statement.Predicate.InputAttestations)
	}
	other := testSigner(t, AlgECDSAP256).Public()
	if _, err := Verify(tgz, VerifyOptions{Key: other}); !errors.Is(err, ErrSignature) {
		t.Fatalf("legacy evidence with another key: err %v; expected ErrSignature", err)
	}
}

// TestKeyIDNamingAnotherKeyIsRefused: a keyid (not covered by the
// signature) that names a key other than --key is refused even though the
// signature verifies, as cosign and sigstore-go refuse it.
func TestKeyIDNamingAnotherKeyIsRefused(t *testing.T) {
	t.Parallel()
	o, ev := mustCreate(t, true)
	key := o.Signer.(*Signer).Public()
	for name, kid := range map[string]string{
		"the hex SHA-256 of another key": KeyID(testSigner(t, AlgEd25519).Public()),
		"an arbitrary name":              "release-key-2026",
	} {
		files := slices.Clone(ev.Files)
		for i := range files {
			if files[i].Name == BundleFile {
				b, _ := ParseBundle(files[i].Data)
				b.DSSEEnvelope.Signatures[0].KeyID = kid
				files[i].Data, _ = MarshalBundle(b)
			}
		}
		tgz, _ := WriteTarGz(files)
		if _, err := Verify(tgz, VerifyOptions{Key: key}); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: err %v; expected ErrSignature", name, err)
		}
	}
}

func TestMeetsLevels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		got, want []string
		ok        bool
	}{
		{"nothing asked", []string{"SLSA_BUILD_LEVEL_0"}, nil, true},
		{"the same level", []string{"SLSA_BUILD_LEVEL_3"}, []string{"SLSA_BUILD_LEVEL_3"}, true},
		{"a higher level meets a lower one", []string{"SLSA_BUILD_LEVEL_3"}, []string{"SLSA_BUILD_LEVEL_2"}, true},
		{"a lower level does not", []string{"SLSA_BUILD_LEVEL_1"}, []string{"SLSA_BUILD_LEVEL_2"}, false},
		{"another track does not", []string{"SLSA_SOURCE_LEVEL_3"}, []string{"SLSA_BUILD_LEVEL_1"}, false},
		{"a custom value exactly", []string{"SLSA_BUILD_LEVEL_0", "FEDRAMP_LOW"}, []string{"FEDRAMP_LOW"}, true},
		{"a missing custom value", []string{"SLSA_BUILD_LEVEL_3"}, []string{"FEDRAMP_LOW"}, false},
		{"FAILED meets nothing", []string{"FAILED"}, []string{"FAILED"}, false},
	}
	for _, tc := range tests {
		err := meetsLevels(tc.got, tc.want)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrLevel)) {
			t.Errorf("%s: meetsLevels(%v, %v) = %v; expected ok=%v", tc.name, tc.got, tc.want, err, tc.ok)
		}
	}
}
