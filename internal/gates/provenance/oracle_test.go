package provenancegate

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
	prov "github.com/maestro-conductor/releasegate/internal/provenance"
	"github.com/maestro-conductor/releasegate/internal/provenance/sigstoretest"
	"github.com/maestro-conductor/releasegate/internal/testutil"
)

// realDir holds the real vectors (see its README).
const realDir = "../../provenance/testdata/real"

// realCase is a real GitHub artifact attestation, the policy its reference
// tool verified it with, and that tool's verdict.
type realCase struct {
	name, artifact, bundle, root string
	spec                         Spec
	pass                         bool
}

func realCases() []realCase {
	pg := "sigstore-go/public-good.json"
	rl := Spec{SourceURI: "github.com/aspect-build/rules_lint", SourceBranch: "publish-to-bcr"}
	with := func(s Spec, f func(*Spec)) Spec { f(&s); return s }
	return []realCase{
		{"bcr MODULE.bazel", "slsa-verifier/bcr/MODULE.bazel", "slsa-verifier/bcr/MODULE.bazel.intoto.jsonl", pg,
			with(rl, func(s *Spec) { s.SignerWorkflow = "bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml" }), true},
		{"bcr source archive", "slsa-verifier/bcr/rules_lint-v1.3.1.tar.gz", "slsa-verifier/bcr/rules_lint-v1.3.1.tar.gz.intoto.jsonl", pg,
			with(rl, func(s *Spec) {
				s.SignerWorkflow = "bazel-contrib/.github/.github/workflows/release_ruleset.yaml@refs/tags/v7.1.0"
			}), true},
		{"bcr wrong signer", "slsa-verifier/bcr/MODULE-wrong-signer.bazel", "slsa-verifier/bcr/MODULE-wrong-signer.bazel.intoto.jsonl", pg,
			with(rl, func(s *Spec) { s.SignerWorkflow = "bazel-contrib/publish-to-bcr/.github/workflows/publish.yaml" }), false},
		{"reusable workflow", "cli-cli/reusable-workflow-artifact", "cli-cli/reusable-workflow-attestation.sigstore.json", pg,
			Spec{SourceURI: "github.com/malancas/attest-demo", SourceBranch: "main", SignerWorkflow: "github/artifact-attestations-workflows/.github/workflows/attest.yml"}, true},
		{"custom issuer", "cli-cli/custom-issuer-artifact", "cli-cli/custom-issuer.sigstore.json", pg,
			Spec{SourceURI: "github.com/too-legit/attest", SourceBranch: "main", ProvenanceIssuer: prov.GitHubActionsIssuer + "/hammer-time",
				SignerWorkflow: "too-legit/attest/.github/workflows/integration.yml"}, true},
		{"private instance against public-good", "cli-cli/github_provenance_demo-0.0.12-py3-none-any.whl", "cli-cli/github_provenance_demo-0.0.12-py3-none-any-bundle.jsonl", pg,
			Spec{SourceURI: "github.com/actions/attest-demo", SourceBranch: "main"}, false},
	}
}

