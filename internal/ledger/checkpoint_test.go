package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// seedDays appends entries for acme on two UTC days: 6 on 2026-11-27 and
// 5 on 2026-11-28.
func seedDays(t *testing.T, s *Store) {
	t.Helper()
	var recs []Record
	d1 := time.Date(2026, 11, 27, 22, 0, 0, 0, time.UTC)
	for i := range 11 {
		recs = append(recs, Record{Tenant: "acme", Time: d1.Add(time.Duration(i) * 20 * time.Minute), Payload: json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))})
	}
	if _, err := s.Append(context.Background(), recs, AppendOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestDailyCheckpointSignAnchorVerify(t *testing.T) {
	t.Parallel()
	signer, verifier, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, db := range testDBs(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := migrated(t, db)
			seedDays(t, s)
			c1, err := s.DailyCheckpoint(ctx, "acme", "2026-11-27")
			if err != nil {
				t.Fatal(err)
			}
			if c1.Size != 6 || c1.DayFirst != 1 || c1.DayLast != 6 {
				t.Fatalf("day 1 checkpoint %+v, want seq 1..6", c1)
			}
			signed1, err := Sign(c1, signer)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Anchor(ctx, signed1, c1); err != nil {
				t.Fatal(err)
			}
			// Anchor appends at the current time, after both days, so day 2
			// still covers seq 7..11.
			c2, err := s.DailyCheckpoint(ctx, "acme", "2026-11-28")
			if err != nil {
				t.Fatal(err)
			}
			if c2.Size != 11 || c2.DayFirst != 7 {
				t.Fatalf("day 2 checkpoint %+v, want seq 7..11", c2)
			}
			signed2, _ := Sign(c2, signer)
			rc, err := s.VerifyCheckpoint(ctx, signed2, verifier)
			if err != nil {
				t.Fatalf("VerifyCheckpoint: %v", err)
			}
			if rc.Previous == nil || !rc.Consistent || rc.Previous.Size != 6 {
				t.Errorf("VerifyCheckpoint = %+v, want consistency with day 1 (size 6)", rc)
			}
			// Entries appended later that day leave the signed prefix valid.
			if _, err := s.Append(ctx, []Record{{Tenant: "acme", Time: time.Date(2026, 11, 28, 23, 0, 0, 0, time.UTC), Payload: json.RawMessage(`{"late":1}`)}}, AppendOptions{}); err == nil {
				t.Fatal("append before the anchor entry's time should be rejected (times never go back)")
			}
			if _, err := s.VerifyCheckpoint(ctx, signed2, verifier); err != nil {
				t.Errorf("VerifyCheckpoint after the anchor entry: %v", err)
			}
			if got, ok, err := s.AnchoredCheckpoint(ctx, "acme", "2026-11-27"); err != nil || !ok || string(got) != string(signed1) {
				t.Errorf("AnchoredCheckpoint = %q, %v, %v; want the anchored note", got, ok, err)
			}

			// Inclusion proofs verify offline against the signed note.
			for seq := int64(1); seq <= 11; seq++ {
				p, err := s.Prove(ctx, "acme", seq, c2.Size)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := VerifyProof(p, signed2, verifier); err != nil {
					t.Errorf("VerifyProof(seq %d): %v", seq, err)
				}
			}
			p, _ := s.Prove(ctx, "acme", 3, c2.Size)
			p.Seq = 4
			if _, err := VerifyProof(p, signed2, verifier); !errors.Is(err, ErrBadProof) {
				t.Errorf("proof moved to another seq: %v, want ErrBadProof", err)
			}
			p, _ = s.Prove(ctx, "acme", 3, c1.Size)
			if _, err := VerifyProof(p, signed2, verifier); !errors.Is(err, ErrBadProof) {
				t.Errorf("proof for another tree size: %v, want ErrBadProof", err)
			}

			// A chain rewritten consistently (every hash recomputed) still
			// verifies on its own, but no longer matches the signed root.
			rewriteFrom(t, db, s, "acme", 3)
			if r, err := s.Verify(ctx, "acme", 0); err != nil || !r.OK() {
				t.Fatalf("rewritten chain should verify on its own: %+v, %v", r, err)
			}
			if _, err := s.VerifyCheckpoint(ctx, signed2, verifier); !errors.Is(err, ErrRootMismatch) {
				t.Errorf("VerifyCheckpoint after a rewrite = %v, want ErrRootMismatch", err)
			}
		})
	}
}

