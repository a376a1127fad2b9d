package cli

import (
	"strings"
	"testing"
)

const budgetPolicy = "../../examples/budget/policy.yml"

func TestCIBudgetCommand(t *testing.T) {
	r := runCLI(t, nil, "ci-budget", "--policy", budgetPolicy, "--checks", "never")
	t.Log(r.stdout)
	if r.code != ExitOK || !strings.Contains(r.stdout, "globex") || !strings.Contains(r.stdout, "within grace") {
		t.Errorf("ci-budget on the example: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = runCLI(t, nil, "ci-budget", "--policy", budgetPolicy, "--enforce", "--checks", "never")
	if r.code != ExitBadInput || !strings.Contains(r.stderr, "configure source.github") {
		t.Errorf("--enforce on a usage file must be refused: exit %d\n%s", r.code, r.stderr)
	}
	r = runCLI(t, nil, "ci-budget", "--policy", budgetPolicy, "--usage-file", "../../testdata/budget/header-only.csv", "--checks", "never")
	if r.code != ExitError || !strings.Contains(r.stdout+r.stderr, "no data") {
		t.Errorf("an empty export must not pass: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestCIBudgetOverBudgetDryRun(t *testing.T) {
	r := runCLI(t, nil, "ci-budget", "--policy", "../../examples/budget/over-budget.yml", "--checks", "never")
	t.Log(r.stdout)
	for _, want := range []string{"past grace (no grace configured)", "dry run: would disable the workflows and cancel queued and in-progress runs of unprotected workflows in maestro-conductor/globex-ingest (protected: release.yml)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if r.code != ExitFail {
		t.Errorf("exit %d, want 1", r.code)
	}
}

func TestForecastCommand(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"drift within the bound exits 0", []string{"--tenant", "globex", "--hours", "24", "--assert-drift", "0.05"}, ExitOK, "WAPE"},
		{"drift above the bound exits 1", []string{"--tenant", "globex", "--hours", "24", "--assert-drift", "0.001"}, ExitFail, "expected at most 0.1%"},
		{"an unknown tenant is bad input", []string{"--tenant", "nobody"}, ExitBadInput, "no such tenant"},
		{"a missing tenant is bad input", nil, ExitBadInput, "--tenant is required"},
		{"a negative bound is bad input", []string{"--tenant", "acme", "--assert-drift", "-1"}, ExitBadInput, "--assert-drift"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"forecast", "--policy", budgetPolicy, "--checks", "never"}, c.args...)
			r := runCLI(t, nil, args...)
			if r.code != c.code || !strings.Contains(r.stdout+r.stderr, c.want) {
				t.Errorf("exit %d, want %d mentioning %q\nstdout:\n%s\nstderr:\n%s", r.code, c.code, c.want, r.stdout, r.stderr)
			}
		})
	}
}
