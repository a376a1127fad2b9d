package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// releasegateBin is the releasegate binary the tests run as separate
// processes: RELEASEGATE_BIN (set by make test) or a fresh build.
func releasegateBin(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("RELEASEGATE_BIN"); p != "" {
		abs, err := filepath.Abs(p)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			tb.Fatalf("RELEASEGATE_BIN=%s: expected a built binary, found %v; run make build", p, err)
		}
		return abs
	}
	bin := filepath.Join(tb.TempDir(), "releasegate")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/releasegate")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build ./cmd/releasegate: %v\n%s", err, out)
	}
	return bin
}

// appenderPayload is what writer w appends as its i-th record.
type appenderPayload struct {
	W int `json:"w"`
	I int `json:"i"`
}

// runAppenders starts writers `releasegate ledger append --tenant acme
// --batch batch` processes at once, each with perWriter records, waits for
// all of them and returns how long they took together. Every process must
// exit 0.
func runAppenders(tb testing.TB, bin, dsn string, writers, perWriter, batch int) time.Duration {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	type proc struct {
		cmd      *exec.Cmd
		out, err bytes.Buffer
	}
	procs := make([]*proc, writers)
	for w := range procs {
		var in bytes.Buffer
		for i := 1; i <= perWriter; i++ {
			fmt.Fprintf(&in, `{"w":%d,"i":%d}`+"\n", w+1, i)
		}
		p := &proc{cmd: exec.CommandContext(ctx, bin, "ledger", "append", "--db", dsn, "--tenant", "acme", "--batch", strconv.Itoa(batch))}
		p.cmd.Stdin = &in
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.err
		procs[w] = p
	}
	start := time.Now()
	for _, p := range procs {
		if err := p.cmd.Start(); err != nil {
			tb.Fatal(err)
		}
	}
	var failed []string
	for w, p := range procs {
		if err := p.cmd.Wait(); err != nil {
			failed = append(failed, fmt.Sprintf("writer %d: %v\nstdout: %s\nstderr: %s", w+1, err, p.out.String(), p.err.String()))
		}
	}
	elapsed := time.Since(start)
	if len(failed) > 0 {
		tb.Fatalf("%d of %d appenders failed:\n%s", len(failed), writers, failed)
	}
	return elapsed
}

