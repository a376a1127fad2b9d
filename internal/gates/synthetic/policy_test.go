package synthetic

import (
	"os"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/demo"
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

// TestDemoPolicyPasses runs the five-scenario demo policy against the demo
// with its default abuse behaviours: every gate must pass.
func TestDemoPolicyPasses(t *testing.T) {
	t.Parallel()
	srv, _ := startDemo(t, demo.DefaultAbuse(), nil)
	b, err := os.ReadFile("../../../testdata/synthetic/demo-policy.yml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse("demo-policy.yml", b, policy.Options{LookupEnv: func(k string) (string, bool) {
		return srv.URL(), k == "DEMO_URL"
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range p.Gates {
		s := *g.Spec.(*Spec)
		s.LateTolerance = policy.Duration(time.Second) // a busy CI machine
		r, err := runGate(t, s, "")
		if err != nil {
			t.Fatalf("%s: %v", g.ID, err)
		}
		if r.Status != gate.StatusPass {
			for _, c := range r.Checks {
				if c.Status != gate.StatusPass {
					t.Errorf("%s: %s/%s: %s", g.ID, c.Tenant, c.Name, c.Message)
				}
			}
		}
	}
}
