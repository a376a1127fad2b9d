package provenancegate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
	prov "github.com/maestro-conductor/releasegate/internal/provenance"
	"github.com/maestro-conductor/releasegate/internal/provenance/sigstoretest"
	"github.com/sigstore/sigstore-go/pkg/root"
)

const (
	attestSigner = "https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1.4.2"
	sharedSigner = "https://github.com/acme/workflows/.github/workflows/attest.yml@refs/tags/v3.0.0"
	githubCommit = "0123456789abcdef0123456789abcdef01234567"
)

// attestation is a GitHub artifact attestation statement in the current
// format (actions/attest-build-provenance v2): builder.id is the signer.
func attestation(sum, builder, repo, path, ref string) []byte {
	return fmt.Appendf(nil, `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"api-linux-amd64","digest":{"sha256":%q}}],
"predicateType":"https://slsa.dev/provenance/v1",
"predicate":{"buildDefinition":{"buildType":"https://actions.github.io/buildtypes/workflow/v1",
"externalParameters":{"workflow":{"ref":%q,"repository":%q,"path":%q}},
"internalParameters":{"github":{"event_name":"push","runner_environment":"github-hosted"}},
"resolvedDependencies":[{"uri":"git+%s@%s","digest":{"gitCommit":%q}}]},
"runDetails":{"builder":{"id":%q},"metadata":{"invocationId":"https://github.com/acme/api/actions/runs/1/attempts/1"}}}}`,
		sum, ref, repo, path, repo, ref, githubCommit, builder)
}

// githubSigner is the certificate GitHub Actions gets for a run of
// .github/workflows/release.yml of acme/api at v1.4.2, signed by signerURI.
func githubSigner(signerURI, runner string) sigstoretest.Signer {
	return sigstoretest.Signer{Identity: signerURI, Issuer: prov.GitHubActionsIssuer,
		SourceRepository: "https://github.com/acme/api", SourceRef: "refs/tags/v1.4.2", SourceDigest: githubCommit,
		BuildSigner: signerURI, BuildSignerDigest: githubCommit, RunnerEnvironment: runner, Trigger: "push",
		BuildConfig: "https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1.4.2"}
}

func runGitHubGate(t *testing.T, dir string, s Spec) *gate.Result {
	t.Helper()
	res, err := evaluate(context.Background(), New(gate.Meta{ID: "attestations", Group: "provenance", Required: true}, s, gate.Env{PolicyDir: dir}))
	if err != nil {
		t.Fatalf("could not evaluate: %v", err)
	}
	return res
}

