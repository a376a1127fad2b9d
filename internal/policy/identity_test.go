package policy

import (
	"errors"
	"fmt"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// namedSpec is the settings type of the test-only kind "named": its items
// are keyed by owner (default: the gate id) and name across the policy.
type namedSpec struct {
	Owner string   `yaml:"owner" doc:"owner"`
	Names []string `yaml:"names" doc:"names"`

	gateID    string
	validated bool
}

func (s *namedSpec) Bind(c GateContext) { s.gateID = c.ID }

func (s *namedSpec) Validate() []error {
	s.validated = true
	if s.gateID == "" {
		return []error{errors.New("Bind was not called before Validate")}
	}
	return nil
}

func (s *namedSpec) Identities() []Identity {
	owner := s.Owner
	if owner == "" {
		owner = s.gateID
	}
	var out []Identity
	for i, n := range s.Names {
		out = append(out, Identity{Key: owner + "/" + n, Field: fmt.Sprintf("names[%d]", i), Hint: "rename one"})
	}
	return out
}

func init() {
	gate.Register(gate.Kind{Name: "named", Group: "slo", Summary: "test kind with policy-wide keys",
		Spec: func() any { return &namedSpec{} },
		New:  func(m gate.Meta, _ any, _ gate.Env) (gate.Gate, error) { return nopGate{m.ID}, nil }})
}

// TestIdentitiesAcrossGates checks the policy-wide keys: Bind comes
// before Validate, keys of one gate are that gate's business, and a key two
// gates give is one error at the second naming the first's position.
func TestIdentitiesAcrossGates(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		policy  string
		wantErr string // path of the one error; "" for valid
		wantMsg string
	}{
		{"default owners are the gate ids", "version: 1\ngates:\n  - {id: a, kind: named, with: {names: [x]}}\n  - {id: b, kind: named, with: {names: [x]}}\n", "", ""},
		{"one gate's own duplicates are not reported here", "version: 1\ngates:\n  - {id: a, kind: named, with: {names: [x, x]}}\n", "", ""},
		{"one owner in two gates collides", "version: 1\ngates:\n  - {id: a, kind: named, with: {owner: o, names: [x]}}\n  - {id: b, kind: named, with: {owner: o, names: [y, x]}}\n",
			"gates[1].with.names[1]", `o/x is also defined by gate "a" at p.yml:3:51 (gates[0].with.names[0]); rename one`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse("p.yml", []byte(tt.policy), Options{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				for _, g := range p.Gates {
					if s := g.Spec.(*namedSpec); !s.validated || s.gateID != g.ID {
						t.Errorf("gate %s: validated %v with gate id %q", g.ID, s.validated, s.gateID)
					}
				}
				return
			}
			var es Errors
			if !errors.As(err, &es) || len(es) != 1 {
				t.Fatalf("want one error, got %v", err)
			}
			if es[0].Path != tt.wantErr || es[0].Message != tt.wantMsg {
				t.Errorf("got %s: %s\nwant %s: %s", es[0].Path, es[0].Message, tt.wantErr, tt.wantMsg)
			}
		})
	}
}
