package slogate_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	slogate "github.com/maestro-conductor/releasegate/internal/gates/slo"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/slo"
)

// twoServices is Sloth's multi-service example as a policy: two slo gates,
// each with an SLO named availability. service, when set, names the
// services; otherwise they are the gate ids.
func twoServices(serviceA, serviceB string) string {
	gate := func(id, service, job string) string {
		s := "  - id: " + id + "\n    kind: slo\n    with:\n      source: {file: metrics.om}\n"
		if service != "" {
			s += "      service: " + service + "\n"
		}
		return s + `      tenant-label: tenant
      slos:
        - name: availability
          objective: 99.9
          bad: sum by (tenant) (rate(http_requests_total{job="` + job + `",code=~"5.."}[{{.window}}]))
          total: sum by (tenant) (rate(http_requests_total{job="` + job + `"}[{{.window}}]))
`
	}
	return "version: 1\ngates:\n" + gate("checkout", serviceA, "checkout") + gate("search", serviceB, "search")
}

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool not found; run scripts/services/prometheus.sh (installs Debian's prometheus package)")
		}
		t.Skip("promtool not found; run scripts/services/prometheus.sh to install it")
	}
	return p
}

// TestTwoGatesOneSLONameGivePromtoolValidRules checks that two gates with
// an SLO of one name are two SLOs (service = gate id) whose rules promtool
// accepts: distinct groups, series told apart by the service label.
func TestTwoGatesOneSLONameGivePromtoolValidRules(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	dir := t.TempDir()
	p, err := policy.Parse(filepath.Join(dir, "policy.yml"), []byte(twoServices("", "")), policy.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var slos []slo.SLO
	for _, g := range p.Gates {
		slos = append(slos, g.Spec.(*slogate.SLOSpec).Models()...)
	}
	if len(slos) != 2 || slos[0].ID() != "checkout/availability" || slos[1].ID() != "search/availability" {
		t.Fatalf("SLO ids = %v, want checkout/availability and search/availability", slos)
	}
	if got := strings.Join(slos[0].Selectors, ","); got != `http_requests_total{job="checkout"}` {
		t.Errorf("checkout's SLI selectors = %s, want the total's selector http_requests_total{job=\"checkout\"}", got)
	}
	b, err := slo.Rules(slos).YAML()
	if err != nil {
		t.Fatal(err)
	}
	rules := filepath.Join(dir, "rules.yml")
	if err := os.WriteFile(rules, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "check", "rules", rules).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, b)
	}
	for _, want := range []string{`{service="checkout",slo="availability"}`, `{service="search",slo="availability"}`,
		"name: releasegate-slo-availability@checkout", "name: releasegate-slo-availability@search",
		`expr: absent(http_requests_total{job="search"})`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("rules lack %s", want)
		}
	}
}

// TestDuplicateSLOIdentityIsAPolicyError checks that two gates naming one
// service with an SLO of one name are refused by policy check, at the
// second, naming the first's position.
func TestDuplicateSLOIdentityIsAPolicyError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		a, b       string
		wantErr    bool
		wantAt     string
		wantOtherA string
	}{
		{"default services (the gate ids) differ", "", "", false, "", ""},
		{"distinct services", "shop", "find", false, "", ""},
		{"one service in both gates collides", "shop", "shop", true, "gates[1].with.slos[0].name", "policy.yml:10:11 (gates[0].with.slos[0].name)"},
		{"a service equal to the other gate's id collides", "", "checkout", true, "gates[1].with.slos[0].name", "policy.yml:9:11"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := policy.Parse("policy.yml", []byte(twoServices(tt.a, tt.b)), policy.Options{})
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var es policy.Errors
			if !errors.As(err, &es) || len(es) != 1 {
				t.Fatalf("want one policy error, got %v", err)
			}
			e := es[0]
			if e.Path != tt.wantAt || !strings.Contains(e.Message, tt.wantOtherA) || e.Location.Line == 0 {
				t.Errorf("error at %s (%s): %s; want it at %s naming %s", e.Path, e.Location, e.Message, tt.wantAt, tt.wantOtherA)
			}
		})
	}
}

// TestSLOAlertsInPolicy checks the alerts: block through the real policy
// decoder: each problem at its key, and an annotation template Prometheus
// would refuse is found by policy check, not by Prometheus at reload.
func TestSLOAlertsInPolicy(t *testing.T) {
	t.Parallel()
	policyWith := func(alerts string) string {
		return `version: 1
gates:
  - id: checkout
    kind: slo
    with:
      source: {file: metrics.om}
      slos:
        - name: availability
          objective: 99.9
          bad: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
          total: sum(rate(http_requests_total[{{.window}}]))
          alerts:
` + alerts
	}
	tests := []struct {
		name, alerts, wantPath string
	}{
		{"labels, annotations and names from the policy", "            name: CheckoutBurn\n            page-severity: critical\n            labels: {team: payments}\n            annotations: {runbook_url: \"https://runbooks.example/slo\", description: \"{{ $labels.tenant }} burns\"}\n", ""},
		{"a reserved label", "            labels: {severity: critical}\n", "gates[0].with.slos[0].alerts.labels.severity"},
		{"a broken annotation template", "            annotations: {description: \"{{ $labels.tenant \"}\n", "gates[0].with.slos[0].alerts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := policy.Parse("policy.yml", []byte(policyWith(tt.alerts)), policy.Options{})
			if tt.wantPath == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				m := p.Gates[0].Spec.(*slogate.SLOSpec).Models()[0]
				if m.Alerts.Name != "CheckoutBurn" || m.Alerts.Labels["team"] != "payments" {
					t.Errorf("alerts not carried to the model: %+v", m.Alerts)
				}
				return
			}
			var es policy.Errors
			if !errors.As(err, &es) || len(es) != 1 || es[0].Path != tt.wantPath || es[0].Location.Line == 0 {
				t.Fatalf("want one error at %s with a position, got %v", tt.wantPath, err)
			}
		})
	}
}
