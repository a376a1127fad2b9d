package slogate

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/metrics"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

var update = flag.Bool("update", false, "rewrite golden files")

var sloTestdata = filepath.Join("..", "..", "..", "testdata", "slo")

// TestCheckRuleFileGolden compares the problems found in each file of
// testdata/slo/rules-bad/ with its .out file (-update rewrites them).
func TestCheckRuleFileGolden(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join(sloTestdata, "rules-bad", "*.yml"))
	if len(files) == 0 {
		t.Fatal("no test files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, probs := CheckRuleFile(filepath.Base(f), b)
		if len(probs) == 0 {
			t.Errorf("%s: no problems found", f)
		}
		var got strings.Builder
		for _, p := range probs {
			got.WriteString(p.String() + "\n")
			if p.Location.Line == 0 {
				t.Errorf("%s: problem without a line: %s", f, p)
			}
		}
		golden := strings.TrimSuffix(f, ".yml") + ".out"
		if *update {
			if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if got.String() != string(want) {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", f, got.String(), want)
		}
	}
}

func TestRulesGate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		spec RulesSpec
		want gate.Status
	}{
		{"generated SLO rules are valid and define the burn alert", RulesSpec{Files: []string{"rules/*.yml"}, RequireAlerts: []string{"SLOErrorBudgetBurn"}}, gate.StatusPass},
		{"a required alert that is missing fails", RulesSpec{Files: []string{"rules/*.yml"}, RequireAlerts: []string{"TenantDown"}}, gate.StatusFail},
		{"a glob matching nothing fails", RulesSpec{Files: []string{"nope/*.yml"}}, gate.StatusFail},
		{"an invalid rule file fails", RulesSpec{Files: []string{"rules-bad/bad.yml"}}, gate.StatusFail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if errs := tc.spec.Validate(); len(errs) > 0 {
				t.Fatal(errs)
			}
			res, err := evaluate(context.Background(), NewRulesGate(gate.Meta{ID: "r"}, &tc.spec, sloTestdata, nil))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.want {
				t.Errorf("status %s, want %s: %+v", res.Status, tc.want, res.Checks)
			}
		})
	}
}

// TestRulesGateLoadedInRealPrometheus checks the generated groups are
// loaded in the Prometheus started by scripts/services/prometheus.sh, and
// that a group it does not have fails.
func TestRulesGateLoadedInRealPrometheus(t *testing.T) {
	prom := promSource(t)
	spec := &RulesSpec{Files: []string{"rules/*.yml"}, Loaded: &LoadedRules{Source: SourceSpec{URL: prom.String()}}}
	res, err := evaluate(context.Background(), NewRulesGate(gate.Meta{ID: "r"}, spec, sloTestdata, prom))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != gate.StatusPass {
		t.Fatalf("status %s: %+v", res.Status, res.Checks)
	}
	spec.Loaded.Groups = []string{"releasegate-slo-availability@checkout", "not-loaded"}
	res, err = evaluate(context.Background(), NewRulesGate(gate.Meta{ID: "r"}, spec, sloTestdata, prom))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != gate.StatusFail {
		t.Errorf("a group that is not loaded: status %s, want fail", res.Status)
	}
}

