package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/migrations"
)

// MigrateReport says what a migration did.
type MigrateReport struct {
	// From and To are the schema versions before and after (0: no schema).
	From, To int
	// Rows is the number of rows moved between the v1 table and the chain.
	Rows int64
	// Tenants is the number of tenants in the result.
	Tenants int
	// Checksum is SHA-256 over the sorted "tenant LF seq LF hash LF" lines
	// of every tenant's latest entry after an up migration: two databases
	// with the same chains have the same checksum.
	Checksum string
}

// Version returns the schema version: 2 (ledger_chain), 1 (the plain v1
// ledger_entries table) or 0 (no ledger).
func (s *Store) Version(ctx context.Context) (int, error) {
	return s.version(ctx, s.db)
}

func (s *Store) version(ctx context.Context, q queryer) (int, error) {
	for _, t := range []struct {
		name string
		v    int
	}{{"ledger_chain", 2}, {"ledger_entries", 1}} {
		ok, err := hasTable(ctx, q, s.dialect, t.name)
		if err != nil {
			return 0, s.dbErr("read the schema version", err)
		}
		if ok {
			return t.v, nil
		}
	}
	return 0, nil
}

func (s *Store) migration(name string) (string, error) {
	dir := ""
	if s.dialect == SQLite {
		dir = "sqlite/"
	}
	b, err := migrations.FS.ReadFile(dir + name)
	return string(b), err
}

