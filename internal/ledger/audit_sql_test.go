package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"testing"
)

// The release checklist's own psql commands, exactly as it writes them.
const (
	checklistCount    = `SELECT COUNT(*) FROM provenance_ledger_v2;`
	checklistValidate = `SELECT validate_hash_chain('%s');`
)

// cliChainVerdict runs `releasegate ledger verify --tenant T --format json`
// and returns the status and observed value of its "hash chain" check.
func cliChainVerdict(t *testing.T, dsn, tenant string) (status string, observed any) {
	t.Helper()
	out, err := exec.Command(releasegateBin(t), "ledger", "verify", "--db", dsn, "--tenant", tenant, "--format", "json").Output()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	var doc struct {
		Results []struct {
			Checks []struct {
				Name     string `json:"name"`
				Status   string `json:"status"`
				Observed any    `json:"observed"`
			} `json:"checks"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &doc); err != nil || len(doc.Results) != 1 {
		t.Fatalf("ledger verify --format json: %v\n%s", err, out)
	}
	for _, c := range doc.Results[0].Checks {
		if c.Name == "hash chain" {
			return c.Status, c.Observed
		}
	}
	t.Fatalf("ledger verify has no hash chain check:\n%s", out)
	return "", nil
}

func sqlVerdict(t *testing.T, db *sql.DB, tenant string) string {
	t.Helper()
	var v string
	if err := db.QueryRow(fmt.Sprintf(checklistValidate, tenant)).Scan(&v); err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(checklistValidate, tenant), err)
	}
	return v
}

// TestReleaseChecklistSQL runs the release checklist's psql commands as
// written on a migrated PostgreSQL ledger: the count of provenance_ledger_v2
// and validate_hash_chain's verdict, which says the same as `releasegate
// ledger verify` on an intact chain, an unknown tenant and a tampered row
// (naming the seq); migrate --down removes both and up brings them back,
// also over a database that has the v2 schema's earlier validate_hash_chain.
func TestReleaseChecklistSQL(t *testing.T) {
	t.Parallel()
	db := postgresOnly(t)
	ctx := context.Background()
	// A v2 database made before this migration: its validate_hash_chain
	// returned a table.
	if _, err := db.admin.Exec(`CREATE FUNCTION validate_hash_chain(p_tenant text) RETURNS TABLE (entries bigint, first_bad_seq bigint, problem text)
		LANGUAGE sql AS $$ SELECT 0::bigint, NULL::bigint, NULL::text $$`); err != nil {
		t.Fatal(err)
	}
	s := migrated(t, db)
	seed(t, s, 10, "acme", "beta")

	var n int64
	if err := db.admin.QueryRow(checklistCount).Scan(&n); err != nil || n != 20 {
		t.Fatalf("%s = %d, %v; want 20", checklistCount, n, err)
	}
	for _, c := range []struct {
		tenant, verdict, status string
		observed                any
	}{
		{"acme", "valid: 10 entries, seq 1..10", "pass", 10.0},
		{"nobody", "invalid: tenant nobody has no entries", "fail", 0.0},
	} {
		if got := sqlVerdict(t, db.admin, c.tenant); got != c.verdict {
			t.Errorf("validate_hash_chain('%s') = %q, want %q", c.tenant, got, c.verdict)
		}
		if st, obs := cliChainVerdict(t, db.dsn, c.tenant); st != c.status || obs != c.observed {
			t.Errorf("ledger verify --tenant %s: %s, observed %v; want %s, %v like validate_hash_chain", c.tenant, st, obs, c.status, c.observed)
		}
	}

	db.tamper(t, `UPDATE ledger_chain SET payload = '{"n":99}' WHERE tenant = 'acme' AND seq = 5`)
	if got, want := sqlVerdict(t, db.admin, "acme"), "invalid: seq 5 hash-mismatch; the 4 entries before it are intact"; got != want {
		t.Errorf("validate_hash_chain('acme') after a tampered row = %q, want %q", got, want)
	}
	if st, obs := cliChainVerdict(t, db.dsn, "acme"); st != "fail" || obs != "hash-mismatch at seq 5" {
		t.Errorf("ledger verify after a tampered row: %s, observed %v; want fail, hash-mismatch at seq 5 like validate_hash_chain", st, obs)
	}
	if got := sqlVerdict(t, db.admin, "beta"); got != "valid: 10 entries, seq 1..10" {
		t.Errorf("validate_hash_chain('beta') = %q, want the untouched tenant valid", got)
	}

	// Down removes the view and the function with the chain; up restores
	// them (and chains the v1 rows anew, the tampered payload included, so
	// the verdict is valid again).
	if _, err := s.Migrate(ctx, true); err != nil {
		t.Fatalf("down: %v", err)
	}
	var view, fn sql.NullString
	if err := db.admin.QueryRow(`SELECT to_regclass('provenance_ledger_v2')::text, to_regprocedure('validate_hash_chain(text)')::text`).Scan(&view, &fn); err != nil || view.Valid || fn.Valid {
		t.Errorf("after down: view %v, function %v, %v; want both gone", view, fn, err)
	}
	if _, err := s.Migrate(ctx, false); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if err := db.admin.QueryRow(checklistCount).Scan(&n); err != nil || n != 20 {
		t.Errorf("%s after down and up = %d, %v; want 20", checklistCount, n, err)
	}
	if got := sqlVerdict(t, db.admin, "acme"); got != "valid: 10 entries, seq 1..10" {
		t.Errorf("validate_hash_chain('acme') after down and up = %q, want valid", got)
	}
}

// TestReleaseChecklistViewSQLite: SQLite has the same view (and no SHA-256
// for validate_hash_chain), removed by down.
func TestReleaseChecklistViewSQLite(t *testing.T) {
	t.Parallel()
	db := newSQLite(t)
	s := migrated(t, db)
	es := seed(t, s, 3, "acme", "beta")
	var n int64
	if err := db.admin.QueryRow(checklistCount).Scan(&n); err != nil || n != 6 {
		t.Fatalf("%s = %d, %v; want 6", checklistCount, n, err)
	}
	var ts, hash string
	if err := db.admin.QueryRow(`SELECT ts, hash FROM provenance_ledger_v2 WHERE tenant = 'acme' AND seq = 1`).Scan(&ts, &hash); err != nil ||
		ts != es[0].Time.Format(TimeLayout) || hash != es[0].Hash.String() {
		t.Errorf("view row = %s %s, %v; want %s %s", ts, hash, err, es[0].Time.Format(TimeLayout), es[0].Hash)
	}
	if _, err := s.Migrate(context.Background(), true); err != nil {
		t.Fatalf("down: %v", err)
	}
	if err := db.admin.QueryRow(checklistCount).Scan(&n); err == nil {
		t.Error("the view survives the down migration")
	}
}
