package ledger

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// Backoff bounds the retries of an append that lost a race.
type Backoff struct {
	// Attempts is the most tries in all, the first included.
	Attempts int
	// First is the delay before the first retry; each retry doubles it,
	// up to Max. The actual sleep is drawn from [d/2, d] so that writers
	// that collided do not collide again in step.
	First, Max time.Duration
}

// AppendBackoff is `ledger append`'s: at most 12 tries, 2.6 to 5.3 s of
// waiting in all (10 ms doubling to 1 s, jittered).
var AppendBackoff = Backoff{Attempts: 12, First: 10 * time.Millisecond, Max: time.Second}

// AppendRetrying appends recs, retrying a transaction that lost a race with
// another writer (ErrConflict: nothing was appended) with exponential
// backoff, until it lands, another error occurs, the tries run out or ctx
// ends. It returns the number of retries made.
func (s *Store) AppendRetrying(ctx context.Context, recs []Record, b Backoff) ([]Entry, int, error) {
	delay := b.First
	for try := 1; ; try++ {
		es, err := s.Append(ctx, recs, AppendOptions{})
		if err == nil || !errors.Is(err, ErrConflict) {
			return es, try - 1, err
		}
		if try >= b.Attempts {
			return nil, try - 1, fmt.Errorf("%w; gave up after %d tries", err, try)
		}
		sleep := delay/2 + rand.N(delay/2+1)
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, try - 1, fmt.Errorf("%w; stopped retrying: %w", err, context.Cause(ctx))
		case <-t.C:
		}
		delay = min(2*delay, b.Max)
	}
}

// LinesOptions say how AppendLines reads and batches JSON lines.
type LinesOptions struct {
	// Tenant, when set, makes every line a bare JSON payload of it;
	// otherwise each line is a Record ({"tenant":…,"payload":…}).
	Tenant string
	// Kind is the kind of every record without one.
	Kind string
	// Batch is the number of records per transaction (>= 1).
	Batch int
	// Backoff bounds the retries of each transaction.
	Backoff Backoff
}

// LinesResult says what AppendLines appended.
type LinesResult struct {
	// Total is the number of entries appended.
	Total int
	// Retries is the number of transactions retried after a lost race.
	Retries int
	// Heads is each tenant's last appended entry.
	Heads map[string]Entry
}

// AppendLines appends the JSON lines of r in transactions of opt.Batch
// records (each retried with AppendRetrying). A line that is not a record,
// a read error or no records at all is ErrBadRecord; an append error
// names the batch's last line. Batches before a failed one stay appended:
// the result counts them.
func (s *Store) AppendLines(ctx context.Context, r io.Reader, opt LinesOptions) (LinesResult, error) {
	res := LinesResult{Heads: map[string]Entry{}}
	if opt.Batch < 1 {
		return res, fmt.Errorf("%w: batch %d: expected at least 1", ErrBadRecord, opt.Batch)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 64<<20)
	var recs []Record
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		es, n, err := s.AppendRetrying(ctx, recs, opt.Backoff)
		res.Retries += n
		if err != nil {
			return err
		}
		for _, e := range es {
			res.Heads[e.Tenant] = e
		}
		res.Total += len(es)
		recs = recs[:0]
		return nil
	}
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		rec, err := parseLine(b, opt.Tenant)
		if err != nil {
			return res, fmt.Errorf("%w: line %d: %v; expected {\"tenant\":…,\"payload\":…} (%d entries appended before it)", ErrBadRecord, line, err, res.Total)
		}
		if rec.Kind == "" {
			rec.Kind = opt.Kind
		}
		if recs = append(recs, rec); len(recs) >= opt.Batch {
			if err := flush(); err != nil {
				return res, fmt.Errorf("batch ending at line %d: %w (%d entries appended before it)", line, err, res.Total)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("%w: read line %d: %v", ErrBadRecord, line+1, err)
	}
	if err := flush(); err != nil {
		return res, fmt.Errorf("batch ending at line %d: %w (%d entries appended before it)", line, err, res.Total)
	}
	if res.Total == 0 {
		return res, fmt.Errorf("%w: no records; expected JSON lines", ErrBadRecord)
	}
	return res, nil
}

func parseLine(b []byte, tenant string) (Record, error) {
	if tenant != "" {
		return Record{Tenant: tenant, Payload: append(json.RawMessage(nil), b...)}, nil
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(&r)
	return r, err
}
