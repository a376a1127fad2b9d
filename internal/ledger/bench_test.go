package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// benchN is the chain length of the verify benchmarks
// (RELEASEGATE_BENCH_N, default 200000).
func benchN(b *testing.B) int {
	if v := os.Getenv("RELEASEGATE_BENCH_N"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("RELEASEGATE_BENCH_N=%q: expected a positive integer", v)
		}
		return n
	}
	return 200_000
}

// benchEntries builds a valid chain of n entries with ~150-byte payloads.
func benchEntries(n int) []Entry {
	es := make([]Entry, n)
	prev := ZeroHash
	for i := range es {
		p := fmt.Sprintf(`{"artifact":"sha256:%064x","builder":"https://github.com/acme/api/.github/workflows/release.yml","n":%d}`, i, i)
		e := Entry{Tenant: "acme", Seq: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond), Kind: KindEntry, Payload: []byte(p), PrevHash: prev}
		e.Hash = e.ComputeHash()
		prev = e.Hash
		es[i] = e
	}
	return es
}

// loadPostgres bulk-loads a chain with COPY FROM (triggers off: the rows
// are already chained) into a fresh schema.
func loadPostgres(b *testing.B, es []Entry) (*Store, testDB) {
	b.Helper()
	base := os.Getenv("RELEASEGATE_TEST_POSTGRES")
	if base == "" {
		b.Skip("RELEASEGATE_TEST_POSTGRES is unset: run scripts/services/postgres.sh")
	}
	db := newPostgresB(b, base)
	s, err := Open(context.Background(), db.dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background(), false); err != nil {
		b.Fatal(err)
	}
	conn, err := db.admin.Conn(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		if _, err := c.Exec(context.Background(), `ALTER TABLE ledger_chain DISABLE TRIGGER USER`); err != nil {
			return err
		}
		_, err := c.CopyFrom(context.Background(), pgx.Identifier{"ledger_chain"},
			[]string{"tenant", "seq", "ts", "kind", "payload", "prev_hash", "hash"},
			pgx.CopyFromSlice(len(es), func(i int) ([]any, error) {
				e := es[i]
				return []any{e.Tenant, e.Seq, e.Time, e.Kind, string(e.Payload), e.PrevHash[:], e.Hash[:]}, nil
			}))
		if err != nil {
			return err
		}
		if _, err := c.Exec(context.Background(), `ALTER TABLE ledger_chain ENABLE TRIGGER USER`); err != nil {
			return err
		}
		// Set hint bits and the visibility map now, so the first
		// benchmark does not pay for writing them back.
		_, err = c.Exec(context.Background(), `VACUUM (FREEZE, ANALYZE) ledger_chain`)
		return err
	})
	if err != nil {
		b.Fatalf("load: %v", err)
	}
	return s, db
}

func newPostgresB(b *testing.B, base string) testDB {
	schema := fmt.Sprintf("bench_%d", time.Now().UnixNano())
	root, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := root.Exec(`CREATE SCHEMA ` + schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { root.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); root.Close() })
	dsn := base + "&search_path=" + schema
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { admin.Close() })
	return testDB{name: "postgres", dsn: dsn, admin: admin, d: Postgres}
}

