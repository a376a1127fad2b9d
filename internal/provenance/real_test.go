package provenance

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/provenance/sigstoretest"
)

// Real public vectors: GitHub artifact attestations and Rekor v2 bundles
// from cli/cli, slsa-framework/slsa-verifier, sigstore/sigstore-go and
// sigstore/sigstore-conformance (testdata/real/README.md names each
// source, commit and licence). The expected verdicts are those of the
// reference tools' own tests; every passing vector must also fail with a
// wrong signer workflow, source repository, ref, digest and one tampered
// byte. All of it offline: trusted roots come from testdata, and the
// long-expired certificates are checked at the time the log or the
// timestamp authority observed the signature.

const realDir = "testdata/real"

var (
	realOnce sync.Once
	realPG   *Verifier
	realErr  error
)

// realPublicGood is the public-good verifier over sigstore-go's pinned
// public-good root, parsed once.
func realPublicGood(t testing.TB) *Verifier {
	t.Helper()
	realOnce.Do(func() {
		tr, err := LoadTrustedRootFor(filepath.Join(realDir, "sigstore-go/public-good.json"), InstancePublicGood)
		if err != nil {
			realErr = err
			return
		}
		realPG, realErr = NewVerifier(Options{TrustedRoot: tr})
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realPG
}

// realAttestation is one real GitHub artifact attestation and the policy
// its reference tool verified it with.
type realAttestation struct {
	name     string
	bundle   string
	artifact string // hashed when set
	alg      string // digest algorithm; sha256 unless set
	digest   string // the subject digest upstream verified, when no artifact ships
	policy   Policy
	want     error // nil: verifies
}

const (
	bcrPublisher = "bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml"
	bcrReleaser  = "bazel-contrib/.github/.github/workflows/release_ruleset.yaml"
	attestShared = "github/artifact-attestations-workflows/.github/workflows/attest.yml"
)

var realAttestations = []realAttestation{
	// slsa-verifier cli/slsa-verifier/main_regression_test.go
	// Test_runVerifyGithubAttestation: reusable workflows of bazel-contrib
	// sign for aspect-build/rules_lint (builder id = signer workflow).
	{name: "bcr MODULE.bazel by the publishing workflow", bundle: "slsa-verifier/bcr/MODULE.bazel.intoto.jsonl", artifact: "slsa-verifier/bcr/MODULE.bazel",
		policy: Policy{SourceURI: "github.com/aspect-build/rules_lint", SourceBranch: "publish-to-bcr", SignerWorkflow: bcrPublisher}},
	{name: "bcr source archive by the release workflow", bundle: "slsa-verifier/bcr/rules_lint-v1.3.1.tar.gz.intoto.jsonl", artifact: "slsa-verifier/bcr/rules_lint-v1.3.1.tar.gz",
		policy: Policy{SourceURI: "github.com/aspect-build/rules_lint", SourceBranch: "publish-to-bcr", SignerWorkflow: bcrReleaser + "@refs/tags/v7.1.0"}},
	{name: "bcr MODULE.bazel signed by another workflow (upstream: ErrorUntrustedReusableWorkflow)", bundle: "slsa-verifier/bcr/MODULE-wrong-signer.bazel.intoto.jsonl", artifact: "slsa-verifier/bcr/MODULE-wrong-signer.bazel",
		policy: Policy{SourceURI: "github.com/aspect-build/rules_lint", SourceBranch: "publish-to-bcr", SignerWorkflow: bcrPublisher}, want: ErrMismatchSigner},
	{name: "bcr MODULE.bazel with the signer as builder id (slsa-verifier --builder-id)", bundle: "slsa-verifier/bcr/MODULE.bazel.intoto.jsonl", artifact: "slsa-verifier/bcr/MODULE.bazel",
		policy: Policy{SourceURI: "github.com/aspect-build/rules_lint", SourceBranch: "publish-to-bcr", BuilderIDs: []string{"https://github.com/" + bcrPublisher}}},
	{name: "bcr MODULE.bazel signed by another workflow, by builder id", bundle: "slsa-verifier/bcr/MODULE-wrong-signer.bazel.intoto.jsonl", artifact: "slsa-verifier/bcr/MODULE-wrong-signer.bazel",
		policy: Policy{SourceURI: "github.com/aspect-build/rules_lint", SourceBranch: "publish-to-bcr", BuilderIDs: []string{"https://github.com/" + bcrPublisher}}, want: ErrUntrustedBuilder},
	{name: "bcr MODULE.bazel without a named signer (upstream: ErrorUntrustedReusableWorkflow)", bundle: "slsa-verifier/bcr/MODULE.bazel.intoto.jsonl", artifact: "slsa-verifier/bcr/MODULE.bazel",
		policy: Policy{SourceURI: "github.com/aspect-build/rules_lint"}, want: ErrMismatchSigner},
	// cli/cli pkg/cmd/attestation/verify/verify_integration_test.go.
	{name: "reusable signer workflow", bundle: "cli-cli/reusable-workflow-attestation.sigstore.json", artifact: "cli-cli/reusable-workflow-artifact",
		policy: Policy{SourceURI: "github.com/malancas/attest-demo", SourceBranch: "main", SignerWorkflow: "github.com/" + attestShared}},
	{name: "reusable signer workflow pinned to its commit", bundle: "cli-cli/reusable-workflow-attestation.sigstore.json", artifact: "cli-cli/reusable-workflow-artifact",
		policy: Policy{SourceURI: "github.com/malancas/attest-demo", SignerWorkflow: attestShared + "@09b495c3f12c7881b3cc17209a327792065c1a1d"}},
	{name: "reusable workflow with an invalid signer workflow (upstream: error)", bundle: "cli-cli/reusable-workflow-attestation.sigstore.json", artifact: "cli-cli/reusable-workflow-artifact",
		policy: Policy{SourceURI: "github.com/malancas/attest-demo", SignerWorkflow: "foo/bar/.github/workflows/attest.yml"}, want: ErrMismatchSigner},
	{name: "GitHub Enterprise custom issuer", bundle: "cli-cli/custom-issuer.sigstore.json", artifact: "cli-cli/custom-issuer-artifact",
		policy: Policy{SourceURI: "github.com/too-legit/attest", SourceBranch: "main", Issuer: GitHubActionsIssuer + "/hammer-time",
			SignerWorkflow: "too-legit/attest/.github/workflows/integration.yml"}},
	{name: "custom issuer checked against the default issuer", bundle: "cli-cli/custom-issuer.sigstore.json", artifact: "cli-cli/custom-issuer-artifact",
		policy: Policy{SourceURI: "github.com/too-legit/attest"}, want: ErrUntrustedBuilder},
	{name: "sigstore-js 2.1.0 npm package (sha512)", bundle: "cli-cli/sigstore-js-2.1.0-bundle.json", artifact: "cli-cli/sigstore-js-2.1.0.tgz", alg: "sha512",
		policy: Policy{SourceURI: "github.com/sigstore/sigstore-js", SourceBranch: "main"}},
	{name: "sigstore-js 2.1.0 with another repository of the owner (upstream: error)", bundle: "cli-cli/sigstore-js-2.1.0-bundle.json", artifact: "cli-cli/sigstore-js-2.1.0.tgz", alg: "sha512",
		policy: Policy{SourceURI: "github.com/sigstore/fakerepo"}, want: ErrMismatchSource},
	// cli/cli test/integration/attestation-cmd/verify-local-artifacts.sh
	// (commit ba2567be): v0.2 and v0.3 bundles of sigstore-js 2.2.0.
	{name: "sigstore-js 2.2.0 v0.2 bundle", bundle: "cli-cli/sigstore.js-2.2.0.bundle.json", alg: "sha512",
		digest: "7dc53d7251f012cb36fccff5d4514cf09c1ce0f8c181b857a0db24a0ae60ba82b4a8640149e51b419449f81d9f0c522f8727f482a09a3eb7a5f66b336e1031ba",
		policy: Policy{SourceURI: "github.com/sigstore/sigstore-js", SourceBranch: "main", SignerWorkflow: "sigstore/sigstore-js/.github/workflows/release.yml"}},
	{name: "sigstore-js 2.2.0 v0.3 bundle", bundle: "cli-cli/sigstore.js-3.0.0.bundle.json", alg: "sha512",
		digest: "7dc53d7251f012cb36fccff5d4514cf09c1ce0f8c181b857a0db24a0ae60ba82b4a8640149e51b419449f81d9f0c522f8727f482a09a3eb7a5f66b336e1031ba",
		policy: Policy{SourceURI: "github.com/sigstore/sigstore-js", SourceBranch: "main"}},
	// A private repository's attestation, made by GitHub's own Sigstore
	// instance (no log entry, a timestamp from timestamp.githubapp.com):
	// the public-good root cannot vouch for it.
	{name: "GitHub private instance bundle against the public-good root", bundle: "cli-cli/github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl",
		artifact: "cli-cli/github_provenance_demo-0.0.12-py3-none-any.whl",
		policy:   Policy{SourceURI: "github.com/actions/attest-demo", SourceBranch: "main"}, want: ErrWrongInstance},
}

func (r realAttestation) verify(t testing.TB, v *Verifier, data []byte, digest string, p Policy) (*Attestation, error) {
	t.Helper()
	bundles, err := ParseBundles(data)
	if err != nil {
		return nil, err
	}
	return v.VerifyProvenanceDigest(bundles[0], r.algorithm(), digest, p)
}

func (r realAttestation) algorithm() string {
	if r.alg == "" {
		return "sha256"
	}
	return r.alg
}

func (r realAttestation) subjectDigest(t testing.TB) string {
	t.Helper()
	if r.artifact == "" {
		return r.digest
	}
	data, err := os.ReadFile(filepath.Join(realDir, r.artifact))
	if err != nil {
		t.Fatal(err)
	}
	if r.algorithm() == "sha512" {
		h := sha512.Sum512(data)
		return hex.EncodeToString(h[:])
	}
	return sha256Hex(data)
}

func TestRealGitHubAttestations(t *testing.T) {
	t.Parallel()
	v := realPublicGood(t)
	for _, r := range realAttestations {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join(realDir, r.bundle))
			if err != nil {
				t.Fatal(err)
			}
			digest := r.subjectDigest(t)
			a, err := r.verify(t, v, data, digest, r.policy)
			if r.want != nil {
				if !errors.Is(err, r.want) {
					t.Fatalf("expected %v, got %v", r.want, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("expected to verify, got %v", err)
			}
			if a.Log == nil || a.Log.IntegratedTime.IsZero() {
				t.Errorf("expected the rekor entry that vouched for the signing time, got %+v", a.Log)
			}
			if !isGitHubAttestation(a.Evidence.Provenance) {
				t.Errorf("expected a GitHub artifact attestation, got build type %q", a.Evidence.BuildType)
			}
			// Each identity field, changed alone, fails with its own error.
			wrong := func(f func(*Policy)) Policy { p := r.policy; f(&p); return p }
			for _, m := range []struct {
				what string
				p    Policy
				want error
			}{
				{"wrong signer workflow", wrong(func(p *Policy) { p.SignerWorkflow = "acme/tools/.github/workflows/release.yml" }), ErrMismatchSigner},
				{"wrong source repository", wrong(func(p *Policy) { p.SourceURI = "github.com/acme/other" }), ErrMismatchSource},
				{"wrong branch", wrong(func(p *Policy) { p.SourceBranch = "release" }), ErrMismatchRef},
				{"wrong tag", wrong(func(p *Policy) { p.SourceBranch, p.SourceTag = "", "v9.9.9" }), ErrMismatchRef},
				{"self-hosted required", wrong(func(p *Policy) { p.RunnerEnvironment = RunnerSelfHosted }), ErrMismatchRunner},
			} {
				if _, err := r.verify(t, v, data, digest, m.p); !errors.Is(err, m.want) {
					t.Errorf("%s: expected %v, got %v", m.what, m.want, err)
				}
			}
			other := []byte(digest)
			other[0] ^= 1
			if _, err := r.verify(t, v, data, string(other), r.policy); !errors.Is(err, ErrMismatchSubject) {
				t.Errorf("wrong digest: expected %v, got %v", ErrMismatchSubject, err)
			}
			if _, err := r.verify(t, v, tamperSignature(t, data), digest, r.policy); !errors.Is(err, ErrSignature) {
				t.Errorf("tampered signature byte: expected %v, got %v", ErrSignature, err)
			}
		})
	}
}

// tamperSignature flips one bit of the DSSE signature of the bundle's first
// line.
func tamperSignature(t testing.TB, data []byte) []byte {
	t.Helper()
	bundles, err := ParseBundles(data)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := bundles[0].MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	sigs := b["dsseEnvelope"].(map[string]any)["signatures"].([]any)
	s := sigs[0].(map[string]any)
	sig, err := base64.StdEncoding.DecodeString(s["sig"].(string))
	if err != nil {
		t.Fatal(err)
	}
	sig[len(sig)/2] ^= 1
	s["sig"] = base64.StdEncoding.EncodeToString(sig)
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRealPublicGoodBundleAgainstGitHubRoot is the reverse of the private
// instance case: a real public-good attestation checked against a GitHub
// instance root (the virtual Sigstore's, as GitHub's real root is not
// public in any repository here) is refused as from another instance.
func TestRealPublicGoodBundleAgainstGitHubRoot(t *testing.T) {
	t.Parallel()
	s, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := s.TrustedRoot()
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(Options{TrustedRoot: tr, Instance: InstanceGitHub})
	if err != nil {
		t.Fatal(err)
	}
	r := realAttestations[0]
	data, err := os.ReadFile(filepath.Join(realDir, r.bundle))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.verify(t, v, data, r.subjectDigest(t), r.policy)
	if !errors.Is(err, ErrWrongInstance) || !errors.Is(err, ErrSignature) {
		t.Fatalf("expected %v and %v, got %v", ErrWrongInstance, ErrSignature, err)
	}
}
