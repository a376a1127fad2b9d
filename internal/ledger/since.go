package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// SinceReport is the outcome of VerifySince: the chain checked from a
// signed checkpoint's head to the end, and the tree extended to match.
type SinceReport struct {
	// Report covers the checkpoint's head entry (From) to the latest (To);
	// Entries counts the head entry too.
	Report
	// Checkpoint is the signed starting point.
	Checkpoint Checkpoint
	// Root is the RFC 6962 root over seq 1..To, extended from the
	// checkpoint's frontier (meaningful when Break is nil).
	Root Hash
	// Frontier is the compact range of that tree.
	Frontier []Hash
}

// New returns the number of entries checked after the checkpoint.
func (r *SinceReport) New() int64 {
	if r.To < r.Checkpoint.Size {
		return 0
	}
	return r.To - r.Checkpoint.Size
}

// VerifySince checks a tenant's chain from a signed checkpoint on, in time
// proportional to the entries after it (docs/ledger.md, "Verifying since a
// checkpoint"):
//
//  1. the checkpoint's signature with verifierKey (ErrBadSignature) and, when
//     tenant is not empty, that it is that tenant's (ErrOtherOrigin);
//  2. that it carries a frontier (ErrNoFrontier) that hashes to its signed
//     root (ErrBadFrontier, at parse time);
//  3. that the ledger has at least its Size entries (ErrRollback);
//  4. that the stored entry at seq Size still has the signed head hash
//     (ErrHeadMismatch: history before the checkpoint was rewritten);
//  5. the entries after it as the full verifier checks them — seq
//     continuity, links, hashes, time order, canonical payloads — reported
//     as a Break like Verify's, while their leaves extend the frontier to
//     the current root.
//
// Errors of steps 1–4 wrap ErrBadCheckpoint (1, 2) or ErrRootMismatch
// (3, 4); a break of step 5 is in the report, not an error.
func (s *Store) VerifySince(ctx context.Context, signed []byte, verifierKey, tenant string) (SinceReport, error) {
	start := time.Now()
	c, err := OpenCheckpoint(signed, verifierKey)
	if err != nil {
		return SinceReport{}, err
	}
	r, err := s.verifyFrom(ctx, c, tenant)
	r.Elapsed = time.Since(start)
	return r, err
}

// verifyFrom is VerifySince after the signature check.
func (s *Store) verifyFrom(ctx context.Context, c Checkpoint, tenant string) (SinceReport, error) {
	r := SinceReport{Report: Report{Tenant: c.Tenant}, Checkpoint: c}
	if err := checkStart(c, tenant); err != nil {
		return r, err
	}
	head, ok, err := s.Head(ctx, c.Tenant)
	if err != nil {
		return r, err
	}
	if !ok || head.Seq < c.Size {
		return r, fmt.Errorf("%w: %w: tenant %s: the checkpoint of %s covers %d entries, the ledger has %d; the database was rolled back or the chain cut after signing — restore it and verify in full",
			ErrRootMismatch, ErrRollback, c.Tenant, c.Day, c.Size, head.Seq)
	}
	tb, err := TreeFrom(c.Size, c.Frontier)
	if err != nil {
		return r, fmt.Errorf("%w: %w", ErrBadCheckpoint, err)
	}
	chk := NewChecker(&r.Report, c.Size)
	first := true
	feed := newTreeFeeder(func(hs []Hash) {
		for _, h := range hs {
			tb.Add(LeafHash(h))
		}
	})
	defer feed.wait()
	err = s.Scan(ctx, c.Tenant, c.Size, 0, func(e *Entry) error {
		if first {
			first = false
			if e.Seq != c.Size || e.Hash != c.Head {
				return headMismatch(c, e)
			}
		}
		if chk.Check(e) != nil {
			return errStop
		}
		if e.Seq > c.Size {
			feed.add(e.Hash)
		}
		return nil
	})
	feed.wait()
	switch {
	case errors.Is(err, ErrHeadMismatch):
		return r, err
	case err != nil && !errors.Is(err, errStop):
		return r, fmt.Errorf("verify tenant %s since %s: %w", c.Tenant, c.Day, err)
	case first:
		return r, headMismatch(c, nil)
	}
	if r.Break == nil && r.To < head.Seq {
		r.Break = &Break{Seq: r.To + 1, Kind: BreakSeqGap, Detail: fmt.Sprintf("expected entries up to seq %d, read up to %d", head.Seq, r.To)}
	}
	if r.Break == nil {
		r.Root, r.Frontier = tb.Root(), tb.Frontier()
	}
	if g, ok, err := s.Get(ctx, c.Tenant, 1); err != nil {
		return r, err
	} else if ok {
		r.Genesis = g.Hash
	}
	return r, nil
}

