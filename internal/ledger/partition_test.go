package ledger

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestPartitionUpAndDownOnData lays a ledger with data out in hash
// partitions and back, and checks on each layout that every chain verifies
// (Go and SQL), the triggers hold on the parent and on a partition, appends
// continue the chains, a tamper is found across partitions, and the v1
// round trip gives the same chain checksum.
func TestPartitionUpAndDownOnData(t *testing.T) {
	t.Parallel()
	db := postgresOnly(t)
	ctx := context.Background()
	s := migrated(t, db)
	tenants := []string{"acme", "beta", "gamma", "delta", "epsilon"}
	seed(t, s, 20, tenants...)
	before, err := s.Migrate(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	check := func(stage string, parts int, entries int64) {
		t.Helper()
		if n, err := s.Partitions(ctx); err != nil || n != parts {
			t.Fatalf("%s: Partitions = %d, %v; want %d", stage, n, err, parts)
		}
		reps, err := s.VerifyAll(ctx, VerifyOptions{})
		if err != nil || len(reps) != len(tenants) {
			t.Fatalf("%s: VerifyAll = %d reports, %v", stage, len(reps), err)
		}
		for _, r := range reps {
			if !r.OK() || r.Entries != entries {
				t.Errorf("%s: tenant %s = %+v; want %d intact entries", stage, r.Tenant, r, entries)
			}
			var verdict string
			if err := db.admin.QueryRow(`SELECT validate_hash_chain($1)`, r.Tenant).Scan(&verdict); err != nil || verdict != fmt.Sprintf("valid: %d entries, seq 1..%d", entries, entries) {
				t.Errorf("%s: validate_hash_chain(%s) = %q, %v", stage, r.Tenant, verdict, err)
			}
		}
		rejected := []string{`UPDATE ledger_chain SET payload = '{}' WHERE seq = 2`, `DELETE FROM ledger_chain WHERE seq = 3`, `TRUNCATE ledger_chain`,
			`INSERT INTO ledger_chain (tenant, seq, ts, kind, payload, prev_hash, hash) VALUES ('acme', 1000, now(), 'entry', '{}', '\x` + ZeroHash.String() + `', '\x` + ZeroHash.String() + `')`}
		if parts > 0 {
			// acme's own partition, named directly.
			var p string
			if err := db.admin.QueryRow(`SELECT tableoid::regclass::text FROM ledger_chain WHERE tenant = 'acme' LIMIT 1`).Scan(&p); err != nil {
				t.Fatal(err)
			}
			rejected = append(rejected, `TRUNCATE `+p, `UPDATE `+p+` SET payload = '{}'`, `DELETE FROM `+p)
			for i := range parts { // empty partitions too
				rejected = append(rejected, fmt.Sprintf(`TRUNCATE ledger_chain_p%d`, i))
			}
		}
		for _, q := range rejected {
			if _, err := db.admin.Exec(q); err == nil {
				t.Errorf("%s: %s accepted, want it rejected", stage, q)
			}
		}
	}
	check("plain", 0, 20)
	rep, err := s.Partition(ctx, 4)
	if err != nil || rep.From != 0 || rep.To != 4 || rep.Rows != int64(20*len(tenants)) {
		t.Fatalf("Partition(4) = %+v, %v", rep, err)
	}
	check("4 partitions", 4, 20)
	var recs []Record
	for _, tn := range tenants {
		recs = append(recs, Record{Tenant: tn, Time: t0.Add(time.Hour), Payload: []byte(`{"after":"partitioning"}`)})
	}
	if _, err := s.Append(ctx, recs, AppendOptions{}); err != nil {
		t.Fatalf("append to the partitioned chains: %v", err)
	}
	check("4 partitions after an append", 4, 21)
	if rep, err := s.Partition(ctx, 3); err != nil || rep.From != 4 || rep.To != 3 {
		t.Fatalf("Partition(3) = %+v, %v", rep, err)
	}
	check("3 partitions", 3, 21)

	// A tamper in a partitioned chain is found by both verifiers.
	db.tamper(t, `UPDATE ledger_chain SET payload = replace(payload, '"n":4', '"n":5') WHERE tenant = 'gamma' AND seq = 5`)
	r, err := s.Verify(ctx, "gamma", 0)
	if err != nil || r.Break == nil || r.Break.Seq != 5 || r.Break.Kind != BreakHash {
		t.Errorf("Verify(gamma) after a tamper = %+v, %v; want hash-mismatch at seq 5", r.Break, err)
	}
	if sr, err := s.SQLValidate(ctx, "gamma"); err != nil || sr.Break == nil || sr.Break.Seq != 5 {
		t.Errorf("ledger_chain_check(gamma) = %+v, %v; want seq 5", sr.Break, err)
	}
	db.tamper(t, `UPDATE ledger_chain SET payload = replace(payload, '"n":5', '"n":4') WHERE tenant = 'gamma' AND seq = 5`)

	if rep, err := s.Partition(ctx, 0); err != nil || rep.From != 3 || rep.To != 0 {
		t.Fatalf("Partition(0) = %+v, %v", rep, err)
	}
	check("plain again", 0, 21)
	if _, err := s.Partition(ctx, 2); err != nil {
		t.Fatal(err)
	}
	down, err := s.Migrate(ctx, true)
	if err != nil || down.To != 1 || down.Rows != int64(21*len(tenants)) {
		t.Fatalf("down from 2 partitions = %+v, %v", down, err)
	}
	up, err := s.Migrate(ctx, false)
	if err != nil || up.To != 2 {
		t.Fatalf("up = %+v, %v", up, err)
	}
	if up.Checksum == before.Checksum {
		t.Errorf("checksum unchanged after an append: %s", up.Checksum)
	}
	if n, _ := s.Partitions(ctx); n != 0 {
		t.Errorf("after down and up: %d partitions, want a plain table", n)
	}
}

func TestPartitionRefusals(t *testing.T) {
	t.Parallel()
	sq := migrated(t, newSQLite(t))
	if _, err := sq.Partition(context.Background(), 4); !errors.Is(err, ErrBadRecord) {
		t.Errorf("SQLite: %v, want ErrBadRecord", err)
	}
	db := postgresOnly(t)
	s := db.open(t)
	if _, err := s.Partition(context.Background(), 4); !errors.Is(err, ErrNoSchema) {
		t.Errorf("no schema: %v, want ErrNoSchema", err)
	}
	for _, n := range []int{-1, MaxPartitions + 1} {
		if _, err := s.Partition(context.Background(), n); !errors.Is(err, ErrBadRecord) {
			t.Errorf("Partition(%d): %v, want ErrBadRecord", n, err)
		}
	}
}
