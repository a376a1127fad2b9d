package slogate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/metrics"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

func init() {
	gate.RegisterTyped(gate.Typed[RulesSpec]{
		Name:    "rules",
		Group:   "infra",
		Summary: "Prometheus alerting/recording rule files and PrometheusRule resources valid as Prometheus loads and evaluates them (every expr parsed and a vector or scalar, names for the target Prometheus version, file:line:col for each problem), review lints (for, labels, annotations, duplicates), and optionally loaded and healthy in a running Prometheus",
		New:     newRulesGate,
	})
}

// RulesSpec is the `with:` block of a rules gate.
type RulesSpec struct {
	Files         []string     `yaml:"files" required:"true" doc:"rule files or globs, relative to the policy, e.g. prometheus/rules/*.yml"`
	RequireAlerts []string     `yaml:"require-alerts" doc:"alert names that must be defined in the files"`
	Loaded        *LoadedRules `yaml:"loaded" doc:"also check that the files' groups are loaded and healthy in a running Prometheus"`
	// PrometheusVersion selects the name validation rules.
	PrometheusVersion string       `yaml:"prometheus-version" default:"3" doc:"the Prometheus version the rules are deployed to, e.g. 2.53 or 3: before 3 metric and label names must match [a-zA-Z_:][a-zA-Z0-9_:]* (legacy validation); from 3 UTF-8 names are accepted"`
	RequireRules      bool         `yaml:"require-rules" doc:"fail a file that defines no rule; by default an empty file (null, {}, groups: []) passes, as Prometheus loads it"`
	Require           *RuleRequire `yaml:"require" doc:"review lints every alerting rule must pass, e.g. {for: true, labels: {severity: [critical, warning, info]}, annotations: [runbook_url, summary]}"`
}

// legacyNames reports whether the target Prometheus validates names the
// pre-3 way; ok is false when the version does not read as one.
func (s *RulesSpec) legacyNames() (legacy, ok bool) {
	v := strings.TrimPrefix(strings.TrimSpace(s.PrometheusVersion), "v")
	if v == "" {
		return false, true
	}
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil || n < 2 {
		return false, false
	}
	return n < 3, true
}

// RuleOptions returns the options the gate checks files with.
func (s *RulesSpec) RuleOptions() RuleOptions {
	legacy, _ := s.legacyNames()
	return RuleOptions{Legacy: legacy, Require: s.Require}
}

// LoadedRules checks /api/v1/rules of a running Prometheus.
type LoadedRules struct {
	Source SourceSpec `yaml:"source" required:"true" doc:"the Prometheus API (url) to ask"`
	Groups []string   `yaml:"groups" doc:"group names that must be loaded; default every group in the files"`
}

// Validate checks the globs.
func (s *RulesSpec) Validate() []error {
	var errs []error
	if len(s.Files) == 0 {
		errs = append(errs, &policy.FieldError{Field: "files", Err: errors.New("no files; expected rule files or globs")})
	}
	for i, f := range s.Files {
		if _, err := filepath.Match(f, ""); err != nil {
			errs = append(errs, &policy.FieldError{Field: fmt.Sprintf("files[%d]", i), Err: fmt.Errorf("bad glob %q: %v", f, err)})
		}
	}
	if _, ok := s.legacyNames(); !ok {
		errs = append(errs, &policy.FieldError{Field: "prometheus-version", Err: fmt.Errorf("%q is not a Prometheus version; expected e.g. 2.53 or 3", s.PrometheusVersion)})
	}
	if r := s.Require; r != nil {
		for name := range r.Labels {
			if !model.LegacyValidation.IsValidLabelName(name) && !model.UTF8Validation.IsValidLabelName(name) {
				errs = append(errs, &policy.FieldError{Field: "require.labels." + name, Err: errors.New("not a label name")})
			}
		}
	}
	if s.Loaded != nil {
		errs = append(errs, s.Loaded.Source.validate("loaded.")...)
		if s.Loaded.Source.File != "" {
			errs = append(errs, &policy.FieldError{Field: "loaded.source.file", Err: errors.New("loaded rules are checked in a running Prometheus; set url")})
		}
	}
	return errs
}

