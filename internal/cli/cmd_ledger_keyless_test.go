package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/evidence"
	"github.com/maestro-conductor/releasegate/internal/ledger"
)

// TestLedgerKeylessCheckpoint signs a day's checkpoints keyless through the
// CLI with the in-process virtual Sigstore in place of Fulcio and Rekor,
// then verifies each checkpoint with its bundle offline, and sees every
// wrong signer, root or checkpoint fail.
func TestLedgerKeylessCheckpoint(t *testing.T) {
	t.Parallel()
	const (
		signer = "ledger@acme.example"
		issuer = "https://accounts.acme.example"
		token  = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJsZWRnZXIifQ.c2ln"
	)
	root, foreignRoot, gotToken := keylessFixture(t, signer, issuer)

	dir := t.TempDir()
	db := "--db=sqlite:" + filepath.Join(dir, "ledger.db")
	env := map[string]string{"SIGSTORE_ID_TOKEN": token}
	must := func(want int, env map[string]string, args ...string) run {
		t.Helper()
		r := runCLI(t, env, append([]string{"ledger"}, args...)...)
		if r.code != want {
			t.Fatalf("ledger %s = exit %d, want %d\n%s%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, token) {
			t.Fatalf("ledger %s printed the OIDC token", args[0])
		}
		return r
	}
	must(ExitOK, nil, "migrate", db)
	day := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	var in strings.Builder
	for i := range 3 {
		fmt.Fprintf(&in, `{"tenant":"acme","time":"%sT0%d:00:00Z","payload":{"release":"v1.%d"}}`+"\n", day, i, i)
		fmt.Fprintf(&in, `{"tenant":"beta","time":"%sT0%d:30:00Z","payload":[%d]}`+"\n", day, i, i)
	}
	if code, _, errs := ledgerRun(t, in.String(), "append", db); code != ExitOK {
		t.Fatalf("append: exit %d\n%s", code, errs)
	}
	must(ExitOK, nil, "keygen", "--out", filepath.Join(dir, "k"))
	key, pub := filepath.Join(dir, "k.key"), filepath.Join(dir, "k.pub")

	// Keyless signing without a token is bad input, and writes nothing.
	r := must(ExitBadInput, nil, "root", db, "--date", day, "--key", key, "--keyless", "--out", dir)
	if !strings.Contains(r.stderr, "no OIDC token") {
		t.Errorf("root --keyless without a token: %s", r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "acme-"+day+".checkpoint")); err == nil {
		t.Error("root --keyless without a token wrote a checkpoint")
	}

	r = must(ExitOK, env, "root", db, "--date", day, "--key", key, "--keyless", "--anchor", "--out", dir)
	if *gotToken != token || !strings.Contains(r.stdout, "+ keyless ") {
		t.Fatalf("root --keyless: token passed %q, output %s", *gotToken, r.stdout)
	}
	cp := filepath.Join(dir, "acme-"+day+".checkpoint")
	bundle := cp + ".sigstore.json"
	betaCP := filepath.Join(dir, "beta-"+day+".checkpoint")
	betaBundle := betaCP + ".sigstore.json"
	signed, err := os.ReadFile(cp)
	if err != nil {
		t.Fatal(err)
	}
	altered := writeFile(t, "acme.checkpoint", append(signed, '\n'))
	garbage := writeFile(t, "garbage.sigstore.json", []byte(`{"mediaType":"nonsense"}`))
	// beta's bundle with its statement swapped for acme's: the payload
	// names this checkpoint, but the signature is over another.
	swapped := func() string {
		var b evidence.Bundle
		raw, err := os.ReadFile(betaBundle)
		if err == nil {
			err = json.Unmarshal(raw, &b)
		}
		if err != nil {
			t.Fatal(err)
		}
		st, err := ledger.CheckpointStatement(signed, filepath.Base(cp))
		if err != nil {
			t.Fatal(err)
		}
		b.DSSEEnvelope.Payload = base64.StdEncoding.EncodeToString(st)
		out, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		return writeFile(t, "swapped.sigstore.json", out)
	}()

	base := []string{"verify-root", db, "--pub", pub, "--trusted-root", root}
	who := []string{"--certificate-identity", signer, "--certificate-oidc-issuer", issuer}
	args := func(extra ...string) []string { return append(append([]string{}, base...), extra...) }
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"the checkpoint and its bundle verify", args(append([]string{"--checkpoint", cp, "--bundle", bundle}, who...)...), ExitOK,
			"PASSED: keyless signature " + bundle + ": signs this checkpoint exactly, by ledger@acme.example (issuer https://accounts.acme.example), certificate chains to the trusted root, Rekor entry"},
		{"another tenant's checkpoint and bundle verify", args(append([]string{"--checkpoint", betaCP, "--bundle", betaBundle}, who...)...), ExitOK, "PASSED: keyless signature"},
		{"an anchored identity pattern verifies", args("--checkpoint", cp, "--bundle", bundle, "--certificate-identity-regexp", `^ledger@acme\.example$`, "--certificate-oidc-issuer", issuer), ExitOK, "PASSED: keyless signature"},
		{"another identity fails", args("--checkpoint", cp, "--bundle", bundle, "--certificate-identity", "mallory@acme.example", "--certificate-oidc-issuer", issuer), ExitFail,
			`signer identity mismatch: signer identity: expected mallory@acme.example, got "ledger@acme.example"`},
		{"another issuer fails", args("--checkpoint", cp, "--bundle", bundle, "--certificate-identity", signer, "--certificate-oidc-issuer", "https://token.actions.githubusercontent.com"), ExitFail,
			`signer issuer: expected https://token.actions.githubusercontent.com, got "https://accounts.acme.example"`},
		{"a foreign trusted root fails", append([]string{"verify-root", db, "--pub", pub, "--trusted-root", foreignRoot, "--checkpoint", cp, "--bundle", bundle}, who...), ExitFail,
			"signature verification failed"},
		{"a bundle over another checkpoint fails", args(append([]string{"--checkpoint", cp, "--bundle", betaBundle}, who...)...), ExitFail,
			"does not sign checkpoint " + cp + ": keyless signature is for another checkpoint: expected the checkpoint of acme " + day + " (size 3)"},
		{"a statement swapped into another bundle fails", args(append([]string{"--checkpoint", cp, "--bundle", swapped}, who...)...), ExitFail,
			"signature verification failed"},
		{"an altered checkpoint fails against its bundle", args(append([]string{"--checkpoint", altered, "--bundle", bundle}, who...)...), ExitFail,
			"does not sign checkpoint"},
		{"an identity pattern matching anyone is bad input", args("--checkpoint", cp, "--bundle", bundle, "--certificate-identity-regexp", ".*", "--certificate-oidc-issuer", issuer), ExitBadInput,
			"identity pattern matches any signer"},
		{"an unanchored identity pattern is bad input", args("--checkpoint", cp, "--bundle", bundle, "--certificate-identity-regexp", `ledger@acme\.example`, "--certificate-oidc-issuer", issuer), ExitBadInput,
			"expected an anchored pattern"},
		{"no issuer is bad input", args("--checkpoint", cp, "--bundle", bundle, "--certificate-identity", signer), ExitBadInput, "certificate-oidc-issuer: required"},
		{"a bundle without a trusted root is bad input", append([]string{"verify-root", db, "--pub", pub, "--checkpoint", cp, "--bundle", bundle}, who...), ExitBadInput,
			"--bundle needs --trusted-root"},
		{"an identity without a bundle is bad input", args(append([]string{"--checkpoint", cp}, who...)...), ExitBadInput, "pass it with --bundle"},
		{"a malformed bundle is bad input", args(append([]string{"--checkpoint", cp, "--bundle", garbage}, who...)...), ExitBadInput, "malformed bundle"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, nil, append([]string{"ledger"}, tc.args...)...)
			t.Logf("%s%s", r.stdout, r.stderr)
			if r.code != tc.code || !strings.Contains(r.stdout+r.stderr, tc.want) {
				t.Fatalf("exit %d; expected %d with %q\n%s%s", r.code, tc.code, tc.want, r.stdout, r.stderr)
			}
		})
	}

	// The keyless signature is in addition to the Ed25519 one: a valid
	// bundle does not save a checkpoint signed by another key.
	must(ExitOK, nil, "keygen", "--out", filepath.Join(dir, "other"))
	r = must(ExitFail, nil, append([]string{"verify-root", db, "--pub", filepath.Join(dir, "other.pub"), "--trusted-root", root, "--checkpoint", cp, "--bundle", bundle}, who...)...)
	if !strings.Contains(r.stderr, "checkpoint signature does not verify") {
		t.Errorf("another Ed25519 key: %s", r.stderr)
	}
}