// checkAppended checks that tenant acme holds exactly writers × perWriter
// entries, seq 1..n without a gap, that its chain verifies, and that each
// writer's records are all there, once, in the order it wrote them.
func checkAppended(t *testing.T, s *Store, writers, perWriter int) {
	t.Helper()
	ctx := context.Background()
	want := int64(writers * perWriter)
	r, err := s.Verify(ctx, "acme", 0)
	if err != nil || !r.OK() || r.Entries != want || r.From != 1 || r.To != want {
		t.Fatalf("Verify = %+v, %v; want %d intact entries, seq 1..%d", r, err, want, want)
	}
	next := make([]int, writers+1) // next[w]: the index writer w must show next
	var seq int64
	err = s.Scan(ctx, "acme", 1, 0, func(e *Entry) error {
		seq++
		if e.Seq != seq {
			return fmt.Errorf("entry %d has seq %d", seq, e.Seq)
		}
		var p appenderPayload
		if err := json.Unmarshal(e.Payload, &p); err != nil || p.W < 1 || p.W > writers {
			return fmt.Errorf("seq %d: payload %s is no writer's", e.Seq, e.Payload)
		}
		next[p.W]++
		if p.I != next[p.W] {
			return fmt.Errorf("seq %d: writer %d's record %d, expected its record %d (lost, repeated or out of order)", e.Seq, p.W, p.I, next[p.W])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for w := 1; w <= writers; w++ {
		if next[w] != perWriter {
			t.Errorf("writer %d: %d records landed, want %d", w, next[w], perWriter)
		}
	}
}

// TestConcurrentAppenders runs eight `ledger append` processes on one
// tenant at once, 2,000 records each, one record per transaction and with
// the default batch, on SQLite and PostgreSQL: all 16,000 entries land,
// seq 1..16000 without a gap or fork, each writer's in its order, and the
// chain verifies. RELEASEGATE_LEDGER_SOAK=N repeats every case N times,
// each on a fresh database (the soak run recorded in docs/benchmarks.md).
func TestConcurrentAppenders(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 8 processes × 2,000 appends; skipped with -short")
	}
	const writers, perWriter = 8, 2000
	runs := 1
	if v := os.Getenv("RELEASEGATE_LEDGER_SOAK"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("RELEASEGATE_LEDGER_SOAK=%q: expected a number of runs >= 1", v)
		}
		runs = n
	}
	bin := releasegateBin(t)
	for _, batch := range []int{1, 1000} {
		for _, backend := range []string{"sqlite", "postgres"} {
			t.Run(fmt.Sprintf("%s/batch-%d", backend, batch), func(t *testing.T) {
				for run := 1; run <= runs; run++ {
					db := newSQLite(t)
					if backend == "postgres" {
						db = postgresOnly(t)
					}
					s := migrated(t, db)
					d := runAppenders(t, bin, db.dsn, writers, perWriter, batch)
					checkAppended(t, s, writers, perWriter)
					t.Logf("run %d/%d: %d appenders × %d entries landed in %v (%.0f entries/s)", run, runs, writers, perWriter, d.Round(time.Millisecond), float64(writers*perWriter)/d.Seconds())
				}
			})
		}
	}
}

// BenchmarkConcurrentAppend compares eight `ledger append` processes × 2,000
// entries on one tenant with one process × 16,000, one record per
// transaction and with the default batch of 1,000, on SQLite and (with
// RELEASEGATE_TEST_POSTGRES) PostgreSQL. Each iteration uses a fresh
// database; entries/s counts the 16,000 entries over the wall time of all
// processes.
func BenchmarkConcurrentAppend(b *testing.B) {
	bin := releasegateBin(b)
	backends := []string{"sqlite"}
	if os.Getenv("RELEASEGATE_TEST_POSTGRES") != "" {
		backends = append(backends, "postgres")
	}
	for _, backend := range backends {
		for _, batch := range []int{1, 1000} {
			for _, shape := range []struct{ writers, each int }{{8, 2000}, {1, 16000}} {
				name := fmt.Sprintf("%s/batch-%d/%dx%d", backend, batch, shape.writers, shape.each)
				b.Run(name, func(b *testing.B) {
					var total time.Duration
					for b.Loop() {
						b.StopTimer()
						dsn := "sqlite:" + filepath.Join(b.TempDir(), "ledger.db")
						if backend == "postgres" {
							dsn = newPostgresB(b, os.Getenv("RELEASEGATE_TEST_POSTGRES")).dsn
						}
						s, err := Open(context.Background(), dsn)
						if err != nil {
							b.Fatal(err)
						}
						if _, err := s.Migrate(context.Background(), false); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
						total += runAppenders(b, bin, dsn, shape.writers, shape.each, batch)
						b.StopTimer()
						if r, err := s.Verify(context.Background(), "acme", 0); err != nil || !r.OK() || r.Entries != 16000 {
							b.Fatalf("Verify = %+v, %v; want 16000 intact entries", r, err)
						}
						s.Close()
						b.StartTimer()
					}
					b.ReportMetric(float64(16000*b.N)/total.Seconds(), "entries/s")
				})
			}
		}
	}
}

// TestAppendTimeIsNeverBeforeTheHead: a record without its own time gets
// the time read under the tenant's lock, clamped to the head's when the
// appender's clock is behind (another host's ran ahead); a record whose own
// time is before the head is bad input.
func TestAppendTimeIsNeverBeforeTheHead(t *testing.T) {
	t.Parallel()
	for _, db := range testDBs(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := migrated(t, db)
			head := seed(t, s, 1, "acme")[0]
			behind := func() time.Time { return head.Time.Add(-time.Hour) }
			es, err := s.Append(ctx, []Record{{Tenant: "acme", Payload: json.RawMessage(`1`)}, {Tenant: "acme", Payload: json.RawMessage(`2`)}}, AppendOptions{Now: behind})
			if err != nil {
				t.Fatalf("Append with a clock an hour behind the head: %v; want the head's time", err)
			}
			for _, e := range es {
				if !e.Time.Equal(head.Time) {
					t.Errorf("seq %d time %s, want the head's %s", e.Seq, e.Time.Format(TimeLayout), head.Time.Format(TimeLayout))
				}
			}
			_, err = s.Append(ctx, []Record{{Tenant: "acme", Time: head.Time.Add(-time.Microsecond), Payload: json.RawMessage(`3`)}}, AppendOptions{})
			if !errors.Is(err, ErrBadRecord) || errors.Is(err, ErrConflict) {
				t.Errorf("Append of an own time before the head = %v, want ErrBadRecord", err)
			}
			if r, err := s.Verify(ctx, "acme", 0); err != nil || !r.OK() || r.Entries != 3 {
				t.Errorf("Verify = %+v, %v; want 3 intact entries", r, err)
			}
		})
	}
}

