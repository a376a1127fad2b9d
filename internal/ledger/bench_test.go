package ledger

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
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

// benchEntry returns entry i (0-based) of the benchmark chain: ~150-byte
// payloads, one millisecond apart; prev is the hash of entry i-1.
func benchEntry(i int, prev Hash) Entry {
	p := fmt.Sprintf(`{"artifact":"sha256:%064x","builder":"https://github.com/acme/api/.github/workflows/release.yml","n":%d}`, i, i)
	e := Entry{Tenant: "acme", Seq: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond), Kind: KindEntry, Payload: []byte(p), PrevHash: prev}
	e.Hash = e.ComputeHash()
	return e
}

// benchEntries builds the first n entries of the benchmark chain in memory.
func benchEntries(n int) []Entry {
	es := make([]Entry, n)
	prev := ZeroHash
	for i := range es {
		es[i] = benchEntry(i, prev)
		prev = es[i].Hash
	}
	return es
}

// benchTable returns a store over a PostgreSQL schema holding the n-entry
// benchmark chain. The schema (ledger_bench_<n>) is generated once with
// COPY FROM and reused by later runs; it is dropped at the end unless
// RELEASEGATE_BENCH_KEEP=1 (so a 10M table is generated once for several
// runs: keep it, and drop it with a last run without the variable).
func benchTable(b *testing.B, n int) (*Store, string) {
	b.Helper()
	base := os.Getenv("RELEASEGATE_TEST_POSTGRES")
	if base == "" {
		b.Skip("RELEASEGATE_TEST_POSTGRES is unset: run scripts/services/postgres.sh")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("ledger_bench_%d", n)
	root, err := sql.Open("pgx", base)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if os.Getenv("RELEASEGATE_BENCH_KEEP") != "1" {
			if _, err := root.Exec(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE`); err != nil {
				b.Errorf("drop %s: %v", schema, err)
			}
		}
		root.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	// The server-CPU accounting finds the benchmark's backends by name.
	q.Set("application_name", benchAppName)
	u.RawQuery = q.Encode()
	dsn := u.String()

	// A finished load leaves its size in bench_meta; anything else is
	// regenerated.
	var have int64
	if err := root.QueryRow(`SELECT n FROM ` + schema + `.bench_meta`).Scan(&have); err != nil || have != int64(n) {
		start := time.Now()
		if _, err := root.Exec(`DROP SCHEMA IF EXISTS ` + schema + ` CASCADE; CREATE SCHEMA ` + schema); err != nil {
			b.Fatal(err)
		}
		s, err := Open(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Migrate(ctx, false); err != nil {
			b.Fatal(err)
		}
		s.Close()
		if err := loadChain(ctx, dsn, n); err != nil {
			b.Fatalf("load %d entries: %v", n, err)
		}
		b.Logf("generated %s (%d entries) in %s", schema, n, time.Since(start).Round(time.Second))
	}
	s, err := Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, dsn
}

const benchAppName = "releasegate-ledger-bench"

// loadChain bulk-loads the n-entry chain with COPY FROM (triggers off: the
// rows are already chained), generating it while it streams.
func loadChain(ctx context.Context, dsn string, n int) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `ALTER TABLE ledger_chain DISABLE TRIGGER USER`); err != nil {
		return err
	}
	i, prev := 0, ZeroHash
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"ledger_chain"},
		[]string{"tenant", "seq", "ts", "kind", "payload", "prev_hash", "hash"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == n {
				return nil, nil
			}
			e := benchEntry(i, prev)
			i, prev = i+1, e.Hash
			return []any{e.Tenant, e.Seq, e.Time, e.Kind, string(e.Payload), e.PrevHash[:], e.Hash[:]}, nil
		}))
	if err != nil {
		return err
	}
	// Set hint bits and the visibility map now, so the first benchmark
	// does not pay for writing them back.
	for _, q := range []string{
		`ALTER TABLE ledger_chain ENABLE TRIGGER USER`,
		`VACUUM (FREEZE, ANALYZE) ledger_chain`,
		`CREATE TABLE bench_meta (n bigint NOT NULL)`,
		fmt.Sprintf(`INSERT INTO bench_meta VALUES (%d)`, n),
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
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

// cpuMeter accounts the CPU time of this process and of the benchmark's
// PostgreSQL backends (read from /proc: the server must run on this host,
// else only the client side is reported).
type cpuMeter struct {
	db     *sql.DB
	client time.Duration
	server map[int]time.Duration
	load   float64
}

func startCPU(db *sql.DB) *cpuMeter {
	m := &cpuMeter{db: db, client: selfCPU(), load: loadAvg1()}
	m.server = m.backends()
	return m
}

func (m *cpuMeter) backends() map[int]time.Duration {
	out := map[int]time.Duration{}
	rows, err := m.db.Query(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, benchAppName)
	if err != nil {
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			if d, ok := procCPU(pid); ok {
				out[pid] = d
			}
		}
	}
	return out
}

// report adds client-cpu-s/op and server-cpu-s/op (seconds of CPU per
// benchmark iteration) to b.
func (m *cpuMeter) report(b *testing.B, ops int) {
	client := selfCPU() - m.client
	var server time.Duration
	for pid, d := range m.backends() {
		server += d - m.server[pid]
	}
	b.ReportMetric(m.load, "load1-at-start")
	b.ReportMetric(client.Seconds()/float64(ops), "client-cpu-s/op")
	if server > 0 {
		b.ReportMetric(server.Seconds()/float64(ops), "server-cpu-s/op")
	}
}

// loadAvg1 is the host's 1-minute load average (-1 when unknown); the
// benchmarks report it as it was when they started, since the machine
// they run on may be shared.
func loadAvg1() float64 {
	raw, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(raw))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// selfCPU is this process's user + system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the user + system CPU time of a process on this host.
func procCPU(pid int) (time.Duration, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15, in clock ticks (100 per second on Linux).
	i := bytes.LastIndexByte(raw, ')')
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+s) * 10 * time.Millisecond, true
}

// BenchmarkVerifyPostgres compares, on the same table of
// RELEASEGATE_BENCH_N entries: the Go verifier, the same verifier in a
// fresh process (for its peak resident memory), the set-based SQL verifier
// behind validate_hash_chain (ledger_chain_check), the bare ordered binary COPY (the I/O bound) and
// hashing alone in memory (the CPU bound). Each reports the CPU time spent
// by this process and by the PostgreSQL backends.
func BenchmarkVerifyPostgres(b *testing.B) {
	n := benchN(b)
	s, dsn := benchTable(b, n)
	ctx := context.Background()
	perEntry := func(b *testing.B) {
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	}
	// copyOnly is the bound: the same rows, ordered, as a binary COPY
	// received by pgx and thrown away.
	copyOnly := func(b *testing.B) {
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
	// One unmeasured pass brings the table into the page cache.
	copyOnly(b)
	b.Run("go-verifier", func(b *testing.B) {
		b.ReportAllocs()
		m := startCPU(s.db)
		for b.Loop() {
			r, err := s.Verify(ctx, "acme", 0)
			if err != nil || !r.OK() || r.Entries != int64(n) {
				b.Fatalf("Verify = %+v, %v", r, err)
			}
		}
		perEntry(b)
		m.report(b, b.N)
	})
	b.Run("go-verifier-process", func(b *testing.B) {
		// The verifier alone in a fresh process of this test binary: its
		// peak RSS is what `ledger verify` needs, not this benchmark's.
		var rss int64
		load := loadAvg1()
		for b.Loop() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestBenchVerifyProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), "RELEASEGATE_BENCH_VERIFY_DSN="+dsn, fmt.Sprintf("RELEASEGATE_BENCH_VERIFY_N=%d", n))
			out, err := cmd.CombinedOutput()
			if err != nil {
				b.Fatalf("verify process: %v\n%s", err, out)
			}
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				rss = max(rss, ru.Maxrss) // KiB on Linux
			}
		}
		perEntry(b)
		b.ReportMetric(float64(rss)/1024, "max-rss-MiB")
		b.ReportMetric(load, "load1-at-start")
	})
	b.Run("sql-validate_hash_chain", func(b *testing.B) {
		m := startCPU(s.db)
		for b.Loop() {
			r, err := s.SQLValidate(ctx, "acme")
			if err != nil || r.Break != nil || r.Entries != int64(n) {
				b.Fatalf("ledger_chain_check = %+v, %v", r, err)
			}
		}
		perEntry(b)
		m.report(b, b.N)
	})
	b.Run("copy-only", func(b *testing.B) {
		m := startCPU(s.db)
		for b.Loop() {
			copyOnly(b)
		}
		perEntry(b)
		m.report(b, b.N)
	})
	b.Run("copy-only-raw", func(b *testing.B) {
		// A stricter bound than pgx's: the same COPY received by the
		// verifier's own reader and its rows decoded, nothing hashed.
		m := startCPU(s.db)
		for b.Loop() {
			var rows int64
			if err := s.Scan(ctx, "acme", 1, 0, func(*Entry) error { rows++; return nil }); err != nil || rows != int64(n) {
				b.Fatalf("Scan: %d rows, %v", rows, err)
			}
		}
		perEntry(b)
		m.report(b, b.N)
	})
	b.Run("paired-verify-after-copy", func(b *testing.B) {
		// On a shared machine the load changes between sub-benchmarks:
		// this one times a bare COPY and a verify back to back in each
		// iteration and reports the ratio of their sums.
		var tc, tv time.Duration
		load := loadAvg1()
		for b.Loop() {
			t := time.Now()
			copyOnly(b)
			tc += time.Since(t)
			t = time.Now()
			if r, err := s.Verify(ctx, "acme", 0); err != nil || !r.OK() {
				b.Fatalf("Verify = %+v, %v", r, err)
			}
			tv += time.Since(t)
		}
		b.ReportMetric(tc.Seconds()/float64(b.N), "copy-s/op")
		b.ReportMetric(tv.Seconds()/float64(b.N), "verify-s/op")
		b.ReportMetric(tv.Seconds()/tc.Seconds(), "verify/copy")
		b.ReportMetric(load, "load1-at-start")
	})
	b.Run("hash-only-in-memory", func(b *testing.B) {
		// A sample of up to 1M entries, hashed until n hashes are done.
		es := benchEntries(min(n, 1_000_000))
		load := loadAvg1()
		b.ResetTimer()
		for b.Loop() {
			for done := 0; done < n; {
				for i := range es[:min(len(es), n-done)] {
					if es[i].ComputeHash() != es[i].Hash {
						b.Fatal("hash mismatch")
					}
				}
				done += len(es)
			}
		}
		perEntry(b)
		b.ReportMetric(load, "load1-at-start")
	})
}

// TestBenchVerifyProcess is go-verifier-process's child: it verifies the
// benchmark table named by RELEASEGATE_BENCH_VERIFY_DSN and is skipped
// otherwise.
func TestBenchVerifyProcess(t *testing.T) {
	dsn := os.Getenv("RELEASEGATE_BENCH_VERIFY_DSN")
	if dsn == "" {
		t.Skip("only run by BenchmarkVerifyPostgres")
	}
	n, _ := strconv.ParseInt(os.Getenv("RELEASEGATE_BENCH_VERIFY_N"), 10, 64)
	s, err := OpenExisting(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Verify(context.Background(), "acme", 0)
	if err != nil || !r.OK() || r.Entries != n {
		t.Fatalf("Verify = %+v, %v; want %d intact entries", r, err, n)
	}
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
		load := loadAvg1()
		for b.Loop() {
			var tb TreeBuilder
			for _, l := range leaves {
				tb.Add(l)
			}
			_ = tb.Root()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "leaves/s")
		b.ReportMetric(load, "load1-at-start")
	})
	b.Run("sha256-loop-same-node-count", func(b *testing.B) {
		load := loadAvg1()
		var buf [65]byte
		for b.Loop() {
			var h Hash
			for i := 0; i < n-1; i++ { // interior nodes
				copy(buf[1:33], h[:])
				h = sha256.Sum256(buf[:])
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "leaves/s")
		b.ReportMetric(load, "load1-at-start")
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
