package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ledgerRun runs `releasegate ledger ARGS` with stdin and returns the exit
// code and outputs.
func ledgerRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), append([]string{"ledger"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// TestLedgerCommands walks the whole ledger workflow on SQLite: migrate,
// append, verify, keygen, sign and anchor a day, verify the root, prove and
// verify an entry, then tamper and see each verifier fail.
func TestLedgerCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "--db=sqlite:" + filepath.Join(dir, "ledger.db")
	must := func(want int, stdin string, args ...string) string {
		t.Helper()
		code, out, errs := ledgerRun(t, stdin, args...)
		if code != want {
			t.Fatalf("ledger %s = exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out, errs)
		}
		return out + errs
	}
	must(ExitError, "", "verify", db) // no ledger file: could not evaluate, and none is created
	os.WriteFile(filepath.Join(dir, "ledger.db"), nil, 0o644)
	must(ExitFail, "", "verify", db) // no schema: fails closed
	must(ExitOK, "", "migrate", db)
	must(ExitOK, "", "migrate", db)  // idempotent
	must(ExitFail, "", "verify", db) // empty ledger: fails closed
	day := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	var in strings.Builder
	for i := range 5 {
		fmt.Fprintf(&in, `{"tenant":"acme","time":"%sT0%d:00:00Z","payload":{"release":"v1.%d"}}`+"\n", day, i, i)
		fmt.Fprintf(&in, `{"tenant":"beta","kind":"deploy","time":"%sT0%d:30:00Z","payload":[%d]}`+"\n", day, i, i)
	}
	if out := must(ExitOK, in.String(), "append", db); !strings.Contains(out, "appended 10 entries") {
		t.Errorf("append output: %s", out)
	}
	must(ExitBadInput, `{"tenant":"acme","payload":{"a":1,"a":2}}`+"\n", "append", db)
	must(ExitBadInput, `{"tenant":"acme","payload":{},"extra":1}`+"\n", "append", db)
	out := must(ExitOK, "", "verify", db, "--format=json")
	if !strings.Contains(out, `"status": "pass"`) || !strings.Contains(out, "genesis") {
		t.Errorf("verify --format=json output lacks a pass with the genesis hash: %s", out)
	}
	must(ExitOK, "", "keygen", "--out", filepath.Join(dir, "k"))
	must(ExitBadInput, "", "keygen", "--out", filepath.Join(dir, "k")) // never overwrites a key
	if b, _ := os.ReadFile(filepath.Join(dir, "k.key")); strings.Contains(out, string(b)) {
		t.Error("keygen printed the private key")
	}
	out = must(ExitOK, "", "root", db, "--date", day, "--key", filepath.Join(dir, "k.key"), "--anchor", "--out", dir)
	if !strings.Contains(out, "anchored at seq 6") {
		t.Errorf("root output: %s", out)
	}
	cp := filepath.Join(dir, "acme-"+day+".checkpoint")
	pub := filepath.Join(dir, "k.pub")
	must(ExitOK, "", "verify-root", db, "--checkpoint", cp, "--pub", pub)
	proof := must(ExitOK, "", "prove", db, "--tenant", "acme", "--seq", "3", "--checkpoint", cp)
	pf := filepath.Join(dir, "proof.json")
	os.WriteFile(pf, []byte(proof), 0o644)
	must(ExitOK, "", "verify-proof", "--proof", pf, "--checkpoint", cp, "--pub", pub)

	// A checkpoint signed by another key fails; so does a proof for beta.
	must(ExitOK, "", "keygen", "--out", filepath.Join(dir, "other"))
	must(ExitFail, "", "verify-root", db, "--checkpoint", cp, "--pub", filepath.Join(dir, "other.pub"))
	must(ExitFail, "", "verify-proof", "--proof", pf, "--checkpoint", filepath.Join(dir, "beta-"+day+".checkpoint"), "--pub", pub)

	// Bad input and unreachable databases.
	must(ExitBadInput, "", "root", db, "--date", "yesterday", "--key", filepath.Join(dir, "k.key"))
	must(ExitBadInput, "", "nonsense")
	must(ExitBadInput, "", "verify", "--db=mysql://x")
	code, o, e := ledgerRun(t, "", "verify", "--db=postgres://u:hunter22@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	if code != ExitError || strings.Contains(o+e, "hunter22") {
		t.Errorf("unreachable database: exit %d (want %d), output must not contain the password:\n%s%s", code, ExitError, o, e)
	}
}
