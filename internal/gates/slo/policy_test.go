package slogate_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
	_ "github.com/maestro-conductor/releasegate/internal/gates/slo"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// TestPolicyExample decodes testdata/slo/policy.yml with the real policy
// decoder and runs its gates over the metrics file.
func TestPolicyExample(t *testing.T) {
	p, err := policy.Load(filepath.Join("..", "..", "..", "testdata", "slo", "policy.yml"), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]gate.Status{"error-rate": gate.StatusFail, "error-budget": gate.StatusFail, "alert-rules": gate.StatusPass, "dashboards": gate.StatusPass}
	wantFails := map[string]map[string]bool{
		"error-rate":   {"canary error ratio/globex": true, "canary vs baseline/globex": true, "p95 latency/initech": true},
		"error-budget": {"availability 5m burn rate/globex": true, "availability 1h burn rate/globex": true},
	}
	for _, g := range p.Gates {
		k, _ := gate.Lookup(g.Kind)
		gt, err := k.New(p.Meta(g), g.Spec, gate.Env{PolicyDir: p.Dir()})
		if err != nil {
			t.Fatalf("gate %s: %v", g.ID, err)
		}
		res, err := (&gate.Runner{}).RunOne(context.Background(), gate.Planned{Meta: p.Meta(g), Gate: gt})
		if err != nil {
			t.Fatalf("gate %s: %v", g.ID, err)
		}
		if res.Status != want[g.ID] {
			t.Errorf("gate %s: %s, want %s", g.ID, res.Status, want[g.ID])
		}
		fails := map[string]bool{}
		for _, c := range res.Checks {
			t.Logf("%s %s %s: %s", c.Status, c.Name, c.Tenant, c.Message)
			if c.Status != gate.StatusPass {
				fails[c.Name+"/"+c.Tenant] = true
			}
		}
		if len(fails) != len(wantFails[g.ID]) {
			t.Errorf("gate %s: non-passing checks %v, want exactly %v", g.ID, fails, wantFails[g.ID])
		}
		for k := range wantFails[g.ID] {
			if !fails[k] {
				t.Errorf("gate %s: %s passed, want it to fail", g.ID, k)
			}
		}
	}
}
