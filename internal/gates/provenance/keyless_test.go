package provenancegate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/maestro-conductor/releasegate/internal/gate"
	prov "github.com/maestro-conductor/releasegate/internal/provenance"
	"github.com/maestro-conductor/releasegate/internal/provenance/sigstoretest"
)

const (
	releaseWorkflow = "https://github.com/acme/api/.github/workflows/release.yml@refs/tags/v1.4.2"
	attackerFlow    = "https://github.com/mallory/api/.github/workflows/release.yml@refs/tags/v1.4.2"
	gitlabIssuer    = "https://gitlab.com"
)

// keylessWorld is an in-process Sigstore with its trusted_root.json
// written in a policy directory.
type keylessWorld struct {
	sigstore *sigstoretest.Sigstore
	dir      string
}

func newKeylessWorld(t *testing.T) *keylessWorld {
	t.Helper()
	s, err := sigstoretest.New()
	if err != nil {
		t.Fatal(err)
	}
	w := &keylessWorld{sigstore: s, dir: t.TempDir()}
	rootJSON, err := s.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	w.write(t, "trusted_root.json", rootJSON)
	return w
}

func (w *keylessWorld) write(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (w *keylessWorld) run(t *testing.T, s Spec) *gate.Result {
	t.Helper()
	s.TrustedRoot = "trusted_root.json"
	res, err := evaluate(context.Background(), New(gate.Meta{ID: "keyless", Group: "provenance", Required: true}, s, gate.Env{PolicyDir: w.dir}))
	if err != nil {
		t.Fatalf("could not evaluate: %v", err)
	}
	return res
}

func signer(identity, issuer string) sigstoretest.Signer {
	return sigstoretest.Signer{Identity: identity, Issuer: issuer}
}

// editJSON applies f to a bundle's JSON.
func editJSON(t *testing.T, data []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func material(m map[string]any) map[string]any { return m["verificationMaterial"].(map[string]any) }

// TestKeylessBlobThroughTheGate: policy → gate → Result for blobs signed
// by the in-process Sigstore (Fulcio certificate with SCT, Rekor entry with
// SET and inclusion proof, TSA timestamp), every check on.
func TestKeylessBlobThroughTheGate(t *testing.T) {
	t.Parallel()
	w := newKeylessWorld(t)
	blob := []byte("SHA256SUMS of release v1.4.2\n")
	w.write(t, "SHA256SUMS", blob)
	w.write(t, "tampered", append([]byte("x"), blob...))
	sign := func(sg sigstoretest.Signer) []byte {
		b, err := w.sigstore.SignBlob(sg, blob)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := sign(signer(releaseWorkflow, prov.GitHubActionsIssuer))
	other := sign(signer(attackerFlow, prov.GitHubActionsIssuer))
	statement := func(subjects string) []byte {
		return []byte(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://example.com/p","subject":` + subjects + `,"predicate":{}}`)
	}
	attest := func(st []byte) []byte {
		b, err := w.sigstore.Attest(signer(releaseWorkflow, prov.GitHubActionsIssuer), st)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sum := sha256.Sum256(blob)
	bundles := map[string][]byte{
		"good.json":             good,
		"gitlab.json":           sign(signer(releaseWorkflow, gitlabIssuer)),
		"attacker.json":         other,
		"expired.json":          sign(sigstoretest.Signer{Identity: releaseWorkflow, Issuer: prov.GitHubActionsIssuer, LoggedAt: time.Now().Add(20 * time.Minute)}),
		"future.json":           sign(sigstoretest.Signer{Identity: releaseWorkflow, Issuer: prov.GitHubActionsIssuer, IssuedAt: time.Now().Add(-time.Minute), LoggedAt: time.Now().Add(-3 * time.Minute), NoTimestamp: true}),
		"no-sct.json":           sign(sigstoretest.Signer{Identity: releaseWorkflow, Issuer: prov.GitHubActionsIssuer, NoSCT: true}),
		"no-tlog.json":          editJSON(t, good, func(m map[string]any) { delete(material(m), "tlogEntries") }),
		"foreign-tlog.json":     editJSON(t, good, func(m map[string]any) { material(m)["tlogEntries"] = material(mustMap(t, other))["tlogEntries"] }),
		"truncated.json":        good[:len(good)/2],
		"html.json":             []byte("<html>502 Bad Gateway</html>"),
		"media-type.json":       editJSON(t, good, func(m map[string]any) { m["mediaType"] = "application/vnd.in-toto+json" }),
		"empty-subjects.json":   attest(statement(`[]`)),
		"attested.json":         attest(statement(fmt.Sprintf(`[{"name":"SHA256SUMS","digest":{"sha256":"%s"}}]`, hex.EncodeToString(sum[:])))),
		"other-subject.json":    attest(statement(`[{"name":"x","digest":{"sha256":"` + strings.Repeat("ab", 32) + `"}}]`)),
		"no-timestamp-any.json": editJSON(t, sign(sigstoretest.Signer{Identity: releaseWorkflow, Issuer: prov.GitHubActionsIssuer, NoTimestamp: true}), func(m map[string]any) { delete(material(m), "tlogEntries") }),
	}
	for name, data := range bundles {
		w.write(t, name, data)
	}
	exact := func(bundle string) Spec {
		return Spec{Blobs: []Blob{{Path: "SHA256SUMS", Bundle: bundle}}, CertificateOIDCIssuer: prov.GitHubActionsIssuer, CertificateIdentity: releaseWorkflow}
	}
	with := func(s Spec, f func(*Spec)) Spec { f(&s); return s }
	cases := []struct {
		name    string
		spec    Spec
		status  gate.Status
		message string // in the blob check's message
	}{
		{"the release workflow's signature passes", exact("good.json"), gate.StatusPass, "signed by " + releaseWorkflow + " (" + prov.GitHubActionsIssuer + "); rekor log index"},
		{"an anchored identity pattern passes", with(exact("good.json"), func(s *Spec) {
			s.CertificateIdentity, s.CertificateIdentityRegexp = "", `^https://github\.com/acme/api/\.github/workflows/release\.yml@refs/tags/v1\..*$`
		}), gate.StatusPass, "signed by " + releaseWorkflow},
		{"an issuer pattern passes", with(exact("good.json"), func(s *Spec) {
			s.CertificateOIDCIssuer, s.CertificateOIDCIssuerRegexp = "", `^https://token\.actions\.githubusercontent\.com$`
		}), gate.StatusPass, "signed by"},
		{"a DSSE attestation naming the blob passes", exact("attested.json"), gate.StatusPass, "signed by " + releaseWorkflow},
		{"another workflow's signature fails naming the identity", exact("attacker.json"), gate.StatusFail,
			`signer identity: expected ` + releaseWorkflow + `, got "` + attackerFlow + `"`},
		{"the right workflow from another issuer fails naming the issuer", exact("gitlab.json"), gate.StatusFail,
			`signer issuer: expected ` + prov.GitHubActionsIssuer + `, got "` + gitlabIssuer + `"`},
		{"a changed blob fails", with(exact("good.json"), func(s *Spec) { s.Blobs[0].Path = "tampered" }), gate.StatusFail, "signature verification failed"},
		{"a certificate expired when logged fails", exact("expired.json"), gate.StatusFail, "signature verification failed"},
		{"a certificate not yet valid when logged fails", exact("future.json"), gate.StatusFail, "signature verification failed"},
		{"a certificate without SCT fails", exact("no-sct.json"), gate.StatusFail, "SCT"},
		{"a bundle without transparency-log entry fails", exact("no-tlog.json"), gate.StatusFail, "signature verification failed: the bundle has no transparency-log entry"},
		{"a log entry that does not bind the signature fails", exact("foreign-tlog.json"), gate.StatusFail, "signature verification failed"},
		{"a truncated bundle fails", exact("truncated.json"), gate.StatusFail, "malformed bundle: not JSON"},
		{"an HTML error page fails", exact("html.json"), gate.StatusFail, "malformed bundle: not JSON"},
		{"a bundle with another media type fails", exact("media-type.json"), gate.StatusFail, "malformed bundle"},
		{"an attestation with no subjects fails", exact("empty-subjects.json"), gate.StatusFail, "malformed bundle: statement has no subjects"},
		{"an attestation for another digest fails", exact("other-subject.json"), gate.StatusFail, "blob digest: expected one of the attestation subjects [x (sha256:abababababab…)]"},
		{"no log entry and no timestamp fails", exact("no-timestamp-any.json"), gate.StatusFail, "no transparency-log entry"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := w.run(t, tc.spec)
			if res.Status != tc.status {
				t.Fatalf("status = %s, want %s: %+v", res.Status, tc.status, res.Checks)
			}
			var c *gate.Check
			for i := range res.Checks {
				if res.Checks[i].Name == "signature SHA256SUMS" || res.Checks[i].Name == "signature tampered" {
					c = &res.Checks[i]
				}
			}
			if c == nil {
				t.Fatalf("no blob check in %+v", res.Checks)
			}
			if !strings.Contains(c.Message, tc.message) {
				t.Errorf("message %q does not contain %q", c.Message, tc.message)
			}
			if strings.Contains(c.Message, "panic") {
				t.Errorf("message mentions a panic: %q", c.Message)
			}
			// The blob is recorded with its digest whatever the verdict.
			found := false
			for _, in := range res.Inputs {
				found = found || strings.HasPrefix(in.Digest, "sha256:") && (in.Name == "SHA256SUMS" || in.Name == "tampered")
			}
			if !found {
				t.Errorf("inputs %+v lack the blob digest", res.Inputs)
			}
		})
	}
	t.Run("an unanchored identity pattern is bad input", func(t *testing.T) {
		t.Parallel()
		s := with(exact("good.json"), func(s *Spec) {
			s.TrustedRoot, s.CertificateIdentity, s.CertificateIdentityRegexp = "trusted_root.json", "", `https://github\.com/acme/`
		})
		_, err := evaluate(context.Background(), New(gate.Meta{ID: "k"}, s, gate.Env{PolicyDir: w.dir}))
		if !errors.Is(err, gate.ErrBadInput) || !strings.Contains(fmt.Sprint(err), "expected an anchored pattern") {
			t.Fatalf("err = %v", err)
		}
	})
}

func mustMap(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// pushReferrer attaches data to the image d as an OCI 1.1 referrer of the
// given artifact type.
func pushReferrer(t *testing.T, repo name.Repository, d v1.Hash, artifactType string, data []byte) {
	t.Helper()
	desc, err := remote.Head(repo.Digest(d.String()))
	if err != nil {
		t.Fatal(err)
	}
	att := mutate.ConfigMediaType(empty.Image, types.MediaType(artifactType))
	att, err = mutate.AppendLayers(att, static.NewLayer(data, types.MediaType(artifactType)))
	if err != nil {
		t.Fatal(err)
	}
	att = mutate.Subject(att, *desc).(v1.Image)
	ad, err := att.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(repo.Digest(ad.String()), att); err != nil {
		t.Fatal(err)
	}
}

// TestKeylessImagesThroughTheGate: images in an in-process registry with
// keyless signatures from the in-process Sigstore attached as referrers.
func TestKeylessImagesThroughTheGate(t *testing.T) {
	t.Parallel()
	w := newKeylessWorld(t)
	repo := testRepository(t)
	signWith := func(sg sigstoretest.Signer) func(v1.Hash) []byte {
		return func(d v1.Hash) []byte {
			b, err := w.sigstore.SignDigest(sg, d.Hex)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	signed := pushImage(t, repo, "v1.4.2", signWith(signer(releaseWorkflow, prov.GitHubActionsIssuer)))
	attacker := pushImage(t, repo, "attacker", signWith(signer(attackerFlow, prov.GitHubActionsIssuer)))
	gitlab := pushImage(t, repo, "gitlab", signWith(signer(releaseWorkflow, gitlabIssuer)))
	// Signed for another image: the bundle is valid, the digest is not its.
	other := pushImage(t, repo, "other", nil)
	pushReferrer(t, repo, other, bundleType, signWith(signer(releaseWorkflow, prov.GitHubActionsIssuer))(signed))
	// A referrer of another artifact type is not a bundle; garbage in a
	// bundle-typed referrer is a malformed bundle.
	wrongType := pushImage(t, repo, "wrong-type", nil)
	pushReferrer(t, repo, wrongType, "application/vnd.example.sbom+json", signWith(signer(releaseWorkflow, prov.GitHubActionsIssuer))(wrongType))
	garbage := pushImage(t, repo, "garbage", nil)
	pushReferrer(t, repo, garbage, bundleType, []byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":`))
	// One forged and one good bundle: one verifying bundle is enough.
	mixed := pushImage(t, repo, "mixed", signWith(signer(attackerFlow, prov.GitHubActionsIssuer)))
	pushReferrer(t, repo, mixed, bundleType, signWith(signer(releaseWorkflow, prov.GitHubActionsIssuer))(mixed))

	at := func(d v1.Hash) string { return repo.Name() + "@" + d.String() }
	cases := []struct {
		name    string
		ref     string
		digest  v1.Hash
		status  gate.Status
		message string
		pinned  bool // a tag-only reference adds a warning
	}{
		{"a keyless-signed image by digest passes", at(signed), signed, gate.StatusPass, "signed by " + releaseWorkflow, false},
		{"the same by tag passes and warns that the tag is not pinned", repo.Name() + ":v1.4.2", signed, gate.StatusPass, "signed by " + releaseWorkflow, true},
		{"another workflow's signature fails naming the identity", at(attacker), attacker, gate.StatusFail, "signer identity: expected " + releaseWorkflow, false},
		{"the right workflow from another issuer fails naming the issuer", at(gitlab), gitlab, gate.StatusFail, "signer issuer: expected " + prov.GitHubActionsIssuer, false},
		{"a bundle signing another digest fails", at(other), other, gate.StatusFail, "signature verification failed", false},
		{"a referrer of another artifact type is not a signature", at(wrongType), wrongType, gate.StatusFail, "no Sigstore bundle attached", false},
		{"a truncated bundle referrer fails as malformed", at(garbage), garbage, gate.StatusFail, "malformed bundle", false},
		{"one good bundle among forged ones passes", at(mixed), mixed, gate.StatusPass, "signed by " + releaseWorkflow, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := w.run(t, Spec{Images: []string{tc.ref}, CertificateOIDCIssuer: prov.GitHubActionsIssuer, CertificateIdentity: releaseWorkflow})
			want := map[string]gate.Status{"signature " + tc.ref: tc.status}
			if tc.pinned {
				want["pinned "+tc.ref] = gate.StatusWarn
			}
			for _, c := range res.Checks {
				if want[c.Name] != c.Status {
					t.Errorf("check %q = %s (%s), want %v", c.Name, c.Status, c.Message, want[c.Name])
				}
				if c.Name == "signature "+tc.ref && !strings.Contains(c.Message, tc.message) {
					t.Errorf("message %q does not contain %q", c.Message, tc.message)
				}
				delete(want, c.Name)
			}
			if len(want) > 0 {
				t.Errorf("missing checks %v in %+v", want, res.Checks)
			}
			found := false
			for _, in := range res.Inputs {
				found = found || (in.Digest == tc.digest.String() && in.URI == repo.Name()+"@"+tc.digest.String())
			}
			if !found {
				t.Errorf("inputs %+v do not record %s", res.Inputs, tc.digest)
			}
			if tc.status == gate.StatusPass {
				imgs, _ := res.Details["images"].([]map[string]any)
				if len(imgs) != 1 || imgs[0]["digest"] != tc.digest.String() || imgs[0]["signer"] != releaseWorkflow || imgs[0]["rekor_log_index"] == nil {
					t.Errorf("details = %+v", res.Details["images"])
				}
			}
		})
	}
}

// TestKeylessSLSAImageThroughTheGate: SLSA provenance of an image, signed
// keylessly by slsa-github-generator's container builder (as the in-process
// Sigstore's certificate says) and attached as a referrer; the subject is
// the manifest digest.
func TestKeylessSLSAImageThroughTheGate(t *testing.T) {
	t.Parallel()
	w := newKeylessWorld(t)
	repo := testRepository(t)
	const (
		builder = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0"
		commit  = "4d329c75e7ec1725f7c9ce917a8799d408d06be3"
	)
	provenanceFor := func(sg sigstoretest.Signer, builderID string) func(v1.Hash) []byte {
		return func(d v1.Hash) []byte {
			st := fmt.Sprintf(`{"_type":"https://in-toto.io/Statement/v1","predicateType":"https://slsa.dev/provenance/v1",
"subject":[{"name":%q,"digest":{"sha256":%q}}],
"predicate":{"buildDefinition":{"buildType":"https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1",
"externalParameters":{"workflow":{"repository":"https://github.com/acme/api","ref":"refs/tags/v1.4.2","path":".github/workflows/release.yml"}},
"resolvedDependencies":[{"uri":"git+https://github.com/acme/api@refs/tags/v1.4.2","digest":{"gitCommit":%q}}]},
"runDetails":{"builder":{"id":%q}}}}`, repo.Name(), d.Hex, commit, builderID)
			b, err := w.sigstore.Attest(sg, []byte(st))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	gen := sigstoretest.Signer{Identity: builder, Issuer: prov.GitHubActionsIssuer,
		SourceRepository: "https://github.com/acme/api", SourceRef: "refs/tags/v1.4.2", SourceDigest: commit}
	built := pushImage(t, repo, "v1.4.2", provenanceFor(gen, builder))
	fork := gen
	fork.SourceRepository = "https://github.com/mallory/api"
	forked := pushImage(t, repo, "forked", provenanceFor(fork, builder))
	self := gen
	self.Identity = releaseWorkflow
	selfSigned := pushImage(t, repo, "self", provenanceFor(self, builder))

	cases := []struct {
		name    string
		ref     string
		spec    func(*Spec)
		status  gate.Status
		message string
	}{
		{"the generator's provenance passes", repo.Name() + "@" + built.String(), nil, gate.StatusPass, "built by " + builder + " from github.com/acme/api@refs/tags/v1.4.2 (commit 4d329c75e7ec)"},
		{"a versioned tag passes", repo.Name() + "@" + built.String(), func(s *Spec) { s.SourceTag, s.SourceVersionedTag = "", "v1" }, gate.StatusPass, "rekor log index"},
		{"a wrong tag fails", repo.Name() + "@" + built.String(), func(s *Spec) { s.SourceTag = "v1.4.3" }, gate.StatusFail, "tag: expected refs/tags/v1.4.3"},
		{"a build of a fork fails naming the source", repo.Name() + "@" + forked.String(), nil, gate.StatusFail, `source: expected github.com/acme/api, got "github.com/mallory/api"`},
		{"a provenance signed by a release workflow, not the builder, fails", repo.Name() + "@" + selfSigned.String(), nil, gate.StatusFail, "builder"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := Spec{Images: []string{tc.ref}, SourceURI: "github.com/acme/api", SourceTag: "v1.4.2"}
			if tc.spec != nil {
				tc.spec(&s)
			}
			res := w.run(t, s)
			if res.Status != tc.status {
				t.Fatalf("status = %s, want %s: %+v", res.Status, tc.status, res.Checks)
			}
			if len(res.Checks) != 1 || !strings.Contains(res.Checks[0].Message, tc.message) {
				t.Fatalf("checks %+v, want one whose message contains %q", res.Checks, tc.message)
			}
		})
	}
}
