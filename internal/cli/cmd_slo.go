package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	slogate "github.com/maestro-conductor/releasegate/internal/gates/slo"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/slo"
)

const checkSLOUsage = `Usage: releasegate check-slo [--policy FILE] [--gate ID,…] [--infra] [--format text|json|markdown] [--out DIR]

Evaluates the policy's gates of kind metric and slo — per-tenant PromQL
checks, canary vs baseline, burn rates, error budget remaining — against a
Prometheus-compatible API or a metrics file evaluated in-process. With
--infra it also runs the rules and dashboard gates. No data, NaN, an
unreachable source, a partial response or a warning never pass.

Exit codes: 0 passed (warnings allowed) · 1 a check failed · 2 bad input ·
3 a source could not be queried.

Example:
  releasegate check-slo --policy .github/release-policy.yml --format markdown
`

func checkSLOCmd(ctx context.Context, o *IO, args []string) int {
	c, _ := lookup("check-slo")
	fs := o.NewFlagSet(c)
	var ro RunOptions
	var gates string
	var infra bool
	fs.StringVar(&ro.Policy, "policy", policy.DefaultPath, "policy file")
	fs.StringVar(&gates, "gate", "", "comma-separated gate ids to run (default: every metric and slo gate)")
	fs.BoolVar(&infra, "infra", false, "also run the rules and dashboard gates")
	fs.BoolVar(&ro.Quiet, "quiet", false, "no progress on stderr")
	addOutputFlags(fs, &ro.Output)
	if code, ok := Parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(o.Stderr, "releasegate check-slo: unexpected arguments %q\n", fs.Args())
		return ExitBadInput
	}
	p, code := o.loadPolicy(ro.Policy)
	if p == nil {
		return code
	}
	kinds := map[string]bool{"metric": true, "slo": true}
	if infra {
		kinds["rules"], kinds["dashboard"] = true, true
	}
	want := map[string]bool{}
	for _, id := range strings.Split(gates, ",") {
		if id = strings.TrimSpace(id); id != "" {
			want[id] = true
		}
	}
	for _, g := range p.Gates {
		if (len(want) == 0 && kinds[g.Kind]) || want[g.ID] {
			if want[g.ID] && !kinds[g.Kind] && g.Kind != "rules" && g.Kind != "dashboard" {
				fmt.Fprintf(o.Stderr, "releasegate check-slo: gate %s is of kind %s; check-slo runs metric, slo, rules and dashboard gates\n", g.ID, g.Kind)
				return ExitBadInput
			}
			ro.Only = append(ro.Only, g.ID)
			delete(want, g.ID)
		}
	}
	for id := range want {
		fmt.Fprintf(o.Stderr, "releasegate check-slo: no gate %q in %s\n", id, p.File)
		return ExitBadInput
	}
	if len(ro.Only) == 0 {
		fmt.Fprintf(o.Stderr, "releasegate check-slo: %s has no metric or slo gate; add one (see docs/slo.md)\n", p.File)
		return ExitBadInput
	}
	return RunPolicy(ctx, o, ro)
}

const sloUsage = `Usage: releasegate slo rules [--policy FILE] [--gate ID] [--format rules|prometheusrule] [--out FILE] [--tests FILE]

Generates Prometheus recording rules (the error ratio of every SLO over
5m, 30m, 1h, 2h, 6h, 1d, 3d and its period) and multi-window burn-rate
alerts (page: 1h/5m, 6h/30m; ticket: 1d/2h, 3d/6h, factors scaled to the
period) from the policy's slo gates. The rules use the same queries the
gate evaluates, so alerts and gates agree; promtool check rules accepts them.
With --tests (and --out) it also writes a promtool test rules file showing,
for each SLO, a fast burn paging, a slow burn ticketing without paging, a
healthy service silent, recovery clearing and missing series alerting.
With --format prometheusrule it writes one PrometheusRule resource
(monitoring.coreos.com/v1) per slo gate instead, named, namespaced and
labelled by the gate's prometheus-rule setting, for prometheus-operator
and kube-prometheus; the rules gate reads it as it is.

Example:
  releasegate slo rules --policy .github/release-policy.yml --out prometheus/slo-rules.yml --tests prometheus/slo-rules_test.yml
  promtool test rules prometheus/slo-rules_test.yml
  releasegate slo rules --format prometheusrule --out k8s/slo-prometheusrule.yaml
`

