package ledger

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestCopyScanCutsMessagesAnywhere reads a chain through copyOut with read
// buffers from 1 byte up and a payload larger than the default buffer, so
// every message and row is cut at every place.
func TestCopyScanCutsMessagesAnywhere(t *testing.T) {
	t.Parallel()
	db := postgresOnly(t)
	s := migrated(t, db)
	es := seed(t, s, 40, "acme")
	big := `{"blob":"` + strings.Repeat("x", 3*defaultCopyBuf) + `"}`
	more, err := s.Append(context.Background(), []Record{{Tenant: "acme", Payload: []byte(big)}, {Tenant: "acme", Payload: []byte(`{"after":"big"}`)}}, AppendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	es = append(es, more...)
	for _, opt := range []copyOptions{{buf: 1}, {buf: 7}, {buf: 300}, {buf: 4096}, {}} {
		s.copyOpt = opt
		var got []Entry
		err := s.Scan(context.Background(), "acme", 1, 0, func(e *Entry) error {
			c := *e
			c.Payload = append([]byte(nil), e.Payload...)
			got = append(got, c)
			return nil
		})
		if err != nil {
			t.Fatalf("%+v: Scan: %v", opt, err)
		}
		if len(got) != len(es) {
			t.Fatalf("%+v: read %d entries, want %d", opt, len(got), len(es))
		}
		for i := range es {
			if got[i].Hash != es[i].Hash || got[i].Seq != es[i].Seq || string(got[i].Payload) != string(es[i].Payload) || !got[i].Time.Equal(es[i].Time) {
				t.Fatalf("%+v: entry %d = %+v, want %+v", opt, i, got[i].Seq, es[i].Seq)
			}
		}
		if r, err := s.Verify(context.Background(), "acme", 0); err != nil || !r.OK() || r.Entries != int64(len(es)) {
			t.Fatalf("%+v: Verify = %+v, %v", opt, r, err)
		}
	}
}

// TestCopyScanStopsCleanly stops scans early (fn's error, a cancelled
// context) and checks the error, and that the store still works: a
// connection left mid-COPY must not go back to the pool.
func TestCopyScanStopsCleanly(t *testing.T) {
	t.Parallel()
	db := postgresOnly(t)
	s := migrated(t, db)
	seed(t, s, 2000, "acme")
	s.db.SetMaxOpenConns(1) // every call reuses the one connection
	for _, size := range []int{300, 0} {
		s.copyOpt = copyOptions{buf: size}
		stop := errors.New("enough")
		n := 0
		err := s.Scan(context.Background(), "acme", 1, 0, func(*Entry) error {
			if n++; n == 10 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 10 {
			t.Errorf("buf=%d: Scan stopped by fn = %v after %d rows, want %v after 10", size, err, n, stop)
		}
		ctx, cancel := context.WithCancel(context.Background())
		n = 0
		err = s.Scan(ctx, "acme", 1, 0, func(*Entry) error {
			if n++; n == 10 {
				cancel()
				time.Sleep(10 * time.Millisecond)
			}
			return nil
		})
		cancel()
		if !errors.Is(err, context.Canceled) || n >= 2000 {
			t.Errorf("buf=%d: Scan with a cancelled context = %v after %d rows, want context.Canceled", size, err, n)
		}
		if r, err := s.Verify(context.Background(), "acme", 0); err != nil || !r.OK() || r.Entries != 2000 {
			t.Errorf("buf=%d: Verify after stopped scans = %+v, %v; want 2000 intact entries", size, r, err)
		}
	}
}

// TestCopyScanServerError gets an ErrorResponse instead of the COPY (a
// lock timeout) and checks it comes back as a *pgconn.PgError with the
// connection still usable.
func TestCopyScanServerError(t *testing.T) {
	t.Parallel()
	db := postgresOnly(t)
	s := migrated(t, db)
	seed(t, s, 5, "acme")
	s.db.SetMaxOpenConns(1)
	if _, err := s.db.Exec(`SET lock_timeout = '50ms'`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`LOCK TABLE ledger_chain IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	err = s.Scan(context.Background(), "acme", 1, 0, func(*Entry) error { return nil })
	tx.Rollback()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "55P03" {
		t.Fatalf("Scan under a lock = %v, want a lock_not_available PgError", err)
	}
	if r, err := s.Verify(context.Background(), "acme", 0); err != nil || !r.OK() || r.Entries != 5 {
		t.Errorf("Verify after the error = %+v, %v; want 5 intact entries", r, err)
	}
}

// TestCopyScanQuotesTenants: tenant names with quotes and backslashes
// reach the COPY query as the same string (and only their own rows come
// back); a NUL byte, which PostgreSQL text cannot hold, is refused.
func TestCopyScanQuotesTenants(t *testing.T) {
	t.Parallel()
	db := postgresOnly(t)
	s := migrated(t, db)
	odd := []string{`o'brien`, `back\slash`, `\'; DROP TABLE ledger_chain; --`, `ünï`}
	for i, tenant := range odd {
		seed(t, s, 3+i, tenant)
	}
	seed(t, s, 5, "acme")
	for i, tenant := range odd {
		r, err := s.Verify(context.Background(), tenant, 0)
		if err != nil || !r.OK() || r.Entries != int64(3+i) {
			t.Fatalf("Verify(%q) = %+v, %v; want %d entries, intact", tenant, r, err, 3+i)
		}
	}
	if r, err := s.Verify(context.Background(), "acme", 0); err != nil || r.Entries != 5 {
		t.Fatalf("Verify(acme) after the odd tenants = %+v, %v; want 5 entries", r, err)
	}
	if err := s.Scan(context.Background(), "a\x00b", 1, 0, func(*Entry) error { return nil }); !errors.Is(err, ErrBadRecord) {
		t.Fatalf("Scan of a tenant with a NUL byte: %v; want ErrBadRecord", err)
	}
}

func TestSQLString(t *testing.T) {
	for in, want := range map[string]string{
		"acme": `E'acme'`, `o'brien`: `E'o''brien'`, `a\b`: `E'a\\b'`, `\'`: `E'\\'''`, "": `E''`,
	} {
		if got, err := sqlString(in); err != nil || got != want {
			t.Errorf("sqlString(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
}
