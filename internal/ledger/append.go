package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Record is an entry to append: what the caller provides. The store assigns
// seq, previous hash and hash.
type Record struct {
	// Tenant owns the entry.
	Tenant string `json:"tenant"`
	// Kind defaults to KindEntry.
	Kind string `json:"kind,omitempty"`
	// Time defaults to now; it is truncated to microseconds.
	Time time.Time `json:"time,omitzero"`
	// Payload is any JSON value with an RFC 8785 canonical form.
	Payload json.RawMessage `json:"payload"`
}

// normalize validates r and returns its canonical payload and time.
func (r *Record) normalize(now time.Time) (payload []byte, t time.Time, err error) {
	if err := ValidateName("tenant", r.Tenant, MaxTenantLen); err != nil {
		return nil, t, err
	}
	if r.Kind == "" {
		r.Kind = KindEntry
	}
	if err := ValidateName("kind", r.Kind, MaxKindLen); err != nil {
		return nil, t, err
	}
	if len(r.Payload) == 0 {
		return nil, t, fmt.Errorf("%w: tenant %s: payload is missing; expected a JSON value", ErrBadRecord, r.Tenant)
	}
	payload, err = Canonicalize(r.Payload)
	if err != nil {
		return nil, t, fmt.Errorf("%w: tenant %s: %w", ErrBadRecord, r.Tenant, err)
	}
	t = r.Time
	if t.IsZero() {
		t = now
	}
	t = t.UTC().Truncate(time.Microsecond)
	if t.Before(minTime) || t.After(maxTime) {
		return nil, t, fmt.Errorf("%w: tenant %s: time %s outside 1970..9999", ErrBadRecord, r.Tenant, t.Format(time.RFC3339))
	}
	return payload, t, nil
}

// AppendOptions tunes Append.
type AppendOptions struct {
	// Now returns the time for records without one; nil means time.Now.
	Now func() time.Time
}

// Append adds records to their tenants' chains in one transaction and
// returns the stored entries in input order. Records of one tenant are
// chained in input order; a record whose time is before its tenant's latest
// entry is rejected (ErrBadRecord), as is any invalid record: nothing is
// appended then.
func (s *Store) Append(ctx context.Context, recs []Record, opt AppendOptions) ([]Entry, error) {
	if err := s.requireSchema(ctx); err != nil {
		return nil, err
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.dbErr("begin", err)
	}
	defer tx.Rollback()
	out, err := s.appendTx(ctx, tx, recs, now())
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, s.dbErr("commit", err)
	}
	return out, nil
}

func (s *Store) appendTx(ctx context.Context, tx *sql.Tx, recs []Record, now time.Time) ([]Entry, error) {
	heads := map[string]*Entry{}
	out := make([]Entry, 0, len(recs))
	for i := range recs {
		r := &recs[i]
		payload, t, err := r.normalize(now)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", i+1, err)
		}
		head, ok := heads[r.Tenant]
		if !ok {
			if s.dialect == Postgres {
				// Serialise appenders of one tenant.
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 7))`, r.Tenant); err != nil {
					return nil, s.dbErr("lock tenant", err)
				}
			}
			h, found, err := s.head(ctx, tx, r.Tenant)
			if err != nil {
				return nil, err
			}
			if !found {
				h = Entry{Tenant: r.Tenant}
			}
			head = &h
			heads[r.Tenant] = head
		}
		if head.Seq > 0 && t.Before(head.Time) {
			return nil, fmt.Errorf("record %d: %w: tenant %s: time %s is before seq %d at %s; times never go back",
				i+1, ErrBadRecord, r.Tenant, t.Format(TimeLayout), head.Seq, head.Time.Format(TimeLayout))
		}
		e := Entry{Tenant: r.Tenant, Seq: head.Seq + 1, Time: t, Kind: r.Kind, Payload: payload, PrevHash: head.Hash}
		e.Hash = e.ComputeHash()
		*head = e
		out = append(out, e)
	}
	if err := s.insert(ctx, tx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// insertBatch rows go in one multi-row INSERT (7 parameters each).
const insertBatch = 500

func (s *Store) insert(ctx context.Context, tx *sql.Tx, es []Entry) error {
	for len(es) > 0 {
		n := min(len(es), insertBatch)
		var b strings.Builder
		b.WriteString(`INSERT INTO ledger_chain (tenant, seq, ts, kind, payload, prev_hash, hash) VALUES `)
		args := make([]any, 0, n*7)
		for i, e := range es[:n] {
			if i > 0 {
				b.WriteByte(',')
			}
			k := i * 7
			fmt.Fprintf(&b, "($%d,$%d,$%d,$%d,$%d,$%d,$%d)", k+1, k+2, k+3, k+4, k+5, k+6, k+7)
			args = append(args, e.Tenant, e.Seq, s.tsArg(e.Time), e.Kind, string(e.Payload), e.PrevHash[:], e.Hash[:])
		}
		if _, err := tx.ExecContext(ctx, s.q(b.String()), args...); err != nil {
			return s.dbErr("append", err)
		}
		es = es[n:]
	}
	return nil
}