// BenchmarkVerifyPostgres compares, on the same table: the Go verifier
// (binary COPY decoded and hashed while streaming), the PL/pgSQL
// validate_hash_chain, the bare ordered binary COPY (the I/O bound) and
// hashing alone in memory (the CPU bound).
func BenchmarkVerifyPostgres(b *testing.B) {
	n := benchN(b)
	es := benchEntries(n)
	s, _ := loadPostgres(b, es)
	ctx := context.Background()
	perEntry := func(b *testing.B) {
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	}
	b.Run("go-verifier", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r, err := s.Verify(ctx, "acme", 0)
			if err != nil || !r.OK() || r.Entries != int64(n) {
				b.Fatalf("Verify = %+v, %v", r, err)
			}
		}
		perEntry(b)
	})
	b.Run("plpgsql-validate_hash_chain", func(b *testing.B) {
		for b.Loop() {
			r, err := s.SQLValidate(ctx, "acme")
			if err != nil || r.Break != nil || r.Entries != int64(n) {
				b.Fatalf("validate_hash_chain = %+v, %v", r, err)
			}
		}
		perEntry(b)
	})
	b.Run("copy-only", func(b *testing.B) {
		for b.Loop() {
			conn, err := s.db.Conn(ctx)
			if err != nil {
				b.Fatal(err)
			}
			err = conn.Raw(func(dc any) error {
				_, err := dc.(*stdlib.Conn).Conn().PgConn().CopyTo(ctx, io.Discard,
					`COPY (SELECT seq, ts, kind, payload, prev_hash, hash FROM ledger_chain WHERE tenant = 'acme' ORDER BY seq) TO STDOUT (FORMAT binary)`)
				return err
			})
			conn.Close()
			if err != nil {
				b.Fatal(err)
			}
		}
		perEntry(b)
	})
	b.Run("hash-only-in-memory", func(b *testing.B) {
		for b.Loop() {
			for i := range es {
				if es[i].ComputeHash() != es[i].Hash {
					b.Fatal("hash mismatch")
				}
			}
		}
		perEntry(b)
	})
}

// BenchmarkVerifySQLite is the embedded default's verify throughput.
func BenchmarkVerifySQLite(b *testing.B) {
	n := min(benchN(b), 200_000)
	es := benchEntries(n)
	dir := b.TempDir()
	s, err := Open(context.Background(), "sqlite:"+dir+"/bench.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, err := s.Migrate(ctx, false); err != nil {
		b.Fatal(err)
	}
	tx, _ := s.db.BeginTx(ctx, nil)
	if err := s.insert(ctx, tx, es); err != nil {
		b.Fatal(err)
	}
	tx.Commit()
	b.ResetTimer()
	for b.Loop() {
		r, err := s.Verify(ctx, "acme", 0)
		if err != nil || !r.OK() {
			b.Fatalf("Verify = %+v, %v", r, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkMerkleRoot compares the streaming RFC 6962 root with a bare
// SHA-256 loop over the same number of leaf and node hashes (2n-1).
func BenchmarkMerkleRoot(b *testing.B) {
	n := benchN(b)
	leaves := make([]Hash, n)
	for i := range leaves {
		leaves[i] = LeafHash(Hash{byte(i), byte(i >> 8), byte(i >> 16)})
	}
	b.Run("tree-builder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var tb TreeBuilder
			for _, l := range leaves {
				tb.Add(l)
			}
			_ = tb.Root()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "leaves/s")
	})
	b.Run("sha256-loop-same-node-count", func(b *testing.B) {
		var buf [65]byte
		for b.Loop() {
			var h Hash
			for i := 0; i < n-1; i++ { // interior nodes
				copy(buf[1:33], h[:])
				h = sha256.Sum256(buf[:])
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "leaves/s")
	})
}

// BenchmarkAppend measures batched appends (1000 records per transaction,
// one tenant) on SQLite and, when available, PostgreSQL.
func BenchmarkAppend(b *testing.B) {
	dbs := map[string]string{"sqlite": "sqlite:" + b.TempDir() + "/append.db"}
	if base := os.Getenv("RELEASEGATE_TEST_POSTGRES"); base != "" {
		dbs["postgres"] = newPostgresB(b, base).dsn
	}
	for name, dsn := range dbs {
		b.Run(name, func(b *testing.B) {
			s, err := Open(context.Background(), dsn)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Migrate(context.Background(), false); err != nil {
				b.Fatal(err)
			}
			recs := make([]Record, 1000)
			for i := range recs {
				recs[i] = Record{Tenant: "acme", Payload: []byte(fmt.Sprintf(`{"artifact":"sha256:%064x","n":%d}`, i, i))}
			}
			for b.Loop() {
				if _, err := s.Append(context.Background(), recs, AppendOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(recs))*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}
