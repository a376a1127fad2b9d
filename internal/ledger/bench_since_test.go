package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// The incremental benchmarks (issue 18): one tenant's chain grows through
// stages; at stage k it holds bases[k] entries signed by a checkpoint plus
// `new` entries of the next UTC day, and the benchmarks time, on that
// stage: the ordered binary COPY of the new rows (the bound), `verify
// --since` from the checkpoint, `root` for the new day from the
// checkpoint's frontier (with its consistency proof), and the full verify.
//
// RELEASEGATE_BENCH_SINCE_BASES (comma-separated, ascending; default
// 20000,100000) and RELEASEGATE_BENCH_SINCE_NEW (default 10000) size it.
// Stages are loaded by COPY FROM as they are reached, into one schema
// (ledger_bench_since_NEW) that RELEASEGATE_BENCH_KEEP=1 keeps.

func sinceSizes(b *testing.B) (bases []int, newN int) {
	bases, newN = []int{20_000, 100_000}, 10_000
	if v := os.Getenv("RELEASEGATE_BENCH_SINCE_BASES"); v != "" {
		bases = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 || (len(bases) > 0 && n <= bases[len(bases)-1]) {
				b.Fatalf("RELEASEGATE_BENCH_SINCE_BASES=%q: expected ascending positive integers", v)
			}
			bases = append(bases, n)
		}
	}
	if v := os.Getenv("RELEASEGATE_BENCH_SINCE_NEW"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("RELEASEGATE_BENCH_SINCE_NEW=%q: expected a positive integer", v)
		}
		newN = n
	}
	for i := 1; i < len(bases); i++ {
		if bases[i] < bases[i-1]+newN {
			b.Fatalf("bases %v: each must be at least the previous one plus %d new entries", bases, newN)
		}
	}
	return bases, newN
}

// sinceChain generates the staged chain: entry i's day changes at every
// base and at every base+new, so each stage's new entries are one day of
// their own.
type sinceChain struct {
	cuts []int // sorted day boundaries (0-based entry indexes)
}

var sinceStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newSinceChain(bases []int, newN int) sinceChain {
	var c sinceChain
	for _, b := range bases {
		c.cuts = append(c.cuts, b, b+newN)
	}
	slices.Sort(c.cuts)
	return c
}

// day returns entry i's day number and the index its day starts at.
func (c sinceChain) day(i int) (int, int) {
	d, start := 0, 0
	for _, cut := range c.cuts {
		if i < cut {
			break
		}
		d, start = d+1, cut
	}
	return d, start
}

// entry returns entry i (0-based): the benchmark payloads, 1 ms apart
// within its day.
func (c sinceChain) entry(i int, prev Hash) Entry {
	e := benchEntry(i, prev)
	d, start := c.day(i)
	e.Time = sinceStart.AddDate(0, 0, d).Add(time.Duration(i-start) * time.Millisecond)
	e.Hash = e.ComputeHash()
	return e
}

// checkpointAt regenerates entries 0..n-1 in memory and returns the
// checkpoint of size n for the day of entry n-1 (its frontier and head;
// DayFirst..DayLast cover that day).
func (c sinceChain) checkpointAt(n int) Checkpoint {
	var tb, daily TreeBuilder
	d, start := c.day(n - 1)
	prev := ZeroHash
	for i := range n {
		e := c.entry(i, prev)
		prev = e.Hash
		l := LeafHash(e.Hash)
		tb.Add(l)
		if i >= start {
			daily.Add(l)
		}
	}
	return Checkpoint{Tenant: "acme", Size: int64(n), Root: tb.Root(), Day: sinceStart.AddDate(0, 0, d).Format(DayLayout),
		DayFirst: int64(start + 1), DayLast: int64(n), DayRoot: daily.Root(), Head: prev, Frontier: tb.Frontier()}
}

