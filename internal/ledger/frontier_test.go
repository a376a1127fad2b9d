package ledger

import (
	"crypto/sha256"
	"errors"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// tlogStored is a tlog.HashReader over tlog's stored hashes of a tree.
type tlogStored []tlog.Hash

func (s tlogStored) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = s[x]
	}
	return out, nil
}

// TestFrontierAgreesWithTlog checks, for every pair of tree sizes up to
// 70, that tlog (an independent RFC 6962 implementation: its record hash is
// SHA-256(0x00‖data) and its node hash SHA-256(0x01‖l‖r)) computes the same
// roots as a TreeBuilder continued from a frontier, and the same
// consistency proofs as ProveFromFrontier, which CheckTree accepts.
func TestFrontierAgreesWithTlog(t *testing.T) {
	t.Parallel()
	const max = 70
	var entries, leaves []Hash
	var stored tlogStored
	for i := range max {
		e := Hash(sha256.Sum256([]byte{byte(i)}))
		hs, err := tlog.StoredHashes(int64(i), e[:], stored)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
		entries, leaves = append(entries, e), append(leaves, LeafHash(e))
	}
	if tlog.RecordHash(entries[0][:]) != tlog.Hash(leaves[0]) {
		t.Fatal("tlog's record hash is not RFC 6962's leaf hash")
	}
	for m := int64(1); m <= max; m++ {
		var old TreeBuilder
		for _, l := range leaves[:m] {
			old.Add(l)
		}
		for n := m; n <= max; n++ {
			tb, err := TreeFrom(m, old.Frontier())
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range leaves[m:n] {
				tb.Add(l)
			}
			want, err := tlog.TreeHash(n, stored)
			if err != nil {
				t.Fatal(err)
			}
			// The same proof from the nodes the builder completes.
			col := newNodeCollector(m, n)
			tc, _ := TreeFrom(m, old.Frontier())
			tc.node = col.hook
			for _, l := range leaves[m:n] {
				tc.Add(l)
			}
			if p, err := col.prove(m, old.Frontier(), &tc); err != nil || !reflect.DeepEqual(toTlogHashes(p), toTlogHashes(mustProve(t, m, old.Frontier(), leaves[m:n]))) {
				t.Fatalf("collected proof %d→%d differs: %v", m, n, err)
			}
			if tlog.Hash(tb.Root()) != want {
				t.Fatalf("root of %d continued from %d: %s, tlog %s", n, m, tb.Root(), want)
			}
			proof, err := ProveFromFrontier(m, old.Frontier(), leaves[m:n])
			if err != nil {
				t.Fatalf("ProveFromFrontier(%d→%d): %v", m, n, err)
			}
			tp, err := tlog.ProveTree(n, m, stored)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(toTlogHashes(proof), []tlog.Hash(tp)) {
				t.Fatalf("proof %d→%d differs from tlog.ProveTree", m, n)
			}
			if err := tlog.CheckTree(toTlogHashes(proof), n, want, m, tlog.Hash(old.Root())); err != nil {
				t.Fatalf("CheckTree %d→%d: %v", m, n, err)
			}
		}
	}
}

func TestParseFrontierRefusesBadLines(t *testing.T) {
	t.Parallel()
	var tb TreeBuilder
	for i := range 11 {
		tb.Add(LeafHash(Hash{byte(i)}))
	}
	c := Checkpoint{Tenant: "acme", Size: 11, Root: tb.Root(), Day: "2026-11-28", DayFirst: 4, DayLast: 11, Head: Hash{10}, Frontier: tb.Frontier()}
	good := c.Text()
	if got, err := ParseCheckpoint(good); err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	lines := strings.Split(good, "\n")
	cases := map[string]string{
		"a head seq other than the size":   strings.Replace(good, "head 11 ", "head 10 ", 1),
		"no head line":                     strings.Replace(good, "head 11 ", "tail 11 ", 1),
		"a frontier hash too few":          strings.Replace(good, " "+strings.Fields(lines[5])[3], "", 1),
		"a frontier hash too many":         strings.Replace(good, lines[5], lines[5]+" "+strings.Fields(lines[5])[1], 1),
		"two spaces":                       strings.Replace(good, "frontier ", "frontier  ", 1),
		"frontier hashes in another order": strings.Replace(good, lines[5], "frontier "+strings.Fields(lines[5])[2]+" "+strings.Fields(lines[5])[1]+" "+strings.Fields(lines[5])[3], 1),
		"a frontier not hashing to root":   strings.Replace(good, lines[2], strings.Fields(lines[5])[1], 1),
		"only the head line":               strings.Replace(good, lines[5]+"\n", "", 1),
	}
	for name, text := range cases {
		if _, err := ParseCheckpoint(text); !errors.Is(err, ErrBadCheckpoint) {
			t.Errorf("%s: ParseCheckpoint = %v, want ErrBadCheckpoint", name, err)
		}
	}
}

// FuzzParseFrontier fuzzes checkpoints with head and frontier lines: a
// parsed one's frontier always hashes to its root and its text round-trips.
func FuzzParseFrontier(f *testing.F) {
	for _, n := range []int{1, 2, 3, 7, 8, 11} {
		var tb TreeBuilder
		for i := range n {
			tb.Add(LeafHash(Hash{byte(i)}))
		}
		c := Checkpoint{Tenant: "acme", Size: int64(n), Root: tb.Root(), Day: "2026-11-28", DayFirst: 1, DayLast: int64(n), Head: Hash{1}, Frontier: tb.Frontier()}
		f.Add(c.Text())
	}
	f.Add("releasegate.ledger/x\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nday 2026-11-28 1 1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nhead 1 x\nfrontier\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCheckpoint(text)
		if err != nil {
			return
		}
		if c.Frontier != nil {
			tb, err := TreeFrom(c.Size, c.Frontier)
			if err != nil || tb.Root() != c.Root {
				t.Fatalf("accepted a frontier that does not hash to the root: %q", text)
			}
		}
		if again, err := ParseCheckpoint(c.Text()); err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip of %q: %+v, %v", text, again, err)
		}
	})
}

func mustProve(t *testing.T, m int64, frontier, newLeaves []Hash) []Hash {
	t.Helper()
	p, err := ProveFromFrontier(m, frontier, newLeaves)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
