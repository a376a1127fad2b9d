package release

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// fakeGate passes or fails with one check and counts its runs.
type fakeGate struct {
	id   string
	pass bool
	runs *atomic.Int32
}

func (g fakeGate) Name() string { return g.id }

func (g fakeGate) Run(context.Context) (*gate.Result, error) {
	g.runs.Add(1)
	st := gate.StatusFail
	if g.pass {
		st = gate.StatusPass
	}
	return &gate.Result{Checks: []gate.Check{{Name: "c", Status: st}}}, nil
}

func testPolicy(ids ...string) *policy.Policy {
	p := &policy.Policy{File: "p/policy.yml", Digest: "sha256:ab", Release: policy.Release{Name: "api"}}
	for _, id := range ids {
		p.Gates = append(p.Gates, policy.Gate{ID: id, Kind: "fake", Group: "jobs", Timeout: policy.Duration(time.Second)})
	}
	return p
}

func TestEvaluate(t *testing.T) {
	t.Parallel()
	errBuild := errors.New("bad settings")
	errNotWritable := errors.New("not writable")
	tests := []struct {
		name   string
		gates  []string
		opts   func(runs *atomic.Int32) Options
		status gate.Status
		runs   int32
		err    error
	}{
		{"every gate passes", []string{"a", "b"}, func(runs *atomic.Int32) Options {
			return Options{Build: fakeBuild(runs, nil, true)}
		}, gate.StatusPass, 2, nil},
		{"a failing gate fails the report", []string{"a", "b"}, func(runs *atomic.Int32) Options {
			return Options{Build: fakeBuild(runs, nil, false)}
		}, gate.StatusFail, 2, nil},
		{"a gate that cannot be built runs nothing", []string{"a", "b"}, func(runs *atomic.Int32) Options {
			return Options{Build: fakeBuild(runs, errBuild, true)}
		}, "", 0, gate.ErrBadInput},
		{"Ready refusing runs nothing", []string{"a"}, func(runs *atomic.Int32) Options {
			return Options{Build: fakeBuild(runs, nil, true), Ready: func(int) error { return errNotWritable }}
		}, "", 0, errNotWritable},
		{"an unknown group is bad input", []string{"a"}, func(runs *atomic.Int32) Options {
			return Options{Only: []string{"nope"}, Build: fakeBuild(runs, nil, true)}
		}, "", 0, gate.ErrBadInput},
		{"no gate chosen is a skip", []string{"a"}, func(runs *atomic.Int32) Options {
			return Options{Gates: []policy.Gate{}, Build: fakeBuild(runs, nil, true)}
		}, gate.StatusSkip, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var runs atomic.Int32
			rep, err := Evaluate(t.Context(), testPolicy(tt.gates...), tt.opts(&runs))
			if tt.err != nil {
				if !errors.Is(err, tt.err) || rep != nil {
					t.Fatalf("expected an error matching %v and no report, found %v, %v", tt.err, rep, err)
				}
			} else if err != nil || rep.Status != tt.status {
				t.Fatalf("expected status %s, found %v (error %v)", tt.status, rep, err)
			}
			if got := runs.Load(); got != tt.runs {
				t.Errorf("expected %d gate run(s), found %d", tt.runs, got)
			}
			if err == nil && (rep.Release == nil || rep.Release.Name != "api" || rep.Policy.Digest != "sha256:ab") {
				t.Errorf("expected the report to name the policy and the release, found %+v", rep)
			}
		})
	}
}

// TestEvaluateBuildErrorsNameEveryGate: every gate that cannot be built is
// reported at once, with its location.
func TestEvaluateBuildErrorsNameEveryGate(t *testing.T) {
	t.Parallel()
	var runs atomic.Int32
	_, err := Evaluate(t.Context(), testPolicy("a", "b"), Options{Build: fakeBuild(&runs, errors.New("bad"), true)})
	var be BuildErrors
	if !errors.As(err, &be) || len(be) != 2 || be[0].Gate.ID != "a" || be[1].Gate.ID != "b" {
		t.Fatalf("expected BuildErrors for gates a and b, found %v", err)
	}
}

