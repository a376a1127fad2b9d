package ledgergate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/ledger"
	"github.com/maestro-conductor/releasegate/internal/testutil"
)

var now = time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)

// fixture is a SQLite ledger with acme and beta entries on 2026-11-28 and
// a key pair in a temp dir.
type fixture struct {
	dir, dsn, pub, priv string
	st                  *ledger.Store
}

func newFixture(t *testing.T, entries int) fixture {
	t.Helper()
	dir := t.TempDir()
	f := fixture{dir: dir, dsn: "sqlite:" + filepath.Join(dir, "l.db")}
	st, err := ledger.Open(context.Background(), f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.st = st
	if _, err := st.Migrate(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	var recs []ledger.Record
	for i := range entries {
		for _, tn := range []string{"acme", "beta"} {
			recs = append(recs, ledger.Record{Tenant: tn, Time: now.Add(-20*time.Hour + time.Duration(i)*time.Minute), Payload: json.RawMessage(`{"i":1}`)})
		}
	}
	if len(recs) > 0 {
		if _, err := st.Append(context.Background(), recs, ledger.AppendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	priv, pub, _ := ledger.GenerateKey()
	f.priv = priv
	f.pub = filepath.Join(dir, "ledger.pub")
	os.WriteFile(f.pub, []byte(pub+"\n"), 0o644)
	return f
}

func (f fixture) anchor(t *testing.T, tenant, day, key string) {
	t.Helper()
	c, err := f.st.DailyCheckpoint(context.Background(), tenant, day)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := ledger.Sign(c, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Anchor(context.Background(), signed, c); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, s Spec) (*gate.Result, error) {
	t.Helper()
	g, err := New(gate.Meta{ID: "ledger", Kind: Kind, Group: "provenance", Required: true}, s, gate.Env{Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return evaluate(context.Background(), g)
}

func TestGate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		entries int
		prepare func(t *testing.T, f fixture, s *Spec)
		want    gate.Status
		message string
	}{
		{"intact chains pass", 5, func(t *testing.T, f fixture, s *Spec) {}, gate.StatusPass, "5 entries verified"},
		{"an empty ledger fails", 0, func(t *testing.T, f fixture, s *Spec) {}, gate.StatusFail, "found none"},
		{"a named tenant without entries fails", 5, func(t *testing.T, f fixture, s *Spec) { s.Tenants = []string{"acme", "ghost"} }, gate.StatusFail, "tenant ghost"},
		{"too few entries fail", 5, func(t *testing.T, f fixture, s *Spec) { s.MinEntries = 6 }, gate.StatusFail, "expected at least 6"},
		{"a broken chain fails with its seq and kind", 5, func(t *testing.T, f fixture, s *Spec) {
			tamper(t, f, `DELETE FROM ledger_chain WHERE tenant = 'beta' AND seq = 3`)
		}, gate.StatusFail, "seq 3 (seq-gap)"},
		{"a missing schema fails", 0, func(t *testing.T, f fixture, s *Spec) {
			path := filepath.Join(f.dir, "other.db")
			os.WriteFile(path, nil, 0o644) // an empty SQLite file: no tables
			s.DB = "sqlite:" + path
		}, gate.StatusFail, "found v0"},
		{"a required checkpoint that is missing fails", 5, func(t *testing.T, f fixture, s *Spec) {
			s.RequireCheckpoint, s.PublicKey = "yesterday", f.pub
		}, gate.StatusFail, "found none; run `releasegate ledger root"},
		{"anchored checkpoints pass", 5, func(t *testing.T, f fixture, s *Spec) {
			s.RequireCheckpoint, s.PublicKey = "yesterday", f.pub
			f.anchor(t, "acme", "2026-11-28", f.priv)
			f.anchor(t, "beta", "2026-11-28", f.priv)
		}, gate.StatusPass, "signed and matching"},
		{"a checkpoint signed by another key fails", 5, func(t *testing.T, f fixture, s *Spec) {
			s.RequireCheckpoint, s.PublicKey = "yesterday", f.pub
			other, _, _ := ledger.GenerateKey()
			f.anchor(t, "acme", "2026-11-28", other)
			f.anchor(t, "beta", "2026-11-28", f.priv)
		}, gate.StatusFail, "signature does not verify"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, c.entries)
			s := Spec{DB: f.dsn, MinEntries: 1}
			c.prepare(t, f, &s)
			res, err := run(t, s)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkOutcome(t, res, c.want, c.message)
		})
	}
}

func tamper(t *testing.T, f fixture, stmt string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(f.dsn, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range []string{`DROP TRIGGER ledger_chain_no_delete`, stmt} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMissingSQLiteFileIsAnError(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "typo.db")
	if _, err := run(t, Spec{DB: "sqlite:" + path, MinEntries: 1}); !errors.Is(err, gate.ErrUnreachable) {
		t.Fatalf("Run = %v, want an error wrapping gate.ErrUnreachable", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("the gate created the missing ledger file")
	}
}

func TestUnreachableDatabaseIsAnError(t *testing.T) {
	t.Parallel()
	res, err := run(t, Spec{DB: "postgres://u:topsecret@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", MinEntries: 1})
	if !errors.Is(err, gate.ErrUnreachable) {
		t.Fatalf("Run = %+v, %v; want an error wrapping gate.ErrUnreachable", res, err)
	}
	if strings.Contains(err.Error(), "topsecret") {
		t.Errorf("error leaks the password: %v", err)
	}
}

func TestGateOnPostgres(t *testing.T) {
	t.Parallel()
	// An empty, migrated database fails closed on PostgreSQL too.
	dsn := testutil.PostgresSchema(t, "gate")
	st, err := ledger.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	res, err := run(t, Spec{DB: dsn, MinEntries: 1})
	if err != nil || res.Status != gate.StatusFail {
		t.Fatalf("empty PostgreSQL ledger: %+v, %v; want fail", res, err)
	}
	if _, err := st.Append(context.Background(), []ledger.Record{{Tenant: "acme", Payload: json.RawMessage(`{}`)}}, ledger.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	if res, err := run(t, Spec{DB: dsn, MinEntries: 1}); err != nil || res.Status != gate.StatusPass {
		t.Fatalf("one intact entry: %+v, %v; want pass", res, err)
	}
}

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		spec  Spec
		field string
	}{
		{"an unknown database scheme", Spec{DB: "mysql://x"}, "db"},
		{"a negative limit", Spec{DB: "sqlite:x", Limit: -1}, "limit"},
		{"a checkpoint without a key", Spec{DB: "sqlite:x", RequireCheckpoint: "today"}, "public-key"},
		{"an unknown checkpoint day", Spec{DB: "sqlite:x", RequireCheckpoint: "tomorrow"}, "require-checkpoint"},
		{"a tenant with a newline", Spec{DB: "sqlite:x", Tenants: []string{"a\nb"}}, "tenants[0]"},
	}
	for _, c := range cases {
		errs := c.spec.Validate()
		if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), c.field+":") {
			t.Errorf("%s: Validate = %v, want one error at %s", c.name, errs, c.field)
		}
	}
	if errs := (&Spec{DB: "sqlite:x", RequireCheckpoint: "yesterday", PublicKey: "k.pub"}).Validate(); len(errs) != 0 {
		t.Errorf("valid spec: %v", errs)
	}
}

// checkOutcome checks res's status and that one of its checks' messages
// contains message.
func checkOutcome(t *testing.T, res *gate.Result, want gate.Status, message string) {
	t.Helper()
	if res.Status != want {
		t.Errorf("status %s, want %s: %+v", res.Status, want, res.Checks)
	}
	for _, ch := range res.Checks {
		if strings.Contains(ch.Message, message) {
			return
		}
	}
	t.Errorf("no check message contains %q: %+v", message, res.Checks)
}

// TestGateRecordsCheckpointsAsInputs: each signed checkpoint the gate judged
// is an input with its digest, named so the evidence's VSA lists it among
// inputAttestations.
func TestGateRecordsCheckpointsAsInputs(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	s := Spec{DB: f.dsn, MinEntries: 1, RequireCheckpoint: "yesterday", PublicKey: f.pub}
	f.anchor(t, "acme", "2026-11-28", f.priv)
	f.anchor(t, "beta", "2026-11-28", f.priv)
	res, err := run(t, s)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := map[string]bool{"checkpoint " + ledger.CheckpointFile("acme", "2026-11-28"): true, "checkpoint " + ledger.CheckpointFile("beta", "2026-11-28"): true}
	for _, in := range res.Inputs {
		if want[in.Name] {
			if !strings.HasPrefix(in.Digest, "sha256:") || len(in.Digest) != len("sha256:")+64 {
				t.Errorf("input %s: digest %q, want sha256:<64 hex>", in.Name, in.Digest)
			}
			delete(want, in.Name)
		}
	}
	if len(want) > 0 {
		t.Errorf("inputs %v lack %v", res.Inputs, want)
	}
}
