package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/maestro-conductor/releasegate/internal/evidence"
	"github.com/maestro-conductor/releasegate/internal/ledger"
)

// docBlock returns the fenced code block that follows marker in doc.
func docBlock(t *testing.T, doc, marker, lang string) string {
	t.Helper()
	_, after, ok := strings.Cut(doc, marker+"\n```"+lang+"\n")
	if !ok {
		t.Fatalf("no ```%s block after %s in the doc", lang, marker)
	}
	block, _, ok := strings.Cut(after, "\n```\n")
	if !ok {
		t.Fatalf("the ```%s block after %s is not closed", lang, marker)
	}
	return block
}

// auditorResults is a results directory of a release whose provenance gate
// verified slsa-github-generator provenance (SLSA Build L3).
func auditorResults(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"build.json": `{"schema": "releasegate.result/v1", "gate": "build", "kind": "command", "required": true, "status": "pass",
  "summary": "1 of 1 checks passed", "checks": [{"name": "exit code", "observed": 0, "expected": "== 0", "status": "pass"}],
  "started_at": "2026-11-28T10:00:00Z", "finished_at": "2026-11-28T10:00:05Z"}`,
		"provenance.json": `{"schema": "releasegate.result/v1", "gate": "provenance", "kind": "provenance", "required": true, "status": "pass",
  "summary": "1 of 1 checks passed", "checks": [{"name": "slsa app.tar.gz", "status": "pass",
  "observed": "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.0.0"}],
  "started_at": "2026-11-28T10:00:00Z", "finished_at": "2026-11-28T10:00:06Z"}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestAuditorCommandsInDocs keeps docs/evidence.md's "Verifying without
// releasegate" true: the Go shown is the function TestEvidenceOracles runs,
// and the shell block, run as written with cosign and slsa-verifier on the
// PATH, accepts evidence releasegate made and refuses another artifact.
func TestAuditorCommandsInDocs(t *testing.T) {
	t.Parallel()
	docb, err := os.ReadFile(filepath.Join("..", "..", "docs", "evidence.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(docb)
	src, err := os.ReadFile("cmd_evidence_oracle_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, fn, _ := strings.Cut(string(src), "// doc:begin sigstore-go\n")
	fn, _, _ = strings.Cut(fn, "// doc:end sigstore-go")
	if got := docBlock(t, doc, "<!-- auditor-go -->", "go"); got != strings.Trim(fn, "\n") {
		t.Errorf("the Go in docs/evidence.md differs from verifyWithSigstoreGo in cmd_evidence_oracle_test.go; copy it over\n--- doc\n%s\n--- code\n%s", got, fn)
	}

	script := docBlock(t, doc, "<!-- auditor-commands -->", "sh")
	bin := filepath.Dir(oracleBin(t, "cosign"))
	oracleBin(t, "slsa-verifier")
	work := t.TempDir()
	for _, d := range []string{"dist", "evidence"} {
		if err := os.Mkdir(filepath.Join(work, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if r := runCLI(t, nil, "evidence", "keygen", "--out-prefix", filepath.Join(work, "release")); r.code != ExitOK {
		t.Fatalf("keygen: %s", r.stderr)
	}
	art := filepath.Join(work, "dist", "app.tar.gz")
	writeTo(t, art, []byte("app release bytes\n"))
	env := map[string]string{"GITHUB_REPOSITORY": "acme/app", "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567"}
	if r := runCLI(t, env, "evidence", "create", "--results", auditorResults(t), "--version", "v1.4.0", "--release", "app",
		"--artifact", art, "--key", filepath.Join(work, "release.key"), "--out", filepath.Join(work, "evidence")); r.code != ExitOK {
		t.Fatalf("create: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	run := func() (bool, string) {
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
		cmd.Dir = work
		cmd.Env = []string{"HOME=" + work, "PATH=" + bin + ":/usr/bin:/bin", "TUF_ROOT=" + filepath.Join(work, ".tuf")}
		out, err := cmd.CombinedOutput()
		return err == nil, string(out)
	}
	if ok, out := run(); !ok {
		t.Fatalf("the auditor commands of docs/evidence.md fail on evidence releasegate made:\n%s\n%s", script, out)
	}
	writeTo(t, art, []byte("another artifact\n"))
	if ok, out := run(); ok {
		t.Fatalf("the auditor commands accept an artifact that is not the subject:\n%s", out)
	}
}

// openCheckpoint is the auditor's Go in docs/ledger.md ("Checkpoint
// signatures with outside tools"), kept identical by
// TestCheckpointAuditorCommandsInDocs.
//
// doc:begin checkpoint-note
func openCheckpoint(checkpointPath, verifierKeyPath string) (string, error) {
	signed, err := os.ReadFile(checkpointPath)
	if err != nil {
		return "", err
	}
	vkey, err := os.ReadFile(verifierKeyPath)
	if err != nil {
		return "", err
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(vkey)))
	if err != nil {
		return "", err
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return "", err
	}
	return n.Text, nil // origin, size, root hash, day line
}

// doc:end checkpoint-note

// TestCheckpointAuditorCommandsInDocs keeps docs/ledger.md's outside
// commands for checkpoints true: the x/mod note Go opens a checkpoint
// `ledger root` signed and refuses an altered one and another key; the
// cosign command, run as written (plus --insecure-ignore-sct for the
// virtual CA), accepts the keyless bundle and refuses another identity and
// an altered checkpoint.
func TestCheckpointAuditorCommandsInDocs(t *testing.T) {
	t.Parallel()
	docb, err := os.ReadFile(filepath.Join("..", "..", "docs", "ledger.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(docb)
	src, err := os.ReadFile("cmd_evidence_docs_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, fn, _ := strings.Cut(string(src), "// doc:begin checkpoint-note\n")
	fn, _, _ = strings.Cut(fn, "// doc:end checkpoint-note")
	if got := docBlock(t, doc, "<!-- checkpoint-note-go -->", "go"); got != strings.Trim(fn, "\n") {
		t.Errorf("the Go in docs/ledger.md differs from openCheckpoint in cmd_evidence_docs_test.go; copy it over\n--- doc\n%s\n--- code\n%s", got, fn)
	}

	const (
		signer = "ledger@acme.example"
		issuer = "https://accounts.acme.example"
		token  = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJsZWRnZXIifQ.c2ln"
	)
	root, _, _ := keylessFixture(t, signer, issuer)
	_, dir, cp := signedKeylessCheckpoint(t, map[string]string{"SIGSTORE_ID_TOKEN": token})
	signed, err := os.ReadFile(cp)
	if err != nil {
		t.Fatal(err)
	}
	altered := filepath.Join(t.TempDir(), filepath.Base(cp))
	writeTo(t, altered, bytes.Replace(signed, []byte("\n3\n"), []byte("\n4\n"), 1))
	if err := os.Link(ledger.BundleFile(cp), ledger.BundleFile(altered)); err != nil {
		t.Fatal(err)
	}

	text, err := openCheckpoint(cp, filepath.Join(dir, "k.pub"))
	if err != nil || !strings.HasPrefix(text, ledger.OriginPrefix+"acme\n3\n") {
		t.Errorf("x/mod note: %q, %v; expected the checkpoint of acme, size 3", text, err)
	}
	if _, err := openCheckpoint(altered, filepath.Join(dir, "k.pub")); err == nil {
		t.Error("x/mod note opened an altered checkpoint")
	}
	if r := runCLI(t, nil, "ledger", "keygen", "--out", filepath.Join(dir, "other")); r.code != ExitOK {
		t.Fatal(r.stderr)
	}
	if _, err := openCheckpoint(cp, filepath.Join(dir, "other.pub")); err == nil {
		t.Error("x/mod note opened a checkpoint with another key")
	}

	bin := filepath.Dir(oracleBin(t, "cosign"))
	var command []string
	for _, line := range strings.Split(docBlock(t, doc, "<!-- checkpoint-cosign -->", "sh"), "\n") {
		if name, _, ok := strings.Cut(line, "="); ok && !strings.Contains(name, " ") {
			continue // the variables; the test sets them
		}
		command = append(command, line)
	}
	script := strings.Join(command, "\n") + " --insecure-ignore-sct"
	work := t.TempDir()
	if err := os.Link(root, filepath.Join(work, "trusted_root.json")); err != nil {
		t.Fatal(err)
	}
	run := func(checkpoint, identity string) (bool, string) {
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
		cmd.Dir = work
		cmd.Env = []string{"HOME=" + work, "PATH=" + bin + ":/usr/bin:/bin", "TUF_ROOT=" + filepath.Join(work, ".tuf"),
			"CHECKPOINT=" + checkpoint, "IDENTITY=" + identity, "ISSUER=" + issuer}
		out, err := cmd.CombinedOutput()
		return err == nil, string(out)
	}
	if ok, out := run(cp, signer); !ok {
		t.Fatalf("the cosign command of docs/ledger.md fails on a checkpoint releasegate signed:\n%s\n%s", script, out)
	}
	if ok, out := run(cp, "mallory@acme.example"); ok {
		t.Errorf("the cosign command accepts another identity:\n%s", out)
	}
	if ok, out := run(altered, signer); ok {
		t.Errorf("the cosign command accepts an altered checkpoint:\n%s", out)
	}
}

// TestEvidenceCreateLevels: the VSA's verifiedLevels come from the
// provenance gate's result; declaring a higher SLSA build level than it
// verified is bad input (exit 2) and writes nothing.
func TestEvidenceCreateLevels(t *testing.T) {
	t.Parallel()
	prefix := keyPair(t, nil)
	results := auditorResults(t) // slsa-github-generator provenance: Build L3
	out := t.TempDir()
	r := runCLI(t, nil, "evidence", "create", "--results", results, "--version", "v1.4.0", "--key", prefix+".key",
		"--verified-level", "FEDRAMP_LOW", "--out", out)
	if r.code != ExitOK {
		t.Fatalf("create: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, evidence.BundleFile))
	if err != nil {
		t.Fatal(err)
	}
	pb, err := evidence.ParseBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := evidence.VerifyEnvelope(pb.DSSEEnvelope, mustPub(t, prefix+".pub"))
	if err != nil {
		t.Fatal(err)
	}
	var st evidence.Statement
	if err := json.Unmarshal(payload, &st); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(st.Predicate.VerifiedLevels, ","); got != "SLSA_BUILD_LEVEL_3,FEDRAMP_LOW" {
		t.Errorf("verifiedLevels %s; expected SLSA_BUILD_LEVEL_3,FEDRAMP_LOW", got)
	}

	// A GitHub workflow builder is Build L2: declaring L3 is refused.
	l2 := t.TempDir()
	for _, name := range []string{"build.json", "provenance.json"} {
		data, err := os.ReadFile(filepath.Join(results, name))
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.ReplaceAll(data, []byte("https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.0.0"),
			[]byte("https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1.4.0"))
		writeTo(t, filepath.Join(l2, name), data)
	}
	out2 := t.TempDir()
	r = runCLI(t, nil, "evidence", "create", "--results", l2, "--version", "v1.4.0", "--key", prefix+".key",
		"--verified-level", "SLSA_BUILD_LEVEL_3", "--out", out2)
	if r.code != ExitBadInput || !strings.Contains(r.stderr, "the provenance gates verified SLSA_BUILD_LEVEL_2") {
		t.Fatalf("declaring L3 over verified L2: exit %d; expected 2 naming the verified level\n%s", r.code, r.stderr)
	}
	if entries, _ := os.ReadDir(out2); len(entries) != 0 {
		t.Errorf("refused create wrote %d files", len(entries))
	}
}
