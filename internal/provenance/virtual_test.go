package provenance

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"
)

func newVirtual(t *testing.T) *ca.VirtualSigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

const (
	signer = "release@acme.example"
	issuer = "https://accounts.acme.example"
)

// TestKeylessBlobWithVirtualSigstore signs with an in-process Fulcio, Rekor
// and TSA and verifies against their trust material.
func TestKeylessBlobWithVirtualSigstore(t *testing.T) {
	t.Parallel()
	vs := newVirtual(t)
	blob := []byte("release-1.2.3.tar.gz contents")
	signed, err := vs.Sign(signer, issuer, blob)
	if err != nil {
		t.Fatal(err)
	}
	late, err := vs.SignAtTime(signer, issuer, blob, time.Now().Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// The fake CA issues no SCTs; everything else is checked.
	v, err := NewVerifier(Options{TrustedRoot: vs, SkipSCTUnsafe: true})
	if err != nil {
		t.Fatal(err)
	}
	exact := Identity{Issuer: issuer, Identity: signer}
	cases := []struct {
		name   string
		entity verify.SignedEntity
		blob   []byte
		id     Identity
		want   error
	}{
		{"the exact signer passes", signed, blob, exact, nil},
		{"an anchored identity pattern passes", signed, blob, Identity{Issuer: issuer, IdentityRegexp: `^release@acme\.example$`}, nil},
		{"another signer fails", signed, blob, Identity{Issuer: issuer, Identity: "mallory@acme.example"}, ErrMismatchIdentity},
		{"another issuer fails", signed, blob, Identity{Issuer: "https://token.actions.githubusercontent.com", Identity: signer}, ErrMismatchIdentity},
		{"a changed blob fails", signed, append([]byte("x"), blob...), exact, ErrSignature},
		{"a log time outside the certificate's validity fails", late, blob, exact, ErrSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sig, err := v.VerifyBlob(tc.entity, sha256Hex(tc.blob), tc.id)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("verification failed: %v", err)
				}
				if sig.Signer != signer || sig.Issuer != issuer || sig.Log == nil {
					t.Fatalf("signature = %+v", sig)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVirtualSigstoreIsNotTheSLSABuilder(t *testing.T) {
	t.Parallel()
	vs := newVirtual(t)
	payload := []byte(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v1","subject":[{"name":"a","digest":{"sha256":"` + sha256Hex([]byte("a")) + `"}}],"predicate":{"runDetails":{"builder":{"id":"https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0"}}}}`)
	ent, err := vs.Attest(signer, issuer, payload)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(Options{TrustedRoot: vs, SkipSCTUnsafe: true})
	if err != nil {
		t.Fatal(err)
	}
	// Signed validly, but by an e-mail identity: a provenance claiming a
	// trusted builder is only believed from that builder's workflow.
	_, err = v.VerifyProvenance(ent, sha256Hex([]byte("a")), Policy{SourceURI: "github.com/acme/api"})
	if !errors.Is(err, ErrUntrustedBuilder) {
		t.Fatalf("error = %v, want ErrUntrustedBuilder", err)
	}
}

// keyBundle signs blob with key and writes a v0.3 bundle carrying a
// message signature and a public-key hint, like cosign sign-blob --key.
func keyBundle(t *testing.T, key *ecdsa.PrivateKey, blob []byte) []byte {
	t.Helper()
	digest := sha256.Sum256(blob)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: "release-key"}},
		},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]},
			Signature:     sig,
		}},
	}
	data, err := protojson.Marshal(pb)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestKeyBasedBlob(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte("checksums.txt contents")
	bundles, err := ParseBundles(keyBundle(t, key, blob))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewVerifier(Options{Key: &key.PublicKey}); err == nil || !strings.Contains(err.Error(), "insecure-ignore-tlog") {
		t.Fatalf("a key without a trusted root and without opting out of the log: err = %v", err)
	}
	v, err := NewVerifier(Options{Key: &key.PublicKey, IgnoreTlogUnsafe: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Warnings()) == 0 {
		t.Error("no warning for the skipped transparency log")
	}
	wrong, err := NewVerifier(Options{Key: &other.PublicKey, IgnoreTlogUnsafe: true})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		v    *Verifier
		blob []byte
		want error
	}{
		{"the signing key verifies the blob", v, blob, nil},
		{"another key fails", wrong, blob, ErrSignature},
		{"a changed blob fails", v, []byte("checksums.txt contents!"), ErrSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sig, err := tc.v.VerifyBlob(bundles[0], sha256Hex(tc.blob), Identity{})
			if tc.want == nil && (err != nil || sig.Signer != "public key") {
				t.Fatalf("sig = %+v, err = %v", sig, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestLoadPublicKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pub")
	if err := os.WriteFile(bad, []byte("not a key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPublicKey(bad); err == nil || !strings.Contains(err.Error(), "PUBLIC KEY") {
		t.Fatalf("err = %v, want a message naming the expected PEM block", err)
	}
}
