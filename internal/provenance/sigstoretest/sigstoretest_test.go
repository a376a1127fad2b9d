package sigstoretest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"testing"
	"time"

	prov "github.com/maestro-conductor/releasegate/internal/provenance"
	"github.com/maestro-conductor/releasegate/internal/provenance/sigstoretest"
	"github.com/sigstore/sigstore-go/pkg/root"
)

// TestBundlesVerifyWithSCTs: what the fake writes verifies with every
// check on (SCT, SET, inclusion proof, timestamp), after a round trip
// through trusted_root.json and bundle JSON.
func TestBundlesVerifyWithSCTs(t *testing.T) {
	t.Parallel()
	s, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	rootJSON, err := s.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromJSON(rootJSON)
	if err != nil {
		t.Fatal(err)
	}
	v, err := prov.NewVerifier(prov.Options{TrustedRoot: tr})
	if err != nil {
		t.Fatal(err)
	}
	const who, iss = "https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1.2.3", "https://token.actions.githubusercontent.com"
	blob := []byte("hello")
	sum := sha256.Sum256(blob)
	id := prov.Identity{Issuer: iss, Identity: who}
	for name, sg := range map[string]sigstoretest.Signer{
		"with a timestamp":   {Identity: who, Issuer: iss},
		"log time only":      {Identity: who, Issuer: iss, NoTimestamp: true},
		"a second log entry": {Identity: who, Issuer: iss},
	} {
		data, err := s.SignBlob(sg, blob)
		if err != nil {
			t.Fatal(err)
		}
		bundles, err := prov.ParseBundles(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sig, err := v.VerifyBlob(bundles[0], hex.EncodeToString(sum[:]), id)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if sig.Signer != who || sig.Log == nil || sig.Log.Index < 1 {
			t.Fatalf("%s: %+v", name, sig)
		}
	}
	// Fail closed on each missing piece.
	noSCT, err := s.SignBlob(sigstoretest.Signer{Identity: who, Issuer: iss, NoSCT: true}, blob)
	if err != nil {
		t.Fatal(err)
	}
	late, err := s.SignBlob(sigstoretest.Signer{Identity: who, Issuer: iss, LoggedAt: time.Now().Add(time.Hour)}, blob)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"no SCT": noSCT, "logged after the certificate expired": late} {
		bundles, err := prov.ParseBundles(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.VerifyBlob(bundles[0], hex.EncodeToString(sum[:]), id); !errors.Is(err, prov.ErrSignature) {
			t.Errorf("%s: err = %v, want ErrSignature", name, err)
		}
	}
}

func verifierFor(t *testing.T, s *sigstoretest.Sigstore, instance string) *prov.Verifier {
	t.Helper()
	rootJSON, err := s.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := prov.ParseTrustedRoot(rootJSON, instance)
	if err != nil {
		t.Fatal(err)
	}
	v, err := prov.NewVerifier(prov.Options{TrustedRoot: tr, Instance: instance})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRekorV2Entries: blobs, digests and attestations logged as Rekor v2
// hashedrekord 0.0.2 entries verify (time from the timestamp authority),
// and need that timestamp: without it nothing says when the certificate
// was used.
func TestRekorV2Entries(t *testing.T) {
	t.Parallel()
	s, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	v := verifierFor(t, s, prov.InstancePublicGood)
	const who, iss = "https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1.2.3", prov.GitHubActionsIssuer
	id := prov.Identity{Issuer: iss, Identity: who}
	blob := []byte("hello v2")
	sum := sha256.Sum256(blob)
	sumHex := hex.EncodeToString(sum[:])
	statement := []byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"hello","digest":{"sha256":"` + sumHex + `"}}],"predicateType":"https://example.test/p","predicate":{}}`)
	sg := sigstoretest.Signer{Identity: who, Issuer: iss, RekorV2: true}
	sign := map[string]func(sigstoretest.Signer) ([]byte, error){
		"blob":        func(sg sigstoretest.Signer) ([]byte, error) { return s.SignBlob(sg, blob) },
		"digest":      func(sg sigstoretest.Signer) ([]byte, error) { return s.SignDigest(sg, sumHex) },
		"attestation": func(sg sigstoretest.Signer) ([]byte, error) { return s.Attest(sg, statement) },
	}
	for name, f := range sign {
		data, err := f(sg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		bundles, err := prov.ParseBundles(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := v.VerifyBlob(bundles[0], sumHex, id)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.Log == nil || !got.Log.Rekor2 || got.Log.Index < 1 || got.SignedTime.IsZero() || !got.Log.IntegratedTime.IsZero() {
			t.Fatalf("%s: expected a rekor v2 entry timed by the timestamp authority, got %+v at %v", name, got.Log, got.SignedTime)
		}
		untimed := sg
		untimed.NoTimestamp = true
		data, err = f(untimed)
		if err != nil {
			t.Fatal(err)
		}
		bundles, err = prov.ParseBundles(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.VerifyBlob(bundles[0], sumHex, id); !errors.Is(err, prov.ErrSignature) {
			t.Errorf("%s without a signed timestamp: err = %v, want ErrSignature", name, err)
		}
	}
}

// TestGitHubInstance: GitHub's instance logs nothing; its bundles verify
// against its root with sigstore-instance github, and are refused against
// a public-good root (and the reverse) as from another instance.
func TestGitHubInstance(t *testing.T) {
	t.Parallel()
	gh, err := sigstoretest.NewGitHub()
	if err != nil {
		t.Fatal(err)
	}
	pg, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	const who = "https://github.com/acme/private/.github/workflows/release.yml@refs/tags/v1.0.0"
	id := prov.Identity{Issuer: prov.GitHubActionsIssuer, Identity: who}
	blob := []byte("private")
	sum := sha256.Sum256(blob)
	sumHex := hex.EncodeToString(sum[:])
	sign := func(s *sigstoretest.Sigstore, sg sigstoretest.Signer) []byte {
		t.Helper()
		data, err := s.SignBlob(sg, blob)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	verify := func(v *prov.Verifier, data []byte) (*prov.Signature, error) {
		bundles, err := prov.ParseBundles(data)
		if err != nil {
			return nil, err
		}
		return v.VerifyBlob(bundles[0], sumHex, id)
	}
	ghV, pgV := verifierFor(t, gh, prov.InstanceGitHub), verifierFor(t, pg, prov.InstancePublicGood)
	private := sign(gh, sigstoretest.Signer{Identity: who, Issuer: prov.GitHubActionsIssuer})
	public := sign(pg, sigstoretest.Signer{Identity: who, Issuer: prov.GitHubActionsIssuer})
	got, err := verify(ghV, private)
	if err != nil || got.Log != nil || got.SignedTime.IsZero() {
		t.Fatalf("github bundle against its root: expected a pass timed by the timestamp authority, got %+v, %v", got, err)
	}
	if _, err := verify(pgV, private); !errors.Is(err, prov.ErrWrongInstance) {
		t.Errorf("github bundle against a public-good root: err = %v, want ErrWrongInstance", err)
	}
	if _, err := verify(ghV, public); !errors.Is(err, prov.ErrWrongInstance) {
		t.Errorf("public-good bundle against a github root: err = %v, want ErrWrongInstance", err)
	}
	untimed := sign(gh, sigstoretest.Signer{Identity: who, Issuer: prov.GitHubActionsIssuer, NoTimestamp: true})
	if _, err := verify(ghV, untimed); !errors.Is(err, prov.ErrSignature) || errors.Is(err, prov.ErrWrongInstance) {
		t.Errorf("github bundle without a timestamp: err = %v, want ErrSignature", err)
	}
	// gh attestation trusted-root prints one root per line; the instance
	// picks its own.
	ghJSON, err := gh.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	pgJSON, err := pg.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	var lines []byte
	for _, j := range [][]byte{pgJSON, ghJSON} {
		var buf bytes.Buffer
		if err := json.Compact(&buf, j); err != nil {
			t.Fatal(err)
		}
		lines = append(append(lines, buf.Bytes()...), '\n')
	}
	tr, err := prov.ParseTrustedRoot(lines, prov.InstanceGitHub)
	if err != nil {
		t.Fatal(err)
	}
	v, err := prov.NewVerifier(prov.Options{TrustedRoot: tr, Instance: prov.InstanceGitHub})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(v, private); err != nil {
		t.Errorf("github root picked from JSON lines: %v", err)
	}
}
