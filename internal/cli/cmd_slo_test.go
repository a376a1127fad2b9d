package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func sloPolicy(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "slo", "policy.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckSLOFailsOnTheBurningTenant(t *testing.T) {
	r := runCLI(t, nil, "check-slo", "--policy", sloPolicy(t), "--quiet")
	if r.code != ExitFail {
		t.Fatalf("exit %d, want %d\n%s%s", r.code, ExitFail, r.stdout, r.stderr)
	}
	for _, want := range []string{"globex", "5m burn rate", "canary vs baseline", "NaN is never a pass"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestCheckSLOUnreachableSourceExits3AndHidesTheToken(t *testing.T) {
	const token = "prom-token-7c1e2b"
	dir := t.TempDir()
	policy := `version: 1
gates:
  - id: latency
    kind: metric
    with:
      source:
        url: http://127.0.0.1:1
        bearer-token: ` + token + `
        retries: 0
      checks:
        - name: p95
          query: max(request_latency_p95_seconds)
          condition: "< 0.5"
`
	path := filepath.Join(dir, "policy.yml")
	if err := os.WriteFile(path, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, nil, "check-slo", "--policy", path, "--format", "json")
	if r.code != ExitError {
		t.Fatalf("exit %d, want %d\n%s%s", r.code, ExitError, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, token) {
		t.Error("the bearer token was printed")
	}
	if !strings.Contains(r.stdout, "source unreachable") {
		t.Errorf("stdout does not say the source is unreachable:\n%s", r.stdout)
	}
}

func TestSLORulesFromPolicy(t *testing.T) {
	r := runCLI(t, nil, "slo", "rules", "--policy", sloPolicy(t))
	if r.code != ExitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"releasegate-slo-availability", "slo:sli_error:ratio_rate5m", "alert: SLOErrorBudgetBurn", "(14.4 * 0.01)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("rules lack %q", want)
		}
	}
	if r := runCLI(t, nil, "slo", "rules", "--policy", sloPolicy(t), "--gate", "error-rate"); r.code != ExitBadInput {
		t.Errorf("--gate of a metric gate: exit %d, want %d", r.code, ExitBadInput)
	}
	if r := runCLI(t, nil, "slo"); r.code != ExitBadInput {
		t.Errorf("slo without a subcommand: exit %d, want %d", r.code, ExitBadInput)
	}
}