// RulesGate checks rule files.
type RulesGate struct {
	meta gate.Meta
	spec *RulesSpec
	dir  string
	api  *metrics.HTTPSource
}

func newRulesGate(m gate.Meta, spec RulesSpec, env gate.Env) (gate.Gate, error) {
	s := &spec
	g := &RulesGate{meta: m, spec: s, dir: env.PolicyDir}
	if s.Loaded != nil {
		src, err := s.Loaded.Source.Open(env.PolicyDir)
		if err != nil {
			return nil, err
		}
		g.api = src.(*metrics.HTTPSource)
	}
	return g, nil
}

// NewRulesGate returns a rules gate; api may be nil when Loaded is unset.
func NewRulesGate(m gate.Meta, s *RulesSpec, dir string, api *metrics.HTTPSource) *RulesGate {
	return &RulesGate{meta: m, spec: s, dir: dir, api: api}
}

// Name returns the gate id.
func (g *RulesGate) Name() string { return g.meta.ID }

func expandGlobs(dir string, pats []string) ([]string, []gate.Check) {
	var files []string
	var missing []gate.Check
	seen := map[string]bool{}
	for _, p := range pats {
		full := p
		if !filepath.IsAbs(full) && dir != "" {
			full = filepath.Join(dir, p)
		}
		ms, _ := filepath.Glob(full)
		if len(ms) == 0 {
			missing = append(missing, gate.Check{Name: p, Status: gate.StatusFail,
				Message: fmt.Sprintf("%s matched no files; expected at least one (paths are relative to the policy)", p)})
		}
		sort.Strings(ms)
		for _, m := range ms {
			if !seen[m] {
				seen[m] = true
				files = append(files, m)
			}
		}
	}
	return files, missing
}

// Run checks every file, the required alerts and the loaded groups.
func (g *RulesGate) Run(ctx context.Context) (*gate.Result, error) {
	res := &gate.Result{Kind: "rules"}
	files, missing := expandGlobs(g.dir, g.spec.Files)
	res.Checks = append(res.Checks, missing...)
	alerts := map[string]bool{}
	var groups []string
	rules := 0
	opts := g.spec.RuleOptions()
	for _, f := range files {
		b, err := fsx.ReadFile(ctx, f, fsx.MaxDocSize)
		if err != nil {
			res.Checks = append(res.Checks, gate.Check{Name: "rule file", Status: gate.StatusFail, Message: fmt.Sprintf("%s: %v", f, err)})
			continue
		}
		res.Inputs = append(res.Inputs, gate.Input{Name: f, Digest: digest(b)})
		info, probs := CheckRuleFileWith(f, b, opts)
		res.Checks = append(res.Checks, g.fileChecks(f, info, probs)...)
		rules += info.Rules
		for _, a := range info.Alerts {
			alerts[a] = true
		}
		groups = append(groups, info.Groups...)
	}
	if rules == 0 && len(files) > 0 && !g.spec.RequireRules {
		res.Checks = append(res.Checks, gate.Check{Name: "rules defined", Status: gate.StatusSkip,
			Message: fmt.Sprintf("%s define no rule: nothing was judged; set require-rules: true to fail on empty files", strings.Join(g.spec.Files, ", "))})
	}
	for _, a := range g.spec.RequireAlerts {
		chk := gate.Check{Name: "alert " + a, Status: gate.StatusPass, Message: "defined"}
		if !alerts[a] {
			chk.Status = gate.StatusFail
			chk.Message = fmt.Sprintf("alert %s is not defined in %s; expected it (generate SLO alerts with releasegate slo rules)", a, strings.Join(g.spec.Files, ", "))
		}
		res.Checks = append(res.Checks, chk)
	}
	if g.api != nil {
		want := g.spec.Loaded.Groups
		if len(want) == 0 {
			want = groups
		}
		cs, err := g.checkLoaded(ctx, want)
		res.Checks = append(res.Checks, cs...)
		if err != nil {
			return res, err
		}
	}
	res.Summary = summarize(res.Checks)
	return res, nil
}

