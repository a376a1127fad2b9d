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

func checkSLOCmd(ctx context.Context, o *IO, args []string) error {
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
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := noArgs(fs, ""); err != nil {
		return err
	}
	p, err := o.openPolicy(ro.Policy)
	if err != nil {
		return err
	}
	if ro.Only, err = checkSLOGates(p, gates, infra); err != nil {
		return err
	}
	return runPolicy(ctx, o, ro)
}

// checkSLOGates returns the ids of the gates check-slo runs: those of ids
// (comma-separated), or else every metric and slo gate (and rules and
// dashboard gates with infra).
func checkSLOGates(p *policy.Policy, ids string, infra bool) ([]string, error) {
	kinds := map[string]bool{"metric": true, "slo": true}
	if infra {
		kinds["rules"], kinds["dashboard"] = true, true
	}
	want := map[string]bool{}
	for _, id := range strings.Split(ids, ",") {
		if id = strings.TrimSpace(id); id != "" {
			want[id] = true
		}
	}
	var only []string
	for _, g := range p.Gates {
		if (len(want) == 0 && kinds[g.Kind]) || want[g.ID] {
			if want[g.ID] && !kinds[g.Kind] && g.Kind != "rules" && g.Kind != "dashboard" {
				return nil, inputf("gate %s is of kind %s; check-slo runs metric, slo, rules and dashboard gates", g.ID, g.Kind)
			}
			only = append(only, g.ID)
			delete(want, g.ID)
		}
	}
	for id := range want {
		return nil, inputf("no gate %q in %s", id, p.File)
	}
	if len(only) == 0 {
		return nil, inputf("%s has no metric or slo gate; add one (see docs/slo.md)", p.File)
	}
	return only, nil
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

// sloRulesFlags are the flags of slo rules.
type sloRulesFlags struct {
	path, gateID, out, tests, format string
}

func sloCmd(_ context.Context, o *IO, args []string) error {
	if len(args) == 0 || args[0] != "rules" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprint(o.Stdout, sloUsage)
			return nil
		}
		fmt.Fprint(o.Stderr, sloUsage)
		return exitCode(ExitBadInput)
	}
	c, _ := lookup("slo")
	fs := o.NewFlagSet(c)
	var f sloRulesFlags
	fs.StringVar(&f.path, "policy", policy.DefaultPath, "policy file")
	fs.StringVar(&f.format, "format", "rules", "rules (a Prometheus rule file) or prometheusrule (PrometheusRule resources)")
	fs.StringVar(&f.gateID, "gate", "", "only the SLOs of this slo gate (default: every slo gate)")
	fs.StringVar(&f.out, "out", "", "write the rules to FILE instead of stdout")
	fs.StringVar(&f.tests, "tests", "", "also write promtool rule tests of the rules to FILE (needs --out)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	p, err := o.openPolicy(f.path)
	if err != nil {
		return err
	}
	slos, b, err := f.rules(p)
	if err != nil {
		return err
	}
	if f.out == "" {
		_, _ = o.Stdout.Write(b)
		return nil
	}
	return f.write(o, slos, b)
}

// check refuses flags that do not go together.
func (f *sloRulesFlags) check() error {
	switch {
	case f.format != "rules" && f.format != "prometheusrule":
		return inputf("--format %q; expected rules or prometheusrule", f.format)
	case f.tests != "" && f.format != "rules":
		return inputf("--tests needs --format rules: promtool test rules reads a rule file, not a PrometheusRule")
	case f.tests != "" && f.out == "":
		return inputf("--tests needs --out: the tests read the rules file")
	}
	return nil
}

// rules returns the SLOs of the chosen slo gates and their rules in the
// chosen format.
func (f *sloRulesFlags) rules(p *policy.Policy) ([]slo.SLO, []byte, error) {
	var slos []slo.SLO
	var crs []slo.PrometheusRule
	for _, g := range p.Gates {
		spec, ok := g.Spec.(*slogate.SLOSpec)
		if !ok || (f.gateID != "" && g.ID != f.gateID) {
			continue
		}
		models := spec.Models()
		slos = append(slos, models...)
		crs = append(crs, slo.PrometheusRule{Metadata: spec.PrometheusRuleMeta(), Spec: slo.Rules(models)})
	}
	if len(slos) == 0 {
		return nil, nil, inputf("no slo gate%s in %s", map[bool]string{true: " " + f.gateID, false: ""}[f.gateID != ""], p.File)
	}
	b, err := slo.Rules(slos).YAML()
	if f.format == "prometheusrule" {
		b, err = slo.PrometheusRules(crs)
	}
	return slos, b, err
}

// write writes the rules b to --out and, with --tests, their tests.
func (f *sloRulesFlags) write(o *IO, slos []slo.SLO, b []byte) error {
	var tb []byte
	if f.tests != "" {
		rel, err := filepath.Rel(filepath.Dir(f.tests), f.out)
		if err != nil {
			rel, _ = filepath.Abs(f.out)
		}
		if tb, err = slo.RuleTests(slos, filepath.ToSlash(rel)); err != nil {
			return inputf("--tests: %w", err)
		}
	}
	err := prepareFile("--out", f.out) // its directory is created
	if err == nil && f.tests != "" {
		err = prepareFile("--tests", f.tests)
	}
	if err == nil {
		err = os.WriteFile(f.out, b, 0o644)
	}
	if err == nil && f.tests != "" {
		err = os.WriteFile(f.tests, tb, 0o644)
	}
	if err != nil {
		return asInput(err)
	}
	fmt.Fprintf(o.Stderr, "wrote %d rule group(s) to %s\n", len(slos), f.out)
	if f.tests != "" {
		fmt.Fprintf(o.Stderr, "wrote the rule tests to %s (promtool test rules %s)\n", f.tests, f.tests)
	}
	return nil
}
