package ledger

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// signedAt signs the checkpoint of acme's first size entries (all on t0's
// day) with a frontier.
func signedAt(t *testing.T, s *Store, tenant string, size int64, signer string) []byte {
	t.Helper()
	c, err := s.checkpointAt(context.Background(), tenant, t0.Format(DayLayout), 1, size)
	if err != nil {
		t.Fatalf("checkpointAt(%d): %v", size, err)
	}
	signed, err := Sign(c, signer)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// headFinds names the tamper cases that, made before a checkpoint at acme's
// last entry (seq 10), change the entry at the head; the others are only
// found by the full verify.
var headFinds = map[string]bool{
	"a seq gap": true,
	"an inserted row with a correct hash of its own":         true,
	"a valid but non-canonical payload with a matching hash": true,
}

func TestVerifySinceFindsEveryTamperClass(t *testing.T) {
	t.Parallel()
	signer, verifier, _ := GenerateKey()
	for _, db := range testDBs(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			for _, c := range tamperCases {
				// Every class but the deleted genesis row breaks acme after
				// seq 3; all of them break it before seq 10.
				after := int64(3)
				if c.seq <= after {
					after = 0
				}
				t.Run("after the checkpoint: "+c.name, func(t *testing.T) {
					if after == 0 {
						t.Skipf("the break is at seq %d, before any checkpoint", c.seq)
					}
					t.Parallel()
					fresh := freshLike(t, db)
					s := migrated(t, fresh)
					es := seed(t, s, 10, "acme", "beta")
					signed := signedAt(t, s, "acme", after, signer)
					fresh.tamper(t, c.tamper(fresh, s, es)...)
					r, err := s.VerifySince(context.Background(), signed, verifier, "acme")
					if err != nil {
						t.Fatalf("VerifySince: %v", err)
					}
					if r.Break == nil || r.Break.Seq != c.seq || r.Break.Kind != c.kind {
						t.Fatalf("VerifySince found %+v, want seq %d %s as the full verify", r.Break, c.seq, c.kind)
					}
				})
				t.Run("before the checkpoint: "+c.name, func(t *testing.T) {
					t.Parallel()
					fresh := freshLike(t, db)
					s := migrated(t, fresh)
					es := seed(t, s, 10, "acme", "beta")
					signed := signedAt(t, s, "acme", 10, signer)
					fresh.tamper(t, c.tamper(fresh, s, es)...)
					ctx := context.Background()
					r, err := s.VerifySince(ctx, signed, verifier, "acme")
					if headFinds[c.name] {
						if !errors.Is(err, ErrHeadMismatch) || !errors.Is(err, ErrRootMismatch) {
							t.Fatalf("VerifySince = %+v, %v; want ErrHeadMismatch", r.Break, err)
						}
						return
					}
					if err != nil || r.Break != nil {
						t.Fatalf("VerifySince = %+v, %v; the head is intact, so only the full verify can find %s", r.Break, err, c.name)
					}
					full, err := s.Verify(ctx, "acme", 0)
					if err != nil || full.Break == nil || full.Break.Seq != c.seq {
						t.Fatalf("full Verify = %+v, %v; want the break at seq %d", full.Break, err, c.seq)
					}
				})
			}
		})
	}
}

func freshLike(t *testing.T, db testDB) testDB {
	if db.d == Postgres {
		return *newPostgres(t)
	}
	return newSQLite(t)
}

func TestVerifySinceRefusesBadStarts(t *testing.T) {
	t.Parallel()
	signer, verifier, _ := GenerateKey()
	_, otherVerifier, _ := GenerateKey()
	for _, db := range testDBs(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := migrated(t, db)
			seed(t, s, 10, "acme", "beta")
			good := signedAt(t, s, "acme", 6, signer)
			c, _ := ReadCheckpointFile(good)
			resign := func(mod func(*Checkpoint)) []byte {
				cc := c
				cc.Frontier = append([]Hash{}, c.Frontier...)
				mod(&cc)
				b, err := Sign(cc, signer)
				if err != nil {
					t.Fatal(err)
				}
				return b
			}
			// A frontier that does not hash to the root, signed anyway.
			badFrontierText := strings.Replace(c.Text(), "frontier "+base64.StdEncoding.EncodeToString(c.Frontier[0][:]),
				"frontier "+base64.StdEncoding.EncodeToString(c.Root[:]), 1)
			cases := []struct {
				name   string
				signed []byte
				key    string
				tenant string
				want   []error
			}{
				{"another key", good, otherVerifier, "acme", []error{ErrBadSignature}},
				{"another tenant's checkpoint", signedAt(t, s, "beta", 6, signer), verifier, "acme", []error{ErrBadCheckpoint, ErrOtherOrigin}},
				{"no frontier", resign(func(c *Checkpoint) { c.Frontier = nil }), verifier, "acme", []error{ErrBadCheckpoint, ErrNoFrontier}},
				{"a frontier not hashing to the root", signText(t, badFrontierText, signer), verifier, "acme", []error{ErrBadCheckpoint, ErrBadFrontier}},
				{"a head hash the ledger does not have", resign(func(c *Checkpoint) { c.Head[0] ^= 1 }), verifier, "acme", []error{ErrRootMismatch, ErrHeadMismatch}},
				{"a checkpoint newer than the ledger", resign(func(c *Checkpoint) {
					c.Size, c.DayLast = 40, 40
					c.Frontier = []Hash{c.Root, c.Root}
					tb, _ := TreeFrom(40, c.Frontier)
					c.Root = tb.Root()
				}), verifier, "acme", []error{ErrRootMismatch, ErrRollback}},
			}
			for _, tc := range cases {
				r, err := s.VerifySince(ctx, tc.signed, tc.key, tc.tenant)
				for _, w := range tc.want {
					if !errors.Is(err, w) {
						t.Errorf("%s: VerifySince = %+v, %v; want %v", tc.name, r.Break, err, w)
					}
				}
			}
			r, err := s.VerifySince(ctx, good, verifier, "")
			if err != nil || r.Break != nil || r.New() != 4 || r.To != 10 {
				t.Fatalf("intact chain: %+v, %v; want 4 new entries up to seq 10", r, err)
			}
			full, err := s.checkpointAt(ctx, "acme", t0.Format(DayLayout), 1, 10)
			if err != nil || full.Root != r.Root {
				t.Errorf("extended root %s, full root %s (%v); want equal", r.Root, full.Root, err)
			}
		})
	}
}

