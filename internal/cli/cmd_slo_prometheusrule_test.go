package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	slogate "github.com/maestro-conductor/releasegate/internal/gates/slo"
)

// crPolicy names the PrometheusRule resource of its first gate; the
// second gate takes the default name.
const crPolicy = weekPolicy + `      prometheus-rule:
        name: checkout-slos
        namespace: monitoring
        labels:
          release: kube-prometheus-stack
  - id: payments
    kind: slo
    with:
      source:
        url: http://127.0.0.1:1
      slos:
        - name: availability
          objective: 99.5
          bad: sum(rate(http_requests_total{job="payments",code=~"5.."}[{{.window}}]))
          total: sum(rate(http_requests_total{job="payments"}[{{.window}}]))
`

// TestSLORulesPrometheusRule: --format prometheusrule writes one resource
// per slo gate with the policy's name, namespace and labels; the rules gate
// reads it as it is, and promtool check rules accepts each spec.
func TestSLORulesPrometheusRule(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yml")
	if err := os.WriteFile(pol, []byte(crPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "slo-prometheusrule.yaml")
	if r := runCLI(t, nil, "slo", "rules", "--policy", pol, "--format", "prometheusrule", "--out", out); r.code != ExitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	info, probs := slogate.CheckRuleFile(out, b)
	if len(probs) > 0 || info.Form != "PrometheusRule" || info.Rules == 0 {
		t.Fatalf("the rules gate on the written resources: %s, %d rules, problems %v", info.Form, info.Rules, probs)
	}
	type meta struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	}
	var metas []meta
	var specs [][]byte
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var doc struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Metadata   meta   `yaml:"metadata"`
			Spec       any    `yaml:"spec"`
		}
		if err := dec.Decode(&doc); err != nil {
			break
		}
		if doc.APIVersion != "monitoring.coreos.com/v1" || doc.Kind != "PrometheusRule" {
			t.Errorf("apiVersion %q kind %q", doc.APIVersion, doc.Kind)
		}
		metas = append(metas, doc.Metadata)
		s, err := yaml.Marshal(doc.Spec)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, s)
	}
	if len(metas) != 2 || metas[0].Name != "checkout-slos" || metas[0].Namespace != "monitoring" || metas[0].Labels["release"] != "kube-prometheus-stack" || metas[1].Name != "releasegate-slo-payments" {
		t.Fatalf("metadata %+v; want checkout-slos/monitoring/release label, then releasegate-slo-payments", metas)
	}
	bin, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool not found; run scripts/services/prometheus.sh")
		}
		t.Skip("promtool not found; run scripts/services/prometheus.sh to install it")
	}
	for i, s := range specs {
		p := filepath.Join(dir, fmt.Sprintf("spec-%d.yml", i))
		if err := os.WriteFile(p, s, 0o644); err != nil {
			t.Fatal(err)
		}
		if o, err := exec.Command(bin, "check", "rules", p).CombinedOutput(); err != nil {
			t.Errorf("promtool check rules on spec %d: %v\n%s", i, err, o)
		}
	}
}

func TestSLORulesFormatBadInput(t *testing.T) {
	t.Parallel()
	pol := filepath.Join(t.TempDir(), "policy.yml")
	if err := os.WriteFile(pol, []byte(crPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]string{
		"an unknown format":           {"--format", "helm"},
		"tests with a PrometheusRule": {"--format", "prometheusrule", "--out", "x.yaml", "--tests", "t.yml"},
	}
	for name, args := range cases {
		r := runCLI(t, nil, append([]string{"slo", "rules", "--policy", pol}, args...)...)
		if r.code != ExitBadInput {
			t.Errorf("%s: exit %d, want %d\n%s", name, r.code, ExitBadInput, r.stderr)
		}
		if !strings.Contains(r.stderr, "--format") {
			t.Errorf("%s: stderr %q does not name --format", name, r.stderr)
		}
	}
}

func TestSLORulesPrometheusRuleNameValidated(t *testing.T) {
	t.Parallel()
	pol := filepath.Join(t.TempDir(), "policy.yml")
	bad := strings.Replace(crPolicy, "name: checkout-slos", "name: Checkout_SLOs", 1)
	if err := os.WriteFile(pol, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, nil, "slo", "rules", "--policy", pol, "--format", "prometheusrule"); r.code != ExitBadInput || !strings.Contains(r.stderr, "prometheus-rule.name") {
		t.Errorf("exit %d, stderr %q; want %d naming prometheus-rule.name", r.code, r.stderr, ExitBadInput)
	}
}
