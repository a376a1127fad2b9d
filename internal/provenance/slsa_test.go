package provenance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testdata      = "../../testdata/provenance"
	genericArt    = testdata + "/gha_generic/binary-linux-amd64-push-v14"
	genericProv   = genericArt + ".intoto.jsonl"
	delegatorArt  = testdata + "/gha_delegator/binary-linux-amd64-push-v14"
	delegatorProv = delegatorArt + ".build.slsa"
	publicGood    = testdata + "/trusted-root-public-good.json"
	exampleRepo   = "github.com/slsa-framework/example-package"
	trwBuilder    = "https://github.com/slsa-framework/example-trw/.github/workflows/builder_high-perms_slsa3.yml@refs/tags/v2.1.0"
)

var (
	publicGoodOnce     sync.Once
	publicGoodVerifier *Verifier
	publicGoodErr      error
)

// realVerifier parses the public-good trusted root once for all tests.
func realVerifier(t *testing.T) *Verifier {
	t.Helper()
	publicGoodOnce.Do(func() {
		tr, err := LoadTrustedRoot(publicGood)
		if err != nil {
			publicGoodErr = err
			return
		}
		publicGoodVerifier, publicGoodErr = NewVerifier(Options{TrustedRoot: tr})
	})
	if publicGoodErr != nil {
		t.Fatal(publicGoodErr)
	}
	return publicGoodVerifier
}

func verifyOne(t *testing.T, v *Verifier, art, prov string, p Policy) ArtifactResult {
	t.Helper()
	b := &Batch{Verifier: v, Policy: p, Provenance: prov}
	return b.Run(context.Background(), []Artifact{{Name: filepath.Base(art), Path: art}})[0]
}

func TestRealBundlesVerifyOffline(t *testing.T) {
	t.Parallel()
	v := realVerifier(t)
	cases := []struct {
		name, art, prov, builder, subject string
		policy                            Policy
		logIndex                          int64
	}{
		{
			name: "the generic generator's v0.3 bundle with SLSA v0.2 provenance verifies at tag v14",
			art:  genericArt, prov: genericProv,
			policy:  Policy{SourceURI: exampleRepo, SourceTag: "v14"},
			builder: "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0",
			subject: "gha_generic-binary-linux-amd64-v14",
		},
		{
			name: "the delegator's v0.2 bundle with SLSA v1 provenance verifies with its BYOB builder trusted",
			art:  delegatorArt, prov: delegatorProv,
			policy:  Policy{SourceURI: "https://github.com/slsa-framework/example-package", SourceTag: "v14", BuilderIDs: []string{trwBuilder}},
			builder: trwBuilder,
			subject: "gha_delegator-binary-linux-amd64-v14",
		},
		{
			name: "a BYOB builder listed without a version matches its tagged release",
			art:  delegatorArt, prov: delegatorProv,
			policy:  Policy{SourceURI: exampleRepo, BuilderIDs: []string{strings.Split(trwBuilder, "@")[0]}},
			builder: trwBuilder,
			subject: "gha_delegator-binary-linux-amd64-v14",
		},
		{
			name: "recorded workflow inputs match",
			art:  delegatorArt, prov: delegatorProv,
			policy:  Policy{SourceURI: exampleRepo, BuilderIDs: []string{trwBuilder}, Inputs: map[string]string{"content": "hello", "rekor-log-public": "false"}},
			builder: trwBuilder,
			subject: "gha_delegator-binary-linux-amd64-v14",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := verifyOne(t, v, tc.art, tc.prov, tc.policy)
			if r.Err != nil {
				t.Fatalf("verification failed: %v", r.Err)
			}
			a := r.Attestation
			if a.Evidence.BuilderID != tc.builder {
				t.Errorf("builder id = %q, want %q", a.Evidence.BuilderID, tc.builder)
			}
			if a.Subject != tc.subject {
				t.Errorf("subject = %q, want %q", a.Subject, tc.subject)
			}
			if a.Evidence.CertSource != exampleRepo || a.Evidence.CertRef != "refs/tags/v14" || a.Evidence.CertCommit != "4d329c75e7ec1725f7c9ce917a8799d408d06be3" {
				t.Errorf("source %q ref %q commit %q", a.Evidence.CertSource, a.Evidence.CertRef, a.Evidence.CertCommit)
			}
			if a.Log == nil || a.Log.Index <= 0 {
				t.Fatalf("log entry = %+v, want a Rekor entry", a.Log)
			}
			if y := a.Log.IntegratedTime.Year(); y != 2025 {
				t.Errorf("integrated time %v, want February 2025", a.Log.IntegratedTime)
			}
		})
	}
}

