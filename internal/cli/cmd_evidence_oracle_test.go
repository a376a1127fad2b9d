package cli

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/maestro-conductor/releasegate/internal/evidence"
	"github.com/maestro-conductor/releasegate/internal/testutil"
)

// The outside verifiers (oracles) releasegate's signed evidence is checked
// against: cosign and slsa-verifier built from tools/oracles/go.mod by
// `make oracles` into the directory RELEASEGATE_ORACLES names (`make test`
// sets it), and sigstore-go's verify package in-process.
const (
	oracleReleasegate = "releasegate evidence verify"
	oracleCosign      = "cosign verify-blob-attestation"
	oracleSigstoreGo  = "sigstore-go verify"
	oracleSLSA        = "slsa-verifier verify-vsa"
)

// keyOnlyTrustedRoot is a Sigstore trusted root with no authorities at
// all: cosign's --new-bundle-format path wants a trusted root even for a
// key (else it fetches the public-good one over TUF); with this one it
// checks the key's signature and nothing else.
const keyOnlyTrustedRoot = `{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}` + "\n"

// oracleBin returns the path of a built oracle; it skips locally and fails
// under CI when RELEASEGATE_ORACLES is unset.
func oracleBin(t *testing.T, name string) string {
	t.Helper()
	dir := testutil.RequireEnv(t, "RELEASEGATE_ORACLES", "cosign and slsa-verifier (`make oracles`)")
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("oracle %s: %v; run `make oracles`", name, err)
	}
	return p
}

// runOracle runs an oracle binary offline in dir and reports whether it
// accepted (exit 0), with its output for failure messages.
func runOracle(t *testing.T, dir, bin string, args ...string) (bool, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	// No home directory state, no TUF, no network: everything is given.
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "SIGSTORE_NO_CACHE=true", "TUF_ROOT=" + filepath.Join(dir, ".tuf")}
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("%s: %v", bin, err)
		}
	}
	return err == nil, string(out)
}

// verifyWithSigstoreGo is the auditor's Go snippet in docs/evidence.md
// ("With sigstore-go"), kept identical by TestAuditorCommandsInDocs.
//
// doc:begin sigstore-go
func verifyWithSigstoreGo(bundlePath, publicKeyPath, artifactPath string) error {
	b, err := bundle.LoadJSONFromPath(bundlePath)
	if err != nil {
		return err
	}
	pemKey, err := os.ReadFile(publicKeyPath)
	if err != nil {
		return err
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemKey)
	if err != nil {
		return err
	}
	sv, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return err
	}
	key := root.NewExpiringKey(sv, time.Time{}, time.Time{})
	keys := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
	v, err := verify.NewVerifier(keys, verify.WithNoObserverTimestamps())
	if err != nil {
		return err
	}
	artifact, err := os.Open(artifactPath)
	if err != nil {
		return err
	}
	defer artifact.Close()
	res, err := v.Verify(b, verify.NewPolicy(verify.WithArtifact(artifact), verify.WithKey()))
	if err != nil {
		return err
	}
	vsa := res.Statement.GetPredicate().GetFields()
	if id := vsa["verifier"].GetStructValue().GetFields()["id"].GetStringValue(); id != "https://github.com/maestro-conductor/releasegate" {
		return fmt.Errorf("VSA verifier %q, expected releasegate", id)
	}
	if r := vsa["verificationResult"].GetStringValue(); r != "PASSED" {
		return fmt.Errorf("verificationResult %s", r)
	}
	return nil
}

// doc:end sigstore-go

// oracleCase is one signed input and what each verifier says of it.
type oracleCase struct {
	name string
	// Files: the evidence tarball (for releasegate), the Sigstore bundle
	// and bare envelope (for the outside clients), the public key and the
	// artifact the auditor holds.
	tgz, bundle, envelope, pub, artifact string
	// resourceURI and levels are what releasegate (--resource-uri,
	// --verified-level) and slsa-verifier are told to expect.
	resourceURI string
	levels      []string
	// extra flags for slsa-verifier (e.g. --public-key-id)
	slsaFlags []string
	// accept says, per oracle, whether it accepts the case.
	accept map[string]bool
	// why explains a case where the oracles differ.
	why string
}

// evidenceFiles are the files one `evidence create` wrote.
type evidenceFiles struct{ dir, tgz, bundle, envelope string }