// sinceSchema opens (creating when needed) the benchmark schema and
// returns its store, DSN and current chain length.
func sinceSchema(b *testing.B, newN int, meta string) (*Store, *sql.DB, string, int) {
	base := os.Getenv("RELEASEGATE_TEST_POSTGRES")
	if base == "" {
		b.Skip("RELEASEGATE_TEST_POSTGRES is unset: run scripts/services/postgres.sh")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("ledger_bench_since_%d", newN)
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
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("application_name", benchAppName)
	u.RawQuery = q.Encode()
	dsn := u.String()
	var have int
	var haveMeta string
	if err := root.QueryRow(`SELECT n, meta FROM `+schema+`.bench_since`).Scan(&have, &haveMeta); err != nil || haveMeta != meta {
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
		if parts := os.Getenv("RELEASEGATE_BENCH_PARTITIONS"); parts != "" {
			n, _ := strconv.Atoi(parts)
			if _, err := s.Partition(ctx, n); err != nil {
				b.Fatal(err)
			}
		}
		s.Close()
		if _, err := root.Exec(`CREATE TABLE ` + schema + `.bench_since (n bigint NOT NULL, meta text NOT NULL)`); err != nil {
			b.Fatal(err)
		}
		if _, err := root.Exec(`INSERT INTO `+schema+`.bench_since VALUES (0, $1)`, meta); err != nil {
			b.Fatal(err)
		}
		have = 0
	}
	s, err := Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, root, schema, have
}

// growChain appends entries have..want-1 with COPY FROM (triggers off:
// they are already chained), continuing from the stored head.
func growChain(ctx context.Context, s *Store, root *sql.DB, schema string, c sinceChain, have, want int) error {
	prev := ZeroHash
	if have > 0 {
		h, ok, err := s.Head(ctx, "acme")
		if err != nil || !ok || h.Seq != int64(have) {
			return fmt.Errorf("head %+v, %v; expected seq %d", h.Seq, err, have)
		}
		prev = h.Hash
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		if _, err := pc.Exec(ctx, `ALTER TABLE ledger_chain DISABLE TRIGGER USER`); err != nil {
			return err
		}
		i := have
		_, err := pc.CopyFrom(ctx, pgx.Identifier{"ledger_chain"},
			[]string{"tenant", "seq", "ts", "kind", "payload", "prev_hash", "hash"},
			pgx.CopyFromFunc(func() ([]any, error) {
				if i == want {
					return nil, nil
				}
				e := c.entry(i, prev)
				i, prev = i+1, e.Hash
				return []any{e.Tenant, e.Seq, e.Time, e.Kind, string(e.Payload), e.PrevHash[:], e.Hash[:]}, nil
			}))
		if err != nil {
			return err
		}
		_, err = pc.Exec(ctx, `ALTER TABLE ledger_chain ENABLE TRIGGER USER`)
		return err
	})
	if err != nil {
		return err
	}
	for _, q := range []string{`VACUUM (FREEZE, ANALYZE) ` + schema + `.ledger_chain`, fmt.Sprintf(`UPDATE %s.bench_since SET n = %d`, schema, want)} {
		if _, err := root.Exec(q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

func BenchmarkSincePostgres(b *testing.B) {
	bases, newN := sinceSizes(b)
	meta := fmt.Sprint(bases, newN, os.Getenv("RELEASEGATE_BENCH_PARTITIONS"))
	s, root, schema, have := sinceSchema(b, newN, meta)
	chain := newSinceChain(bases, newN)
	signer, verifier, _ := GenerateKey()
	ctx := context.Background()
	for _, base := range bases {
		want := base + newN
		if have > want {
			continue // loaded past this stage by an earlier run: start again without RELEASEGATE_BENCH_KEEP
		}
		if have < want {
			start := time.Now()
			if err := growChain(ctx, s, root, schema, chain, have, want); err != nil {
				b.Fatalf("grow the chain to %d: %v", want, err)
			}
			b.Logf("loaded entries %d..%d in %s", have+1, want, time.Since(start).Round(time.Second))
			have = want
		}
		cp := chain.checkpointAt(base)
		signed, err := Sign(cp, signer)
		if err != nil {
			b.Fatal(err)
		}
		newDay := sinceStart.AddDate(0, 0, mustDay(chain, base)).Format(DayLayout)
		copyNew := func(b *testing.B) {
			conn, err := s.db.Conn(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()
			err = conn.Raw(func(dc any) error {
				_, err := dc.(*stdlib.Conn).Conn().PgConn().CopyTo(ctx, io.Discard, fmt.Sprintf(
					`COPY (SELECT seq, ts, kind, payload, prev_hash, hash FROM ledger_chain WHERE tenant = 'acme' AND seq > %d ORDER BY seq) TO STDOUT (FORMAT binary)`, base))
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		verifySince := func(b *testing.B) {
			r, err := s.VerifySince(ctx, signed, verifier, "acme")
			if err != nil || r.Break != nil || r.New() != int64(newN) {
				b.Fatalf("VerifySince = %+v, %v", r.Break, err)
			}
		}
		rootDay := func(b *testing.B) {
			ext, err := s.ExtendCheckpoint(ctx, cp, newDay)
			if err != nil || ext.Checkpoint.Size != int64(want) {
				b.Fatalf("ExtendCheckpoint = %+v, %v", ext.Checkpoint, err)
			}
			if _, err := Sign(ext.Checkpoint, signer); err != nil {
				b.Fatal(err)
			}
		}
		copyNew(b) // brings the new rows into the page cache
		name := fmt.Sprintf("base=%d/new=%d", base, newN)
		timed := func(sub string, fn func(*testing.B)) {
			b.Run(name+"/"+sub, func(b *testing.B) {
				// CPU seconds of this process and of the PostgreSQL backends
				// too: on a shared machine they move far less than wall time.
				m := startCPU(s.db)
				for b.Loop() {
					fn(b)
				}
				b.ReportMetric(float64(newN)*float64(b.N)/b.Elapsed().Seconds(), "new-entries/s")
				m.report(b, b.N)
			})
		}
		timed("copy-new", copyNew)
		timed("verify-since", verifySince)
		timed("root", rootDay)
		b.Run(name+"/paired", func(b *testing.B) {
			// copy, verify --since and root back to back, for ratios on a
			// shared machine: of wall time and of CPU time (this process
			// and its PostgreSQL backends).
			var tc, tv, tr, cc, cv, cr time.Duration
			load := loadAvg1()
			timeIt := func(fn func(*testing.B), wall, cpu *time.Duration) {
				m := startCPU(s.db)
				t := time.Now()
				fn(b)
				*wall += time.Since(t)
				*cpu += m.total()
			}
			for b.Loop() {
				timeIt(copyNew, &tc, &cc)
				timeIt(verifySince, &tv, &cv)
				timeIt(rootDay, &tr, &cr)
			}
			b.ReportMetric(tc.Seconds()/float64(b.N), "copy-s/op")
			b.ReportMetric(tv.Seconds()/tc.Seconds(), "since/copy")
			b.ReportMetric(tr.Seconds()/tc.Seconds(), "root/copy")
			b.ReportMetric(cc.Seconds()/float64(b.N), "copy-cpu-s/op")
			b.ReportMetric(cv.Seconds()/cc.Seconds(), "since/copy-cpu")
			b.ReportMetric(cr.Seconds()/cc.Seconds(), "root/copy-cpu")
			b.ReportMetric(load, "load1-at-start")
		})
		if os.Getenv("RELEASEGATE_BENCH_SINCE_FULL") != "0" {
			b.Run(name+"/full-verify", func(b *testing.B) {
				load := loadAvg1()
				for b.Loop() {
					r, err := s.Verify(ctx, "acme", 0)
					if err != nil || !r.OK() || r.Entries != int64(want) {
						b.Fatalf("Verify = %+v, %v", r.Break, err)
					}
				}
				b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
				b.ReportMetric(load, "load1-at-start")
			})
		}
	}
}

// mustDay is the day number of entry base (0-based), the new day's.
func mustDay(c sinceChain, base int) int {
	d, _ := c.day(base)
	return d
}

// BenchmarkSinceSQLite is the same on SQLite, at the sizes given (the
// default ones keep it short); the bound is an ordered read of the new
// rows through the same driver.
func BenchmarkSinceSQLite(b *testing.B) {
	bases, newN := sinceSizes(b)
	chain := newSinceChain(bases, newN)
	signer, verifier, _ := GenerateKey()
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+b.TempDir()+"/since.db")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx, false); err != nil {
		b.Fatal(err)
	}
	have, prev := 0, ZeroHash
	for _, base := range bases {
		want := base + newN
		es := make([]Entry, 0, 100_000)
		for have < want {
			e := chain.entry(have, prev)
			have, prev = have+1, e.Hash
			es = append(es, e)
			if len(es) == cap(es) || have == want {
				tx, _ := s.db.BeginTx(ctx, nil)
				if err := s.insert(ctx, tx, es); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
				es = es[:0]
			}
		}
		cp := chain.checkpointAt(base)
		signed, _ := Sign(cp, signer)
		newDay := sinceStart.AddDate(0, 0, mustDay(chain, base)).Format(DayLayout)
		name := fmt.Sprintf("base=%d/new=%d", base, newN)
		var tc, tv, tr, cc, cv, cr time.Duration
		b.Run(name+"/paired", func(b *testing.B) {
			load := loadAvg1()
			timeIt := func(fn func(), wall, cpu *time.Duration) {
				c, t := selfCPU(), time.Now()
				fn()
				*wall += time.Since(t)
				*cpu += selfCPU() - c
			}
			for b.Loop() {
				timeIt(func() {
					var rows int
					if err := s.Scan(ctx, "acme", int64(base)+1, 0, func(*Entry) error { rows++; return nil }); err != nil || rows != newN {
						b.Fatalf("Scan: %d rows, %v", rows, err)
					}
				}, &tc, &cc)
				timeIt(func() {
					if r, err := s.VerifySince(ctx, signed, verifier, "acme"); err != nil || r.Break != nil || r.New() != int64(newN) {
						b.Fatalf("VerifySince = %+v, %v", r.Break, err)
					}
				}, &tv, &cv)
				timeIt(func() {
					if _, err := s.ExtendCheckpoint(ctx, cp, newDay); err != nil {
						b.Fatal(err)
					}
				}, &tr, &cr)
			}
			b.ReportMetric(cv.Seconds()/cc.Seconds(), "since/read-cpu")
			b.ReportMetric(cr.Seconds()/cc.Seconds(), "root/read-cpu")
			b.ReportMetric(tc.Seconds()/float64(b.N), "read-s/op")
			b.ReportMetric(tv.Seconds()/float64(b.N), "since-s/op")
			b.ReportMetric(tr.Seconds()/float64(b.N), "root-s/op")
			b.ReportMetric(tv.Seconds()/tc.Seconds(), "since/read")
			b.ReportMetric(tr.Seconds()/tc.Seconds(), "root/read")
			b.ReportMetric(load, "load1-at-start")
		})
		b.Run(name+"/full-verify", func(b *testing.B) {
			for b.Loop() {
				if r, err := s.Verify(ctx, "acme", 0); err != nil || !r.OK() {
					b.Fatalf("Verify = %+v, %v", r.Break, err)
				}
			}
			b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkVerifyAllPartitions verifies 8 tenants of
// RELEASEGATE_BENCH_TENANT_N entries each (default 20000) on a plain table
// and on 8 hash partitions, one to four tenants at a time: whether reading
// partitions concurrently helps on this machine.
func BenchmarkVerifyAllPartitions(b *testing.B) {
	base := os.Getenv("RELEASEGATE_TEST_POSTGRES")
	if base == "" {
		b.Skip("RELEASEGATE_TEST_POSTGRES is unset: run scripts/services/postgres.sh")
	}
	per := 20_000
	if v := os.Getenv("RELEASEGATE_BENCH_TENANT_N"); v != "" {
		per, _ = strconv.Atoi(v)
	}
	ctx := context.Background()
	tenants := []string{"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7"}
	for _, parts := range []int{0, 8} {
		db := newPostgresB(b, base)
		s, err := Open(ctx, db.dsn)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Migrate(ctx, false); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Partition(ctx, parts); err != nil {
			b.Fatal(err)
		}
		if err := loadTenants(ctx, s, tenants, per); err != nil {
			b.Fatal(err)
		}
		if _, err := db.admin.Exec(`VACUUM (FREEZE, ANALYZE) ledger_chain`); err != nil {
			b.Fatal(err)
		}
		for _, par := range []int{1, 2, 4} {
			b.Run(fmt.Sprintf("partitions=%d/parallel=%d", parts, par), func(b *testing.B) {
				load := loadAvg1()
				for b.Loop() {
					reps, err := s.VerifyAll(ctx, VerifyOptions{Parallel: par})
					if err != nil || len(reps) != len(tenants) || !reps[0].OK() {
						b.Fatalf("VerifyAll = %d, %v", len(reps), err)
					}
				}
				b.ReportMetric(float64(per*len(tenants))*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
				b.ReportMetric(load, "load1-at-start")
			})
		}
	}
}

// loadTenants COPY-loads per entries for each tenant (triggers off).
func loadTenants(ctx context.Context, s *Store, tenants []string, per int) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		if _, err := pc.Exec(ctx, `ALTER TABLE ledger_chain DISABLE TRIGGER USER`); err != nil {
			return err
		}
		t, i, prev := 0, 0, ZeroHash
		_, err := pc.CopyFrom(ctx, pgx.Identifier{"ledger_chain"},
			[]string{"tenant", "seq", "ts", "kind", "payload", "prev_hash", "hash"},
			pgx.CopyFromFunc(func() ([]any, error) {
				if i == per {
					t, i, prev = t+1, 0, ZeroHash
				}
				if t == len(tenants) {
					return nil, nil
				}
				e := benchEntry(i, prev)
				e.Tenant = tenants[t]
				e.Hash = e.ComputeHash()
				i, prev = i+1, e.Hash
				return []any{e.Tenant, e.Seq, e.Time, e.Kind, string(e.Payload), e.PrevHash[:], e.Hash[:]}, nil
			}))
		if err != nil {
			return err
		}
		_, err = pc.Exec(ctx, `ALTER TABLE ledger_chain ENABLE TRIGGER USER`)
		return err
	})
}

// total is the CPU time of this process and of the benchmark's PostgreSQL
// backends since m started.
func (m *cpuMeter) total() time.Duration {
	d := selfCPU() - m.client
	for pid, c := range m.backends() {
		d += c - m.server[pid]
	}
	return d
}