func TestRealBundleNegativeVariants(t *testing.T) {
	t.Parallel()
	v := realVerifier(t)
	dir := t.TempDir()
	flipped := filepath.Join(dir, "flipped")
	data, err := os.ReadFile(genericArt)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0x01
	if err := os.WriteFile(flipped, data, 0o644); err != nil {
		t.Fatal(err)
	}
	good := Policy{SourceURI: exampleRepo, SourceTag: "v14"}
	with := func(f func(*Policy)) Policy { p := good; f(&p); return p }
	cases := []struct {
		name      string
		art, prov string
		policy    Policy
		want      error
		inMessage string
	}{
		{"a flipped artifact byte is not a subject", flipped, genericProv, good, ErrMismatchSubject, "artifact digest"},
		{"a wrong source repository fails", genericArt, genericProv, with(func(p *Policy) { p.SourceURI = "github.com/slsa-framework/other" }), ErrMismatchSource, "github.com/slsa-framework/other"},
		{"a wrong tag fails", genericArt, genericProv, with(func(p *Policy) { p.SourceTag = "v13" }), ErrMismatchRef, "refs/tags/v13"},
		{"a versioned tag of another major fails", genericArt, genericProv, with(func(p *Policy) { p.SourceTag = ""; p.SourceVersionedTag = "v1" }), ErrMismatchRef, "versioned tag"},
		{"a branch on a tag build fails", genericArt, genericProv, with(func(p *Policy) { p.SourceTag = ""; p.SourceBranch = "main" }), ErrMismatchRef, "refs/heads/main"},
		{"a builder outside builder-ids fails", genericArt, genericProv, with(func(p *Policy) { p.BuilderIDs = []string{trwBuilder} }), ErrUntrustedBuilder, "builder id"},
		{"the generic provenance does not cover the delegator artifact", delegatorArt, genericProv, good, ErrMismatchSubject, "gha_generic-binary-linux-amd64-v14"},
		{"a delegator (BYOB) builder is not trusted implicitly", delegatorArt, delegatorProv, good, ErrUntrustedBuilder, "--builder-id"},
		{"a wrong workflow input fails", delegatorArt, delegatorProv, with(func(p *Policy) { p.BuilderIDs = []string{trwBuilder}; p.Inputs = map[string]string{"content": "bye"} }), ErrMismatchInputs, "content"},
		{"a missing workflow input fails", delegatorArt, delegatorProv, with(func(p *Policy) { p.BuilderIDs = []string{trwBuilder}; p.Inputs = map[string]string{"nope": "x"} }), ErrMismatchInputs, "nope"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := verifyOne(t, v, tc.art, tc.prov, tc.policy)
			if r.Err == nil {
				t.Fatal("verification passed, want a failure")
			}
			if !errors.Is(r.Err, tc.want) {
				t.Fatalf("error %q does not match %v", r.Err, tc.want)
			}
			if !strings.Contains(r.Err.Error(), tc.inMessage) {
				t.Errorf("message %q does not name %q", r.Err, tc.inMessage)
			}
		})
	}
}

func TestForeignTrustedRootFails(t *testing.T) {
	t.Parallel()
	vs := newVirtual(t)
	v, err := NewVerifier(Options{TrustedRoot: vs})
	if err != nil {
		t.Fatal(err)
	}
	r := verifyOne(t, v, genericArt, genericProv, Policy{SourceURI: exampleRepo, SourceTag: "v14"})
	if !errors.Is(r.Err, ErrSignature) {
		t.Fatalf("error = %v, want ErrSignature", r.Err)
	}
}

func TestVerificationDoesNotDependOnTheClock(t *testing.T) {
	t.Parallel()
	// The bundles' certificates expired ten minutes after issue in
	// February 2025; they verify because the chain is checked at the
	// Rekor integrated time.
	r := verifyOne(t, realVerifier(t), genericArt, genericProv, Policy{SourceURI: exampleRepo})
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if since := time.Since(r.Attestation.Log.IntegratedTime); since < 24*time.Hour {
		t.Fatalf("integrated time %v is recent; the test vector should be old", r.Attestation.Log.IntegratedTime)
	}
}
