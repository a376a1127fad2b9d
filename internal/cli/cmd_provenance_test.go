package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/provenance/sigstoretest"
)

func TestVerifyProvenanceExitCodes(t *testing.T) {
	const dir = "../../testdata/provenance/"
	base := []string{"verify-provenance", "--checks", "never", "--trusted-root", dir + "trusted-root-public-good.json",
		"--artifact", dir + "gha_generic/binary-linux-amd64-push-v14", "--source-uri", "github.com/slsa-framework/example-package"}
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
		stdout string
	}{
		{"the real bundle at its tag exits 0", []string{"--source-tag", "v14"}, ExitOK, "", "PASSED"},
		{"a versioned tag matching the tag exits 0", []string{"--source-versioned-tag", "v14"}, ExitOK, "", "PASSED"},
		{"a wrong tag exits 1", []string{"--source-tag", "v13"}, ExitFail, "", "expected refs/tags/v13"},
		{"a BYOB artifact without --builder-id exits 1", []string{"--artifact", dir + "gha_delegator/binary-linux-amd64-push-v14"}, ExitFail, "", "--builder-id"},
		{"a tag and a branch together exit 2", []string{"--source-tag", "v14", "--source-branch", "main"}, ExitBadInput, "set one", ""},
		{"a match-anything identity exits 2", []string{"--blob", dir + "LICENSE", "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com", "--certificate-identity-regexp", ".*"}, ExitBadInput, "matches any signer", ""},
		{"a malformed --input exits 2", []string{"--input", "novalue"}, ExitBadInput, "NAME=VALUE", ""},
		{"an unreachable registry exits 3", []string{"--image", "127.0.0.1:9/acme/api:v1"}, ExitError, "source unreachable", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, append(append([]string{}, base...), tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.stderr) || !strings.Contains(r.stdout, tc.stdout) {
				t.Errorf("stdout %q / stderr %q, want %q / %q", r.stdout, r.stderr, tc.stdout, tc.stderr)
			}
		})
	}
}

func TestVerifyProvenanceJSON(t *testing.T) {
	const dir = "../../testdata/provenance/"
	r := runCLI(t, nil, "verify-provenance", "--checks", "never", "--format", "json", "--trusted-root", dir+"trusted-root-public-good.json",
		"--artifact", dir+"gha_delegator/binary-linux-amd64-push-v14", "--source-uri", "github.com/slsa-framework/example-package",
		"--source-tag", "v14", "--builder-id", "https://github.com/slsa-framework/example-trw/.github/workflows/builder_high-perms_slsa3.yml",
		"--input", "content=hello")
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s %s", r.code, r.stdout, r.stderr)
	}
	if !json.Valid([]byte(r.stdout)) || !strings.Contains(r.stdout, `"rekor_log_index"`) || !strings.Contains(r.stdout, `"commit": "4d329c75e7ec1725f7c9ce917a8799d408d06be3"`) {
		t.Fatalf("json output lacks the per-artifact details:\n%s", r.stdout)
	}
}