// Migrate brings the schema to v2 (or, with down, back to v1) in one
// transaction. Up creates the chain (ledger_v2.sql) and, when a v1 table
// exists, chains its rows per tenant in (time, id) order, canonicalizing
// each payload, then adds the auditor's SQL (ledger_v2_audit.sql: the
// provenance_ledger_v2 view and, on PostgreSQL, validate_hash_chain); a
// payload without a canonical form aborts the migration (nothing changes)
// and names the row. Running it again is a no-op that re-applies the schema
// objects. Down removes the auditor's SQL (ledger_v2_audit_down.sql) and
// moves every entry back to the v1 table without loss.
func (s *Store) Migrate(ctx context.Context, down bool) (MigrateReport, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return MigrateReport{}, s.dbErr("begin", err)
	}
	defer tx.Rollback()
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7277034711)`); err != nil {
			return MigrateReport{}, s.dbErr("lock the schema", err)
		}
	}
	from, err := s.version(ctx, tx)
	if err != nil {
		return MigrateReport{}, err
	}
	rep := MigrateReport{From: from, To: from}
	if down {
		err = s.down(ctx, tx, &rep)
	} else {
		err = s.up(ctx, tx, &rep)
	}
	if err != nil {
		return MigrateReport{}, err
	}
	if err := tx.Commit(); err != nil {
		return MigrateReport{}, s.dbErr("commit the migration", err)
	}
	return rep, nil
}

func (s *Store) exec(ctx context.Context, tx *sql.Tx, file string) error {
	text, err := s.migration(file)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, text); err != nil {
		return s.dbErr("apply "+file, err)
	}
	return nil
}

func (s *Store) up(ctx context.Context, tx *sql.Tx, rep *MigrateReport) error {
	if err := s.exec(ctx, tx, "ledger_v2.sql"); err != nil {
		return err
	}
	if rep.From == 1 {
		recs, err := s.readV1(ctx, tx)
		if err != nil {
			return err
		}
		if _, err := s.appendTx(ctx, tx, recs, time.Now); err != nil {
			return fmt.Errorf("chain the v1 rows: %w", err)
		}
		rep.Rows = int64(len(recs))
		for _, drop := range []string{`DROP TABLE ledger_entries`, `DROP TABLE IF EXISTS ledger_v1_kinds`} {
			if _, err := tx.ExecContext(ctx, drop); err != nil {
				return s.dbErr("drop the v1 table", err)
			}
		}
	}
	if err := s.exec(ctx, tx, "ledger_v2_audit.sql"); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM ledger_schema`); err != nil {
		return s.dbErr("record the schema version", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_schema (version) VALUES (2)`); err != nil {
		return s.dbErr("record the schema version", err)
	}
	rep.To = 2
	return s.checksum(ctx, tx, rep)
}

type v1row struct {
	id  int64
	rec Record
}

func (s *Store) readV1(ctx context.Context, tx *sql.Tx) ([]Record, error) {
	hasKinds, err := hasTable(ctx, tx, s.dialect, "ledger_v1_kinds")
	if err != nil {
		return nil, s.dbErr("look for ledger_v1_kinds", err)
	}
	kindCol, join := `'entry'`, ``
	if hasKinds {
		kindCol, join = `coalesce(k.kind, 'entry')`, ` LEFT JOIN ledger_v1_kinds k ON k.id = e.id`
	}
	payloadCol := `e.payload`
	if s.dialect == Postgres {
		payloadCol = `e.payload::text`
	}
	rows, err := tx.QueryContext(ctx, `SELECT e.id, e.tenant, e.ts, `+kindCol+`, `+payloadCol+` FROM ledger_entries e`+join)
	if err != nil {
		return nil, s.dbErr("read the v1 table", err)
	}
	defer rows.Close()
	var all []v1row
	for rows.Next() {
		var r v1row
		var payload string
		var pgTime time.Time
		var sqliteTime string
		var tsTarget any = &pgTime
		if s.dialect == SQLite {
			tsTarget = &sqliteTime
		}
		if err := rows.Scan(&r.id, &r.rec.Tenant, tsTarget, &r.rec.Kind, &payload); err != nil {
			return nil, s.dbErr("read the v1 table", err)
		}
		if s.dialect == SQLite {
			t, err := parseV1Time(sqliteTime)
			if err != nil {
				return nil, fmt.Errorf("%w: v1 row id %d: %w", ErrBadRecord, r.id, err)
			}
			pgTime = t
		}
		r.rec.Time = pgTime
		r.rec.Payload = []byte(payload)
		if _, err := Canonicalize(r.rec.Payload); err != nil {
			return nil, fmt.Errorf("%w: v1 row id %d (tenant %s): %w; fix the row and migrate again", ErrBadRecord, r.id, r.rec.Tenant, err)
		}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbErr("read the v1 table", err)
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.rec.Tenant != b.rec.Tenant {
			return a.rec.Tenant < b.rec.Tenant
		}
		if !a.rec.Time.Equal(b.rec.Time) {
			return a.rec.Time.Before(b.rec.Time)
		}
		return a.id < b.id
	})
	recs := make([]Record, len(all))
	for i, r := range all {
		recs[i] = r.rec
	}
	return recs, nil
}

// parseV1Time reads the v1 SQLite ts column: RFC 3339, or SQLite's own
// "YYYY-MM-DD HH:MM:SS[.fff]" in UTC.
func parseV1Time(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("ts %q is not RFC 3339", s)
}

func (s *Store) down(ctx context.Context, tx *sql.Tx, rep *MigrateReport) error {
	if rep.From != 2 {
		return nil // already v1 or empty: nothing to undo
	}
	if err := s.exec(ctx, tx, "ledger_v2_audit_down.sql"); err != nil {
		return err
	}
	if err := s.exec(ctx, tx, "ledger_v2_down.sql"); err != nil {
		return err
	}
	rep.To = 1
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM ledger_entries`).Scan(&rep.Rows); err != nil {
		return s.dbErr("count the v1 rows", err)
	}
	return tx.QueryRowContext(ctx, `SELECT count(DISTINCT tenant) FROM ledger_entries`).Scan(&rep.Tenants)
}

func (s *Store) checksum(ctx context.Context, q queryer, rep *MigrateReport) error {
	rows, err := q.QueryContext(ctx, `SELECT tenant, seq, hash FROM ledger_chain c
		WHERE seq = (SELECT max(seq) FROM ledger_chain m WHERE m.tenant = c.tenant) ORDER BY tenant`)
	if err != nil {
		return s.dbErr("checksum the chain", err)
	}
	defer rows.Close()
	h := sha256.New()
	var lines []string
	for rows.Next() {
		var t string
		var seq int64
		var hash []byte
		if err := rows.Scan(&t, &seq, &hash); err != nil {
			return s.dbErr("checksum the chain", err)
		}
		lines = append(lines, fmt.Sprintf("%s\n%d\n%x\n", t, seq, hash))
	}
	if err := rows.Err(); err != nil {
		return s.dbErr("checksum the chain", err)
	}
	sort.Strings(lines)
	h.Write([]byte(strings.Join(lines, "")))
	rep.Tenants = len(lines)
	rep.Checksum = "sha256:" + hex.EncodeToString(h.Sum(nil))
	return nil
}
