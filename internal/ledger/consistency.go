package ledger

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// ErrOtherOrigin means two checkpoints that should belong to one log (one
// tenant's chain) have different origin lines: no proof relates them.
var ErrOtherOrigin = errors.New("checkpoints of different logs")

// Consistency is an RFC 6962 consistency proof between two trees of one
// tenant's chain, in the JSON form `ledger prove --consistency` prints and
// `ledger verify-proof --consistency` reads (docs/ledger.md):
//
//	{"origin":"releasegate.ledger/acme","old_size":5,"old_root":"…",
//	 "new_size":9,"new_root":"…","proof":["…","…"]}
//
// Hashes are standard base64, as in checkpoints; proof is in the order
// golang.org/x/mod/sumdb/tlog.CheckTree takes it, so an auditor verifies it
// with CheckTree(proof, new_size, new_root, old_size, old_root), taking
// sizes and roots from the signed checkpoints.
type Consistency struct {
	Origin  string   `json:"origin"`
	OldSize int64    `json:"old_size"`
	OldRoot string   `json:"old_root"`
	NewSize int64    `json:"new_size"`
	NewRoot string   `json:"new_root"`
	Proof   []string `json:"proof"`
}

// ProveConsistency returns the consistency proof from the tree of a
// tenant's first oldSize entries to the tree of its first newSize entries
// (newSize <= 0: the whole chain), verifying the chain up to newSize first.
func (s *Store) ProveConsistency(ctx context.Context, tenant string, oldSize, newSize int64) (Consistency, error) {
	p := Consistency{Origin: OriginPrefix + tenant}
	h, ok, err := s.Head(ctx, tenant)
	if err != nil {
		return p, err
	}
	if !ok {
		return p, fmt.Errorf("%w: tenant %s has no entries", ErrEmpty, tenant)
	}
	if newSize <= 0 {
		newSize = h.Seq
	}
	if newSize > h.Seq {
		return p, fmt.Errorf("%w: new tree size %d: tenant %s has %d entries", ErrBadRecord, newSize, tenant, h.Seq)
	}
	if oldSize < 1 || oldSize > newSize {
		return p, fmt.Errorf("%w: old tree size %d: expected 1..%d (the new tree's size)", ErrBadRecord, oldSize, newSize)
	}
	leaves, err := s.leaves(ctx, tenant, newSize)
	if err != nil {
		return p, err
	}
	oldRoot, newRoot := RootOf(leaves[:oldSize]), RootOf(leaves)
	b64 := base64.StdEncoding.EncodeToString
	p.OldSize, p.OldRoot, p.NewSize, p.NewRoot = oldSize, b64(oldRoot[:]), newSize, b64(newRoot[:])
	p.Proof = []string{}
	for _, x := range ConsistencyProof(leaves, int(oldSize)) {
		p.Proof = append(p.Proof, b64(x[:]))
	}
	return p, nil
}

// ProveBetween is ProveConsistency between two checkpoints (signed or not:
// the prover does not need the key): they must have one origin, and the
// ledger must still have the roots they commit to (ErrRootMismatch
// otherwise).
func (s *Store) ProveBetween(ctx context.Context, older, newer Checkpoint) (Consistency, error) {
	if older.Tenant != newer.Tenant {
		return Consistency{}, fmt.Errorf("%w: %w: the old checkpoint is of %s%s, the new one of %s%s; give two checkpoints of one tenant",
			ErrBadCheckpoint, ErrOtherOrigin, OriginPrefix, older.Tenant, OriginPrefix, newer.Tenant)
	}
	if older.Size > newer.Size {
		return Consistency{}, fmt.Errorf("%w: the old checkpoint (size %d, %s) is larger than the new one (size %d, %s); give them oldest first",
			ErrBadCheckpoint, older.Size, older.Day, newer.Size, newer.Day)
	}
	h, ok, err := s.Head(ctx, newer.Tenant)
	if err != nil {
		return Consistency{}, err
	}
	if !ok || h.Seq < newer.Size {
		return Consistency{}, fmt.Errorf("%w: tenant %s: the new checkpoint (%s) covers %d entries, the ledger has %d; the chain was cut back after signing",
			ErrRootMismatch, newer.Tenant, newer.Day, newer.Size, h.Seq)
	}
	p, err := s.ProveConsistency(ctx, newer.Tenant, older.Size, newer.Size)
	if err != nil {
		return p, err
	}
	for _, c := range []struct {
		name string
		cp   Checkpoint
		root string
	}{{"old", older, p.OldRoot}, {"new", newer, p.NewRoot}} {
		if want := base64.StdEncoding.EncodeToString(c.cp.Root[:]); c.root != want {
			return Consistency{}, fmt.Errorf("%w: tenant %s: the %s checkpoint (%s) has root %s over %d entries, the ledger has %s; the chain was rewritten after signing",
				ErrRootMismatch, c.cp.Tenant, c.name, c.cp.Day, want, c.cp.Size, c.root)
		}
	}
	return p, nil
}