// rewriteFrom replaces a tenant's entries from seq on with a changed
// payload and a recomputed chain, as an attacker with table access would.
func rewriteFrom(t *testing.T, db testDB, s *Store, tenant string, from int64) {
	t.Helper()
	var es []Entry
	if err := s.Scan(context.Background(), tenant, 1, 0, func(e *Entry) error {
		c := *e
		c.Payload = append([]byte(nil), e.Payload...)
		es = append(es, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	stmts := []string{fmt.Sprintf(`DELETE FROM ledger_chain WHERE tenant = '%s' AND seq >= %d`, tenant, from)}
	prev := es[from-2].Hash
	for _, e := range es[from-1:] {
		if e.Seq == from {
			e.Payload = []byte(`{"rewritten":true}`)
		}
		e.PrevHash = prev
		e.Hash = e.ComputeHash()
		prev = e.Hash
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO ledger_chain (tenant, seq, ts, kind, payload, prev_hash, hash) VALUES ('%s', %d, %s, '%s', '%s', %s, %s)`,
			tenant, e.Seq, tsLit(db, e.Time), e.Kind, strings.ReplaceAll(string(e.Payload), "'", "''"), blob(db, e.PrevHash), blob(db, e.Hash)))
	}
	db.tamper(t, stmts...)
}

func TestCheckpointSignatures(t *testing.T) {
	t.Parallel()
	signer, verifier, _ := GenerateKey()
	_, otherVerifier, _ := GenerateKey()
	c := Checkpoint{Tenant: "acme", Size: 10, Day: "2026-11-28", DayFirst: 4, DayLast: 10}
	c.Root[0], c.DayRoot[0] = 1, 2
	signed, err := Sign(c, signer)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenCheckpoint(signed, verifier)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("OpenCheckpoint = %+v, %v; want %+v", got, err, c)
	}
	if _, err := OpenCheckpoint(signed, otherVerifier); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another key: %v, want ErrBadSignature", err)
	}
	forged := []byte(strings.Replace(string(signed), "\n10\n", "\n11\n", 1))
	if _, err := OpenCheckpoint(forged, verifier); !errors.Is(err, ErrBadSignature) {
		t.Errorf("changed tree size: %v, want ErrBadSignature", err)
	}
	if _, err := OpenCheckpoint(signed, "not a key"); !errors.Is(err, ErrBadSignature) {
		t.Errorf("malformed key: %v, want ErrBadSignature", err)
	}
}

func TestDailyCheckpointFailsClosed(t *testing.T) {
	t.Parallel()
	db := newSQLite(t)
	s := migrated(t, db)
	seedDays(t, s)
	ctx := context.Background()
	if _, err := s.DailyCheckpoint(ctx, "acme", "2026-11-29"); !errors.Is(err, ErrEmpty) {
		t.Errorf("day without entries: %v, want ErrEmpty", err)
	}
	if _, err := s.DailyCheckpoint(ctx, "acme", "28/11/2026"); !errors.Is(err, ErrBadRecord) {
		t.Errorf("bad date: %v, want ErrBadRecord", err)
	}
	db.tamper(t, `DELETE FROM ledger_chain WHERE tenant = 'acme' AND seq = 2`)
	if _, err := s.DailyCheckpoint(ctx, "acme", "2026-11-28"); !errors.Is(err, ErrBrokenChain) {
		t.Errorf("broken chain: %v, want ErrBrokenChain (never sign a broken chain)", err)
	}
}

func FuzzParseCheckpoint(f *testing.F) {
	c := Checkpoint{Tenant: "acme", Size: 10, Day: "2026-11-28", DayFirst: 4, DayLast: 10}
	f.Add(c.Text())
	f.Add("releasegate.ledger/x\n1\n\nday\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCheckpoint(text)
		if err != nil {
			return
		}
		if again, err := ParseCheckpoint(c.Text()); err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip of %q: %+v, %v", text, again, err)
		}
	})
}