func sloCmd(ctx context.Context, o *IO, args []string) int {
	if len(args) == 0 || args[0] != "rules" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(o.Stdout, sloUsage)
			return ExitOK
		}
		fmt.Fprint(o.Stderr, sloUsage)
		return ExitBadInput
	}
	c, _ := lookup("slo")
	fs := o.NewFlagSet(c)
	var path, gateID, out, tests, format string
	fs.StringVar(&path, "policy", policy.DefaultPath, "policy file")
	fs.StringVar(&format, "format", "rules", "rules (a Prometheus rule file) or prometheusrule (PrometheusRule resources)")
	fs.StringVar(&gateID, "gate", "", "only the SLOs of this slo gate (default: every slo gate)")
	fs.StringVar(&out, "out", "", "write the rules to FILE instead of stdout")
	fs.StringVar(&tests, "tests", "", "also write promtool rule tests of the rules to FILE (needs --out)")
	if code, ok := Parse(fs, args[1:]); !ok {
		return code
	}
	if format != "rules" && format != "prometheusrule" {
		fmt.Fprintf(o.Stderr, "releasegate slo rules: --format %q; expected rules or prometheusrule\n", format)
		return ExitBadInput
	}
	if tests != "" && format != "rules" {
		fmt.Fprintln(o.Stderr, "releasegate slo rules: --tests needs --format rules: promtool test rules reads a rule file, not a PrometheusRule")
		return ExitBadInput
	}
	if tests != "" && out == "" {
		fmt.Fprintln(o.Stderr, "releasegate slo rules: --tests needs --out: the tests read the rules file")
		return ExitBadInput
	}
	p, code := o.loadPolicy(path)
	if p == nil {
		return code
	}
	var slos []slo.SLO
	var crs []slo.PrometheusRule
	for _, g := range p.Gates {
		spec, ok := g.Spec.(*slogate.SLOSpec)
		if !ok || (gateID != "" && g.ID != gateID) {
			continue
		}
		models := spec.Models()
		slos = append(slos, models...)
		crs = append(crs, slo.PrometheusRule{Metadata: spec.PrometheusRuleMeta(), Spec: slo.Rules(models)})
	}
	if len(slos) == 0 {
		fmt.Fprintf(o.Stderr, "releasegate slo rules: no slo gate%s in %s\n", map[bool]string{true: " " + gateID, false: ""}[gateID != ""], p.File)
		return ExitBadInput
	}
	b, err := slo.Rules(slos).YAML()
	if format == "prometheusrule" {
		b, err = slo.PrometheusRules(crs)
	}
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate slo rules: %v\n", err)
		return ExitError
	}
	var tb []byte
	if tests != "" {
		rel, err := filepath.Rel(filepath.Dir(tests), out)
		if err != nil {
			rel, _ = filepath.Abs(out)
		}
		if tb, err = slo.RuleTests(slos, filepath.ToSlash(rel)); err != nil {
			fmt.Fprintf(o.Stderr, "releasegate slo rules: --tests: %v\n", err)
			return ExitBadInput
		}
	}
	if out == "" {
		_, _ = o.Stdout.Write(b)
		return ExitOK
	}
	err = prepareFile("--out", out) // its directory is created
	if err == nil && tests != "" {
		err = prepareFile("--tests", tests)
	}
	if err == nil {
		err = os.WriteFile(out, b, 0o644)
	}
	if err == nil && tests != "" {
		err = os.WriteFile(tests, tb, 0o644)
	}
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate slo rules: %v\n", err)
		return ExitBadInput
	}
	fmt.Fprintf(o.Stderr, "wrote %d rule group(s) to %s\n", len(slos), out)
	if tests != "" {
		fmt.Fprintf(o.Stderr, "wrote the rule tests to %s (promtool test rules %s)\n", tests, tests)
	}
	return ExitOK
}
