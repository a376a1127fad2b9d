package budgetgate

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

var update = flag.Bool("update", false, "rewrite the golden results under testdata/budget")

// golden is the example policy's results, timing removed.
const golden = "../../../testdata/budget/example-results.golden.json"

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

func TestExampleResultsGolden(t *testing.T) {
	t.Parallel()
	res := runPolicy(t, loadExample(t))
	for i := range res {
		res[i].StartedAt, res[i].FinishedAt, res[i].DurationMS = time.Time{}, time.Time{}, 0
	}
	got, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v; run go test ./internal/gates/budget -run Golden -update", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("results differ from %s; if the change is intended run go test ./internal/gates/budget -run Golden -update and review the diff", golden)
	}
}

func TestBadSettingsAreReportedAtTheirKeys(t *testing.T) {
	t.Parallel()
	src := `version: 1
gates:
  - id: b
    kind: ci-budget
    with:
      source: {usage-file: u.csv}
      tenants:
        - {name: a, repos: [x]}
        - {name: b, repos: [x]}
      budgets:
        - {tenant: a, usd: -3}
      prices: {linux: -1}
`
	_, err := policy.Parse("p.yml", []byte(src), policy.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if err == nil {
		t.Fatal("bad settings were accepted")
	}
	msg := err.Error()
	for _, want := range []string{"repository x is in both tenant", "a negative budget", "prices.linux", "p.yml:"} {
		if !strings.Contains(msg, want) {
			t.Errorf("policy errors lack %q:\n%s", want, msg)
		}
	}
	t.Log(msg)
}
