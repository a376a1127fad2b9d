package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckSLOInfra: check-slo --infra runs the rules and dashboard gates
// on what kube-prometheus ships (PrometheusRule resources, a ConfigMapList
// of dashboards): they pass; a broken PrometheusRule fails with its
// file:line:col.
func TestCheckSLOInfra(t *testing.T) {
	t.Parallel()
	corpus, err := filepath.Abs(filepath.Join("..", "..", "testdata", "slo", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, rules, annotation string
		code                    int
		want                    string
	}{
		{"kube-prometheus passes (its repeated recording rules warn)", "valid/rules/kube-prometheus/*.yaml", "runbook_url", ExitOK, "repeated rule"},
		{"an alert without a required annotation fails at its rule", "valid/rules/kube-prometheus/grafana-prometheusRule.yaml", "summary", ExitFail, "grafana-prometheusRule.yaml:18:7"},
		{"a broken PrometheusRule fails at its line", "broken/rules/kube-prometheus/prometheus-prometheusRule-bad-for.yaml", "runbook_url", ExitFail, "prometheus-prometheusRule-bad-for.yaml:27:12"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pol := filepath.Join(t.TempDir(), "policy.yml")
			body := fmt.Sprintf(`version: 1
gates:
  - id: cluster-rules
    kind: rules
    with:
      files: [%q]
      require:
        annotations: [%s]
  - id: cluster-dashboards
    kind: dashboard
    with:
      files: [%q]
`, filepath.Join(corpus, tc.rules), tc.annotation, filepath.Join(corpus, "valid/dashboards/kube-prometheus/grafana-dashboardDefinitions.yaml"))
			if err := os.WriteFile(pol, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			r := runCLI(t, nil, "check-slo", "--policy", pol, "--infra", "--quiet", "--format", "json")
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, tc.want) {
				t.Errorf("output does not mention %q:\n%s", tc.want, r.stdout)
			}
		})
	}
}
