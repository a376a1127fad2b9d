package synthetic

import (
	"os"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// TestPolicyDecodes decodes the example policy through the real policy
// decoder and builds every gate from it.
func TestPolicyDecodes(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../../testdata/synthetic/policy.yml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse("policy.yml", b, policy.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range p.Gates {
		k, _ := gate.Lookup(g.Kind)
		if _, err := k.New(p.Meta(g), g.Spec, gate.Env{}); err != nil {
			t.Errorf("gate %s: %v", g.ID, err)
		}
	}
	s := p.Gates[0].Spec.(*Spec)
	if s.Thresholds.P99 == nil || !s.Thresholds.P99.Holds(799) || s.Rate != 20 || s.Duration.D().Seconds() != 30 {
		t.Errorf("decoded %+v", s)
	}
	if _, err := policy.Schema(gate.Kinds()); err != nil {
		t.Errorf("JSON schema of the kind: %v", err)
	}
}
