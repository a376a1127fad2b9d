package provenance

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// sentinels are the errors a failed verification may wrap.
var sentinels = []error{ErrMalformedBundle, ErrSignature, ErrMismatchSubject, ErrUntrustedBuilder,
	ErrMismatchSource, ErrMismatchRef, ErrMismatchInputs, ErrMismatchIdentity, ErrMismatchSigner, ErrMismatchRunner, ErrWrongInstance}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzVerifyBundle feeds damaged bundles through the whole verification,
// not only the parser: nothing may panic, and every failure wraps one of
// the sentinel errors. Seeds are the real bundles.
func FuzzVerifyBundle(f *testing.F) {
	for _, p := range []string{genericProv, delegatorProv,
		realDir + "/slsa-verifier/bcr/MODULE.bazel.intoto.jsonl", realDir + "/cli-cli/github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl",
		conformanceDir + "/rekor2-dsse-happy-path/bundle.sigstore.json", conformanceDir + "/rekor2-happy-path/bundle.sigstore.json"} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	v := realVerifierF(f)
	sum, err := HashFile(genericArt)
	if err != nil {
		f.Fatal(err)
	}
	pol := Policy{SourceURI: exampleRepo, SourceVersionedTag: "v14", BuilderIDs: []string{trwBuilder, GeneratorBuilders[0]}}
	id := Identity{Issuer: GitHubActionsIssuer, IdentityRegexp: `^https://github\.com/slsa-framework/.*$`}
	f.Fuzz(func(t *testing.T, data []byte) {
		bundles, err := ParseBundles(data)
		if err != nil {
			return
		}
		for _, b := range bundles {
			if _, err := v.VerifyProvenance(b, sum, pol); err != nil && !isSentinel(err) {
				t.Fatalf("VerifyProvenance: %v wraps no sentinel error", err)
			}
			if _, err := v.VerifyBlob(b, sum, id); err != nil && !isSentinel(err) {
				t.Fatalf("VerifyBlob: %v wraps no sentinel error", err)
			}
		}
	})
}

// FuzzLegacySignature feeds cosign legacy signature annotations (read from
// a registry: outside input) through conversion and verification.
func FuzzLegacySignature(f *testing.F) {
	const digest = "6c3b8a3dfd4c3ad1ac0b4d8b1b8d5b0d2e1c6c0f3a7f39b1e0c3f8d3b2a1c0d9"
	payload := `{"critical":{"identity":{"docker-reference":"r.example/a"},"image":{"docker-manifest-digest":"sha256:` + digest + `"},"type":"cosign container image signature"},"optional":null}`
	f.Add([]byte(payload), "MEUCIQ==", "", `{"SignedEntryTimestamp":"MEUCIQ==","Payload":{"body":"eyJraW5kIjoiaGFzaGVkcmVrb3JkIiwiYXBpVmVyc2lvbiI6IjAuMC4xIn0=","integratedTime":1700000000,"logIndex":1,"logID":"c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"}}`)
	f.Add([]byte(payload), "", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "")
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"MEUCIQ=="}]}`), "", "", "")
	tr, err := LoadTrustedRoot(publicGood)
	if err != nil {
		f.Fatal(err)
	}
	keyless, err := NewVerifier(Options{TrustedRoot: tr})
	if err != nil {
		f.Fatal(err)
	}
	id := Identity{Issuer: GitHubActionsIssuer, Identity: "https://github.com/a/b/.github/workflows/x.yml@refs/tags/v1"}
	f.Fuzz(func(t *testing.T, payload []byte, sig, cert, rekorBundle string) {
		l := LegacySignature{Payload: payload, Signature: sig, Certificate: cert, RekorBundle: rekorBundle}
		if _, err := keyless.VerifyLegacyImage(l, digest, id); err == nil {
			t.Fatal("a fuzzed legacy signature verified against the public-good root")
		} else if !isSentinel(err) {
			t.Fatalf("%v wraps no sentinel error", err)
		}
		// The same layer read as a legacy attestation (.att tag).
		b, err := l.AttestationBundle()
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("AttestationBundle: %v wraps no sentinel error", err)
			}
			return
		}
		if _, err := keyless.VerifyProvenance(b, digest, Policy{SourceURI: "github.com/a/b"}); err == nil {
			t.Fatal("a fuzzed legacy attestation verified against the public-good root")
		} else if !isSentinel(err) {
			t.Fatalf("VerifyProvenance: %v wraps no sentinel error", err)
		}
	})
}

// FuzzRekorBody puts fuzzed transparency-log entry bodies (base64 inside
// the bundle, out of reach of byte-level mutation of the JSON) into a real
// bundle and verifies it: rekor parses these bodies, and once panicked.
func FuzzRekorBody(f *testing.F) {
	data, err := os.ReadFile(genericProv)
	if err != nil {
		f.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		f.Fatal(err)
	}
	entry := m["verificationMaterial"].(map[string]any)["tlogEntries"].([]any)[0].(map[string]any)
	body, _ := base64.StdEncoding.DecodeString(entry["canonicalizedBody"].(string))
	f.Add(body, "intoto", "0.0.2")
	f.Add([]byte(`{"kind":"hashedrekord"}`), "hashedrekord", "0.0.1")
	f.Add([]byte(`{"apiVersion":"0.0.1","kind":"dsse","spec":{}}`), "dsse", "0.0.1")
	v := realVerifierF(f)
	sum, err := HashFile(genericArt)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, kind, version string) {
		entry["canonicalizedBody"] = base64.StdEncoding.EncodeToString(body)
		entry["kindVersion"] = map[string]any{"kind": kind, "version": version}
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		bundles, err := ParseBundles(data)
		if err != nil {
			if !errors.Is(err, ErrMalformedBundle) {
				t.Fatalf("%v does not wrap ErrMalformedBundle", err)
			}
			return
		}
		if _, err := v.VerifyProvenance(bundles[0], sum, Policy{SourceURI: exampleRepo}); err != nil && !isSentinel(err) {
			t.Fatalf("%v wraps no sentinel error", err)
		}
	})
}

func realVerifierF(f *testing.F) *Verifier {
	tr, err := LoadTrustedRoot(publicGood)
	if err != nil {
		f.Fatal(err)
	}
	v, err := NewVerifier(Options{TrustedRoot: tr})
	if err != nil {
		f.Fatal(err)
	}
	return v
}