func createEvidence(t *testing.T, env map[string]string, prefix, art string, statuses ...string) evidenceFiles {
	t.Helper()
	pol, dir := gateResults(t, statuses...)
	out := t.TempDir()
	r := runCLI(t, env, "evidence", "create", "--results", dir, "--policy", pol, "--artifact", art, "--key", prefix+".key", "--out", out)
	if r.code != ExitOK {
		t.Fatalf("create: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	return evidenceFiles{out, filepath.Join(out, evidence.TarballName("v1.4.0")), filepath.Join(out, evidence.BundleFile), filepath.Join(out, evidence.EnvelopeFile)}
}

// variant writes a changed copy of ev's bundle (and the envelope and the
// tarball holding it) into a new directory.
func variant(t *testing.T, ev evidenceFiles, change func(*evidence.Bundle)) evidenceFiles {
	t.Helper()
	tgz, err := os.ReadFile(ev.tgz)
	if err != nil {
		t.Fatal(err)
	}
	files, err := evidence.ReadTarGz(tgz, evidence.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	out := evidenceFiles{dir: t.TempDir()}
	out.tgz, out.bundle, out.envelope = filepath.Join(out.dir, filepath.Base(ev.tgz)), filepath.Join(out.dir, evidence.BundleFile), filepath.Join(out.dir, evidence.EnvelopeFile)
	for i := range files {
		if files[i].Name != evidence.BundleFile {
			continue
		}
		b, err := evidence.ParseBundle(files[i].Data)
		if err != nil {
			t.Fatal(err)
		}
		change(b)
		if files[i].Data, err = evidence.MarshalBundle(b); err != nil {
			t.Fatal(err)
		}
		env, _ := json.MarshalIndent(b.DSSEEnvelope, "", "  ")
		writeTo(t, out.envelope, env)
		writeTo(t, out.bundle, files[i].Data)
	}
	if tgz, err = evidence.WriteTarGz(files); err != nil {
		t.Fatal(err)
	}
	writeTo(t, out.tgz, tgz)
	return out
}

func writeTo(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// resign replaces the envelope with one over a changed statement, signed by
// the same key: a valid signature over what releasegate would not write.
func resign(t *testing.T, keyPath string, change func(map[string]any)) func(*evidence.Bundle) {
	t.Helper()
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	k, err := evidence.ParsePrivateKey(kb, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := evidence.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return func(b *evidence.Bundle) {
		raw, _ := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Payload)
		var st map[string]any
		if err := json.Unmarshal(raw, &st); err != nil {
			t.Fatal(err)
		}
		change(st)
		payload, _ := json.Marshal(st)
		env, err := s.Sign(evidence.PayloadType, payload)
		if err != nil {
			t.Fatal(err)
		}
		b.DSSEEnvelope = env
	}
}

func flipBase64(s string, at int) string {
	b := []byte(s)
	if b[at] == 'A' {
		b[at] = 'B'
	} else {
		b[at] = 'A'
	}
	return string(b)
}

func hexDigest(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return evidence.Digest(b)
}

// TestEvidenceOracles creates key-signed evidence with releasegate and
// checks that cosign, sigstore-go and slsa-verifier give the verdict
// `releasegate evidence verify` gives, case by case; where an oracle does
// not look at something (cosign does not read the VSA), the case says so.
func TestEvidenceOracles(t *testing.T) {
	t.Parallel()
	cosign, slsa := oracleBin(t, "cosign"), oracleBin(t, "slsa-verifier")
	env := map[string]string{"API_TOKEN": secret, "GITHUB_REPOSITORY": "acme/tenantd", "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567", "GITHUB_SERVER_URL": "https://github.com"}
	prefix, other, edPrefix := keyPair(t, nil), keyPair(t, nil), filepath.Join(t.TempDir(), "ed")
	if r := runCLI(t, nil, "evidence", "keygen", "--alg", "ed25519", "--out-prefix", edPrefix); r.code != ExitOK {
		t.Fatalf("keygen ed25519: %s", r.stderr)
	}
	art := writeFile(t, "tenantd.tar.gz", []byte("binary bytes"))
	otherArt := writeFile(t, "tenantd-other.tar.gz", []byte("other bytes"))
	root := writeFile(t, "key-only-root.json", []byte(keyOnlyTrustedRoot))
	const purl = "pkg:github/acme/tenantd@v1.4.0"

	passed := createEvidence(t, env, prefix, art, "pass", "warn")
	failed := createEvidence(t, env, prefix, art, "pass", "fail")
	ed := createEvidence(t, env, edPrefix, art, "pass")
	all := func(ok bool) map[string]bool {
		return map[string]bool{oracleReleasegate: ok, oracleCosign: ok, oracleSigstoreGo: ok, oracleSLSA: ok}
	}
	except := func(ok bool, oracles ...string) map[string]bool {
		m := all(ok)
		for _, o := range oracles {
			m[o] = !ok
		}
		return m
	}
	c := func(name string, ev evidenceFiles, pub, artifact string, accept map[string]bool, why string) oracleCase {
		return oracleCase{name: name, tgz: ev.tgz, bundle: ev.bundle, envelope: ev.envelope, pub: pub, artifact: artifact, resourceURI: purl, accept: accept, why: why}
	}
	legacyDir := filepath.Join("..", "evidence", "testdata", "legacy")
	legacy := evidenceFiles{tgz: filepath.Join(legacyDir, "evidence-v1.0.0.tar.gz")}
	legacy = variant(t, legacy, func(*evidence.Bundle) {})
	legacyKeyID := func() string {
		b, err := os.ReadFile(legacy.bundle)
		if err != nil {
			t.Fatal(err)
		}
		pb, _ := evidence.ParseBundle(b)
		return pb.DSSEEnvelope.Signatures[0].KeyID
	}()
	legacyCase := func(name string, flags []string, accept map[string]bool, why string) oracleCase {
		return oracleCase{name: name, tgz: legacy.tgz, bundle: legacy.bundle, envelope: legacy.envelope, pub: filepath.Join(legacyDir, "legacy.pub"),
			artifact: filepath.Join(legacyDir, "app.bin"), resourceURI: "releasegate:app@v1.0.0", slsaFlags: flags, accept: accept, why: why}
	}

	withResource := func(tc oracleCase, uri string) oracleCase { tc.resourceURI = uri; return tc }
	withLevels := func(tc oracleCase, levels ...string) oracleCase { tc.levels = levels; return tc }
	cases := []oracleCase{
		c("intact PASSED evidence, ECDSA P-256", passed, prefix+".pub", art, all(true), ""),
		withLevels(c("intact, the level it verified (SLSA_BUILD_LEVEL_0: no provenance gate)", passed, prefix+".pub", art, all(true), ""), "SLSA_BUILD_LEVEL_0"),
		withLevels(c("a higher SLSA build level required than verified", passed, prefix+".pub", art, except(false, oracleCosign, oracleSigstoreGo),
			"cosign and the Go snippet do not read verifiedLevels"), "SLSA_BUILD_LEVEL_1"),
		withResource(c("another resource URI expected", passed, prefix+".pub", art, except(false, oracleCosign, oracleSigstoreGo),
			"cosign and the Go snippet do not read resourceUri"), "pkg:github/acme/other@v1.4.0"),
		c("intact PASSED evidence, Ed25519", ed, edPrefix+".pub", art, all(true), ""),
		c("a flipped byte in the signature", variant(t, passed, func(b *evidence.Bundle) {
			b.DSSEEnvelope.Signatures[0].Sig = flipBase64(b.DSSEEnvelope.Signatures[0].Sig, 20)
		}), prefix+".pub", art, all(false), ""),
		c("a flipped byte in the signed statement", variant(t, passed, func(b *evidence.Bundle) {
			b.DSSEEnvelope.Payload = flipBase64(b.DSSEEnvelope.Payload, 40)
		}), prefix+".pub", art, all(false), ""),
		c("the wrong key", passed, other+".pub", art, all(false), ""),
		c("another subject digest", passed, prefix+".pub", otherArt, all(false), ""),
		c("a wrong verifier id, validly signed", variant(t, passed, resign(t, prefix+".key", func(st map[string]any) {
			st["predicate"].(map[string]any)["verifier"] = map[string]any{"id": "https://verifier.mallory.example"}
		})), prefix+".pub", art, except(false, oracleCosign), "cosign checks the signature and the subject, not the VSA's fields"),
		c("a FAILED result", failed, prefix+".pub", art, except(false, oracleCosign), "cosign checks the signature and the subject, not the verdict"),
		c("two signatures, one valid", variant(t, passed, func(b *evidence.Bundle) {
			b.DSSEEnvelope.Signatures = append(b.DSSEEnvelope.Signatures, evidence.Signature{Sig: flipBase64(b.DSSEEnvelope.Signatures[0].Sig, 20)})
		}), prefix+".pub", art, except(false, oracleSLSA), "a Sigstore bundle holds exactly one signature (cosign, sigstore-go and releasegate refuse more); a bare DSSE envelope may hold several and verify-vsa needs one that verifies"),
		c("a keyid naming another key", variant(t, passed, func(b *evidence.Bundle) {
			b.DSSEEnvelope.Signatures[0].KeyID = evidence.KeyID(mustPub(t, other+".pub"))
		}), prefix+".pub", art, all(false), ""),
		legacyCase("legacy evidence (keyid = hex SHA-256 of the key)", nil, except(false, oracleReleasegate),
			"the standard clients skip a keyid they do not compute; only releasegate (and verify-vsa given that keyid) verify evidence made before this release"),
		legacyCase("legacy evidence, verify-vsa --public-key-id <hex keyid>", []string{"--public-key-id", legacyKeyID}, except(true, oracleCosign, oracleSigstoreGo),
			"cosign and sigstore-go have no key id option"),
	}

	var table strings.Builder
	fmt.Fprintf(&table, "| case | %s | %s | %s | %s |\n|---|---|---|---|---|\n", oracleReleasegate, oracleCosign, oracleSigstoreGo, oracleSLSA)
	for _, tc := range cases {
		got := map[string]bool{}
		outs := map[string]string{}
		args := []string{"evidence", "verify", "--key", tc.pub, "--artifact", tc.artifact, "--resource-uri", tc.resourceURI}
		slsaArgs := []string{"verify-vsa", "--attestation-path", abs(t, tc.envelope), "--public-key-path", abs(t, tc.pub),
			"--subject-digest", hexDigest(t, tc.artifact), "--verifier-id", evidence.VerifierID, "--resource-uri", tc.resourceURI}
		for _, l := range tc.levels {
			args = append(args, "--verified-level", l)
			slsaArgs = append(slsaArgs, "--verified-level", l)
		}
		r := runCLI(t, nil, append(args, tc.tgz)...)
		got[oracleReleasegate], outs[oracleReleasegate] = r.code == ExitOK, r.stdout+r.stderr
		if r.code != ExitOK && r.code != ExitFail {
			t.Errorf("%s: releasegate exit %d; expected 0 or 1\n%s%s", tc.name, r.code, r.stdout, r.stderr)
		}
		dir := t.TempDir()
		got[oracleCosign], outs[oracleCosign] = runOracle(t, dir, cosign, "verify-blob-attestation", "--new-bundle-format",
			"--key", abs(t, tc.pub), "--bundle", abs(t, tc.bundle), "--trusted-root", root, "--insecure-ignore-tlog",
			"--type", "https://slsa.dev/verification_summary/v1", abs(t, tc.artifact))
		err := verifyWithSigstoreGo(tc.bundle, tc.pub, tc.artifact)
		got[oracleSigstoreGo], outs[oracleSigstoreGo] = err == nil, fmt.Sprint(err)
		got[oracleSLSA], outs[oracleSLSA] = runOracle(t, dir, slsa, append(slsaArgs, tc.slsaFlags...)...)
		row := "| " + tc.name
		for _, o := range []string{oracleReleasegate, oracleCosign, oracleSigstoreGo, oracleSLSA} {
			verdict := map[bool]string{true: "accepted", false: "refused"}[got[o]]
			row += " | " + verdict
			if got[o] != tc.accept[o] {
				t.Errorf("%s: %s %s; expected %s\n%s", tc.name, o, verdict, map[bool]string{true: "accepted", false: "refused"}[tc.accept[o]], outs[o])
			}
		}
		table.WriteString(row + " |\n")
	}
	t.Logf("oracle table:\n%s", table.String())
}

func mustPub(t *testing.T, path string) crypto.PublicKey {
	t.Helper()
	k, err := loadPublicKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
