package provenance

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Real Rekor v2 bundles (hashedrekord 0.0.2, checkpoint-signed inclusion
// proofs, no SET, time from a timestamp authority) from
// sigstore/sigstore-conformance test/assets/bundle-verify: signed on
// Sigstore's staging instance, whose trusted root ships beside each. A
// directory ending in _fail must fail (the conformance suite's rule); the
// artifact is a.txt and the signer the conformance beacon workflow.

const conformanceDir = realDir + "/sigstore-conformance"

var conformanceSigner = Identity{Issuer: GitHubActionsIssuer,
	Identity: "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"}

func conformanceVerifier(t testing.TB, dir string) *Verifier {
	t.Helper()
	tr, err := LoadTrustedRootFor(filepath.Join(conformanceDir, dir, "trusted_root.json"), InstancePublicGood)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(Options{TrustedRoot: tr})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func conformanceBundle(t testing.TB, dir string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(conformanceDir, dir, "bundle.sigstore.json"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func conformanceArtifact(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(conformanceDir, "a.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return sha256Hex(data)
}

func verifyBlobData(v *Verifier, data []byte, sum string, id Identity) (*Signature, error) {
	bundles, err := ParseBundles(data)
	if err != nil {
		return nil, err
	}
	return v.VerifyBlob(bundles[0], sum, id)
}

func TestRealRekorV2Bundles(t *testing.T) {
	t.Parallel()
	sum := conformanceArtifact(t)
	for _, c := range []struct {
		dir  string
		want error
	}{
		{"rekor2-happy-path", nil},
		{"rekor2-dsse-happy-path", nil},
		{"rekor2-no-timestamp_fail", ErrSignature},
		{"rekor2-no-inclusion-proof_fail", ErrMalformedBundle},
		{"rekor2-dsse-invalid-sig_fail", ErrSignature},
		{"rekor2-timestamp-payload-mismatch_fail", ErrSignature},
	} {
		t.Run(c.dir, func(t *testing.T) {
			t.Parallel()
			v := conformanceVerifier(t, c.dir)
			data := conformanceBundle(t, c.dir)
			sig, err := verifyBlobData(v, data, sum, conformanceSigner)
			if c.want != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("expected %v, got %v", c.want, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("expected to verify, got %v", err)
			}
			if sig.Log == nil || !sig.Log.Rekor2 || sig.SignedTime.IsZero() {
				t.Fatalf("expected a rekor v2 entry and a timestamp authority's time, got %+v at %v", sig.Log, sig.SignedTime)
			}
			// A wrong signer, a wrong digest and one tampered byte of the
			// inclusion proof each fail.
			other := conformanceSigner
			other.Identity = "https://github.com/acme/other/.github/workflows/release.yml@refs/heads/main"
			if _, err := verifyBlobData(v, data, sum, other); !errors.Is(err, ErrMismatchIdentity) {
				t.Errorf("wrong signer: expected %v, got %v", ErrMismatchIdentity, err)
			}
			wrong := []byte(sum)
			wrong[0] ^= 1
			if _, err := verifyBlobData(v, data, string(wrong), conformanceSigner); err == nil {
				t.Error("wrong digest: expected a failure, got none")
			}
			_, err = verifyBlobData(v, tamperInclusionProof(t, data), sum, conformanceSigner)
			var ie *InclusionError
			if !errors.Is(err, ErrSignature) || !errors.As(err, &ie) {
				t.Errorf("tampered inclusion proof: expected %v with an *InclusionError, got %v", ErrSignature, err)
			}
		})
	}
}

// tamperInclusionProof flips one bit of the first hash of the first log
// entry's inclusion proof (or of its root hash when the path is empty).
func tamperInclusionProof(t testing.TB, data []byte) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	entry := b["verificationMaterial"].(map[string]any)["tlogEntries"].([]any)[0].(map[string]any)
	proof := entry["inclusionProof"].(map[string]any)
	if hashes, _ := proof["hashes"].([]any); len(hashes) > 0 {
		hashes[0] = flipBase64(t, hashes[0].(string))
	} else {
		proof["rootHash"] = flipBase64(t, proof["rootHash"].(string))
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func flipBase64(t testing.TB, s string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= 1
	return base64.StdEncoding.EncodeToString(b)
}
