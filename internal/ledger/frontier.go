package ledger

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// A frontier is the RFC 6962 compact range of a tree of size n: the roots
// of the perfect subtrees that cover leaves [0, n), one per one bit of n,
// largest (leftmost) first — the state a TreeBuilder keeps. With the
// chain's head (the seq and hash of entry n) it is all a verifier or signer
// needs to continue the tree and the chain after n without reading entries
// 1..n again. A checkpoint carries both as two extension lines, so they are
// covered by its signature (see Checkpoint).

// Errors of frontier checks, matched with errors.Is; each is also wrapped
// with ErrBadCheckpoint (a malformed frontier) or ErrRootMismatch (a ledger
// that no longer continues it).
var (
	// ErrBadFrontier means a checkpoint's frontier lines are malformed or do
	// not hash to its root.
	ErrBadFrontier = errors.New("checkpoint frontier does not match its root")
	// ErrNoFrontier means a checkpoint carries no frontier (one signed by an
	// older releasegate): it cannot start an incremental verify.
	ErrNoFrontier = errors.New("checkpoint has no frontier")
	// ErrHeadMismatch means the stored entry at the checkpoint's head seq is
	// missing or has another hash: history before the checkpoint was
	// rewritten.
	ErrHeadMismatch = errors.New("ledger entry at the checkpoint's head does not match")
	// ErrRollback means the ledger has fewer entries than a checkpoint
	// covers: the database was rolled back or cut after signing.
	ErrRollback = errors.New("ledger is behind the signed checkpoint")
)

// Frontier returns a copy of the compact range of the leaves added so far.
func (b *TreeBuilder) Frontier() []Hash {
	return append([]Hash{}, b.stack...)
}

// TreeFrom returns a TreeBuilder continuing a tree of size leaves whose
// compact range is frontier; it fails (ErrBadFrontier) unless frontier has
// one hash per one bit of size.
func TreeFrom(size int64, frontier []Hash) (TreeBuilder, error) {
	if size < 0 || len(frontier) != bits.OnesCount64(uint64(size)) {
		return TreeBuilder{}, fmt.Errorf("%w: a tree of %d entries has %d frontier hashes, got %d",
			ErrBadFrontier, size, bits.OnesCount64(uint64(max(size, 0))), len(frontier))
	}
	return TreeBuilder{stack: append([]Hash{}, frontier...), n: uint64(size)}, nil
}

// frontierNodes returns the leaf ranges [start, start+size) of the compact
// range of a tree of n leaves, in frontier order.
func frontierNodes(n int64) (starts, sizes []int64) {
	var start int64
	for b := 62; b >= 0; b-- {
		if n&(1<<b) != 0 {
			starts, sizes = append(starts, start), append(sizes, 1<<b)
			start += 1 << b
		}
	}
	return starts, sizes
}

// ProveFromFrontier returns the RFC 6962 consistency proof from the tree of
// m leaves, given by its compact range, to the tree of m+len(newLeaves)
// leaves. It reads no leaf before m: every node of the proof either lies
// wholly after m (computed from newLeaves) or is a node of the old compact
// range, so a day's proof costs that day's leaves. The proof is in the
// order tlog.CheckTree takes.
func ProveFromFrontier(m int64, frontier []Hash, newLeaves []Hash) ([]Hash, error) {
	return proveFrom(m, frontier, m+int64(len(newLeaves)), func(a, b int64) Hash { return RootOf(newLeaves[a-m : b-m]) })
}

// proofNodes lists the leaf ranges [a, b) after m whose hashes the
// consistency proof from m to n needs, in proof order.
func proofNodes(m, n int64) [][2]int64 {
	var out [][2]int64
	proveFrom(m, make([]Hash, bits.OnesCount64(uint64(m))), n, func(a, b int64) Hash {
		out = append(out, [2]int64{a, b})
		return Hash{}
	})
	return out
}

// proveFrom builds the consistency proof from m to n leaves with the old
// compact range and newHash, which hashes a leaf range wholly after m.
func proveFrom(m int64, frontier []Hash, n int64, newHash func(a, b int64) Hash) ([]Hash, error) {
	if _, err := TreeFrom(m, frontier); err != nil {
		return nil, err
	}
	if m < 1 || n < m {
		return nil, fmt.Errorf("%w: no consistency proof from a tree of %d to one of %d", ErrBadProof, m, n)
	}
	starts, sizes := frontierNodes(m)
	old := map[[2]int64]Hash{}
	for i := range starts {
		old[[2]int64{starts[i], sizes[i]}] = frontier[i]
	}
	var missing error
	rangeHash := func(a, b int64) Hash {
		if a >= m {
			return newHash(a, b)
		}
		h, ok := old[[2]int64{a, b - a}]
		if !ok && missing == nil {
			missing = fmt.Errorf("%w: node [%d,%d) is not in the compact range of %d", ErrBadFrontier, a, b, m)
		}
		return h
	}
	var sub func(off, n, m int64, whole bool) []Hash
	sub = func(off, n, m int64, whole bool) []Hash {
		if m == n {
			if whole {
				return nil
			}
			return []Hash{rangeHash(off, off+n)}
		}
		k := int64(split(int(n)))
		if m <= k {
			return append(sub(off, k, m, whole), rangeHash(off+k, off+n))
		}
		return append(sub(off+k, n-k, m-k, false), rangeHash(off, off+k))
	}
	p := sub(0, n, m, true)
	return p, missing
}

