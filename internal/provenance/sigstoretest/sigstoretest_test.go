package sigstoretest_test

import (
	"crypto/sha256"
	"encoding/hex"
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
