package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
