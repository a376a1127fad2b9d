package provenancegate

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/maestro-conductor/releasegate/internal/gate"
	prov "github.com/maestro-conductor/releasegate/internal/provenance"
	"github.com/maestro-conductor/releasegate/internal/provenance/oci"
	"github.com/maestro-conductor/releasegate/internal/provenance/sigstoretest"
)

// simpleSigning is cosign's legacy signed payload for an image digest.
func simpleSigning(repo name.Repository, d v1.Hash) []byte {
	return fmt.Appendf(nil, `{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, repo.Name(), d.String())
}

// pushLegacy writes a cosign legacy signature manifest (tag
// sha256-<hex>.sig) with one simple-signing layer per signature.
func pushLegacy(t *testing.T, repo name.Repository, d v1.Hash, layers ...legacyLayer) {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	for _, l := range layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(l.payload, prov.SimpleSigningMediaType), Annotations: l.annotations})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := remote.Write(oci.LegacySignatureTag(repo.Digest(d.String())), img); err != nil {
		t.Fatal(err)
	}
}

type legacyLayer struct {
	payload     []byte
	annotations map[string]string
}

func keySign(t *testing.T, key *ecdsa.PrivateKey, payload []byte) string {
	t.Helper()
	h := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, key, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// keySignLogged signs payload with key and logs the signature in the
// in-process Rekor: the signature and cosign's legacy Rekor bundle of it.
func keySignLogged(t *testing.T, w *keylessWorld, key *ecdsa.PrivateKey, pubPEM, payload []byte) (sig, rekorBundle string) {
	t.Helper()
	sig = keySign(t, key, payload)
	raw, _ := base64.StdEncoding.DecodeString(sig)
	h := sha256.Sum256(payload)
	entry, err := w.sigstore.LogKeySigned(pubPEM, hex.EncodeToString(h[:]), raw, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rb, err := sigstoretest.LegacyRekorBundle(entry)
	if err != nil {
		t.Fatal(err)
	}
	return sig, rb
}

// TestLegacyCosignSignatureTags: images signed in cosign's format before
// bundles (a sha256-<hex>.sig tag with simple-signing layers and
// annotations), key-based with and without the Rekor entry, and keyless.
func TestLegacyCosignSignatureTags(t *testing.T) {
	t.Parallel()
	w := newKeylessWorld(t)
	repo := testRepository(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	w.write(t, "cosign.pub", pubPEM)

	// logged: key-signed and logged in Rekor, as `cosign sign --key` does.
	logged := pushImage(t, repo, "logged", nil)
	{
		payload := simpleSigning(repo, logged)
		sig, rb := keySignLogged(t, w, key, pubPEM, payload)
		pushLegacy(t, repo, logged, legacyLayer{payload, map[string]string{"dev.cosignproject.cosign/signature": sig, "dev.sigstore.cosign/bundle": rb}})
	}
	// unlogged: key-signed with --tlog-upload=false.
	unlogged := pushImage(t, repo, "unlogged", nil)
	pushLegacy(t, repo, unlogged, legacyLayer{simpleSigning(repo, unlogged), map[string]string{"dev.cosignproject.cosign/signature": keySign(t, key, simpleSigning(repo, unlogged))}})
	// copied: a valid signature of another image copied onto this one.
	copied := pushImage(t, repo, "copied", nil)
	pushLegacy(t, repo, copied, legacyLayer{simpleSigning(repo, unlogged), map[string]string{"dev.cosignproject.cosign/signature": keySign(t, key, simpleSigning(repo, unlogged))}})
	// forged: signed by another key; garbled: not base64.
	forged := pushImage(t, repo, "forged", nil)
	pushLegacy(t, repo, forged, legacyLayer{simpleSigning(repo, forged), map[string]string{"dev.cosignproject.cosign/signature": keySign(t, other, simpleSigning(repo, forged))}})
	garbled := pushImage(t, repo, "garbled", nil)
	pushLegacy(t, repo, garbled, legacyLayer{simpleSigning(repo, garbled), map[string]string{"dev.cosignproject.cosign/signature": "%%%"}})
	// keyless: a Fulcio certificate and a Rekor entry in the annotations.
	keyless := pushImage(t, repo, "keyless", nil)
	attacker := pushImage(t, repo, "attacker", nil)
	for d, who := range map[v1.Hash]string{keyless: releaseWorkflow, attacker: attackerFlow} {
		payload := simpleSigning(repo, d)
		l, err := w.sigstore.SignLegacy(signer(who, prov.GitHubActionsIssuer), payload)
		if err != nil {
			t.Fatal(err)
		}
		pushLegacy(t, repo, d, legacyLayer{payload, map[string]string{"dev.cosignproject.cosign/signature": l.Signature,
			"dev.sigstore.cosign/certificate": l.Certificate, "dev.sigstore.cosign/chain": l.Chain, "dev.sigstore.cosign/bundle": l.RekorBundle}})
	}

	at := func(d v1.Hash) string { return repo.Name() + "@" + d.String() }
	withKey := Spec{Key: "cosign.pub", TrustedRoot: "trusted_root.json"}
	ignoreTlog := Spec{Key: "cosign.pub", InsecureIgnoreTlog: true}
	keylessSpec := Spec{TrustedRoot: "trusted_root.json", CertificateOIDCIssuer: prov.GitHubActionsIssuer, CertificateIdentity: releaseWorkflow}
	cases := []struct {
		name    string
		spec    Spec
		ref     string
		status  gate.Status
		message string
	}{
		{"a key signature logged in Rekor passes", withKey, at(logged), gate.StatusPass, "signed by public key (cosign signature tag sha256-" + logged.Hex + ".sig); rekor log index"},
		{"a key signature without log entry fails against a trusted root", withKey, at(unlogged), gate.StatusFail, "no transparency-log entry"},
		{"a key signature without log entry passes with insecure-ignore-tlog", ignoreTlog, at(unlogged), gate.StatusPass, "cosign signature tag"},
		{"a signature copied from another image fails", ignoreTlog, at(copied), gate.StatusFail, "signed image digest: expected sha256:" + copied.Hex},
		{"a signature by another key fails", ignoreTlog, at(forged), gate.StatusFail, "signature verification failed"},
		{"a garbled signature annotation fails", ignoreTlog, at(garbled), gate.StatusFail, "malformed bundle"},
		{"a keyless legacy signature passes", keylessSpec, at(keyless), gate.StatusPass, "signed by " + releaseWorkflow + " (cosign signature tag"},
		{"a keyless legacy signature by another workflow fails", keylessSpec, at(attacker), gate.StatusFail, "signer identity: expected " + releaseWorkflow},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.spec
			s.Images = []string{tc.ref}
			res, err := evaluate(context.Background(), New(gate.Meta{ID: "legacy"}, s, gate.Env{PolicyDir: w.dir}))
			if err != nil {
				t.Fatal(err)
			}
			var c *gate.Check
			for i := range res.Checks {
				if res.Checks[i].Name == "signature "+tc.ref {
					c = &res.Checks[i]
				}
			}
			if c == nil || c.Status != tc.status || !strings.Contains(c.Message, tc.message) {
				t.Fatalf("checks %+v, want signature %s containing %q", res.Checks, tc.status, tc.message)
			}
		})
	}
}

// TestCosignBlobBundles: the blob bundle of `cosign sign-blob --bundle`
// before the Sigstore bundle format, keyless and key-based.
func TestCosignBlobBundles(t *testing.T) {
	t.Parallel()
	w := newKeylessWorld(t)
	blob := []byte("release-1.4.2.tar.gz\n")
	w.write(t, "release.tar.gz", blob)
	w.write(t, "tampered.tar.gz", append(blob, '!'))
	legacyBlobBundle := func(sig, certPEM, rekorBundle string) []byte {
		m := map[string]any{"base64Signature": sig}
		if certPEM != "" {
			m["cert"] = base64.StdEncoding.EncodeToString([]byte(certPEM))
		}
		if rekorBundle != "" {
			m["rekorBundle"] = json.RawMessage(rekorBundle)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, who := range map[string]string{"keyless.bundle": releaseWorkflow, "attacker.bundle": attackerFlow} {
		l, err := w.sigstore.SignLegacy(signer(who, prov.GitHubActionsIssuer), blob)
		if err != nil {
			t.Fatal(err)
		}
		w.write(t, name, legacyBlobBundle(l.Signature, l.Certificate, l.RekorBundle))
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	w.write(t, "cosign.pub", pubPEM)
	sig, rb := keySignLogged(t, w, key, pubPEM, blob)
	w.write(t, "key.bundle", legacyBlobBundle(sig, "", rb))
	w.write(t, "key-unlogged.bundle", legacyBlobBundle(sig, "", ""))

	keyless := func(path, bundle string) Spec {
		return Spec{TrustedRoot: "trusted_root.json", Blobs: []Blob{{Path: path, Bundle: bundle}},
			CertificateOIDCIssuer: prov.GitHubActionsIssuer, CertificateIdentity: releaseWorkflow}
	}
	keyed := func(path, bundle string) Spec {
		return Spec{TrustedRoot: "trusted_root.json", Key: "cosign.pub", Blobs: []Blob{{Path: path, Bundle: bundle}}}
	}
	cases := []struct {
		name    string
		spec    Spec
		status  gate.Status
		message string
	}{
		{"a keyless cosign blob bundle passes", keyless("release.tar.gz", "keyless.bundle"), gate.StatusPass, "signed by " + releaseWorkflow},
		{"it fails for a changed blob", keyless("tampered.tar.gz", "keyless.bundle"), gate.StatusFail, "signature verification failed"},
		{"another workflow's fails naming the identity", keyless("release.tar.gz", "attacker.bundle"), gate.StatusFail, "signer identity: expected"},
		{"a key-signed cosign blob bundle passes", keyed("release.tar.gz", "key.bundle"), gate.StatusPass, "signed by public key; rekor log index"},
		{"a key-signed one fails for a changed blob", keyed("tampered.tar.gz", "key.bundle"), gate.StatusFail, "signature verification failed"},
		{"one without its Rekor entry fails saying why", keyed("release.tar.gz", "key-unlogged.bundle"), gate.StatusFail, "without its Rekor entry"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := w.run(t, tc.spec)
			name := "signature " + tc.spec.Blobs[0].Path
			var c *gate.Check
			for i := range res.Checks {
				if res.Checks[i].Name == name {
					c = &res.Checks[i]
				}
			}
			if c == nil || c.Status != tc.status || !strings.Contains(c.Message, tc.message) {
				t.Fatalf("checks %+v, want %s %s containing %q", res.Checks, name, tc.status, tc.message)
			}
		})
	}
}

// TestLegacyTagRegistryErrors: a registry error on the signature tag does
// not spoil a verifying bundle, and without one it is "could not
// evaluate", never a verdict.
func TestLegacyTagRegistryErrors(t *testing.T) {
	t.Parallel()
	w := newKeylessWorld(t)
	reg := registry.New(registry.WithReferrersSupport(true), registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".sig") {
			http.Error(rw, "upstream timeout", http.StatusBadGateway)
			return
		}
		reg.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	repo, err := name.NewRepository(strings.TrimPrefix(srv.URL, "http://") + "/acme/api")
	if err != nil {
		t.Fatal(err)
	}
	signed := pushImage(t, repo, "signed", func(d v1.Hash) []byte {
		b, err := w.sigstore.SignDigest(signer(releaseWorkflow, prov.GitHubActionsIssuer), d.Hex)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
	unsigned := pushImage(t, repo, "unsigned", nil)
	spec := func(d v1.Hash) Spec {
		return Spec{TrustedRoot: "trusted_root.json", Images: []string{repo.Name() + "@" + d.String()},
			CertificateOIDCIssuer: prov.GitHubActionsIssuer, CertificateIdentity: releaseWorkflow}
	}
	res, err := evaluate(context.Background(), New(gate.Meta{ID: "i"}, spec(signed), gate.Env{PolicyDir: w.dir}))
	if err != nil || res.Status != gate.StatusPass {
		t.Fatalf("a verifying bundle with a failing signature tag: err = %v, result %+v", err, res)
	}
	if _, err := evaluate(context.Background(), New(gate.Meta{ID: "i"}, spec(unsigned), gate.Env{PolicyDir: w.dir})); !errors.Is(err, gate.ErrUnreachable) {
		t.Fatalf("no bundle and a failing signature tag: err = %v, want ErrUnreachable", err)
	}
}

// TestDetachedKeySignature: `cosign sign-blob --key … --output-signature`
// without a bundle: verifiable offline with the key, and without a Rekor
// entry only with insecure-ignore-tlog.
func TestDetachedKeySignature(t *testing.T) {
	t.Parallel()
	w := newKeylessWorld(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	w.write(t, "cosign.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	blob := []byte("notes\n")
	w.write(t, "notes.txt", blob)
	w.write(t, "other.txt", []byte("other\n"))
	w.write(t, "notes.txt.sig", []byte(keySign(t, key, blob)+"\n"))
	detached := func(path string, f func(*Spec)) Spec {
		s := Spec{Key: "cosign.pub", InsecureIgnoreTlog: true, Blobs: []Blob{{Path: path, Signature: "notes.txt.sig"}}}
		if f != nil {
			f(&s)
		}
		return s
	}
	for _, tc := range []struct {
		name    string
		spec    Spec
		status  gate.Status
		message string
	}{
		{"the key's signature passes and warns that no log was checked", detached("notes.txt", nil), gate.StatusPass, "signed by public key"},
		{"another file fails", detached("other.txt", nil), gate.StatusFail, "signature verification failed"},
		{"against a trusted root it fails for want of a Rekor entry", detached("notes.txt", func(s *Spec) { s.InsecureIgnoreTlog, s.TrustedRoot = false, "trusted_root.json" }),
			gate.StatusFail, "no transparency-log entry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := evaluate(context.Background(), New(gate.Meta{ID: "d"}, tc.spec, gate.Env{PolicyDir: w.dir}))
			if err != nil {
				t.Fatal(err)
			}
			c := res.Checks[0]
			if c.Name != "signature "+tc.spec.Blobs[0].Path || c.Status != tc.status || !strings.Contains(c.Message, tc.message) {
				t.Fatalf("checks %+v, want %s containing %q", res.Checks, tc.status, tc.message)
			}
		})
	}
	for _, tc := range []struct {
		name, want string
		spec       Spec
	}{
		{"a detached signature without key is bad input", "needs key", Spec{TrustedRoot: "trusted_root.json", CertificateOIDCIssuer: prov.GitHubActionsIssuer,
			CertificateIdentity: releaseWorkflow, Blobs: []Blob{{Path: "notes.txt", Signature: "notes.txt.sig"}}}},
		{"a signature and a bundle is bad input", "set one", detached("notes.txt", func(s *Spec) { s.Blobs[0].Bundle = "x.json" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := evaluate(context.Background(), New(gate.Meta{ID: "d"}, tc.spec, gate.Env{PolicyDir: w.dir}))
			if !errors.Is(err, gate.ErrBadInput) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want bad input naming %q", err, tc.want)
			}
		})
	}
}

// TestLegacyAttestationTags: SLSA provenance of an image in cosign's
// legacy attestation format (sha256-<hex>.att, a DSSE envelope layer with
// the certificate and Rekor entry in annotations), as slsa-github-
// generator's container generator pushes it.
func TestLegacyAttestationTags(t *testing.T) {
	t.Parallel()
	w := newKeylessWorld(t)
	repo := testRepository(t)
	const builder = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0"
	attest := func(d v1.Hash, source string) {
		st := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://slsa.dev/provenance/v0.2",
"subject":[{"name":%q,"digest":{"sha256":%q}}],
"predicate":{"builder":{"id":%q},"buildType":"https://github.com/slsa-framework/slsa-github-generator/container@v1",
"invocation":{"configSource":{"uri":"git+%s@refs/tags/v1.4.2","digest":{"sha1":"4d329c75e7ec1725f7c9ce917a8799d408d06be3"},"entryPoint":".github/workflows/release.yml"}}}}`,
			repo.Name(), d.Hex, builder, source)
		env, l, err := w.sigstore.AttestLegacy(sigstoretest.Signer{Identity: builder, Issuer: prov.GitHubActionsIssuer,
			SourceRepository: source, SourceRef: "refs/tags/v1.4.2", SourceDigest: "4d329c75e7ec1725f7c9ce917a8799d408d06be3"}, []byte(st))
		if err != nil {
			t.Fatal(err)
		}
		img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
			Layer: static.NewLayer(env, prov.DSSEMediaType),
			Annotations: map[string]string{"dev.cosignproject.cosign/signature": "", "dev.sigstore.cosign/certificate": l.Certificate,
				"dev.sigstore.cosign/chain": l.Chain, "dev.sigstore.cosign/bundle": l.RekorBundle}})
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(oci.LegacyAttestationTag(repo.Digest(d.String())), img); err != nil {
			t.Fatal(err)
		}
	}
	built := pushImage(t, repo, "v1.4.2", nil)
	attest(built, "https://github.com/acme/api")
	forked := pushImage(t, repo, "forked", nil)
	attest(forked, "https://github.com/mallory/api")
	bare := pushImage(t, repo, "bare", nil)
	for _, tc := range []struct {
		name    string
		d       v1.Hash
		status  gate.Status
		message string
	}{
		{"the generator's legacy attestation passes", built, gate.StatusPass, "built by " + builder + " from github.com/acme/api@refs/tags/v1.4.2 (commit 4d329c75e7ec; cosign attestation tag sha256-" + built.Hex + ".att)"},
		{"a build of a fork fails naming the source", forked, gate.StatusFail, `source: expected github.com/acme/api, got "github.com/mallory/api"`},
		{"an image with neither bundle nor attestation tag fails", bare, gate.StatusFail, "no cosign signature tag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := w.run(t, Spec{Images: []string{repo.Name() + "@" + tc.d.String()}, SourceURI: "github.com/acme/api", SourceVersionedTag: "v1"})
			if len(res.Checks) != 1 || res.Checks[0].Status != tc.status || !strings.Contains(res.Checks[0].Message, tc.message) {
				t.Fatalf("checks %+v, want %s containing %q", res.Checks, tc.status, tc.message)
			}
		})
	}
}