// TestCosignAgreesOnRealAttestations runs the cosign command that
// OutsideCommands gives an auditor, offline, on the real GitHub artifact
// attestations, and requires the gate's verdict: for each as it is, and
// for each passing one with a wrong signer workflow, source repository,
// branch, or one flipped byte of the artifact. cosign is built by `make
// oracles` (tools/oracles/go.mod) into RELEASEGATE_ORACLES; the test
// skips locally without it and fails under CI. slsa-verifier's
// verify-github-attestation is not run: it refreshes Sigstore's TUF root
// over the network.
func TestCosignAgreesOnRealAttestations(t *testing.T) {
	t.Parallel()
	cosign := filepath.Join(testutil.RequireEnv(t, "RELEASEGATE_ORACLES", "cosign (`make oracles`)"), "cosign")
	if _, err := os.Stat(cosign); err != nil {
		t.Fatalf("oracle cosign: %v; run `make oracles`", err)
	}
	real, err := filepath.Abs(realDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range realCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			base := c.spec
			base.TrustedRoot = filepath.Join(real, c.root)
			base.Provenance = filepath.Join(real, c.bundle)
			artifact := filepath.Join(real, c.artifact)
			tampered := filepath.Join(tmp, filepath.Base(c.artifact))
			data, err := os.ReadFile(artifact)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 1
			if err := os.WriteFile(tampered, data, 0o644); err != nil {
				t.Fatal(err)
			}
			type variant struct {
				what, artifact string
				edit           func(*Spec)
				pass           bool
			}
			variants := []variant{{"as upstream verified it", artifact, func(*Spec) {}, c.pass}}
			if c.pass {
				variants = append(variants,
					variant{"wrong signer workflow", artifact, func(s *Spec) { s.SignerWorkflow = "acme/tools/.github/workflows/release.yml" }, false},
					variant{"wrong source repository", artifact, func(s *Spec) { s.SourceURI = "github.com/acme/other" }, false},
					variant{"wrong branch", artifact, func(s *Spec) { s.SourceBranch = "release" }, false},
					variant{"one flipped artifact byte", tampered, func(*Spec) {}, false})
			}
			for _, v := range variants {
				s := base
				v.edit(&s)
				s.Artifacts = []string{v.artifact}
				res, err := evaluate(t.Context(), New(gate.Meta{ID: "real", Group: "provenance", Required: true}, s, gate.Env{PolicyDir: tmp}))
				if err != nil {
					t.Fatalf("%s: could not evaluate: %v", v.what, err)
				}
				if got := res.Status == gate.StatusPass; got != v.pass {
					t.Errorf("%s: releasegate %s, want pass=%v: %+v", v.what, res.Status, v.pass, res.Checks)
				}
				argv := outsideCommands(s, v.artifact, s.Provenance)[2]
				cmd := exec.Command(cosign, argv[1:]...)
				cmd.Dir = tmp
				cmd.Env = []string{"HOME=" + tmp, "PATH=/usr/bin:/bin", "SIGSTORE_NO_CACHE=true", "TUF_ROOT=" + filepath.Join(tmp, ".tuf")}
				out, err := cmd.CombinedOutput()
				if _, ok := err.(*exec.ExitError); err != nil && !ok {
					t.Fatalf("%s: cosign: %v", v.what, err)
				}
				if got := err == nil; got != v.pass {
					t.Errorf("%s: cosign accepted=%v, releasegate pass=%v; %s\n%s", v.what, got, v.pass, shellLine(argv), out)
				}
			}
		})
	}
}

// TestCosignAgreesOnGitHubInstance: the cosign line for sigstore-instance
// github verifies an attestation of the in-process copy of GitHub's
// instance (no log entry, no SCT, a signed timestamp) like the gate, and
// refuses it with the public-good mapping, like the gate.
func TestCosignAgreesOnGitHubInstance(t *testing.T) {
	t.Parallel()
	cosign := filepath.Join(testutil.RequireEnv(t, "RELEASEGATE_ORACLES", "cosign (`make oracles`)"), "cosign")
	gh, err := sigstoretest.NewGitHub()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rootJSON, err := gh.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	art := []byte("private api binary")
	sum := sha256.Sum256(art)
	data, err := gh.Attest(githubSigner(attestSigner, "github-hosted"),
		attestation(hex.EncodeToString(sum[:]), attestSigner, "https://github.com/acme/api", ".github/workflows/release.yml", "refs/tags/v1.4.2"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"github.json": rootJSON, "api": art, "api.sigstore.json": data} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, instance := range []string{prov.InstanceGitHub, prov.InstancePublicGood} {
		s := Spec{Artifacts: []string{"api"}, Provenance: "api.sigstore.json", TrustedRoot: "github.json", SigstoreInstance: instance,
			SourceURI: "github.com/acme/api", SourceTag: "v1.4.2", SignerWorkflow: "acme/api/.github/workflows/release.yml"}
		res := runGitHubGate(t, dir, s)
		argv := outsideCommands(s, "api", "api.sigstore.json")[2]
		cmd := exec.Command(cosign, argv[1:]...)
		cmd.Dir = dir
		cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "SIGSTORE_NO_CACHE=true", "TUF_ROOT=" + filepath.Join(dir, ".tuf")}
		out, err := cmd.CombinedOutput()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatalf("cosign: %v", err)
		}
		want := instance == prov.InstanceGitHub
		if got := res.Status == gate.StatusPass; got != want {
			t.Errorf("%s: releasegate %s, want pass=%v: %+v", instance, res.Status, want, res.Checks)
		}
		if got := err == nil; got != want {
			t.Errorf("%s: cosign accepted=%v, want %v; %s\n%s", instance, got, want, shellLine(argv), out)
		}
	}
}
