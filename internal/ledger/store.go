package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"               // registers the pure-Go "sqlite" driver
)

// Dialect names a supported database.
type Dialect string

// The supported databases.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Store is a ledger in one database. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	// redacted is the data source with any password removed, for messages.
	redacted string
	// copyOpt tunes how PostgreSQL COPY streams are read (tests).
	copyOpt copyOptions
}

// Open connects to the ledger at dsn: "postgres://…" (or "postgresql://…")
// for PostgreSQL, "sqlite:PATH" for an SQLite file. It pings the database
// so that an unreachable server is an error here (wrapping ErrUnreachable),
// never a later empty result.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, true)
}

// OpenExisting is Open for readers (verify, prove, the gate): an SQLite file
// that does not exist is ErrUnreachable instead of a new empty ledger.
func OpenExisting(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, false)
}

func open(ctx context.Context, dsn string, create bool) (*Store, error) {
	s := &Store{redacted: Redact(dsn)}
	var err error
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		s.dialect = Postgres
		s.db, err = sql.Open("pgx", dsn)
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		path = strings.TrimPrefix(path, "//")
		if path == "" {
			return nil, fmt.Errorf("%w: %q names no file; expected sqlite:PATH", ErrBadDSN, dsn)
		}
		s.dialect = SQLite
		if !create {
			if _, err := os.Stat(path); err != nil {
				return nil, fmt.Errorf("%w: %s: %v; check the path or create the ledger with `releasegate ledger migrate`", ErrUnreachable, dsn, err)
			}
		}
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_txlock", "immediate")
		s.db, err = sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err == nil {
			// One writer at a time; readers share the same connection.
			s.db.SetMaxOpenConns(1)
		}
	default:
		return nil, fmt.Errorf("%w: %q; expected postgres://USER@HOST:PORT/DB or sqlite:PATH", ErrBadDSN, Redact(dsn))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadDSN, s.redacted, err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.db.PingContext(pctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("%w: %s: %v; check that the server runs and the DSN is right", ErrUnreachable, s.redacted, err)
	}
	return s, nil
}

// Redact removes the password from a data source name.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		if err != nil && strings.Contains(dsn, "@") {
			return "(unparsable data source)"
		}
		return dsn
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Dialect returns the store's database kind.
func (s *Store) Dialect() Dialect { return s.dialect }

// DB returns the underlying database handle (tests and benchmarks use it).
func (s *Store) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// q rewrites $1-style placeholders for SQLite.
func (s *Store) q(query string) string {
	if s.dialect == Postgres {
		return query
	}
	var b strings.Builder
	for i := 0; i < len(query); i++ {
		if query[i] == '$' && i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9' {
			b.WriteByte('?')
			for i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9' {
				i++
			}
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// tsArg converts a time for the ts column.
func (s *Store) tsArg(t time.Time) any {
	if s.dialect == SQLite {
		return t.UnixMicro()
	}
	return t.UTC()
}

// tsScan is a scan target for the ts column of either dialect.
type tsScan struct {
	d Dialect
	t time.Time
	n int64
}

func (x *tsScan) target() any {
	if x.d == SQLite {
		return &x.n
	}
	return &x.t
}

func (x *tsScan) time() time.Time {
	if x.d == SQLite {
		return time.UnixMicro(x.n).UTC()
	}
	return x.t.UTC()
}

// hasTable reports whether a table exists in the current schema.
func hasTable(ctx context.Context, q queryer, d Dialect, name string) (bool, error) {
	var n int
	var err error
	if d == Postgres {
		err = q.QueryRowContext(ctx, `SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = $1`, name).Scan(&n)
	} else {
		err = q.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n)
	}
	return n > 0, err
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// requireSchema fails with ErrNoSchema unless the v2 table exists.
func (s *Store) requireSchema(ctx context.Context) error {
	ok, err := hasTable(ctx, s.db, s.dialect, "ledger_chain")
	if err != nil {
		return s.dbErr("look for the ledger schema", err)
	}
	if !ok {
		return fmt.Errorf("%w: %s has no ledger_chain table; run `releasegate ledger migrate --db …` first", ErrNoSchema, s.redacted)
	}
	return nil
}

// dbErr wraps a database error; a connection failure wraps ErrUnreachable.
func (s *Store) dbErr(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s: %w", what, err)
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) || errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("%s: %w: %v", what, ErrUnreachable, err)
	}
	return fmt.Errorf("%s in %s: %w", what, s.redacted, err)
}

// conflictStates are the PostgreSQL SQLSTATEs that make an append a lost
// race between writers: the same transaction can succeed when run again.
var conflictStates = map[string]bool{
	"40001": true, // serialization_failure (also: a seq or previous hash that no longer continues the head, from the append trigger)
	"40P01": true, // deadlock_detected
	"23505": true, // unique_violation: (tenant, seq) taken by a writer that did not lock
	"55P03": true, // lock_not_available: the tenant's lock not granted within the server's lock_timeout
}

