package syntheticgate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/load"
)

// RecordOf extracts the synthetic Record from a Result, whether it was
// produced in this process or decoded from a JSON file.
func RecordOf(r *gate.Result) (*Record, error) {
	raw, ok := r.Details[DetailsKey]
	if !ok {
		return nil, fmt.Errorf("result of gate %q has no details.%s; expected a result written by a synthetic gate", r.Gate, DetailsKey)
	}
	if rec, ok := raw.(*Record); ok {
		return rec, nil
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("result of gate %q: details.%s: %w", r.Gate, DetailsKey, err)
	}
	if rec.Run == nil {
		return nil, fmt.Errorf("result of gate %q: details.%s has no run", r.Gate, DetailsKey)
	}
	return &rec, nil
}

// ErrShards means the shard results given to Merge do not make one run.
var ErrShards = errors.New("shard results do not make one run")

// Merge combines the Results of the shards of one synthetic gate into the
// Result of the whole run: stream counts add, histograms merge bucket by
// bucket, timelines add, audit deltas add, and the checks are computed
// again from the merged record. Percentiles are never averaged. Every
// shard 1..n must be present exactly once, from the same gate and the
// same settings.
func Merge(results []gate.Result) (*gate.Result, error) {
	if len(results) == 0 {
		return nil, fmt.Errorf("%w: no results to merge", ErrShards)
	}
	first := results[0]
	if res := unevaluated(results); res != nil {
		return res, nil
	}
	m := &merger{seen: map[string]bool{}, byKey: map[[2]string]*load.StreamResult{}}
	for i := range results {
		if err := m.add(i, &results[i], first.Gate); err != nil {
			return nil, err
		}
	}
	merged := m.merged
	var missing []string
	for i := 1; i <= m.n; i++ {
		if s := (Shard{i, m.n}).String(); !m.seen[s] {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: missing shard(s) %v; a partial merge would judge only some tenants", ErrShards, missing)
	}
	sort.Slice(merged.Run.Streams, func(a, b int) bool {
		x, y := merged.Run.Streams[a], merged.Run.Streams[b]
		return x.Tenant < y.Tenant || x.Tenant == y.Tenant && x.Scenario < y.Scenario
	})
	slices.SortFunc(merged.Shards, func(a, b string) int {
		x, _ := ParseShard(a)
		y, _ := ParseShard(b)
		return x.I - y.I
	})
	meta := gate.Meta{ID: first.Gate, Kind: first.Kind, Group: first.Group, Required: first.Required, Location: first.Location}
	res, err := verdict(meta, Judged(merged))
	if err != nil {
		return nil, err
	}
	res.Inputs = first.Inputs
	res.StartedAt, res.FinishedAt = first.StartedAt, first.FinishedAt
	for _, r := range results[1:] {
		if r.StartedAt.Before(res.StartedAt) {
			res.StartedAt = r.StartedAt
		}
		if r.FinishedAt.After(res.FinishedAt) {
			res.FinishedAt = r.FinishedAt
		}
	}
	res.DurationMS = res.FinishedAt.Sub(res.StartedAt).Milliseconds()
	return res, nil
}

// unevaluated is the merged Result when a shard could not be evaluated
// (target unreachable, bad TLS): it has no run to merge, so the merged run
// cannot be evaluated either. It is nil when every shard has a run.
func unevaluated(results []gate.Result) *gate.Result {
	first := results[0]
	var errs []string
	for i := range results {
		r := &results[i]
		if _, ok := r.Details[DetailsKey]; !ok && r.Status == gate.StatusError {
			errs = append(errs, fmt.Sprintf("result %d: %s", i+1, r.Error))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	res := &gate.Result{Schema: gate.SchemaVersion, Gate: first.Gate, Kind: first.Kind, Group: first.Group, Required: first.Required,
		Location: first.Location, Status: gate.StatusError, Checks: []gate.Check{},
		Error:     fmt.Sprintf("%d of %d shard results could not be evaluated: %s", len(errs), len(results), strings.Join(errs, "; ")),
		StartedAt: first.StartedAt, FinishedAt: first.FinishedAt}
	res.Summary = "could not evaluate: " + res.Error
	return res
}

// merger adds shard records up into one record of the whole run.
type merger struct {
	merged *Record
	judge  []byte // the first shard's settings, which every shard must share
	seen   map[string]bool
	n      int // the number of shards of the split
	byKey  map[[2]string]*load.StreamResult
}

// add checks that result i is a shard of gate id run with the same
// settings as the others, of the same split and not given twice, and adds
// its run.
func (m *merger) add(i int, r *gate.Result, id string) error {
	if r.Gate != id || r.Kind != Kind {
		return fmt.Errorf("%w: result %d is gate %q of kind %q, expected gate %q of kind %s", ErrShards, i+1, r.Gate, r.Kind, id, Kind)
	}
	rec, err := RecordOf(r)
	if err != nil {
		return errors.Join(ErrShards, err)
	}
	j, _ := json.Marshal(rec.Judge)
	if m.merged == nil {
		m.merged = &Record{Judge: rec.Judge, Run: &load.Run{Started: rec.Run.Started, LateToleranceUS: rec.Run.LateToleranceUS}}
		m.judge = j
	} else if string(j) != string(m.judge) {
		return fmt.Errorf("%w: shard %v was run with other settings than shard %v; merge shards of one policy", ErrShards, rec.Shards, m.merged.Shards)
	}
	for _, s := range rec.Shards {
		sh, err := ParseShard(s)
		if err != nil {
			return errors.Join(ErrShards, err)
		}
		if m.n == 0 {
			m.n = sh.N
		}
		if sh.N != m.n {
			return fmt.Errorf("%w: shard %s is of a split into %d, others into %d", ErrShards, s, sh.N, m.n)
		}
		if m.seen[s] {
			return fmt.Errorf("%w: shard %s is given twice; merging it twice would double its counts", ErrShards, s)
		}
		m.seen[s] = true
		m.merged.Shards = append(m.merged.Shards, s)
	}
	m.addRun(rec)
	return nil
}

// addRun adds a shard's run: stream counts and histograms merge per tenant
// and scenario, audit deltas add, the earliest start and longest elapsed
// time are kept, and the in-flight bounds add (each shard had its own).
func (m *merger) addRun(rec *Record) {
	merged, run := m.merged, rec.Run
	if !run.Started.IsZero() && (merged.Run.Started.IsZero() || run.Started.Before(merged.Run.Started)) {
		merged.Run.Started = run.Started
	}
	merged.Run.ElapsedUS = max(merged.Run.ElapsedUS, run.ElapsedUS)
	merged.Run.LateToleranceUS = max(merged.Run.LateToleranceUS, run.LateToleranceUS)
	merged.Run.MaxInFlight += run.MaxInFlight
	for _, s := range run.Streams {
		k := [2]string{s.Tenant, s.Scenario}
		st, ok := m.byKey[k]
		if !ok {
			st = &load.StreamResult{Tenant: s.Tenant, Scenario: s.Scenario, FirstThrottledUS: -1, LastThrottledUS: -1, LastFailedUS: -1}
			m.byKey[k] = st
			merged.Run.Streams = append(merged.Run.Streams, st)
		}
		st.Merge(s)
	}
	for t, d := range rec.Audit {
		if merged.Audit == nil {
			merged.Audit = map[string]int64{}
		}
		merged.Audit[t] += d
	}
}

// judged is a Result already judged from a record, handed to gate.Runner
// so that a merged run gets its verdict under the rules of every gate.
type judged struct {
	id  string
	res *gate.Result
}

func (j judged) Name() string                              { return j.id }
func (j judged) Run(context.Context) (*gate.Result, error) { return j.res, nil }

// verdict has gate.Runner fold res's checks into its status and stamp it
// with m, as for a gate run in this process. The merge does no I/O: nothing
// stops it, so it runs under a background context.
func verdict(m gate.Meta, res *gate.Result) (*gate.Result, error) {
	out, err := (&gate.Runner{}).RunOne(context.Background(), gate.Planned{Meta: m, Gate: judged{m.ID, res}})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
