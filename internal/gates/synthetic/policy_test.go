package syntheticgate

import (
	"errors"
	"os"
	"strings"
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

// TestBadSchedulesAreBadInput: a schedule that cannot give the judged
// tenants the samples their checks need is refused when the policy is
// read (policy check, exit 2), at the key's position, never run.
func TestBadSchedulesAreBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, with string
		line, col  int
		want       string
	}{
		{"zero expected arrivals", "rate: 0.1\n      duration: 1s", 9, 7, "0 requests per tenant: expected at least one"},
		{"an explicit duration of 0s", "duration: 0s", 8, 17, "expected a positive duration"},
		{"one request", "rate: 1\n      duration: 500ms", 9, 7, "gives 1 requests per tenant, too few samples"},
		{"40 requests for p95 and error-rate < 0.01", "rate: 20\n      duration: 2s", 9, 7, "compliance >= 0.95 needs 52, p95 needs 59, error-rate < 0.01 needs 268"},
		{"p99 needs 299", "rate: 100\n      duration: 2s\n      thresholds: {p99-ms: \"<= 500\"}", 9, 7, "p99 needs 299"},
		{"min-samples above the schedule", "rate: 100\n      duration: 3s\n      min-samples: 1000", 9, 7, "needs 1000"},
		{"too few normal graph queries", "scenario: graph-complexity\n      rate: 40\n      duration: 2s", 10, 7, "64 normal queries per tenant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := "version: 1\ngates:\n  - id: load\n    kind: synthetic\n    with:\n      target: http://127.0.0.1:1\n      tenants: [acme, globex]\n      " + tc.with + "\n"
			_, err := policy.Parse("policy.yml", []byte(src), policy.Options{LookupEnv: func(string) (string, bool) { return "", false }})
			var es policy.Errors
			if !errors.Is(err, gate.ErrBadInput) || !errors.As(err, &es) || len(es) != 1 {
				t.Fatalf("got %v, want one bad-input error", err)
			}
			e := es[0]
			if e.Path != "gates[0].with.duration" || e.Location.Line != tc.line || e.Location.Column != tc.col || !strings.Contains(e.Message, tc.want) {
				t.Errorf("got %s at %s %d:%d, want %q at gates[0].with.duration %d:%d", e.Message, e.Path, e.Location.Line, e.Location.Column, tc.want, tc.line, tc.col)
			}
		})
	}
}