// SQLite result codes of a database locked by another writer.
const (
	sqliteBusy   = 5
	sqliteLocked = 6
)

// isConflict reports whether err is a lost race between writers.
func isConflict(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return conflictStates[pe.Code]
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code() & 0xff // the primary result code of an extended one
		return c == sqliteBusy || c == sqliteLocked
	}
	return false
}

// Tenants returns every tenant with at least one entry, sorted.
func (s *Store) Tenants(ctx context.Context) ([]string, error) {
	if err := s.requireSchema(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT tenant FROM ledger_chain ORDER BY tenant`)
	if err != nil {
		return nil, s.dbErr("list tenants", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, s.dbErr("list tenants", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, s.dbErr("list tenants", err)
	}
	return out, nil
}

// Head returns a tenant's latest entry, or ok=false when it has none.
func (s *Store) Head(ctx context.Context, tenant string) (e Entry, ok bool, err error) {
	if err := s.requireSchema(ctx); err != nil {
		return e, false, err
	}
	return s.head(ctx, s.db, tenant)
}

func (s *Store) head(ctx context.Context, q queryer, tenant string) (Entry, bool, error) {
	return s.one(ctx, q, s.q(`SELECT seq, ts, kind, payload, prev_hash, hash FROM ledger_chain WHERE tenant = $1 ORDER BY seq DESC LIMIT 1`), tenant)
}

// Get returns one entry.
func (s *Store) Get(ctx context.Context, tenant string, seq int64) (Entry, bool, error) {
	if err := s.requireSchema(ctx); err != nil {
		return Entry{}, false, err
	}
	return s.one(ctx, s.db, s.q(`SELECT seq, ts, kind, payload, prev_hash, hash FROM ledger_chain WHERE tenant = $1 AND seq = $2`), tenant, seq)
}

func (s *Store) one(ctx context.Context, q queryer, query string, args ...any) (Entry, bool, error) {
	e := Entry{Tenant: args[0].(string)}
	ts := tsScan{d: s.dialect}
	var payload string
	var prev, h []byte
	err := q.QueryRowContext(ctx, query, args...).Scan(&e.Seq, ts.target(), &e.Kind, &payload, &prev, &h)
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, s.dbErr("read entry", err)
	}
	e.Time = ts.time()
	e.Payload = []byte(payload)
	copy(e.PrevHash[:], prev)
	copy(e.Hash[:], h)
	return e, true, nil
}

// Scan streams a tenant's entries with from <= seq <= to (to <= 0: to the
// end) in seq order to fn. On PostgreSQL it reads a binary COPY, so rows are
// decoded while the server is still sending.
func (s *Store) Scan(ctx context.Context, tenant string, from, to int64, fn func(*Entry) error) error {
	if s.dialect == Postgres {
		return s.copyScan(ctx, tenant, from, to, fn)
	}
	query := `SELECT seq, ts, kind, payload, prev_hash, hash FROM ledger_chain WHERE tenant = ? AND seq >= ?`
	args := []any{tenant, from}
	if to > 0 {
		query += ` AND seq <= ?`
		args = append(args, to)
	}
	rows, err := s.db.QueryContext(ctx, query+` ORDER BY seq`, args...)
	if err != nil {
		return s.dbErr("read the chain", err)
	}
	defer rows.Close()
	e := Entry{Tenant: tenant}
	var payload, prev, h []byte
	var ts int64
	for rows.Next() {
		if err := rows.Scan(&e.Seq, &ts, &e.Kind, &payload, &prev, &h); err != nil {
			return s.dbErr("read the chain", err)
		}
		e.Time = time.UnixMicro(ts).UTC()
		e.Payload = payload
		if len(prev) != 32 || len(h) != 32 {
			return fmt.Errorf("tenant %s seq %d: stored hashes are %d and %d bytes, expected 32", tenant, e.Seq, len(prev), len(h))
		}
		copy(e.PrevHash[:], prev)
		copy(e.Hash[:], h)
		if err := fn(&e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.dbErr("read the chain", err)
	}
	return nil
}

// SeqRange returns the first and last seq of a tenant's entries whose time
// lies in [from, to), and ok=false when there are none.
func (s *Store) SeqRange(ctx context.Context, tenant string, from, to time.Time) (first, last int64, ok bool, err error) {
	if err := s.requireSchema(ctx); err != nil {
		return 0, 0, false, err
	}
	var lo, hi sql.NullInt64
	err = s.db.QueryRowContext(ctx, s.q(`SELECT min(seq), max(seq) FROM ledger_chain WHERE tenant = $1 AND ts >= $2 AND ts < $3`),
		tenant, s.tsArg(from), s.tsArg(to)).Scan(&lo, &hi)
	if err != nil {
		return 0, 0, false, s.dbErr("find the day's entries", err)
	}
	return lo.Int64, hi.Int64, lo.Valid, nil
}