// fileChecks turns one file's problems into its check, and its warnings
// (duplicate rules unless require.unique) into a second, warning check.
func (g *RulesGate) fileChecks(f string, info RuleFileInfo, probs []RuleProblem) []gate.Check {
	var fails, warns []RuleProblem
	for _, p := range probs {
		if p.Warn {
			warns = append(warns, p)
		} else {
			fails = append(fails, p)
		}
	}
	chk := gate.Check{Name: "rule file " + f}
	switch {
	case len(fails) > 0:
		chk.Status = gate.StatusFail
		chk.Observed = gate.Int(int64(len(fails)))
		chk.Message = fmt.Sprintf("%d problem(s): %s; fix them and run promtool check rules", len(fails), joinProblems(fails))
		chk.Location = &fails[0].Location
	case info.Rules == 0 && g.spec.RequireRules:
		chk.Status = gate.StatusFail
		chk.Observed = gate.Int(0)
		chk.Message = "no rules; expected at least one (require-rules is set)"
		chk.Location = &gate.Location{File: f, Line: 1}
	case info.Rules == 0:
		chk.Status = gate.StatusPass
		chk.Observed = gate.Int(0)
		chk.Message = "no rules (an empty rule file, which Prometheus accepts)"
	default:
		chk.Status = gate.StatusPass
		chk.Observed = gate.Int(int64(info.Rules))
		chk.Message = fmt.Sprintf("%s: %d group(s), %d rule(s), every expr valid PromQL yielding a vector or scalar", info.Form, len(info.Groups), info.Rules)
	}
	out := []gate.Check{chk}
	if len(warns) > 0 {
		out = append(out, gate.Check{Name: "duplicate rules " + f, Status: gate.StatusWarn, Observed: gate.Int(int64(len(warns))), Location: &warns[0].Location,
			Message: fmt.Sprintf("%d repeated rule(s): %s; set require.unique: true to fail on them", len(warns), joinProblems(warns))})
	}
	return out
}

func joinProblems(ps []RuleProblem) string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "; ")
}

type apiRules struct {
	Groups []struct {
		Name  string `json:"name"`
		File  string `json:"file"`
		Rules []struct {
			Name      string `json:"name"`
			Health    string `json:"health"`
			LastError string `json:"lastError"`
		} `json:"rules"`
	} `json:"groups"`
}

func (g *RulesGate) checkLoaded(ctx context.Context, want []string) ([]gate.Check, error) {
	var r apiRules
	if err := g.api.Get(ctx, "/api/v1/rules", nil, &r); err != nil {
		return nil, fmt.Errorf("loaded rules: %w", err)
	}
	var out []gate.Check
	for _, name := range want {
		chk := gate.Check{Name: "loaded group " + name}
		found := false
		var bad []string
		for _, grp := range r.Groups {
			if grp.Name != name {
				continue
			}
			found = true
			for _, rule := range grp.Rules {
				if rule.Health == "err" {
					bad = append(bad, fmt.Sprintf("%s: %s", rule.Name, rule.LastError))
				}
			}
		}
		switch {
		case !found:
			chk.Status = gate.StatusFail
			chk.Message = fmt.Sprintf("group %s is not loaded in %s; expected it: add its file to rule_files and reload Prometheus", name, g.api)
		case len(bad) > 0:
			chk.Status = gate.StatusFail
			chk.Message = fmt.Sprintf("group %s is loaded but %d rule(s) fail to evaluate: %s", name, len(bad), strings.Join(bad, "; "))
		default:
			chk.Status = gate.StatusPass
			chk.Message = "loaded, no rule reports an evaluation error"
		}
		out = append(out, chk)
	}
	return out, nil
}
