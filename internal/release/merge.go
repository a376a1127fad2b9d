package release

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/gates/synthetic"
)

// Shard is what one shard of a sharded run wrote: a report with its
// results, or a single Result file.
type Shard struct {
	// Name is the file it was read from, for messages.
	Name string
	// Results are its gate results.
	Results []gate.Result
	// Policy is the policy its report names; empty for a Result file.
	Policy gate.Input
}

// ReadShard reads a Result file or a report with results.
func ReadShard(ctx context.Context, path string) (Shard, error) {
	b, err := fsx.ReadFile(ctx, path, fsx.MaxDocSize)
	if err != nil {
		return Shard{}, err
	}
	rs, pol, err := decodeShard(b)
	if err != nil {
		return Shard{}, &gate.InputError{Input: path, Err: err}
	}
	return Shard{Name: path, Results: rs, Policy: pol}, nil
}

func decodeShard(b []byte) ([]gate.Result, gate.Input, error) {
	var probe struct {
		Results json.RawMessage `json:"results"`
		Gate    string          `json:"gate"`
		Policy  gate.Input      `json:"policy"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, gate.Input{}, fmt.Errorf("not a JSON result: %w", err)
	}
	switch {
	case len(probe.Results) > 0:
		var rs []gate.Result
		if err := json.NewDecoder(bytes.NewReader(probe.Results)).Decode(&rs); err != nil {
			return nil, gate.Input{}, fmt.Errorf("results: %w", err)
		}
		return rs, probe.Policy, nil
	case probe.Gate != "":
		var r gate.Result
		if err := json.NewDecoder(bytes.NewReader(b)).Decode(&r); err != nil {
			return nil, gate.Input{}, err
		}
		return []gate.Result{r}, gate.Input{}, nil
	}
	return nil, gate.Input{}, errors.New("expected a gate result (with \"gate\") or a report (with \"results\")")
}

// MergeShards combines the shards of one run into its Report. The
// synthetic results of each gate are merged exactly (syntheticgate.Merge:
// histograms and counts add, percentiles are never averaged) and judged
// again by the runner. A shard's report from `run --only GROUP` holds the
// group's other gates too, run once per shard: one result per such gate is
// kept, the most severe when the shards disagree. The report names the
// policy its shards' reports name; shards of different policies are
// refused. Shards that judged no gate but name their policy merge to a
// skip report; shards with nothing at all are ErrNoResults. Every refusal
// matches gate.ErrBadInput.
func MergeShards(shards []Shard, tool string) (*gate.Report, error) {
	var pol gate.Input
	m := newShardMerge()
	for _, s := range shards {
		if s.Policy.Digest != "" {
			if pol.Digest != "" && pol.Digest != s.Policy.Digest {
				return nil, &gate.InputError{Input: s.Name, Err: fmt.Errorf("report of policy %s, expected %s like the files before it; merge the shards of one policy run", s.Policy.Digest, pol.Digest)}
			}
			pol = s.Policy
		}
		m.add(s.Results)
	}
	if len(m.order) == 0 {
		if pol.Digest != "" {
			return &gate.Report{Schema: gate.SchemaVersion, Status: gate.StatusSkip, Policy: pol, Tool: tool, Results: []gate.Result{}}, nil
		}
		return nil, &gate.InputError{Input: "shards", Err: errNoResults}
	}
	merged, err := m.merge()
	if err != nil {
		return nil, err
	}
	return NewReport(pol, merged, tool), nil
}

// shardMerge groups the shards' results by gate, in the order first seen.
type shardMerge struct {
	groups map[string][]gate.Result // synthetic results by gate, one per shard
	others map[string]gate.Result   // every other gate: the same run in each shard
	order  []string
}

func newShardMerge() *shardMerge {
	return &shardMerge{groups: map[string][]gate.Result{}, others: map[string]gate.Result{}}
}

func (m *shardMerge) add(rs []gate.Result) {
	for _, r := range rs {
		_, seen := m.groups[r.Gate]
		if prev, ok := m.others[r.Gate]; ok {
			seen = true
			if r.Kind != syntheticgate.Kind && r.Status.Worse(prev.Status) {
				m.others[r.Gate] = r
			}
		}
		if !seen {
			m.order = append(m.order, r.Gate)
		}
		if r.Kind == syntheticgate.Kind {
			m.groups[r.Gate] = append(m.groups[r.Gate], r)
		} else if !seen {
			m.others[r.Gate] = r
		}
	}
}

func (m *shardMerge) merge() ([]gate.Result, error) {
	var merged []gate.Result
	for _, id := range m.order {
		if _, ok := m.groups[id]; !ok {
			merged = append(merged, m.others[id])
			continue
		}
		r, err := syntheticgate.Merge(dedupe(m.groups[id]))
		if err != nil {
			return nil, &gate.InputError{Input: "gate " + id, Err: err}
		}
		merged = append(merged, *r)
	}
	return merged, nil
}

// dedupe drops a result that appears twice byte for byte, as when both a
// shard's <gate>.json and its report.json are given.
func dedupe(rs []gate.Result) []gate.Result {
	var out []gate.Result
	seen := map[string]bool{}
	for _, r := range rs {
		b, _ := json.Marshal(r)
		if !seen[string(b)] {
			seen[string(b)] = true
			out = append(out, r)
		}
	}
	return out
}
