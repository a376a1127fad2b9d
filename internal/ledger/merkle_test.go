package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func testLeaves(n int) []Hash {
	out := make([]Hash, n)
	for i := range out {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(i))
		out[i] = LeafHash(sha256.Sum256(b[:]))
	}
	return out
}

// tlogReader serves stored hashes computed by tlog itself.
type tlogReader []tlog.Hash

func (r tlogReader) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = r[x]
	}
	return out, nil
}

func tlogStore(leaves []Hash) tlogReader {
	var stored tlogReader
	for i, l := range leaves {
		hs, err := tlog.StoredHashesForRecordHash(int64(i), tlog.Hash(l), stored)
		if err != nil {
			panic(err)
		}
		stored = append(stored, hs...)
	}
	return stored
}

func toTlog(p []Hash) []tlog.Hash {
	out := make([]tlog.Hash, len(p))
	for i, h := range p {
		out[i] = tlog.Hash(h)
	}
	return out
}

// TestMerkleAgreesWithTlog checks roots, inclusion and consistency proofs
// against golang.org/x/mod/sumdb/tlog for every tree size up to 70.
func TestMerkleAgreesWithTlog(t *testing.T) {
	t.Parallel()
	const max = 70
	leaves := testLeaves(max)
	stored := tlogStore(leaves)
	for n := 1; n <= max; n++ {
		want, err := tlog.TreeHash(int64(n), stored)
		if err != nil {
			t.Fatal(err)
		}
		if got := RootOf(leaves[:n]); got != Hash(want) {
			t.Fatalf("RootOf(%d leaves) = %s, tlog says %s", n, got, Hash(want))
		}
		for i := range n {
			p := InclusionProof(leaves[:n], i)
			if err := tlog.CheckRecord(toTlog(p), int64(n), want, int64(i), tlog.Hash(leaves[i])); err != nil {
				t.Fatalf("inclusion proof of %d in %d rejected by tlog: %v", i, n, err)
			}
		}
		for m := 1; m <= n; m++ {
			old, _ := tlog.TreeHash(int64(m), stored)
			p := ConsistencyProof(leaves[:n], m)
			if err := tlog.CheckTree(toTlog(p), int64(n), want, int64(m), old); err != nil {
				t.Fatalf("consistency proof %d→%d rejected by tlog: %v", m, n, err)
			}
		}
	}
	// A wrong leaf must not verify.
	root := RootOf(leaves[:10])
	p := InclusionProof(leaves[:10], 3)
	if tlog.CheckRecord(toTlog(p), 10, tlog.Hash(root), 3, tlog.Hash(leaves[4])) == nil {
		t.Fatal("proof for leaf 3 verified leaf 4")
	}
}

func TestEmptyTreeRoot(t *testing.T) {
	t.Parallel()
	var b TreeBuilder
	if b.Root() != sha256.Sum256(nil) {
		t.Fatal("empty root is not SHA-256 of nothing (RFC 6962)")
	}
}