// nodeCollector keeps the proof's perfect new subtrees as a TreeBuilder
// completes them, and folds the others — right-spine ranges [a, n), which
// are suffixes of the final compact range — at the end, so a proof costs
// no hashing beyond building the tree.
type nodeCollector struct {
	want  map[[2]uint64]bool // (start, height) of perfect nodes wanted
	found map[[2]uint64]Hash
}

func newNodeCollector(m, n int64) *nodeCollector {
	c := &nodeCollector{want: map[[2]uint64]bool{}, found: map[[2]uint64]Hash{}}
	for _, r := range proofNodes(m, n) {
		size := r[1] - r[0]
		if size&(size-1) == 0 && r[0]%size == 0 {
			c.want[[2]uint64{uint64(r[0]), uint64(bits.TrailingZeros64(uint64(size)))}] = true
		}
	}
	return c
}

// hook is the TreeBuilder's node callback; it costs a map lookup only for
// nodes at a start the proof can use.
func (c *nodeCollector) hook(start uint64, height int, h Hash) {
	if k := [2]uint64{start, uint64(height)}; c.want[k] {
		c.found[k] = h
	}
}

// prove returns the proof from m (old compact range) to the finished tree.
func (c *nodeCollector) prove(m int64, oldFrontier []Hash, tb *TreeBuilder) ([]Hash, error) {
	n := tb.Size()
	starts, _ := frontierNodes(n)
	var missing error
	return proveFrom(m, oldFrontier, n, func(a, b int64) Hash {
		size := b - a
		if h, ok := c.found[[2]uint64{uint64(a), uint64(bits.TrailingZeros64(uint64(size)))}]; ok && size&(size-1) == 0 {
			return h
		}
		for i, s := range starts { // a right-spine range: fold the frontier from a
			if s == a && b == n {
				r := tb.stack[len(tb.stack)-1]
				for j := len(tb.stack) - 2; j >= i; j-- {
					r = NodeHash(tb.stack[j], r)
				}
				return r
			}
		}
		if missing == nil {
			missing = fmt.Errorf("%w: proof node [%d,%d) was not built", ErrBadProof, a, b)
		}
		return Hash{}
	})
}

// frontierLines returns the two extension lines of a checkpoint with a
// frontier: "head SEQ HASH" and "frontier HASH…" (standard base64).
func frontierLines(size int64, head Hash, frontier []Hash) string {
	b64 := base64.StdEncoding.EncodeToString
	var b strings.Builder
	fmt.Fprintf(&b, "head %d %s\nfrontier", size, b64(head[:]))
	for _, h := range frontier {
		b.WriteByte(' ')
		b.WriteString(b64(h[:]))
	}
	b.WriteByte('\n')
	return b.String()
}

// parseFrontier parses the head and frontier lines of a checkpoint of
// size entries with root root, and checks that the frontier hashes to it.
func parseFrontier(headLine, frontierLine string, size int64, root Hash) (head Hash, frontier []Hash, err error) {
	f := strings.Split(headLine, " ")
	if len(f) != 3 || f[0] != "head" {
		return head, nil, fmt.Errorf("%w: %w: head line %q, expected \"head SEQ HASH\"", ErrBadCheckpoint, ErrBadFrontier, headLine)
	}
	if f[1] != strconv.FormatInt(size, 10) {
		return head, nil, fmt.Errorf("%w: %w: head seq %q, expected the tree size %d", ErrBadCheckpoint, ErrBadFrontier, f[1], size)
	}
	if head, err = parseB64Hash(f[2]); err != nil {
		return head, nil, fmt.Errorf("head hash: %w", err)
	}
	rest, ok := strings.CutPrefix(frontierLine, "frontier")
	if !ok {
		return head, nil, fmt.Errorf("%w: %w: line 6 %q, expected \"frontier HASH…\"", ErrBadCheckpoint, ErrBadFrontier, frontierLine)
	}
	var fields []string
	if rest != "" {
		r, ok := strings.CutPrefix(rest, " ")
		if !ok {
			return head, nil, fmt.Errorf("%w: %w: frontier line %q, expected hashes separated by one space", ErrBadCheckpoint, ErrBadFrontier, frontierLine)
		}
		fields = strings.Split(r, " ")
	}
	if want := bits.OnesCount64(uint64(size)); len(fields) != want {
		return head, nil, fmt.Errorf("%w: %w: %d frontier hashes, a tree of %d entries has %d", ErrBadCheckpoint, ErrBadFrontier, len(fields), size, want)
	}
	frontier = make([]Hash, len(fields))
	for i, s := range fields {
		if frontier[i], err = parseB64Hash(s); err != nil {
			return head, nil, fmt.Errorf("frontier hash %d: %w", i, err)
		}
	}
	tb, err := TreeFrom(size, frontier)
	if err != nil {
		return head, nil, fmt.Errorf("%w: %w", ErrBadCheckpoint, err)
	}
	if got := tb.Root(); got != root {
		return head, nil, fmt.Errorf("%w: %w: the frontier hashes to %s, the checkpoint's root is %s",
			ErrBadCheckpoint, ErrBadFrontier, base64.StdEncoding.EncodeToString(got[:]), base64.StdEncoding.EncodeToString(root[:]))
	}
	return head, frontier, nil
}