// TestGitHubAttestationsThroughTheGate: each case changes one thing of a
// good GitHub artifact attestation or of the policy; the gate names what
// did not match.
func TestGitHubAttestationsThroughTheGate(t *testing.T) {
	t.Parallel()
	pg, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	gh, err := sigstoretest.NewGitHub()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pgRoot, err := pg.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	ghRoot, err := gh.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	write("public-good.json", pgRoot)
	write("github.json", ghRoot)
	art := []byte("api binary")
	write("api-linux-amd64", art)
	h := sha256.Sum256(art)
	sum := hex.EncodeToString(h[:])
	const repo, path, ref = "https://github.com/acme/api", ".github/workflows/release.yml", "refs/tags/v1.4.2"
	good := attestation(sum, attestSigner, repo, path, ref)

	type bundleCase struct {
		sigstore *sigstoretest.Sigstore
		signer   sigstoretest.Signer
		stmt     []byte
	}
	bundles := map[string]bundleCase{
		"good": {pg, githubSigner(attestSigner, "github-hosted"), good},
		"rekor v2": {pg, func() sigstoretest.Signer {
			s := githubSigner(attestSigner, "github-hosted")
			s.RekorV2 = true
			return s
		}(), good},
		"private":       {gh, githubSigner(attestSigner, "github-hosted"), good},
		"self-hosted":   {pg, githubSigner(attestSigner, "self-hosted"), good},
		"shared":        {pg, githubSigner(sharedSigner, "github-hosted"), attestation(sum, sharedSigner, repo, path, ref)},
		"builder lies":  {pg, githubSigner(attestSigner, "github-hosted"), attestation(sum, sharedSigner, repo, path, ref)},
		"workflow lies": {pg, githubSigner(attestSigner, "github-hosted"), attestation(sum, attestSigner, repo, ".github/workflows/other.yml", ref)},
		"legacy runner": {pg, githubSigner(attestSigner, "github-hosted"), attestation(sum, prov.GitHubHostedRunner, repo, path, ref)},
		"runner lies":   {pg, githubSigner(attestSigner, "self-hosted"), attestation(sum, prov.GitHubHostedRunner, repo, path, ref)},
		"no runner":     {pg, githubSigner(attestSigner, ""), attestation(sum, prov.GitHubHostedRunner, repo, path, ref)},
		"other branch": {pg, func() sigstoretest.Signer {
			s := githubSigner(attestSigner, "github-hosted")
			s.SourceRef = "refs/heads/main"
			return s
		}(), good},
		"another source": {pg, func() sigstoretest.Signer {
			s := githubSigner(attestSigner, "github-hosted")
			s.SourceRepository = "https://github.com/mallory/api"
			return s
		}(), good},
	}
	for name, b := range bundles {
		data, err := b.sigstore.Attest(b.signer, b.stmt)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		write(name+".sigstore.json", data)
	}
	base := Spec{Artifacts: []string{"api-linux-amd64"}, TrustedRoot: "public-good.json", SourceURI: "github.com/acme/api", SourceTag: "v1.4.2"}
	for _, c := range []struct {
		name   string
		bundle string
		edit   func(*Spec)
		want   gate.Status
		err    error // the sentinel the failure message names
	}{
		{name: "a current GitHub attestation passes", bundle: "good", want: gate.StatusPass},
		{name: "a named signer workflow passes", bundle: "good", edit: func(s *Spec) { s.SignerWorkflow = "acme/api/.github/workflows/release.yml@refs/tags/v1.4.2" }, want: gate.StatusPass},
		{name: "a Rekor v2 entry timed by the TSA passes", bundle: "rekor v2", want: gate.StatusPass},
		{name: "GitHub's instance passes against its root", bundle: "private", edit: func(s *Spec) { s.TrustedRoot, s.SigstoreInstance = "github.json", prov.InstanceGitHub }, want: gate.StatusPass},
		{name: "the older runner-as-builder format passes", bundle: "legacy runner", want: gate.StatusPass},
		{name: "a reusable workflow passes when named", bundle: "shared", edit: func(s *Spec) { s.SignerWorkflow = "acme/workflows/.github/workflows/attest.yml" }, want: gate.StatusPass},
		{name: "self-hosted passes when allowed", bundle: "self-hosted", edit: func(s *Spec) { s.RunnerEnvironment = prov.RunnerSelfHosted }, want: gate.StatusPass},
		{name: "GitHub's instance against the public-good root", bundle: "private", want: gate.StatusFail, err: prov.ErrWrongInstance},
		{name: "the public-good instance against GitHub's root", bundle: "good", edit: func(s *Spec) { s.TrustedRoot, s.SigstoreInstance = "github.json", prov.InstanceGitHub }, want: gate.StatusFail, err: prov.ErrWrongInstance},
		{name: "another signer workflow", bundle: "good", edit: func(s *Spec) { s.SignerWorkflow = "acme/api/.github/workflows/nightly.yml" }, want: gate.StatusFail, err: prov.ErrMismatchSigner},
		{name: "the right signer at another ref", bundle: "good", edit: func(s *Spec) { s.SignerWorkflow = "acme/api/.github/workflows/release.yml@refs/tags/v1.4.3" }, want: gate.StatusFail, err: prov.ErrMismatchSigner},
		{name: "a reusable workflow not named", bundle: "shared", want: gate.StatusFail, err: prov.ErrMismatchSigner},
		{name: "right signer, wrong source ref", bundle: "other branch", want: gate.StatusFail, err: prov.ErrMismatchRef},
		{name: "right signer, wrong source repository", bundle: "another source", want: gate.StatusFail, err: prov.ErrMismatchSource},
		{name: "a self-hosted runner by default", bundle: "self-hosted", want: gate.StatusFail, err: prov.ErrMismatchRunner},
		{name: "a builder id that did not sign", bundle: "builder lies", want: gate.StatusFail, err: prov.ErrUntrustedBuilder},
		{name: "a workflow the certificate does not name", bundle: "workflow lies", want: gate.StatusFail, err: prov.ErrMismatchSource},
		{name: "a certificate without a runner environment", bundle: "no runner", want: gate.StatusFail, err: prov.ErrMismatchRunner},
		{name: "no runner environment is accepted with any", bundle: "no runner", edit: func(s *Spec) { s.RunnerEnvironment = prov.RunnerAny }, want: gate.StatusPass},
		{name: "a runner the certificate does not name", bundle: "runner lies", edit: func(s *Spec) { s.RunnerEnvironment = prov.RunnerAny }, want: gate.StatusFail, err: prov.ErrUntrustedBuilder},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := base
			s.Provenance = c.bundle + ".sigstore.json"
			if c.edit != nil {
				c.edit(&s)
			}
			res := runGitHubGate(t, dir, s)
			if res.Status != c.want {
				t.Fatalf("status = %s, want %s: %+v", res.Status, c.want, res.Checks)
			}
			if c.err == nil {
				return
			}
			// The failure is the verifier's typed error, re-run directly.
			v, err := prov.NewVerifier(prov.Options{TrustedRoot: mustRoot(t, filepath.Join(dir, s.TrustedRoot), s.SigstoreInstance), Instance: s.SigstoreInstance})
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, s.Provenance))
			if err != nil {
				t.Fatal(err)
			}
			bs, err := prov.ParseBundles(data)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.VerifyProvenance(bs[0], sum, s.SLSAPolicy()); !errors.Is(err, c.err) {
				t.Fatalf("expected %v, got %v", c.err, err)
			}
		})
	}
}