func TestRulesGateUnreachablePrometheusIsAnError(t *testing.T) {
	t.Parallel()
	api, err := metrics.NewHTTPSource(metrics.HTTPOptions{URL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	spec := &RulesSpec{Files: []string{"rules/*.yml"}, Loaded: &LoadedRules{}}
	res, err := evaluate(context.Background(), NewRulesGate(gate.Meta{ID: "r"}, spec, sloTestdata, api))
	if err == nil || (res != nil && res.Status == gate.StatusPass) {
		t.Errorf("unreachable Prometheus: err %v, status %v; want an error", err, res)
	}
}

func FuzzCheckRuleFile(f *testing.F) {
	for _, p := range []string{"rules/slo-rules.yml", "rules-bad/bad.yml", "rules-bad/syntax.yml"} {
		b, err := os.ReadFile(filepath.Join(sloTestdata, p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("null"))
	f.Add([]byte("apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nspec:\n  groups:\n  - name: a\n    rules:\n    - alert: A\n      expr: up == 0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, probs := CheckRuleFile("fuzz.yml", b)
		failed := false
		for _, p := range probs {
			if p.Location.Line < 1 {
				t.Fatalf("a problem without a line: %s", p)
			}
			failed = failed || !p.Warn
		}
		if failed || info.Form != "rule file" {
			return
		}
		// a plain rule file the gate passes, Prometheus loads
		if _, errs := rulefmt.Parse(b, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler)); len(errs) > 0 {
			t.Fatalf("passed, but Prometheus refuses it: %v", errs)
		}
	})
}

// TestRulesGateOptions: empty files, the review lints, duplicates and the
// target Prometheus version, each through the runner.
func TestRulesGateOptions(t *testing.T) {
	t.Parallel()
	lints := &RuleRequire{For: true, Labels: map[string][]string{"severity": {"critical", "warning", "info"}}, Annotations: []string{"runbook_url", "summary"}}
	cases := []struct {
		name string
		spec RulesSpec
		want gate.Status
	}{
		{"empty rule files pass with a visible skip (a warning): nothing was judged",
			RulesSpec{Files: []string{"corpus/valid/rules/releasegate/empty-*.yml"}}, gate.StatusWarn},
		{"empty rule files fail under require-rules",
			RulesSpec{Files: []string{"corpus/valid/rules/releasegate/empty-*.yml"}, RequireRules: true}, gate.StatusFail},
		{"an empty file beside real rules passes",
			RulesSpec{Files: []string{"corpus/valid/rules/releasegate/empty-null.yml", "rules/*.yml"}}, gate.StatusPass},
		{"PrometheusRule resources that pass the review lints pass",
			RulesSpec{Files: []string{"corpus/valid/rules/releasegate/multi-document-prometheusrules.yaml"}, Require: lints}, gate.StatusPass},
		{"kube-prometheus alerts carry summary, description, runbook_url and for",
			RulesSpec{Files: []string{"corpus/valid/rules/kube-prometheus/alertmanager-prometheusRule.yaml"}, Require: &RuleRequire{Annotations: []string{"summary", "description", "runbook_url"}, For: true}}, gate.StatusPass},
		{"alerts failing the review lints fail",
			RulesSpec{Files: []string{"corpus/broken/rules/releasegate/lint-review.yml"}, Require: lints}, gate.StatusFail},
		{"a repeated rule warns by default",
			RulesSpec{Files: []string{"corpus/valid/rules/prometheus/promtool-rules_duplicates.yml"}}, gate.StatusWarn},
		{"a repeated rule fails with require.unique",
			RulesSpec{Files: []string{"corpus/valid/rules/prometheus/promtool-rules_duplicates.yml"}, Require: &RuleRequire{Unique: true}}, gate.StatusFail},
		{"UTF-8 names pass for Prometheus 3",
			RulesSpec{Files: []string{"corpus/broken/rules/releasegate/legacy-utf8-names.yml"}, PrometheusVersion: "3.5"}, gate.StatusPass},
		{"UTF-8 names fail for Prometheus 2",
			RulesSpec{Files: []string{"corpus/broken/rules/releasegate/legacy-utf8-names.yml"}, PrometheusVersion: "v2.53.1"}, gate.StatusFail},
		{"a range-vector rule fails",
			RulesSpec{Files: []string{"corpus/broken/rules/releasegate/eval-range-vector.yml"}}, gate.StatusFail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if errs := tc.spec.Validate(); len(errs) > 0 {
				t.Fatal(errs)
			}
			res, err := evaluate(context.Background(), NewRulesGate(gate.Meta{ID: "r"}, &tc.spec, sloTestdata, nil))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.want {
				t.Errorf("status %s, want %s: %+v", res.Status, tc.want, res.Checks)
			}
		})
	}
}

func TestRulesSpecValidate(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"1.8", "three", "x.y"} {
		s := RulesSpec{Files: []string{"a.yml"}, PrometheusVersion: v}
		errs := s.Validate()
		var fe *policy.FieldError
		if len(errs) != 1 || !errors.As(errs[0], &fe) || fe.Field != "prometheus-version" {
			t.Errorf("prometheus-version %q: %v, want one prometheus-version error", v, errs)
		}
	}
}