// signText signs an arbitrary checkpoint body.
func signText(t *testing.T, text, signer string) []byte {
	t.Helper()
	b, err := signNoteText(text, signer)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifySinceAfterARollback(t *testing.T) {
	t.Parallel()
	signer, verifier, _ := GenerateKey()
	for _, db := range testDBs(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			s := migrated(t, db)
			seed(t, s, 10, "acme")
			signed := signedAt(t, s, "acme", 10, signer)
			db.tamper(t, `DELETE FROM ledger_chain WHERE tenant = 'acme' AND seq > 7`)
			if _, err := s.VerifySince(context.Background(), signed, verifier, "acme"); !errors.Is(err, ErrRollback) {
				t.Fatalf("VerifySince after cutting the chain back = %v; want ErrRollback", err)
			}
		})
	}
}

// TestExtendCheckpointDayByDay signs five days, each from the day before's
// frontier, and checks every checkpoint against the full computation and
// every consistency proof with tlog.CheckTree.
func TestExtendCheckpointDayByDay(t *testing.T) {
	t.Parallel()
	signer, verifier, _ := GenerateKey()
	for _, db := range testDBs(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := migrated(t, db)
			start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
			var recs []Record
			for d := range 5 {
				for i := range 3 + 4*d { // 3, 7, 11, 15, 19 entries
					recs = append(recs, Record{Tenant: "acme", Time: start.AddDate(0, 0, d).Add(time.Duration(i) * time.Hour), Payload: json.RawMessage(fmt.Sprintf(`{"d":%d,"i":%d}`, d, i))})
				}
			}
			if _, err := s.Append(ctx, recs, AppendOptions{}); err != nil {
				t.Fatal(err)
			}
			day := func(d int) string { return start.AddDate(0, 0, d).Format(DayLayout) }
			prev, err := s.DailyCheckpoint(ctx, "acme", day(0))
			if err != nil {
				t.Fatal(err)
			}
			for d := 1; d < 5; d++ {
				ext, err := s.ExtendCheckpoint(ctx, prev, day(d))
				if err != nil {
					t.Fatalf("day %d: %v", d, err)
				}
				full, err := s.DailyCheckpoint(ctx, "acme", day(d))
				if err != nil {
					t.Fatal(err)
				}
				if ext.Checkpoint.Text() != full.Text() {
					t.Fatalf("day %d extended:\n%s\nfull:\n%s", d, ext.Checkpoint.Text(), full.Text())
				}
				oldSigned, _ := Sign(prev, signer)
				newSigned, _ := Sign(ext.Checkpoint, signer)
				if _, _, err := VerifyConsistency(ext.Proof, oldSigned, newSigned, verifier); err != nil {
					t.Fatalf("day %d consistency proof: %v", d, err)
				}
				proof := make(tlog.TreeProof, len(ext.Proof.Proof))
				for i, p := range ext.Proof.Proof {
					h, _ := parseB64Hash(p)
					proof[i] = tlog.Hash(h)
				}
				if err := tlog.CheckTree(proof, full.Size, tlog.Hash(full.Root), prev.Size, tlog.Hash(prev.Root)); err != nil {
					t.Fatalf("day %d: tlog.CheckTree: %v", d, err)
				}
				prev = ext.Checkpoint
			}
			// A checkpoint whose head no longer matches is never extended.
			c1, _ := s.DailyCheckpoint(ctx, "acme", day(1))
			c1.Head[0] ^= 1
			if _, err := s.ExtendCheckpoint(ctx, c1, day(2)); !errors.Is(err, ErrHeadMismatch) {
				t.Errorf("extend from a rewritten head: %v, want ErrHeadMismatch", err)
			}
			if _, err := s.ExtendCheckpoint(ctx, prev, day(2)); !errors.Is(err, ErrBadCheckpoint) {
				t.Errorf("extend from a later day: %v, want ErrBadCheckpoint", err)
			}
			c1, _ = s.DailyCheckpoint(ctx, "acme", day(1))
			db.tamper(t, fmt.Sprintf(`DELETE FROM ledger_chain WHERE tenant = 'acme' AND seq = %d`, c1.Size))
			if _, err := s.ExtendCheckpoint(ctx, c1, day(2)); !errors.Is(err, ErrHeadMismatch) {
				t.Errorf("extend from a deleted head: %v, want ErrHeadMismatch", err)
			}
			db.tamper(t, fmt.Sprintf(`DELETE FROM ledger_chain WHERE tenant = 'acme' AND seq > %d`, c1.Size-3))
			if _, err := s.ExtendCheckpoint(ctx, c1, day(2)); !errors.Is(err, ErrRollback) {
				t.Errorf("extend past the ledger's end: %v, want ErrRollback", err)
			}
		})
	}
}