// TestAppendLostRaceIsConflict makes an append lose a race on PostgreSQL
// the two ways it can: the tenant's lock is not granted within the
// server's lock_timeout, and a writer that does not lock takes the next
// seq first. Both are ErrConflict (retryable, never bad input) and append
// nothing; the same records land when appended again.
func TestAppendLostRaceIsConflict(t *testing.T) {
	t.Parallel()
	db := postgresOnly(t)
	ctx := context.Background()
	s := migrated(t, db)
	es := seed(t, s, 2, "acme")

	t.Run("lock not granted", func(t *testing.T) {
		conn, err := db.admin.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(hashtextextended('acme', 7))`); err != nil {
			t.Fatal(err)
		}
		impatient, err := Open(ctx, db.dsn+"&lock_timeout=50ms")
		if err != nil {
			t.Fatal(err)
		}
		defer impatient.Close()
		_, err = impatient.Append(ctx, []Record{{Tenant: "acme", Payload: json.RawMessage(`"late"`)}}, AppendOptions{})
		if !errors.Is(err, ErrConflict) || errors.Is(err, ErrBadRecord) {
			t.Errorf("Append while another holds the tenant's lock = %v, want ErrConflict", err)
		}
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock(hashtextextended('acme', 7))`); err != nil {
			t.Fatal(err)
		}
		if _, err := impatient.Append(ctx, []Record{{Tenant: "acme", Payload: json.RawMessage(`"late"`)}}, AppendOptions{}); err != nil {
			t.Errorf("Append after the lock was released: %v", err)
		}
	})

	t.Run("seq taken by a writer that does not lock", func(t *testing.T) {
		h, _, _ := s.Head(ctx, "acme")
		tx, err := db.admin.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		rogue := Entry{Tenant: "acme", Seq: h.Seq + 1, Time: h.Time, Kind: KindEntry, Payload: []byte(`"rogue"`), PrevHash: h.Hash}
		rogue.Hash = rogue.ComputeHash()
		if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_chain (tenant, seq, ts, kind, payload, prev_hash, hash) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
			rogue.Tenant, rogue.Seq, rogue.Time, rogue.Kind, string(rogue.Payload), rogue.PrevHash[:], rogue.Hash[:]); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := s.Append(ctx, []Record{{Tenant: "acme", Payload: json.RawMessage(`"mine"`)}}, AppendOptions{})
			done <- err
		}()
		// Wait until the append waits for the rogue row, then commit it.
		deadline := time.Now().Add(10 * time.Second)
		for {
			var waiting int
			if err := db.admin.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'transactionid' AND query LIKE 'INSERT INTO ledger_chain%'`).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			if waiting > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the append never waited for the rogue row")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, ErrConflict) || errors.Is(err, ErrBadRecord) {
			t.Errorf("Append that lost seq %d to a writer that does not lock = %v, want ErrConflict", rogue.Seq, err)
		}
		again, err := s.Append(ctx, []Record{{Tenant: "acme", Payload: json.RawMessage(`"mine"`)}}, AppendOptions{})
		if err != nil || again[0].Seq != rogue.Seq+1 || again[0].PrevHash != rogue.Hash {
			t.Errorf("Append again = %+v, %v; want seq %d after the rogue row", again, err, rogue.Seq+1)
		}
	})
	if r, err := s.Verify(ctx, "acme", 0); err != nil || !r.OK() || r.Entries != int64(len(es))+3 {
		t.Errorf("Verify = %+v, %v; want %d intact entries", r, err, len(es)+3)
	}
}

// TestMultiTenantBatchesDoNotDeadlock appends batches that name two tenants
// in opposite orders from concurrent stores at once: the locks are taken in
// one order, so every batch lands at its first try (no deadlock, no
// conflict) and both chains verify.
func TestMultiTenantBatchesDoNotDeadlock(t *testing.T) {
	t.Parallel()
	for _, db := range testDBs(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			migrated(t, db)
			const writers, batches = 4, 25
			var wg sync.WaitGroup
			errs := make(chan error, writers*batches)
			for w := range writers {
				s := db.open(t)
				order := []string{"acme", "beta"}
				if w%2 == 1 {
					order = []string{"beta", "acme"}
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range batches {
						var recs []Record
						for _, tn := range order {
							recs = append(recs, Record{Tenant: tn, Payload: json.RawMessage(fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))})
						}
						if _, err := s.Append(ctx, recs, AppendOptions{}); err != nil {
							errs <- fmt.Errorf("writer %d batch %d: %w", w, i, err)
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			s := db.open(t)
			for _, tn := range []string{"acme", "beta"} {
				if r, err := s.Verify(ctx, tn, 0); err != nil || !r.OK() || r.Entries != writers*batches {
					t.Errorf("Verify(%s) = %+v, %v; want %d intact entries", tn, r, err, writers*batches)
				}
			}
		})
	}
}

// TestSQLiteBusyIsConflict: a database another writer holds past the busy
// timeout is a lost race (ErrConflict's trigger), not a broken database.
func TestSQLiteBusyIsConflict(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "busy.db")
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(0)&_pragma=journal_mode(WAL)&_txlock=immediate")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
		return db
	}
	holder, other := open(), open()
	if _, err := holder.Exec(`CREATE TABLE x (a INTEGER)`); err != nil {
		t.Fatal(err)
	}
	tx, err := holder.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	_, err = other.Begin()
	if err == nil || !isConflict(err) {
		t.Errorf("BEGIN IMMEDIATE while another writer holds the database = %v, want a conflict (SQLITE_BUSY)", err)
	}
	if isConflict(errors.New("disk I/O error")) {
		t.Error("an unrelated error counts as a conflict")
	}
}
