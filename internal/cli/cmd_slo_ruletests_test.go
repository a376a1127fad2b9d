package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// weekPolicy has two SLOs over 7 days: one counting bad requests, one
// counting good ones, with a job matcher in every selector.
const weekPolicy = `version: 1
gates:
  - id: checkout
    kind: slo
    with:
      source:
        url: http://127.0.0.1:1
      tenant-label: tenant
      slos:
        - name: availability
          objective: 99.9
          period: 7d
          bad: sum by (tenant) (rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))
          total: sum by (tenant) (rate(http_requests_total{job="checkout"}[{{.window}}]))
        - name: success
          objective: 99
          period: 7d
          good: sum by (tenant) (rate(http_requests_total{job="checkout",code!~"5.."}[{{.window}}]))
          total: sum by (tenant) (rate(http_requests_total{job="checkout"}[{{.window}}]))
`

// TestSLORulesTestsPassPromtool runs slo rules --tests on the demo policy
// (30 days) and on a 7-day policy and runs promtool test rules on the
// written file: the fast burn pages, the slow burn tickets and does not
// page, a healthy service is silent, recovery clears and missing series
// alert. Rules whose page factor was tampered with must fail the tests.
func TestSLORulesTestsPassPromtool(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" || os.Getenv("RELEASEGATE_TEST_PROMETHEUS") != "" {
			t.Fatal("promtool not found; run scripts/services/prometheus.sh (installs Debian's prometheus package)")
		}
		t.Skip("promtool not found; run scripts/services/prometheus.sh to install it")
	}
	week := filepath.Join(t.TempDir(), "week.yml")
	if err := os.WriteFile(week, []byte(weekPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DEMO_URL": "http://127.0.0.1:1", "DEMO_LEDGER_DB": "sqlite:x", "DEMO_LEDGER_PUB": "x"}
	for name, policy := range map[string]string{"demo 30d": "../../examples/demo/release-policy.yml", "7d": week} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			rules, tests := filepath.Join(dir, "rules.yml"), filepath.Join(dir, "tests", "rules_test.yml")
			if r := runCLI(t, env, "slo", "rules", "--policy", policy, "--out", rules, "--tests", tests); r.code != ExitOK {
				t.Fatalf("slo rules --tests: exit %d\n%s", r.code, r.stderr)
			}
			if out, err := exec.Command(bin, "test", "rules", tests).CombinedOutput(); err != nil {
				b, _ := os.ReadFile(tests)
				t.Fatalf("promtool test rules: %v\n%s\n--- test file:\n%s", err, out, b)
			}
			b, err := os.ReadFile(rules)
			if err != nil {
				t.Fatal(err)
			}
			// a page tier at ×30 instead of ×14.4 no longer pages at 20×
			tampered := strings.Replace(string(b), "(14.4 * ", "(30 * ", 1)
			if tampered == string(b) {
				t.Fatal("the rules have no 14.4 page factor to tamper with")
			}
			if err := os.WriteFile(rules, []byte(tampered), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(bin, "test", "rules", tests).CombinedOutput(); err == nil {
				t.Errorf("promtool test rules passed rules whose page factor is 30:\n%s", out)
			}
		})
	}
	if r := runCLI(t, env, "slo", "rules", "--policy", week, "--tests", filepath.Join(t.TempDir(), "t.yml")); r.code != ExitBadInput {
		t.Errorf("--tests without --out: exit %d, want %d", r.code, ExitBadInput)
	}
}
