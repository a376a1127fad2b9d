package ledger

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// BreakKind names how a chain is broken.
type BreakKind string

// The kinds of break the verifier reports. The SQL verifier
// (ledger_chain_check, validate_hash_chain) reports the first four with the
// same names.
const (
	// BreakSeqGap: the entry with the expected seq is missing (a deleted
	// row, a row moved to another tenant).
	BreakSeqGap BreakKind = "seq-gap"
	// BreakLink: an entry's previous hash is not the hash of the entry
	// before (a changed previous hash, an inserted or reordered row).
	BreakLink BreakKind = "broken-link"
	// BreakHash: an entry's stored hash is not the hash of its fields (a
	// changed payload, time, kind, tenant or hash).
	BreakHash BreakKind = "hash-mismatch"
	// BreakTime: an entry's time is before the entry before it.
	BreakTime BreakKind = "time-order"
	// BreakPayload: a payload is not in RFC 8785 canonical form, so the
	// hash cannot be re-derived from its meaning.
	BreakPayload BreakKind = "not-canonical"
)

// Break locates the first problem in a chain.
type Break struct {
	Seq    int64     `json:"seq"`
	Kind   BreakKind `json:"kind"`
	Detail string    `json:"detail"`
}

// Report is the outcome of verifying one tenant's chain.
type Report struct {
	Tenant string `json:"tenant"`
	// Entries is the number of entries checked.
	Entries int64 `json:"entries"`
	// From and To are the first and last seq checked.
	From int64 `json:"from"`
	To   int64 `json:"to"`
	// Genesis is the hash of seq 1 (as stored when seq 1 was not checked).
	Genesis Hash `json:"-"`
	// Latest is the hash of the last entry checked.
	Latest Hash `json:"-"`
	// Break is the first problem found, nil for an intact chain.
	Break *Break `json:"break,omitempty"`
	// Elapsed is how long verification took.
	Elapsed time.Duration `json:"-"`
}

// OK reports whether the checked chain is intact and not empty.
func (r *Report) OK() bool { return r.Break == nil && r.Entries > 0 }

// Checker verifies a stream of one tenant's entries in seq order. It is the
// verifier's core, independent of any database.
type Checker struct {
	rep      *Report
	want     int64
	prev     Hash
	prevTime time.Time
	anchored bool // false until the first entry when starting past seq 1
	buf      []byte
}

// NewChecker returns a checker whose first entry must have seq from. When
// from > 1 the first entry's own link cannot be checked (its predecessor is
// not read); the caller passes the entry before the range as the first one.
func NewChecker(rep *Report, from int64) *Checker {
	return &Checker{rep: rep, want: from, anchored: from == 1}
}

// Check checks the next entry and returns the first break found (also
// recorded in the report), or nil.
func (c *Checker) Check(e *Entry) *Break {
	r := c.rep
	if r.Break != nil {
		return r.Break
	}
	fail := func(seq int64, k BreakKind, format string, args ...any) *Break {
		r.Break = &Break{Seq: seq, Kind: k, Detail: fmt.Sprintf(format, args...)}
		return r.Break
	}
	if e.Seq != c.want {
		return fail(c.want, BreakSeqGap, "expected seq %d, found seq %d next", c.want, e.Seq)
	}
	if c.anchored && e.PrevHash != c.prev {
		return fail(e.Seq, BreakLink, "previous hash %s, expected %s (hash of seq %d)", e.PrevHash, c.prev, e.Seq-1)
	}
	c.buf = appendHashInput(c.buf[:0], e.Tenant, e.Seq, e.Time, e.Kind, e.PrevHash, e.Payload)
	if got := Hash(sha256.Sum256(c.buf)); got != e.Hash {
		return fail(e.Seq, BreakHash, "stored hash %s, computed %s", e.Hash, got)
	}
	if c.anchored && r.Entries > 0 && e.Time.Before(c.prevTime) {
		return fail(e.Seq, BreakTime, "time %s is before seq %d at %s", e.Time.Format(TimeLayout), e.Seq-1, c.prevTime.Format(TimeLayout))
	}
	if !IsCanonical(e.Payload) {
		if _, err := Canonicalize(e.Payload); err != nil {
			return fail(e.Seq, BreakPayload, "payload is not canonicalizable JSON: %v", err)
		}
		return fail(e.Seq, BreakPayload, "payload is valid JSON but not in RFC 8785 canonical form")
	}
	if e.Seq == 1 {
		r.Genesis = e.Hash
	}
	if r.Entries == 0 {
		r.From = e.Seq
	}
	r.Entries++
	r.To = e.Seq
	r.Latest = e.Hash
	c.prev, c.prevTime, c.anchored = e.Hash, e.Time, true
	c.want++
	return nil
}

