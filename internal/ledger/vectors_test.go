package ledger

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// vector is one published test vector for re-implementers of the entry
// hash and the Merkle root (testdata/ledger/hash_vectors.json).
type vector struct {
	Tenant     string          `json:"tenant"`
	Seq        int64           `json:"seq"`
	Time       string          `json:"time"`
	Kind       string          `json:"kind"`
	PrevHash   string          `json:"prev_hash"`
	RawPayload json.RawMessage `json:"raw_payload"`
	Canonical  string          `json:"canonical_payload"`
	HashInput  string          `json:"hash_input"`
	Hash       string          `json:"hash"`
}

type vectors struct {
	Entries []vector `json:"entries"`
	// MerkleRoot is the RFC 6962 root over the entries' hashes, base16.
	MerkleRoot string `json:"merkle_root"`
}

func TestHashVectors(t *testing.T) {
	t.Parallel()
	raws := []string{`{"release":"v1.2.3","artifact":{"digest":"sha256:ab","size":1024}}`, `[1.0, 1e21, "é\u2028", null]`, `"a \"quoted\" string"`}
	var v vectors
	prev := ZeroHash
	var leaves []Hash
	for i, raw := range raws {
		p, err := Canonicalize([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		tm := time.Date(2026, 11, 28, 10, 0, i, 5000, time.UTC)
		h := EntryHash("acme", int64(i+1), tm, KindEntry, prev, p)
		input := HashDomain + "\nacme\n" + string(rune('1'+i)) + "\n" + tm.Format(TimeLayout) + "\nentry\n" + prev.String() + "\n" + string(p)
		v.Entries = append(v.Entries, vector{Tenant: "acme", Seq: int64(i + 1), Time: tm.Format(TimeLayout), Kind: KindEntry,
			PrevHash: prev.String(), RawPayload: json.RawMessage(raw), Canonical: string(p), HashInput: input, Hash: h.String()})
		leaves = append(leaves, LeafHash(h))
		prev = h
	}
	v.MerkleRoot = RootOf(leaves).String()
	got, _ := json.MarshalIndent(v, "", "  ")
	got = append(got, '\n')
	path := filepath.Join("..", "..", "testdata", "ledger", "hash_vectors.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestHashVectors -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("hash vectors changed: the entry hash definition must not change silently; compare with %s (update with -update only for a new hash version)", path)
	}
	// The published hash input really is what EntryHash hashes.
	for _, e := range v.Entries {
		if sum := sha256Hex(e.HashInput); sum != e.Hash {
			t.Errorf("seq %d: SHA-256(hash_input) = %s, hash = %s", e.Seq, sum, e.Hash)
		}
	}
}

func sha256Hex(s string) string {
	h := Hash(sha256.Sum256([]byte(s)))
	return h.String()
}