// TestVerifyProvenanceKeylessBlob drives the keyless blob path from the
// flags, with bundles from the in-process Sigstore.
func TestVerifyProvenanceKeylessBlob(t *testing.T) {
	const (
		workflow = "https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1.4.2"
		issuer   = "https://token.actions.githubusercontent.com"
	)
	s, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	blob := []byte("checksums\n")
	rootJSON, err := s.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	good, err := s.SignBlob(sigstoretest.Signer{Identity: workflow, Issuer: issuer}, blob)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"trusted_root.json": rootJSON, "SHA256SUMS": blob, "SHA256SUMS.sigstore.json": good} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"verify-provenance", "--checks", "never", "--trusted-root", filepath.Join(dir, "trusted_root.json"),
		"--blob", filepath.Join(dir, "SHA256SUMS"), "--certificate-oidc-issuer", issuer}
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
	}{
		{"the signing workflow exits 0", []string{"--certificate-identity", workflow}, ExitOK, "PASSED"},
		{"an anchored pattern exits 0", []string{"--certificate-identity-regexp", `^https://github\.com/acme/api/\.github/workflows/release\.yml@refs/tags/v1\..*$`}, ExitOK, "PASSED"},
		{"another identity exits 1 naming it", []string{"--certificate-identity", "https://github.com/acme/api/.github/workflows/other.yml@refs/heads/main"}, ExitFail, "signer identity: expected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, append(append([]string{}, base...), tc.args...)...)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.stdout) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestPolicyKeylessBlobAndImage goes policy file → runner → gates →
// results: a keyless-signed blob and a keyless-signed image in an
// in-process registry, each pinned to the release workflow's identity.
func TestPolicyKeylessBlobAndImage(t *testing.T) {
	const (
		workflow = "https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1.4.2"
		issuer   = "https://token.actions.githubusercontent.com"
	)
	s, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/acme/api")
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(128, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Tag("v1.4.2"), img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	desc, err := remote.Head(repo.Digest(d.String()))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := s.SignDigest(sigstoretest.Signer{Identity: workflow, Issuer: issuer}, d.Hex)
	if err != nil {
		t.Fatal(err)
	}
	const bundleType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	att, err := mutate.AppendLayers(mutate.ConfigMediaType(empty.Image, bundleType), static.NewLayer(sig, bundleType))
	if err != nil {
		t.Fatal(err)
	}
	att = mutate.Subject(att, *desc).(v1.Image)
	ad, _ := att.Digest()
	if err := remote.Write(repo.Digest(ad.String()), att); err != nil {
		t.Fatal(err)
	}

	blob := []byte("checksums\n")
	blobSig, err := s.SignBlob(sigstoretest.Signer{Identity: workflow, Issuer: issuer}, blob)
	if err != nil {
		t.Fatal(err)
	}
	rootJSON, err := s.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	policyFor := func(identity, image string) string {
		return fmt.Sprintf(`version: 1
gates:
  - id: checksums-signed
    kind: provenance
    with:
      trusted-root: trusted_root.json
      blobs: [{path: SHA256SUMS}]
      certificate-oidc-issuer: %[1]s
      certificate-identity: %[2]s
  - id: image-signed
    kind: provenance
    with:
      trusted-root: trusted_root.json
      images: [%[3]q]
      certificate-oidc-issuer: %[1]s
      certificate-identity: %[2]s
`, issuer, identity, image)
	}
	cases := []struct {
		name     string
		policy   string
		code     int
		contains []string
	}{
		{"the release workflow's signatures pass", policyFor(workflow, repo.Name()+"@"+d.String()), ExitOK,
			[]string{`"signer": "` + workflow + `"`, `"digest": "` + d.String() + `"`, `"rekor_log_index"`}},
		{"a tag-only image reference passes with a warning and records the digest", policyFor(workflow, repo.Name()+":v1.4.2"), ExitOK,
			[]string{`"status": "warn"`, "pin " + repo.Name() + "@" + d.String()}},
		{"another identity fails both gates", policyFor("https://github.com/acme/api/.github/workflows/other.yml@refs/heads/main", repo.Name()+"@"+d.String()), ExitFail,
			[]string{"signer identity: expected https://github.com/acme/api/.github/workflows/other.yml@refs/heads/main"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writePolicy(t, tc.policy)
			dir := filepath.Dir(p)
			for name, data := range map[string][]byte{"trusted_root.json": rootJSON, "SHA256SUMS": blob, "SHA256SUMS.sigstore.json": blobSig} {
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := runCLI(t, nil, "run", "--policy", p, "--format", "json")
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, want := range tc.contains {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("results lack %q:\n%s", want, r.stdout)
				}
			}
		})
	}
}

// TestVerifyProvenanceGoesThroughTheRunner: verify-provenance is judged by
// gate.Runner, so a stopped run does not start the gate — the same
// artifact that passes above is not verified under a cancelled context, and
// the command exits 3 saying why instead of passing.
func TestVerifyProvenanceGoesThroughTheRunner(t *testing.T) {
	t.Parallel()
	const dir = "../../testdata/provenance/"
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(fmt.Errorf("%w: interrupt", gate.ErrCancelled))
	var out, errb bytes.Buffer
	o := &IO{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		Getenv: func(string) string { return "" }, LookupEnv: func(string) (string, bool) { return "", false }}
	code := o.Main(ctx, []string{"verify-provenance", "--checks", "never", "--trusted-root", dir + "trusted-root-public-good.json",
		"--artifact", dir + "gha_generic/binary-linux-amd64-push-v14", "--source-uri", "github.com/slsa-framework/example-package", "--source-tag", "v14"})
	if code != ExitError || strings.Contains(out.String(), "PASSED") || !strings.Contains(errb.String(), "not started: cancelled") {
		t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, ExitError, out.String(), errb.String())
	}
}