// errStop ends a scan early once a break is found.
var errStop = errors.New("stop")

// Verify checks one tenant's chain. With limit > 0 it checks only the
// latest limit entries and the entry before them (whose hash their link
// must match). A tenant with no entries is ErrEmpty.
func (s *Store) Verify(ctx context.Context, tenant string, limit int64) (Report, error) {
	start := time.Now()
	rep := Report{Tenant: tenant}
	head, ok, err := s.Head(ctx, tenant)
	if err != nil {
		return rep, err
	}
	if !ok {
		return rep, fmt.Errorf("%w: tenant %s has no entries; expected at least one", ErrEmpty, tenant)
	}
	from := int64(1)
	if limit > 0 && head.Seq-limit > 0 {
		from = head.Seq - limit // the entry before the range anchors its link
	}
	c := NewChecker(&rep, from)
	err = s.Scan(ctx, tenant, from, 0, func(e *Entry) error {
		if c.Check(e) != nil {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return rep, fmt.Errorf("verify tenant %s: %w", tenant, err)
	}
	if rep.Break == nil && rep.To < head.Seq {
		// Rows vanished while reading, or the scan stopped short.
		rep.Break = &Break{Seq: rep.To + 1, Kind: BreakSeqGap, Detail: fmt.Sprintf("expected entries up to seq %d, read up to %d", head.Seq, rep.To)}
	}
	if rep.Break == nil && rep.Entries == 0 {
		return rep, fmt.Errorf("%w: tenant %s: nothing read from seq %d", ErrEmpty, tenant, from)
	}
	if from > 1 {
		g, ok, err := s.Get(ctx, tenant, 1)
		if err != nil {
			return rep, err
		}
		if ok {
			rep.Genesis = g.Hash
		}
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// VerifyOptions selects what VerifyAll checks.
type VerifyOptions struct {
	// Tenants to check; empty means every tenant in the ledger.
	Tenants []string
	// Limit > 0 checks only each tenant's latest Limit entries.
	Limit int64
	// Parallel bounds how many tenants are checked at once; 0 means 4.
	Parallel int
}

// VerifyAll checks several tenants' chains in parallel and returns one
// report per tenant, sorted by tenant. An empty ledger, or a named tenant
// without entries, is an error wrapping ErrEmpty: nothing verified is never
// a pass.
func (s *Store) VerifyAll(ctx context.Context, opt VerifyOptions) ([]Report, error) {
	tenants := opt.Tenants
	if len(tenants) == 0 {
		var err error
		if tenants, err = s.Tenants(ctx); err != nil {
			return nil, err
		}
		if len(tenants) == 0 {
			return nil, fmt.Errorf("%w: the ledger has no tenants; expected at least one entry", ErrEmpty)
		}
	}
	par := opt.Parallel
	if par <= 0 {
		par = 4
	}
	reps := make([]Report, len(tenants))
	errs := make([]error, len(tenants))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, t := range tenants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			reps[i], errs[i] = s.Verify(ctx, t, opt.Limit)
		}()
	}
	wg.Wait()
	sort.Slice(reps, func(i, j int) bool { return reps[i].Tenant < reps[j].Tenant })
	return reps, errors.Join(errs...)
}

// SQLValidate runs ledger_chain_check(tenant), the SQL verifier behind
// validate_hash_chain, in PostgreSQL and returns its answer as a Report
// (only Tenant, Entries and Break are set).
func (s *Store) SQLValidate(ctx context.Context, tenant string) (Report, error) {
	rep := Report{Tenant: tenant}
	if s.dialect != Postgres {
		return rep, fmt.Errorf("ledger_chain_check exists only in PostgreSQL, this ledger is %s", s.dialect)
	}
	var bad *int64
	var problem *string
	err := s.db.QueryRowContext(ctx, `SELECT entries, first_bad_seq, problem FROM ledger_chain_check($1)`, tenant).Scan(&rep.Entries, &bad, &problem)
	if err != nil {
		return rep, s.dbErr("ledger_chain_check", err)
	}
	if bad != nil {
		rep.Break = &Break{Seq: *bad, Kind: BreakKind(*problem)}
	}
	return rep, nil
}
