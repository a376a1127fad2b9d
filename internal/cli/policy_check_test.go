package cli

import (
	"strings"
	"testing"
)

// `policy check` reports every problem of a policy at once, each at
// file:line:col and in file order, exits 2 and runs nothing.
func TestPolicyCheckReportsEveryProblem(t *testing.T) {
	t.Parallel()
	many := `version: one
gates:
  - id: ready
    kind: http
    required: yes
    with:
      url: ftp://example.com
      timeout: soon
  - id: availability
    kind: slo
    with:
      source: {file: metrics.txt}
      slos:
        - name: availability
          objective: 99.9
          period: 0s
          bad: sum(
          total: sum(rate(http_requests_total[{{.window}}]))
        - name: latency
          objective: 150
          good: sum(rate(ok[{{.window}}]))
          total: sum(rate(all[{{.window}}]))
`
	syntax := "version: 1\ngates:\n  - id: a\n    kind: http\n   with: {url: http://a}\n"
	tests := []struct {
		name, policy string
		want         []string
	}{
		{"every problem, in file order", many, []string{
			":1:10: version: expected an integer",
			":5:15: gates[0].required: expected true or false",
			":7:7: gates[0].with.url: scheme \"ftp\"",
			":8:16: gates[0].with.timeout: invalid duration \"soon\"",
			":16:19: gates[1].with.slos[0].period: \"0s\": expected a positive duration",
			":17:11: gates[1].with.slos[0].bad: expected {{.window}}",
			":17:11: gates[1].with.slos[0].bad: not valid PromQL: 1:5: parse error: unclosed left parenthesis",
			":20:11: gates[1].with.slos[1].objective: 150: expected a percentage",
			"8 problem(s)",
		}},
		{"a syntax error at its line and column", syntax, []string{":5:4: did not find expected '-' indicator; check the indentation", "1 problem(s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, nil, "policy", "check", "--policy", writePolicy(t, tt.policy))
			if r.code != ExitBadInput {
				t.Errorf("exit %d, want 2\nstderr:\n%s", r.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("stderr has %d lines, want %d:\n%s", len(lines), len(tt.want), r.stderr)
			}
			for i, w := range tt.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("line %d = %q, want it to contain %q", i+1, lines[i], w)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
		})
	}
}