// checkStart checks that a checkpoint can start an incremental verify of
// tenant (any tenant when empty).
func checkStart(c Checkpoint, tenant string) error {
	if tenant != "" && c.Tenant != tenant {
		return fmt.Errorf("%w: %w: the checkpoint is of %s%s, expected %s%s; give the tenant's own checkpoint",
			ErrBadCheckpoint, ErrOtherOrigin, OriginPrefix, c.Tenant, OriginPrefix, tenant)
	}
	if c.Frontier == nil {
		return fmt.Errorf("%w: %w: tenant %s %s (size %d) has no head and frontier lines; sign a new one with `releasegate ledger root` or verify in full",
			ErrBadCheckpoint, ErrNoFrontier, c.Tenant, c.Day, c.Size)
	}
	return nil
}

func headMismatch(c Checkpoint, e *Entry) error {
	found := "no entry"
	if e != nil {
		found = fmt.Sprintf("seq %d hash %s", e.Seq, e.Hash)
	}
	return fmt.Errorf("%w: %w: tenant %s: the checkpoint of %s signs seq %d hash %s, the ledger has %s there; history before the checkpoint was rewritten — run a full `releasegate ledger verify` to locate it",
		ErrRootMismatch, ErrHeadMismatch, c.Tenant, c.Day, c.Size, c.Head, found)
}

// Extension is a daily checkpoint computed from the previous one's
// frontier, with the consistency proof between them.
type Extension struct {
	Checkpoint Checkpoint
	// Proof proves the previous checkpoint's tree a prefix of this one's.
	Proof Consistency
}

// ExtendCheckpoint computes (does not sign) the checkpoint of a tenant's
// UTC day from prev, a verified earlier checkpoint with a frontier: it
// checks prev's head as VerifySince does, reads only the entries after
// prev, verifies them and extends prev's tree, so a day costs that day's
// entries; the consistency proof from prev comes from prev's frontier and
// the new leaves. A day that starts at or before prev's size (prev is not
// an earlier day's) is ErrBadCheckpoint; a day without entries ErrEmpty; a
// break after prev ErrBrokenChain (never signed).
func (s *Store) ExtendCheckpoint(ctx context.Context, prev Checkpoint, day string) (Extension, error) {
	c := Checkpoint{Tenant: prev.Tenant, Day: day}
	if err := checkStart(prev, ""); err != nil {
		return Extension{}, err
	}
	from, to, err := dayBounds(day)
	if err != nil {
		return Extension{}, err
	}
	head, ok, err := s.Head(ctx, c.Tenant)
	if err != nil {
		return Extension{}, err
	}
	if !ok || head.Seq < prev.Size {
		return Extension{}, fmt.Errorf("%w: %w: tenant %s: the checkpoint of %s covers %d entries, the ledger has %d; the database was rolled back or the chain cut after signing",
			ErrRootMismatch, ErrRollback, c.Tenant, prev.Day, prev.Size, head.Seq)
	}
	if h, ok, err := s.Get(ctx, c.Tenant, prev.Size); err != nil {
		return Extension{}, err
	} else if !ok || h.Hash != prev.Head {
		var found *Entry
		if ok {
			found = &h
		}
		return Extension{}, headMismatch(prev, found)
	} else if !h.Time.Before(from) {
		return Extension{}, fmt.Errorf("%w: the previous checkpoint (%s, size %d) ends on or after %s; give an earlier day's checkpoint",
			ErrBadCheckpoint, prev.Day, prev.Size, day)
	}
	// Times never go back within a tenant (the verifier checks it on every
	// entry it reads), so the day's first and last seq are found by binary
	// search after prev, in O(log n) lookups rather than a scan.
	first, err := s.firstAtOrAfter(ctx, c.Tenant, prev.Size+1, head.Seq, from)
	if err != nil {
		return Extension{}, err
	}
	end, err := s.firstAtOrAfter(ctx, c.Tenant, first, head.Seq, to)
	if err != nil {
		return Extension{}, err
	}
	last := end - 1
	if first > last {
		return Extension{}, fmt.Errorf("%w: tenant %s has no entries on %s", ErrEmpty, c.Tenant, day)
	}
	c.DayFirst, c.DayLast, c.Size = first, last, last
	tb, err := TreeFrom(prev.Size, prev.Frontier)
	if err != nil {
		return Extension{}, fmt.Errorf("%w: %w", ErrBadCheckpoint, err)
	}
	var daily TreeBuilder
	nodes := newNodeCollector(prev.Size, last)
	tb.node = nodes.hook
	seq := prev.Size // of the last entry built
	feed := newTreeFeeder(func(hs []Hash) {
		for _, h := range hs {
			seq++
			l := LeafHash(h)
			tb.Add(l)
			if seq >= first {
				daily.Add(l)
			}
		}
	})
	defer feed.wait()
	err = s.scanFrom(ctx, prev, last, func(e *Entry) {
		feed.add(e.Hash)
		c.Head = e.Hash
	})
	feed.wait()
	if err != nil {
		return Extension{}, err
	}
	c.Root, c.DayRoot, c.Frontier = tb.Root(), daily.Root(), tb.Frontier()
	proof, err := nodes.prove(prev.Size, prev.Frontier, &tb)
	if err != nil {
		return Extension{}, err
	}
	return Extension{Checkpoint: c, Proof: consistencyJSON(prev, c, proof)}, nil
}

