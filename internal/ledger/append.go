package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
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

// normalize validates r and returns its canonical payload and its own
// time (zero when the record carries none: the appender then takes the time
// under the tenant's lock).
func (r *Record) normalize() (payload []byte, t time.Time, err error) {
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
	if r.Time.IsZero() {
		return payload, t, nil
	}
	t = r.Time.UTC().Truncate(time.Microsecond)
	if err := checkTimeRange(r.Tenant, t); err != nil {
		return nil, t, err
	}
	return payload, t, nil
}

func checkTimeRange(tenant string, t time.Time) error {
	if t.Before(minTime) || t.After(maxTime) {
		return fmt.Errorf("%w: tenant %s: time %s outside 1970..9999", ErrBadRecord, tenant, t.Format(time.RFC3339))
	}
	return nil
}

// AppendOptions tunes Append.
type AppendOptions struct {
	// Now returns the time for records without one; nil means time.Now.
	// It is called once per transaction, after the tenants' locks are held.
	Now func() time.Time
}

// Append adds records to their tenants' chains in one transaction and
// returns the stored entries in input order. Records of one tenant are
// chained in input order. Any invalid record (ErrBadRecord) appends
// nothing; that includes a record whose own time is before its tenant's
// latest entry, since times never go back.
//
// Any number of appenders may write to one tenant at once. The tenants'
// locks are taken first (PostgreSQL: transaction advisory locks, in the
// order of their keys so that two batches never deadlock; SQLite: the database's write
// lock, BEGIN IMMEDIATE), then the heads are read and only then the time
// for records without their own is taken — never earlier than the tenant's
// latest entry, so a clock that lags another appender's cannot make a
// record go back in time. A transaction that loses a race all the same
// (another writer that does not take the lock, a serialization failure, a
// busy SQLite database past its busy timeout) fails with ErrConflict and
// appends nothing: the caller retries it.
func (s *Store) Append(ctx context.Context, recs []Record, opt AppendOptions) ([]Entry, error) {
	if err := s.requireSchema(ctx); err != nil {
		return nil, err
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	out, err := s.appendOnce(ctx, recs, now)
	if err != nil && isConflict(err) {
		return nil, fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return out, err
}

func (s *Store) appendOnce(ctx context.Context, recs []Record, now func() time.Time) ([]Entry, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, s.dbErr("begin", err)
	}
	defer tx.Rollback()
	out, err := s.appendTx(ctx, tx, recs, now)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, s.dbErr("commit", err)
	}
	return out, nil
}

// appendTx validates recs, locks their tenants, reads the heads, takes the
// time and inserts the entries.
func (s *Store) appendTx(ctx context.Context, tx *sql.Tx, recs []Record, now func() time.Time) ([]Entry, error) {
	payloads := make([][]byte, len(recs))
	times := make([]time.Time, len(recs))
	heads := map[string]*Entry{}
	for i := range recs {
		var err error
		if payloads[i], times[i], err = recs[i].normalize(); err != nil {
			return nil, fmt.Errorf("record %d: %w", i+1, err)
		}
		heads[recs[i].Tenant] = nil
	}
	tenants := slices.Sorted(maps.Keys(heads))
	if s.dialect == Postgres {
		// Serialise the appenders of each tenant: one advisory lock per
		// tenant, taken in one statement in the order of the lock keys,
		// so that two batches never wait for each other's locks in a
		// cycle (a deadlock), even when two tenants' keys collide.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(k) FROM
			(SELECT DISTINCT hashtextextended(t, 7) AS k FROM unnest($1::text[]) t ORDER BY k OFFSET 0) keys`, tenants); err != nil {
			return nil, s.dbErr("lock tenants "+strings.Join(tenants, ", "), err)
		}
	}
	for _, t := range tenants {
		h, found, err := s.head(ctx, tx, t)
		if err != nil {
			return nil, err
		}
		if !found {
			h = Entry{Tenant: t}
		}
		heads[t] = &h
	}
	// The time is taken under the locks, after the heads are read.
	at := now().UTC().Truncate(time.Microsecond)
	out := make([]Entry, 0, len(recs))
	for i := range recs {
		r := &recs[i]
		head := heads[r.Tenant]
		t := times[i]
		if t.IsZero() {
			// Never before the head: another host's clock may run ahead.
			t = at
			if head.Seq > 0 && t.Before(head.Time) {
				t = head.Time
			}
			if err := checkTimeRange(r.Tenant, t); err != nil {
				return nil, fmt.Errorf("record %d: %w", i+1, err)
			}
		} else if head.Seq > 0 && t.Before(head.Time) {
			return nil, fmt.Errorf("record %d: %w: tenant %s: the record's own time %s is before seq %d at %s; times never go back: give a later time or none (the appender then takes the current time)",
				i+1, ErrBadRecord, r.Tenant, t.Format(TimeLayout), head.Seq, head.Time.Format(TimeLayout))
		}
		e := Entry{Tenant: r.Tenant, Seq: head.Seq + 1, Time: t, Kind: r.Kind, Payload: payloads[i], PrevHash: head.Hash}
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
