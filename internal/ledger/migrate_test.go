package ledger

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/migrations"
)

// v1Rows are awkward but valid v1 payloads: unsorted keys, non-canonical
// numbers, escapes, non-ASCII, scalars at the top level, equal times.
var v1Rows = []struct {
	tenant  string
	at      time.Duration
	payload string
}{
	{"acme", 0, `{"b": 1, "a": [1.0, 2.50, "é\u2028"]}`},
	{"beta", 0, `"just a string"`},
	{"acme", time.Second, `{"nested": {"deep": {"x": 1e2, "y": -0.0}}}`},
	{"acme", time.Second, `[]`},
	{"beta", 2 * time.Second, `{"emoji": "\ud83d\ude00", "quote": "\"", "tab": "\t"}`},
	{"acme", 3 * time.Second, `null`},
	{"acme", 3*time.Second + 7*time.Microsecond, `{"small": 1e-7, "big": 1e21}`},
}

func loadV1(t *testing.T, db testDB, extra ...string) {
	t.Helper()
	dir := ""
	if db.d == SQLite {
		dir = "sqlite/"
	}
	v1, err := migrations.FS.ReadFile(dir + "ledger_v1.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.admin.Exec(string(v1)); err != nil {
		t.Fatalf("create v1: %v", err)
	}
	ins := `INSERT INTO ledger_entries (tenant, ts, payload) VALUES ($1, $2, $3)`
	if db.d == SQLite {
		ins = `INSERT INTO ledger_entries (tenant, ts, payload) VALUES (?, ?, ?)`
	}
	add := func(tenant string, ts time.Time, payload string) {
		var tv any = ts
		if db.d == SQLite {
			tv = ts.Format(time.RFC3339Nano)
		}
		if _, err := db.admin.Exec(ins, tenant, tv, payload); err != nil {
			t.Fatalf("insert v1 row %s: %v", payload, err)
		}
	}
	for _, r := range v1Rows {
		add(r.tenant, t0.Add(r.at), r.payload)
	}
	for _, p := range extra {
		add("acme", t0.Add(time.Hour), p)
	}
}

func TestMigrateRoundTrip(t *testing.T) {
	t.Parallel()
	for _, db := range testDBs(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			loadV1(t, db)
			s := db.open(t)
			rep, err := s.Migrate(ctx, false)
			if err != nil {
				t.Fatalf("up: %v", err)
			}
			if rep.From != 1 || rep.To != 2 || rep.Rows != int64(len(v1Rows)) || rep.Tenants != 2 || rep.Checksum == "" {
				t.Fatalf("up report %+v, want 1→2 with %d rows, 2 tenants, a checksum", rep, len(v1Rows))
			}
			if _, err := s.VerifyAll(ctx, VerifyOptions{}); err != nil {
				t.Fatalf("verify after up: %v", err)
			}
			first, _, _ := s.Get(ctx, "acme", 1)
			if string(first.Payload) != `{"a":[1,2.5,"é`+"\u2028"+`"],"b":1}` {
				t.Errorf("acme seq 1 payload %s, want the canonical form of the v1 row", first.Payload)
			}
			// Equal times keep v1 id order.
			if e, _, _ := s.Get(ctx, "acme", 3); string(e.Payload) != `[]` {
				t.Errorf("acme seq 3 = %s, want [] (v1 id order among equal times)", e.Payload)
			}
			again, err := s.Migrate(ctx, false)
			if err != nil || again.From != 2 || again.To != 2 || again.Rows != 0 || again.Checksum != rep.Checksum {
				t.Fatalf("second up = %+v, %v; want a no-op with the same checksum", again, err)
			}
			// A v2-only kind survives the way down and back.
			if _, err := s.Append(ctx, []Record{{Tenant: "beta", Kind: KindCheckpoint, Time: t0.Add(time.Hour), Payload: []byte(`{"c":1}`)}}, AppendOptions{}); err != nil {
				t.Fatal(err)
			}
			before, err := s.Migrate(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			down, err := s.Migrate(ctx, true)
			if err != nil || down.From != 2 || down.To != 1 || down.Rows != int64(len(v1Rows))+1 {
				t.Fatalf("down = %+v, %v; want 2→1 with %d rows", down, err, len(v1Rows)+1)
			}
			if db.d == Postgres {
				// Every original payload is back, equal as jsonb.
				var n int
				if err := db.admin.QueryRow(`SELECT count(*) FROM ledger_entries WHERE payload = ANY($1::jsonb[])`, v1Payloads()).Scan(&n); err != nil || n != len(v1Rows) {
					t.Errorf("%d of %d v1 payloads restored equal, %v", n, len(v1Rows), err)
				}
			}
			if d2, err := s.Migrate(ctx, true); err != nil || d2.From != 1 || d2.To != 1 {
				t.Fatalf("second down = %+v, %v; want a no-op", d2, err)
			}
			up2, err := s.Migrate(ctx, false)
			if err != nil {
				t.Fatalf("up after down: %v", err)
			}
			if up2.Checksum != before.Checksum || up2.Rows != int64(len(v1Rows))+1 {
				t.Errorf("up after down = %+v, want checksum %s: the chain must come back identical", up2, before.Checksum)
			}
			if e, _, _ := s.Head(ctx, "beta"); e.Kind != KindCheckpoint {
				t.Errorf("beta head kind %q after the round trip, want checkpoint", e.Kind)
			}
		})
	}
}

func v1Payloads() []string {
	out := make([]string, len(v1Rows))
	for i, r := range v1Rows {
		out[i] = r.payload
	}
	return out
}

func TestMigrateRefusesPayloadsThatWouldChange(t *testing.T) {
	t.Parallel()
	for _, db := range testDBs(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			loadV1(t, db, `{"id": 12345678901234567891}`)
			s := db.open(t)
			_, err := s.Migrate(context.Background(), false)
			if !errors.Is(err, ErrBadRecord) || !errors.Is(err, ErrNotCanonicalizable) {
				t.Fatalf("Migrate = %v, want ErrBadRecord wrapping ErrNotCanonicalizable", err)
			}
			if v, _ := s.Version(context.Background()); v != 1 {
				t.Errorf("schema version %d after a failed migration, want 1 (nothing changed)", v)
			}
		})
	}
}

func TestMigrateEmptyDatabaseTwice(t *testing.T) {
	t.Parallel()
	for _, db := range testDBs(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			s := db.open(t)
			for i := range 2 {
				rep, err := s.Migrate(context.Background(), false)
				if err != nil || rep.To != 2 || rep.Rows != 0 {
					t.Fatalf("up #%d = %+v, %v", i+1, rep, err)
				}
			}
		})
	}
}