// scanFrom verifies the chain from prev's head to seq to and passes the
// entries after the head to fn; any problem is an error (ErrRootMismatch
// for the head, ErrBrokenChain after it).
func (s *Store) scanFrom(ctx context.Context, prev Checkpoint, to int64, fn func(*Entry)) error {
	var rep Report
	chk := NewChecker(&rep, prev.Size)
	first := true
	err := s.Scan(ctx, prev.Tenant, prev.Size, to, func(e *Entry) error {
		if first {
			first = false
			if e.Seq != prev.Size || e.Hash != prev.Head {
				return headMismatch(prev, e)
			}
		}
		if chk.Check(e) != nil {
			return errStop
		}
		if e.Seq > prev.Size {
			fn(e)
		}
		return nil
	})
	switch {
	case errors.Is(err, ErrHeadMismatch):
		return err
	case first:
		return headMismatch(prev, nil)
	case rep.Break != nil:
		return fmt.Errorf("%w: tenant %s seq %d: %s (%s); run `releasegate ledger verify` and restore from a backup",
			ErrBrokenChain, prev.Tenant, rep.Break.Seq, rep.Break.Kind, rep.Break.Detail)
	case err != nil:
		return err
	case rep.To != to:
		return fmt.Errorf("%w: tenant %s: read up to seq %d, expected %d", ErrBrokenChain, prev.Tenant, rep.To, to)
	}
	return nil
}

// timeAt returns the time of a tenant's entry seq.
func (s *Store) timeAt(ctx context.Context, tenant string, seq int64) (time.Time, error) {
	ts := tsScan{d: s.dialect}
	err := s.db.QueryRowContext(ctx, s.q(`SELECT ts FROM ledger_chain WHERE tenant = $1 AND seq = $2`), tenant, seq).Scan(ts.target())
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, fmt.Errorf("%w: tenant %s seq %d: expected entries up to the head, found none at %d", ErrBrokenChain, tenant, seq, seq)
	}
	if err != nil {
		return time.Time{}, s.dbErr("read an entry's time", err)
	}
	return ts.time(), nil
}

// firstAtOrAfter returns the least seq in lo..hi whose time is at or after
// t, or hi+1 when there is none, assuming times do not go back.
func (s *Store) firstAtOrAfter(ctx context.Context, tenant string, lo, hi int64, t time.Time) (int64, error) {
	for lo <= hi {
		mid := lo + (hi-lo)/2
		mt, err := s.timeAt(ctx, tenant, mid)
		if err != nil {
			return 0, err
		}
		if mt.Before(t) {
			lo = mid + 1
		} else {
			hi = mid - 1
		}
	}
	return lo, nil
}
