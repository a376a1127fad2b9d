package provenance

import (
	"errors"
	"os"
	"testing"
)

// sentinels are the errors a failed verification may wrap.
var sentinels = []error{ErrMalformedBundle, ErrSignature, ErrMismatchSubject, ErrUntrustedBuilder,
	ErrMismatchSource, ErrMismatchRef, ErrMismatchInputs, ErrMismatchIdentity}

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
	for _, p := range []string{genericProv, delegatorProv} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	tr, err := LoadTrustedRoot(publicGood)
	if err != nil {
		f.Fatal(err)
	}
	v, err := NewVerifier(Options{TrustedRoot: tr})
	if err != nil {
		f.Fatal(err)
	}
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