// ReadCheckpointFile parses a checkpoint file (a signed note) without
// checking its signature: the body before the blank line.
func ReadCheckpointFile(b []byte) (Checkpoint, error) {
	text, _, ok := strings.Cut(string(b), "\n\n")
	if !ok {
		return Checkpoint{}, fmt.Errorf("%w: no blank line before the signatures; expected a signed note from `ledger root`", ErrBadCheckpoint)
	}
	return ParseCheckpoint(text + "\n")
}

// VerifyConsistency checks a consistency proof between two signed
// checkpoints with the verifier key and needs no database: both signatures,
// one origin (ErrOtherOrigin), that the proof names the checkpoints' sizes
// and roots, and the RFC 6962 proof itself with sumdb/tlog.CheckTree.
func VerifyConsistency(p Consistency, oldSigned, newSigned []byte, verifierKey string) (older, newer Checkpoint, err error) {
	if older, err = OpenCheckpoint(oldSigned, verifierKey); err != nil {
		return older, newer, fmt.Errorf("old checkpoint: %w", err)
	}
	if newer, err = OpenCheckpoint(newSigned, verifierKey); err != nil {
		return older, newer, fmt.Errorf("new checkpoint: %w", err)
	}
	if older.Tenant != newer.Tenant {
		return older, newer, fmt.Errorf("%w: %w: the old checkpoint is of %s%s, the new one of %s%s; a consistency proof relates two checkpoints of one tenant",
			ErrBadProof, ErrOtherOrigin, OriginPrefix, older.Tenant, OriginPrefix, newer.Tenant)
	}
	b64 := base64.StdEncoding.EncodeToString
	if p.Origin != OriginPrefix+newer.Tenant || p.OldSize != older.Size || p.NewSize != newer.Size ||
		p.OldRoot != b64(older.Root[:]) || p.NewRoot != b64(newer.Root[:]) {
		return older, newer, fmt.Errorf("%w: the proof is from %s size %d root %s to size %d root %s; the checkpoints are %s%s size %d root %s and size %d root %s",
			ErrBadProof, p.Origin, p.OldSize, p.OldRoot, p.NewSize, p.NewRoot, OriginPrefix, newer.Tenant, older.Size, b64(older.Root[:]), newer.Size, b64(newer.Root[:]))
	}
	proof := make(tlog.TreeProof, len(p.Proof))
	for i, s := range p.Proof {
		h, err := parseB64Hash(s)
		if err != nil {
			return older, newer, fmt.Errorf("%w: proof[%d]: %v", ErrBadProof, i, err)
		}
		proof[i] = tlog.Hash(h)
	}
	if err := tlog.CheckTree(proof, newer.Size, tlog.Hash(newer.Root), older.Size, tlog.Hash(older.Root)); err != nil {
		return older, newer, fmt.Errorf("%w: %s: the tree of %d entries (%s) is not proved a prefix of the tree of %d (%s): %v",
			ErrBadProof, p.Origin, older.Size, older.Day, newer.Size, newer.Day, err)
	}
	return older, newer, nil
}

// consistencyJSON is the Consistency form of an RFC 6962 proof from older
// to newer.
func consistencyJSON(older, newer Checkpoint, proof []Hash) Consistency {
	b64 := base64.StdEncoding.EncodeToString
	p := Consistency{Origin: OriginPrefix + newer.Tenant, OldSize: older.Size, OldRoot: b64(older.Root[:]),
		NewSize: newer.Size, NewRoot: b64(newer.Root[:]), Proof: make([]string, len(proof))}
	for i, h := range proof {
		p.Proof[i] = b64(h[:])
	}
	return p
}
