package provenancegate

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
	prov "github.com/maestro-conductor/releasegate/internal/provenance"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// vectors is the repository's copy of the real slsa-github-generator
// bundles; the policy directory of every test gate.
var vectors, _ = filepath.Abs("../../../testdata/provenance")

const (
	exampleRepo = "github.com/slsa-framework/example-package"
	trwBuilder  = "https://github.com/slsa-framework/example-trw/.github/workflows/builder_high-perms_slsa3.yml@refs/tags/v2.1.0"
)

func goodSpec() Spec {
	return Spec{
		Artifacts:   []string{"gha_generic/binary-linux-amd64-push-v14"},
		TrustedRoot: "trusted-root-public-good.json",
		SourceURI:   exampleRepo,
		SourceTag:   "v14",
	}
}

func run(t *testing.T, s Spec) (*gate.Result, error) {
	t.Helper()
	g := New(gate.Meta{ID: "provenance", Group: "provenance", Required: true}, s, gate.Env{PolicyDir: vectors})
	return evaluate(context.Background(), g)
}

func TestGateVerdicts(t *testing.T) {
	t.Parallel()
	with := func(f func(*Spec)) Spec { s := goodSpec(); f(&s); return s }
	cases := []struct {
		name    string
		spec    Spec
		status  gate.Status
		message string
	}{
		{"the real generic artifact passes", goodSpec(), gate.StatusPass, "rekor log index 174298180"},
		{"both real artifacts pass with the BYOB builder trusted", with(func(s *Spec) {
			s.Artifacts = []string{"gha_*/binary-linux-amd64-push-v14"}
			s.BuilderIDs = []string{trwBuilder, prov.GeneratorBuilders[0]}
		}), gate.StatusPass, "example-trw"},
		{"a wrong tag fails", with(func(s *Spec) { s.SourceTag = "v13" }), gate.StatusFail, "tag: expected refs/tags/v13"},
		{"a wrong source fails", with(func(s *Spec) { s.SourceURI = "github.com/slsa-framework/other" }), gate.StatusFail, "source: expected github.com/slsa-framework/other"},
		{"a provenance for another artifact fails", with(func(s *Spec) {
			s.Artifacts = []string{"gha_delegator/binary-linux-amd64-push-v14"}
			s.Provenance = "gha_generic/binary-linux-amd64-push-v14.intoto.jsonl"
		}), gate.StatusFail, "artifact digest"},
		{"an artifact without provenance fails", with(func(s *Spec) { s.Artifacts = []string{"LICENSE"} }), gate.StatusFail, "no provenance next to"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := run(t, tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.status {
				t.Fatalf("status = %s, want %s: %+v", res.Status, tc.status, res.Checks)
			}
			var all []string
			for _, c := range res.Checks {
				all = append(all, c.Message)
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.message) {
				t.Errorf("messages %q do not contain %q", all, tc.message)
			}
			if len(res.Inputs) < 2 || !strings.HasPrefix(res.Inputs[0].Digest, "sha256:") {
				t.Errorf("inputs = %+v, want the trusted root and the artifacts with digests", res.Inputs)
			}
		})
	}
}

func TestChecksumsFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	art, err := os.ReadFile(filepath.Join(vectors, "gha_generic/binary-linux-amd64-push-v14"))
	if err != nil {
		t.Fatal(err)
	}
	copyFile := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile("bin", art)
	bundle, err := os.ReadFile(filepath.Join(vectors, "gha_generic/binary-linux-amd64-push-v14.intoto.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	copyFile("bin.intoto.jsonl", bundle)
	sum := sha256.Sum256(art)
	copyFile("SHA256SUMS", fmt.Appendf(nil, "%x  bin\n", sum))
	copyFile("BADSUMS", fmt.Appendf(nil, "%x  bin\n", sha256.Sum256([]byte("other"))))
	root := filepath.Join(vectors, "trusted-root-public-good.json")
	for _, tc := range []struct {
		name, file string
		status     gate.Status
	}{
		{"a matching checksums file passes", "SHA256SUMS", gate.StatusPass},
		{"a checksum that does not match the file fails", "BADSUMS", gate.StatusFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := New(gate.Meta{ID: "p"}, Spec{Checksums: []string{tc.file}, TrustedRoot: root, SourceURI: exampleRepo}, gate.Env{PolicyDir: dir})
			res, err := evaluate(context.Background(), g)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.status {
				t.Fatalf("status = %s, want %s: %+v", res.Status, tc.status, res.Checks)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	with := func(f func(*Spec)) Spec { s := goodSpec(); f(&s); return s }
	cases := []struct {
		name, want string
		spec       Spec
	}{
		{"a missing artifact is bad input", "no such file", with(func(s *Spec) { s.Artifacts = []string{"missing.bin"} })},
		{"a trusted root that is not one is bad input", "trusted_root.json", with(func(s *Spec) { s.TrustedRoot = "LICENSE" })},
		{"no trusted root offline is bad input", "trusted-root", with(func(s *Spec) { s.TrustedRoot = "" })},
		{"no source uri is bad input", "source-uri", with(func(s *Spec) { s.SourceURI = "" })},
		{"nothing to verify is bad input", "nothing to verify", Spec{TrustedRoot: "x"}},
		{"a match-anything identity for blobs is bad input", "matches any signer", Spec{TrustedRoot: "x",
			Blobs: []Blob{{Path: "b"}}, CertificateOIDCIssuer: prov.GitHubActionsIssuer, CertificateIdentityRegexp: "^.*$"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := run(t, tc.spec)
			if !errors.Is(err, gate.ErrBadInput) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want bad input naming %q", err, tc.want)
			}
		})
	}
}

// TestOnlineFailsClosed: an unreachable TUF mirror is "could not
// evaluate", never a silent fall-back to anything else.
func TestOnlineFailsClosed(t *testing.T) {
	t.Parallel()
	s := goodSpec()
	s.TrustedRoot, s.Online, s.TUFMirror = "", true, "http://127.0.0.1:9"
	_, err := run(t, s)
	if !errors.Is(err, gate.ErrUnreachable) || !strings.Contains(err.Error(), "127.0.0.1:9") {
		t.Fatalf("err = %v, want ErrUnreachable naming the mirror", err)
	}
	s.TrustedRoot = "trusted-root-public-good.json"
	if _, err := run(t, s); !errors.Is(err, gate.ErrBadInput) {
		t.Fatalf("online with a pinned root: err = %v, want bad input", err)
	}
}

// failingTransport fails the test on any HTTP request.
type failingTransport struct{ t *testing.T }

func (f failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("network call in offline mode: %s %s", r.Method, r.URL)
	return nil, errors.New("network disabled by test")
}

// TestOfflineMakesNoNetworkCall runs a full verification with every HTTP
// path blocked: the default transport fails the test and the proxies
// point at a closed port.
func TestOfflineMakesNoNetworkCall(t *testing.T) {
	// Not parallel: it swaps process-wide settings.
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:9")
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:9")
	saved := http.DefaultTransport
	http.DefaultTransport = failingTransport{t}
	defer func() { http.DefaultTransport = saved }()
	s := goodSpec()
	s.Artifacts = []string{"gha_*/binary-linux-amd64-push-v14"}
	s.BuilderIDs = []string{trwBuilder, prov.GeneratorBuilders[0]}
	res, err := run(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != gate.StatusPass {
		t.Fatalf("status %s: %+v", res.Status, res.Checks)
	}
}

func TestKeyBlobAndInsecureWarnings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	blob := []byte("release notes")
	digest := sha256.Sum256(blob)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := protojson.Marshal(&protobundle.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: "k"}}},
		Content: &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
			MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]}, Signature: sig}},
	})
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"notes.txt":               blob,
		"notes.txt.sigstore.json": bundle,
		"cosign.pub":              pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"tampered.txt":            []byte("release notes!"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g := New(gate.Meta{ID: "sig"}, Spec{Key: "cosign.pub", InsecureIgnoreTlog: true,
		Blobs: []Blob{{Path: "notes.txt"}, {Path: "tampered.txt", Bundle: "notes.txt.sigstore.json"}}}, gate.Env{PolicyDir: dir})
	res, err := evaluate(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]gate.Status{"signature notes.txt": gate.StatusPass, "signature tampered.txt": gate.StatusFail, "transparency log": gate.StatusWarn}
	for _, c := range res.Checks {
		if want[c.Name] != c.Status {
			t.Errorf("check %s = %s (%s), want %s", c.Name, c.Status, c.Message, want[c.Name])
		}
		delete(want, c.Name)
	}
	if len(want) > 0 {
		t.Errorf("missing checks %v", want)
	}
	if res.Status != gate.StatusFail {
		t.Errorf("status = %s, want fail", res.Status)
	}
}

// TestInsecureAnyIdentityWarnsInEveryResult: the opt-out is accepted, and
// the result says so whatever the verdict.
func TestInsecureAnyIdentityWarnsInEveryResult(t *testing.T) {
	t.Parallel()
	s := Spec{TrustedRoot: "trusted-root-public-good.json", CertificateOIDCIssuer: prov.GitHubActionsIssuer,
		CertificateIdentityRegexp: "^.*$", InsecureAnyIdentity: true,
		Blobs: []Blob{{Path: "LICENSE", Bundle: "gha_generic/binary-linux-amd64-push-v14.intoto.jsonl"}}}
	res, err := run(t, s)
	if err != nil {
		t.Fatal(err)
	}
	var warned bool
	for _, c := range res.Checks {
		warned = warned || (c.Name == "signer identity" && c.Status == gate.StatusWarn && strings.Contains(c.Message, "insecure-any-identity"))
	}
	if !warned {
		t.Fatalf("no insecure-any-identity warning in %+v", res.Checks)
	}
	// The bundle signs another file: the blob check itself still fails.
	if res.Status != gate.StatusFail {
		t.Fatalf("status = %s, want fail", res.Status)
	}
}
