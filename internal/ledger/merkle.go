package ledger

import (
	"crypto/sha256"
	"math/bits"
)

// Merkle trees as RFC 6962 section 2.1 defines them: a leaf hash is
// SHA-256(0x00 ‖ data), an interior node SHA-256(0x01 ‖ left ‖ right), and
// a tree of n leaves splits at the largest power of two below n. A ledger
// tree's leaf data is an entry's 32-byte Hash.

// LeafHash is the RFC 6962 hash of a leaf whose data is an entry hash.
func LeafHash(entry Hash) Hash {
	var b [33]byte
	b[0] = 0
	copy(b[1:], entry[:])
	return sha256.Sum256(b[:])
}

// NodeHash is the RFC 6962 hash of an interior node.
func NodeHash(l, r Hash) Hash {
	var b [65]byte
	b[0] = 1
	copy(b[1:33], l[:])
	copy(b[33:], r[:])
	return sha256.Sum256(b[:])
}

// TreeBuilder computes a Merkle root over a stream of leaves in O(log n)
// memory: it keeps the roots of the perfect subtrees of the leaves so far.
type TreeBuilder struct {
	stack []Hash
	n     uint64
	// node, when set, sees every perfect subtree the builder completes:
	// its first leaf index, its height (0 for a leaf) and its hash.
	node func(start uint64, height int, h Hash)
}

// Add appends a leaf hash (see LeafHash).
func (b *TreeBuilder) Add(leaf Hash) {
	// Each trailing one bit of n is a perfect subtree to merge with; the
	// node hash input is built in place, left ‖ right after the 0x01.
	var in [65]byte
	in[0] = 1
	copy(in[33:], leaf[:])
	n := b.n
	if b.node != nil {
		b.node(b.n, 0, leaf)
	}
	for height := 1; n&1 == 1; n, height = n>>1, height+1 {
		l := len(b.stack)
		copy(in[1:33], b.stack[l-1][:])
		b.stack = b.stack[:l-1]
		h := sha256.Sum256(in[:])
		copy(in[33:], h[:])
		if b.node != nil {
			b.node(b.n>>height<<height, height, h)
		}
	}
	b.stack = append(b.stack, Hash(in[33:]))
	b.n++
}

// Size returns the number of leaves added.
func (b *TreeBuilder) Size() int64 { return int64(b.n) }

// Root returns the RFC 6962 root of the leaves added so far; the root of
// no leaves is SHA-256 of the empty string.
func (b *TreeBuilder) Root() Hash {
	if len(b.stack) == 0 {
		return sha256.Sum256(nil)
	}
	r := b.stack[len(b.stack)-1]
	for i := len(b.stack) - 2; i >= 0; i-- {
		r = NodeHash(b.stack[i], r)
	}
	return r
}

// RootOf returns the RFC 6962 root of leaves.
func RootOf(leaves []Hash) Hash {
	var b TreeBuilder
	for _, l := range leaves {
		b.Add(l)
	}
	return b.Root()
}

// split returns the largest power of two smaller than n (n >= 2).
func split(n int) int { return 1 << (bits.Len(uint(n-1)) - 1) }

// InclusionProof returns the RFC 6962 audit path of leaf index in the tree
// over leaves, from the leaf's sibling up to the root's child.
func InclusionProof(leaves []Hash, index int) []Hash {
	if index < 0 || index >= len(leaves) {
		return nil
	}
	var path []Hash
	for len(leaves) > 1 {
		k := split(len(leaves))
		if index < k {
			path = append(path, RootOf(leaves[k:]))
			leaves = leaves[:k]
		} else {
			path = append(path, RootOf(leaves[:k]))
			leaves = leaves[k:]
			index -= k
		}
	}
	// RFC 6962 lists the path bottom-up.
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path
}

// ConsistencyProof returns the RFC 6962 proof that the tree over the first
// m leaves is a prefix of the tree over all leaves (0 < m <= len(leaves)).
func ConsistencyProof(leaves []Hash, m int) []Hash {
	if m <= 0 || m > len(leaves) {
		return nil
	}
	return subproof(m, leaves, true)
}

func subproof(m int, leaves []Hash, whole bool) []Hash {
	n := len(leaves)
	if m == n {
		if whole {
			return nil
		}
		return []Hash{RootOf(leaves)}
	}
	k := split(n)
	if m <= k {
		return append(subproof(m, leaves[:k], whole), RootOf(leaves[k:]))
	}
	return append(subproof(m-k, leaves[k:], false), RootOf(leaves[:k]))
}
