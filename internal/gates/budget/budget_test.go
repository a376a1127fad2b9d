package budgetgate

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

func loadExample(t *testing.T) *policy.Policy {
	t.Helper()
	p, err := policy.Load("../../../examples/budget/policy.yml", policy.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func runPolicy(t *testing.T, p *policy.Policy) []gate.Result {
	t.Helper()
	var plan []gate.Planned
	for _, g := range p.Gates {
		k, _ := gate.Lookup(g.Kind)
		gt, err := k.New(p.Meta(g), g.Spec, gate.Env{PolicyDir: p.Dir()})
		if err != nil {
			t.Fatal(err)
		}
		plan = append(plan, gate.Planned{Meta: p.Meta(g), Gate: gt})
	}
	return (&gate.Runner{}).Run(context.Background(), plan)
}

func TestExamplePolicyOnTheUsageExport(t *testing.T) {
	t.Parallel()
	res := runPolicy(t, loadExample(t))
	for _, r := range res {
		for _, c := range r.Checks {
			t.Logf("%s %s %s: %s", r.Gate, c.Status, c.Tenant, c.Message)
		}
		if r.Error != "" {
			t.Fatalf("%s: %s", r.Gate, r.Error)
		}
	}
	if res[0].Status != gate.StatusWarn || res[1].Status.Blocks() {
		t.Errorf("ci-budget %s, cost-forecast %s; want the demo to warn (acme past 75%%, globex in grace) without blocking", res[0].Status, res[1].Status)
	}
	b, _ := json.Marshal(res[0])
	for _, s := range []string{`"tenant":"globex","status":"warn"`, "within grace", "past the 75% warning", `"digest":"sha256:`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("ci-budget result lacks %q", s)
		}
	}
}