func fakeBuild(runs *atomic.Int32, err error, pass bool) func(policy.Gate, gate.Meta, gate.Env) (gate.Planned, error) {
	return func(g policy.Gate, m gate.Meta, env gate.Env) (gate.Planned, error) {
		if env.PolicyDir != "p" {
			return gate.Planned{}, errors.New("expected the policy's directory in the env")
		}
		if err != nil {
			return gate.Planned{}, err
		}
		return gate.Planned{Meta: m, Gate: fakeGate{id: g.ID, pass: pass, runs: runs}}, nil
	}
}

func TestChoose(t *testing.T) {
	t.Parallel()
	p := testPolicy("a", "b")
	p.Gates[1].Kind = "other"
	tests := []struct {
		name string
		c    Choice
		want []string
	}{
		{"every gate of the kinds", Choice{Kinds: []string{"fake"}}, []string{"a"}},
		{"the gates asked for", Choice{IDs: []string{"b"}, Kinds: []string{"fake"}, Allowed: []string{"fake", "other"}}, []string{"b"}},
		{"an id of another kind is refused", Choice{IDs: []string{"b"}, Kinds: []string{"fake"}}, nil},
		{"an unknown id is refused", Choice{IDs: []string{"c"}, Kinds: []string{"fake"}}, nil},
		{"no gate of the kinds is refused", Choice{Kinds: []string{"none"}, Doc: "docs/x.md"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Choose(p, tt.c)
			if tt.want == nil {
				if !errors.Is(err, gate.ErrBadInput) {
					t.Fatalf("expected a bad-input error, found %v, %v", got, err)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) || got[0].ID != tt.want[0] {
				t.Fatalf("expected %v, found %v (error %v)", tt.want, got, err)
			}
		})
	}
}

func TestMergeShards(t *testing.T) {
	t.Parallel()
	pol := gate.Input{Name: "policy.yml", Digest: "sha256:aa"}
	other := gate.Input{Name: "policy.yml", Digest: "sha256:bb"}
	res := func(id string, s gate.Status) gate.Result {
		return gate.Result{Gate: id, Kind: "command", Required: true, Status: s}
	}
	tests := []struct {
		name   string
		shards []Shard
		status gate.Status
		err    error
	}{
		{"shards of two policies are refused", []Shard{{Name: "1", Policy: pol}, {Name: "2", Policy: other}}, "", gate.ErrBadInput},
		{"nothing at all is refused", []Shard{{Name: "1"}}, "", errNoResults},
		{"no gate but a policy is a skip", []Shard{{Name: "1", Policy: pol}, {Name: "2", Policy: pol}}, gate.StatusSkip, nil},
		{"a gate run in every shard keeps the worst result",
			[]Shard{{Name: "1", Policy: pol, Results: []gate.Result{res("x", gate.StatusPass)}}, {Name: "2", Policy: pol, Results: []gate.Result{res("x", gate.StatusFail)}}},
			gate.StatusFail, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep, err := MergeShards(tt.shards, "releasegate test")
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("expected an error matching %v, found %v, %v", tt.err, rep, err)
				}
				return
			}
			if err != nil || rep.Status != tt.status || rep.Policy != pol {
				t.Fatalf("expected status %s of policy %v, found %+v (error %v)", tt.status, pol, rep, err)
			}
			if len(rep.Results) > 1 {
				t.Errorf("expected one result per gate, found %d", len(rep.Results))
			}
		})
	}
}

func TestDecodeShard(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{"not JSON": "{", "neither a result nor a report": `{"x":1}`, "bad results": `{"results":[1]}`} {
		if _, _, err := decodeShard([]byte(in)); err == nil {
			t.Errorf("%s: expected an error", name)
		}
	}
	rs, pol, err := decodeShard([]byte(`{"policy":{"name":"p","digest":"sha256:aa"},"results":[{"gate":"g","status":"pass"}]}`))
	if err != nil || len(rs) != 1 || rs[0].Gate != "g" || pol.Digest != "sha256:aa" {
		t.Errorf("expected one result of policy sha256:aa, found %v %v %v", rs, pol, err)
	}
}
