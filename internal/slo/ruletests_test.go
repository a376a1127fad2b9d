package slo

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestRuleTestsPassPromtool runs promtool test rules on the tests
// RuleTests writes for SLOs of every shape: two services with SLOs of one
// name, a policy alert name, a good-events SLI over another metric
// (histogram bucket over count), a 1h and a 28d period (90d
// works too, at 2.7 s more of promtool).
func TestRuleTestsPassPromtool(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	svc := func(service string) SLO {
		s := availability()
		s.Service = service
		s.Bad = `sum by (tenant) (rate(http_requests_total{job="` + service + `",code=~"5.."}[{{.window}}]))`
		s.Total = `sum by (tenant) (rate(http_requests_total{job="` + service + `"}[{{.window}}]))`
		s.Selectors = []string{`http_requests_total{job="` + service + `"}`}
		return s
	}
	search := svc("search")
	search.Alerts = Alerts{Name: "SearchBurn", PageSeverity: "critical", Labels: map[string]string{"team": "search"}}
	latency := availability()
	latency.Name, latency.Bad, latency.Objective, latency.Period = "latency", "", ObjectiveRatio(99), time.Hour
	latency.Good = `sum by (tenant) (rate(http_request_duration_seconds_bucket{le="0.5"}[{{.window}}]))`
	latency.Total = `sum by (tenant) (rate(http_request_duration_seconds_count[{{.window}}]))`
	latency.Selectors = []string{"http_request_duration_seconds_count"}
	month := svc("ledger")
	month.Period = 28 * Day
	slos := []SLO{svc("checkout"), search, latency, month}
	dir := t.TempDir()
	b, err := Rules(slos).YAML()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules.yml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	tests, err := RuleTests(slos, "rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rules_test.yml"), tests, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "test", "rules", "rules_test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s\n--- test file:\n%s", err, out, tests)
	}
}

// TestRuleTestsRefuseSeriesTheyCannotBuild checks that RuleTests says so,
// with ErrTestSeries, rather than writing tests that prove nothing.
func TestRuleTestsRefuseSeriesTheyCannotBuild(t *testing.T) {
	t.Parallel()
	odd := availability()
	odd.Bad = `sum by (tenant) (rate(http_requests_total{code=~"[xyz]{3}"}[{{.window}}]))`
	same := availability()
	same.Bad = same.Total
	noName := availability()
	noName.Total = `sum by (tenant) (rate({job="x"}[{{.window}}]))`
	a, b := availability(), availability()
	b.Name, b.Bad = "server-errors", `sum by (tenant) (rate(http_requests_total{code="503"}[{{.window}}]))`
	templated := availability()
	templated.Alerts.Annotations = map[string]string{"description": "tenant {{ $labels.tenant }} burns"}
	tests := []struct {
		name string
		slos []SLO
	}{
		{"a regexp no usual value matches", []SLO{odd}},
		{"a bad query that does not narrow the total", []SLO{same}},
		{"a total selector without a metric name", []SLO{noName}},
		{"two SLOs sharing some series but not all", []SLO{a, b}},
		{"a templated annotation", []SLO{templated}},
	}
	for _, tt := range tests {
		if _, err := RuleTests(tt.slos, "rules.yml"); !errors.Is(err, ErrTestSeries) {
			t.Errorf("%s: err = %v, want ErrTestSeries", tt.name, err)
		}
	}
}
