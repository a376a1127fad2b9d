package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/ledger"
	"github.com/maestro-conductor/releasegate/internal/testutil"
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

// ledgerPostgres returns the DSN of a fresh, migrated ledger in its own
// schema of the test PostgreSQL cluster, and a connection to it.
func ledgerPostgres(t *testing.T) (string, *sql.DB) {
	t.Helper()
	dsn := testutil.PostgresSchema(t, "cli")
	if code, out, errs := ledgerRun(t, "", "migrate", "--db", dsn); code != ExitOK {
		t.Fatalf("migrate: exit %d\n%s%s", code, out, errs)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return dsn, db
}

// TestLedgerAppendRetriesLostRaces holds a tenant's lock while `ledger
// append` runs against a server with a short lock_timeout, so that every
// try loses the race (ledger.ErrConflict): append retries with backoff and
// lands once the lock is free; out of tries or out of time it exits 3
// (could not append), never 2 (bad input), and appends nothing.
func TestLedgerAppendRetriesLostRaces(t *testing.T) {
	t.Parallel()
	dsn, db := ledgerPostgres(t)
	dsn += "&lock_timeout=20ms"
	ctx := context.Background()
	hold := func(t *testing.T) (release func()) {
		t.Helper()
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtextextended('acme', 7))`); err != nil {
			t.Fatal(err)
		}
		return func() {
			conn.ExecContext(ctx, `SELECT pg_advisory_unlock(hashtextextended('acme', 7))`)
			conn.Close()
		}
	}
	count := func() (n int) {
		if err := db.QueryRow(`SELECT count(*) FROM ledger_chain`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	recs := []ledger.Record{{Tenant: "acme", Payload: []byte(`{"n":1}`)}}

	t.Run("out of tries", func(t *testing.T) {
		release := hold(t)
		defer release()
		st, err := ledger.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		_, retries, err := st.AppendRetrying(ctx, recs, ledger.Backoff{Attempts: 3, First: time.Millisecond, Max: 2 * time.Millisecond})
		if !errors.Is(err, ledger.ErrConflict) || retries != 2 || ledgerExit(err) != ExitError {
			t.Errorf("appendRetrying under a held lock = %d retries, %v (exit %d); want 2 retries, ErrConflict, exit %d", retries, err, ledgerExit(err), ExitError)
		}
	})
	t.Run("out of time", func(t *testing.T) {
		release := hold(t)
		defer release()
		st, err := ledger.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, _, err = st.AppendRetrying(cctx, recs, ledger.Backoff{Attempts: 1000, First: 10 * time.Millisecond, Max: 50 * time.Millisecond})
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second || ledgerExit(err) == ExitBadInput {
			t.Errorf("appendRetrying past its deadline = %v after %v; want the deadline within a few tries", err, time.Since(start))
		}
	})
	if n := count(); n != 0 {
		t.Fatalf("%d entries appended by failed appends, want 0", n)
	}
	t.Run("lands once the lock is free", func(t *testing.T) {
		release := hold(t)
		go func() {
			time.Sleep(300 * time.Millisecond)
			release()
		}()
		code, out, errs := ledgerRun(t, `{"n":1}`+"\n"+`{"n":2}`+"\n", "append", "--db", dsn, "--tenant", "acme")
		if code != ExitOK || !strings.Contains(out, "appended 2 entries") || !strings.Contains(errs, "retried after losing a race") {
			t.Errorf("append while the lock is held for 300ms = exit %d\nstdout: %s\nstderr: %s\nwant exit 0, 2 entries, retries reported", code, out, errs)
		}
	})
	if n := count(); n != 2 {
		t.Errorf("%d entries in the ledger, want 2", n)
	}
}

// TestLedgerProveConsistency signs two days of a tenant and one of another
// with `ledger root`, then proves and verifies the first day's tree a
// prefix of the second's: between checkpoint files and between sizes;
// checkpoints of two tenants are bad input to the prover and fail the
// verifier; a flipped proof hash fails.
func TestLedgerProveConsistency(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := "--db=sqlite:" + filepath.Join(dir, "ledger.db")
	must := func(want int, args ...string) string {
		t.Helper()
		code, out, errs := ledgerRun(t, "", args...)
		if code != want {
			t.Fatalf("ledger %s = exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out, errs)
		}
		return out + errs
	}
	must(ExitOK, "migrate", db)
	var in strings.Builder
	for i := range 7 {
		fmt.Fprintf(&in, `{"tenant":"acme","time":"2026-11-%dT0%d:00:00Z","payload":{"i":%d}}`+"\n", 27+i/4, i, i)
	}
	fmt.Fprintln(&in, `{"tenant":"beta","time":"2026-11-28T09:00:00Z","payload":{}}`)
	if code, out, errs := ledgerRun(t, in.String(), "append", db); code != ExitOK {
		t.Fatalf("append: exit %d\n%s%s", code, out, errs)
	}
	must(ExitOK, "keygen", "--out", filepath.Join(dir, "k"))
	key, pub := filepath.Join(dir, "k.key"), filepath.Join(dir, "k.pub")
	must(ExitOK, "root", db, "--date", "2026-11-27", "--key", key, "--out", dir)
	must(ExitOK, "root", db, "--date", "2026-11-28", "--key", key, "--out", dir)
	day1, day2 := filepath.Join(dir, "acme-2026-11-27.checkpoint"), filepath.Join(dir, "acme-2026-11-28.checkpoint")
	beta := filepath.Join(dir, "beta-2026-11-28.checkpoint")

	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	proof := write("c.json", must(ExitOK, "prove", db, "--consistency", "--old-checkpoint", day1, "--checkpoint", day2))
	if out := must(ExitOK, "verify-proof", "--consistency", "--proof", proof, "--old-checkpoint", day1, "--checkpoint", day2, "--pub", pub); !strings.Contains(out, "PASSED: releasegate.ledger/acme: the signed tree of 4 entries") {
		t.Errorf("verify-proof --consistency output: %s", out)
	}
	// ledger root wrote the same proof beside day 2's checkpoint, having
	// extended day 1's frontier.
	if b, _ := os.ReadFile(filepath.Join(dir, "acme-2026-11-28.consistency.json")); !jsonEqual(b, proof) {
		t.Errorf("root's consistency file %s differs from prove --consistency", b)
	}
	bySize := must(ExitOK, "prove", db, "--consistency", "--tenant", "acme", "--old-size", "4", "--size", "7")
	if b, _ := os.ReadFile(proof); string(b) != bySize {
		t.Errorf("the proof between sizes 4 and 7 differs from the one between the checkpoints:\n%s\n%s", bySize, b)
	}
	var p ledger.Consistency
	if err := json.Unmarshal([]byte(bySize), &p); err != nil || len(p.Proof) == 0 {
		t.Fatalf("proof JSON %s: %v", bySize, err)
	}
	h, err := base64.StdEncoding.DecodeString(p.Proof[0])
	if err != nil {
		t.Fatal(err)
	}
	h[0] ^= 1
	p.Proof[0] = base64.StdEncoding.EncodeToString(h)
	tampered, _ := json.Marshal(p)
	must(ExitFail, "verify-proof", "--consistency", "--proof", write("t.json", string(tampered)), "--old-checkpoint", day1, "--checkpoint", day2, "--pub", pub)

	// Another origin, the wrong order, bad flag combinations.
	if out := must(ExitBadInput, "prove", db, "--consistency", "--old-checkpoint", beta, "--checkpoint", day2); !strings.Contains(out, "releasegate.ledger/beta") {
		t.Errorf("prove between two tenants' checkpoints should name both origins: %s", out)
	}
	must(ExitFail, "verify-proof", "--consistency", "--proof", proof, "--old-checkpoint", beta, "--checkpoint", day2, "--pub", pub)
	must(ExitBadInput, "prove", db, "--consistency", "--old-checkpoint", day2, "--checkpoint", day1)
	must(ExitBadInput, "prove", db, "--consistency", "--old-checkpoint", day1)
	must(ExitBadInput, "prove", db, "--consistency", "--old-checkpoint", day1, "--size", "7")
	must(ExitBadInput, "prove", db, "--consistency", "--tenant", "acme", "--old-size", "8")
	must(ExitBadInput, "prove", db, "--consistency", "--tenant", "acme", "--old-size", "2", "--seq", "1")
	must(ExitBadInput, "prove", db, "--consistency", "--inclusion", "--tenant", "acme", "--old-size", "2")
	must(ExitBadInput, "prove", db, "--tenant", "acme", "--seq", "1", "--old-size", "2")
	must(ExitBadInput, "verify-proof", "--consistency", "--proof", proof, "--checkpoint", day2, "--pub", pub)

	// --inclusion is the default mode, named.
	incl := write("i.json", must(ExitOK, "prove", db, "--inclusion", "--seq", "2", "--checkpoint", day2))
	must(ExitOK, "verify-proof", "--proof", incl, "--checkpoint", day2, "--pub", pub)
}

// jsonEqual reports whether b and the JSON file at path hold the same value.
func jsonEqual(b []byte, path string) bool {
	c, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var x, y any
	return json.Unmarshal(b, &x) == nil && json.Unmarshal(c, &y) == nil && fmt.Sprint(x) == fmt.Sprint(y)
}

// TestLedgerVerifySince signs a day with `ledger root`, appends the next
// day, and verifies only the new entries with `ledger verify --since`
// (a checkpoint file and the --out directory); a break after the
// checkpoint and a rewritten head fail; bad flags are bad input.
func TestLedgerVerifySince(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "ledger.db")
	db := "--db=sqlite:" + dbPath
	must := func(want int, stdin string, args ...string) string {
		t.Helper()
		code, out, errs := ledgerRun(t, stdin, args...)
		if code != want {
			t.Fatalf("ledger %s = exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out, errs)
		}
		return out + errs
	}
	must(ExitOK, "", "migrate", db)
	line := func(day string, i int) string {
		return fmt.Sprintf(`{"tenant":"acme","time":"%sT0%d:00:00Z","payload":{"i":%d}}`+"\n", day, i, i)
	}
	var in strings.Builder
	for i := range 5 {
		in.WriteString(line("2026-11-27", i))
	}
	must(ExitOK, in.String(), "append", db)
	must(ExitOK, "", "keygen", "--out", filepath.Join(dir, "k"))
	out := filepath.Join(dir, "roots")
	must(ExitOK, "", "root", db, "--date", "2026-11-27", "--key", filepath.Join(dir, "k.key"), "--out", out)
	in.Reset()
	for i := range 3 {
		in.WriteString(line("2026-11-28", i))
	}
	must(ExitOK, in.String(), "append", db)
	pub := filepath.Join(dir, "k.pub")
	cp := filepath.Join(out, "acme-2026-11-27.checkpoint")
	for _, since := range []string{cp, out} {
		if o := must(ExitOK, "", "verify", db, "--since", since, "--pub", pub, "--format=json"); !strings.Contains(o, "4 entries verified (seq 5..8)") || !strings.Contains(o, "since the signed checkpoint of 2026-11-27") {
			t.Errorf("verify --since %s output: %s", since, o)
		}
	}
	must(ExitBadInput, "", "verify", db, "--since", cp)                               // no key
	must(ExitBadInput, "", "verify", db, "--since", cp, "--pub", pub, "--limit", "2") // two ways to shorten
	must(ExitBadInput, "", "verify", db, "--since", filepath.Join(dir, "none"), "--pub", pub)
	must(ExitBadInput, "", "migrate", db, "--partitions", "4") // SQLite has no partitions
	must(ExitBadInput, "", "migrate", db, "--partitions", "4", "--down")

	// A break after the checkpoint, then history rewritten before it.
	sq, err := sql.Open("sqlite", "file:"+dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	for _, q := range []string{`DROP TRIGGER ledger_chain_no_update`, `UPDATE ledger_chain SET payload = '{"i":9}' WHERE seq = 7`} {
		if _, err := sq.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if o := must(ExitFail, "", "verify", db, "--since", cp, "--pub", pub, "--format=json"); !strings.Contains(o, "seq 7 (hash-mismatch)") {
		t.Errorf("verify --since after a tamper at seq 7: %s", o)
	}
	if _, err := sq.Exec(`UPDATE ledger_chain SET hash = prev_hash WHERE seq = 5`); err != nil {
		t.Fatal(err)
	}
	if o := must(ExitFail, "", "verify", db, "--since", cp, "--pub", pub, "--format=json"); !strings.Contains(o, "history before the checkpoint was rewritten") {
		t.Errorf("verify --since after rewriting the head: %s", o)
	}
}