func mustRoot(t *testing.T, path, instance string) *root.TrustedRoot {
	t.Helper()
	tr, err := prov.LoadTrustedRootFor(path, instance)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestGitHubSettingsBadInput: a match-anything signer and unknown
// enumerations are bad input, each at its key.
func TestGitHubSettingsBadInput(t *testing.T) {
	t.Parallel()
	base := Spec{Artifacts: []string{"a"}, TrustedRoot: "r.json", SourceURI: "github.com/acme/api"}
	for _, c := range []struct {
		name  string
		edit  func(*Spec)
		field string
		any   bool
	}{
		{"a wildcard signer", func(s *Spec) { s.SignerWorkflow = ".*" }, "signer-workflow", true},
		{"an owner wildcard", func(s *Spec) { s.SignerWorkflow = "acme/*" }, "signer-workflow", true},
		{"an owner alone", func(s *Spec) { s.SignerWorkflow = "acme" }, "signer-workflow", true},
		{"a blank signer", func(s *Spec) { s.SignerWorkflow = "  " }, "signer-workflow", true},
		{"a repository without a workflow", func(s *Spec) { s.SignerWorkflow = "acme/api/build.sh" }, "signer-workflow", false},
		{"a bad signer ref", func(s *Spec) { s.SignerWorkflow = "acme/api/.github/workflows/r.yml@main" }, "signer-workflow", false},
		{"an unknown runner", func(s *Spec) { s.RunnerEnvironment = "cloud" }, "runner-environment", false},
		{"a foreign issuer", func(s *Spec) { s.ProvenanceIssuer = "https://gitlab.com" }, "provenance-issuer", false},
		{"an unknown instance", func(s *Spec) { s.SigstoreInstance = "staging" }, "sigstore-instance", false},
		{"GitHub's instance online", func(s *Spec) { s.TrustedRoot, s.Online, s.SigstoreInstance = "", true, prov.InstanceGitHub }, "sigstore-instance", false},
		{"signer settings without artifacts", func(s *Spec) {
			s.Artifacts, s.SourceURI, s.SignerWorkflow = nil, "", "acme/api/.github/workflows/r.yml"
			s.Blobs = []Blob{{Path: "b"}}
			s.CertificateIdentity, s.CertificateOIDCIssuer = "x@acme.example", "https://accounts.acme.example"
		}, "artifacts", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := base
			c.edit(&s)
			errs := s.Validate()
			found := false
			for _, err := range errs {
				var fe *policy.FieldError
				if errors.As(err, &fe) && fe.Field == c.field {
					found = true
					if c.any && !errors.Is(err, prov.ErrAnyIdentity) {
						t.Errorf("%v: expected it to wrap %v", err, prov.ErrAnyIdentity)
					}
				}
			}
			if !found {
				t.Fatalf("expected an error at %s, got %v", c.field, errs)
			}
		})
	}
}
