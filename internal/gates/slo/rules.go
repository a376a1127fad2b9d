package slogate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/metrics"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

func init() {
	gate.Register(gate.Kind{
		Name:    "rules",
		Group:   "infra",
		Summary: "Prometheus alerting/recording rule files valid (every expr parsed, file:line for each problem) and optionally loaded and healthy in a running Prometheus",
		Spec:    func() any { return &RulesSpec{} },
		New:     newRulesGate,
	})
}

// RulesSpec is the `with:` block of a rules gate.
type RulesSpec struct {
	Files         []string     `yaml:"files" required:"true" doc:"rule files or globs, relative to the policy, e.g. prometheus/rules/*.yml"`
	RequireAlerts []string     `yaml:"require-alerts" doc:"alert names that must be defined in the files"`
	Loaded        *LoadedRules `yaml:"loaded" doc:"also check that the files' groups are loaded and healthy in a running Prometheus"`
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
	if s.Loaded != nil {
		errs = append(errs, s.Loaded.Source.validate("loaded.")...)
		if s.Loaded.Source.File != "" {
			errs = append(errs, &policy.FieldError{Field: "loaded.source.file", Err: errors.New("loaded rules are checked in a running Prometheus; set url")})
		}
	}
	return errs
}

// RuleProblem is one problem in a rule file, at file:line:col.
type RuleProblem struct {
	Location gate.Location
	Msg      string
}

func (p RuleProblem) String() string { return p.Location.String() + ": " + p.Msg }

// RuleFileInfo is what a valid rule file defines.
type RuleFileInfo struct {
	Groups []string
	Alerts []string
	Rules  int
}

var lineColRE = regexp.MustCompile(`^(\d+):(\d+): (.*)$`)
var yamlLineRE = regexp.MustCompile(`^yaml: (?:unmarshal errors:\n\s*)?line (\d+): (.*)$`)

// CheckRuleFile parses a rule file like `promtool check rules`: YAML
// structure, unknown keys, names, durations, templates, and every expr as
// PromQL. It returns every problem with its position.
func CheckRuleFile(path string, b []byte) (RuleFileInfo, []RuleProblem) {
	var info RuleFileInfo
	rgs, errs := rulefmt.Parse(b, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.NewTextHandler(io.Discard, nil)))
	var probs []RuleProblem
	seen := map[string]bool{}
	for _, err := range errs {
		p := ruleProblem(path, err)
		if m := ruleNameRE.FindStringSubmatch(p.Msg); m != nil {
			// rulefmt points some rule errors at the group; point at the rule
			if loc, ok := locateRule(path, b, m[1]); ok && loc.Line > p.Location.Line {
				p.Location = loc
			}
		}
		if p.Location.Line == 0 {
			p.Location = locateQuoted(path, b, p.Msg)
		}
		if !seen[p.String()] {
			seen[p.String()] = true
			probs = append(probs, p)
		}
	}
	if len(probs) > 0 || rgs == nil {
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Location.Line < probs[j].Location.Line })
		return info, probs
	}
	if len(rgs.Groups) == 0 {
		return info, []RuleProblem{{Location: gate.Location{File: path, Line: 1}, Msg: "no rule groups; expected `groups:` with at least one group"}}
	}
	for _, g := range rgs.Groups {
		info.Groups = append(info.Groups, g.Name)
		for _, r := range g.Rules {
			info.Rules++
			if r.Alert != "" {
				info.Alerts = append(info.Alerts, r.Alert)
			}
		}
	}
	return info, nil
}

func ruleProblem(path string, err error) RuleProblem {
	msg := err.Error()
	if m := lineColRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		// rulefmt prints a second position for some errors; drop it.
		rest := lineColRE.ReplaceAllString(m[3], "$3")
		return RuleProblem{Location: gate.Location{File: path, Line: line, Column: col}, Msg: rest}
	}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return RuleProblem{Location: gate.Location{File: path, Line: line}, Msg: m[2]}
	}
	for _, l := range strings.Split(msg, "\n") {
		if m := yamlInLineRE.FindStringSubmatch(l); m != nil {
			line, _ := strconv.Atoi(m[1])
			return RuleProblem{Location: gate.Location{File: path, Line: line}, Msg: strings.TrimSpace(m[2])}
		}
	}
	return RuleProblem{Location: gate.Location{File: path}, Msg: msg}
}

// yamlInLineRE finds "line N: message" inside one line of a YAML error.
var yamlInLineRE = regexp.MustCompile(`line (\d+): (.*)`)

var ruleNameRE = regexp.MustCompile(`^group "[^"]*", rule \d+, "([^"]+)": `)

// locateRule finds the `record:` or `alert:` line of the rule named name.
func locateRule(path string, b []byte, name string) (gate.Location, bool) {
	var root yaml.Node
	if yaml.Unmarshal(b, &root) != nil {
		return gate.Location{}, false
	}
	var found *yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if found != nil {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if (k.Value == "alert" || k.Value == "record") && v.Value == name {
					found = v
					return
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&root)
	if found == nil {
		return gate.Location{}, false
	}
	return gate.Location{File: path, Line: found.Line, Column: found.Column}, true
}

var quotedRE = regexp.MustCompile(`"([^"]+)"`)

// locateQuoted finds the position of the first YAML scalar equal to the
// value quoted in msg: decoding errors of durations and similar fields do
// not carry a line.
func locateQuoted(path string, b []byte, msg string) gate.Location {
	loc := gate.Location{File: path, Line: 1}
	m := quotedRE.FindStringSubmatch(msg)
	if m == nil {
		return loc
	}
	var root yaml.Node
	if yaml.Unmarshal(b, &root) != nil {
		return loc
	}
	var find func(n *yaml.Node) *yaml.Node
	find = func(n *yaml.Node) *yaml.Node {
		if n.Kind == yaml.ScalarNode && n.Value == m[1] {
			return n
		}
		for _, c := range n.Content {
			if f := find(c); f != nil {
				return f
			}
		}
		return nil
	}
	if n := find(&root); n != nil {
		loc.Line, loc.Column = n.Line, n.Column
	}
	return loc
}

// RulesGate checks rule files.
type RulesGate struct {
	meta gate.Meta
	spec *RulesSpec
	dir  string
	api  *metrics.HTTPSource
}

func newRulesGate(m gate.Meta, spec any, env gate.Env) (gate.Gate, error) {
	s := spec.(*RulesSpec)
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
	for _, f := range files {
		b, err := fsx.ReadFile(ctx, f, fsx.MaxDocSize)
		if err != nil {
			res.Checks = append(res.Checks, gate.Check{Name: "rule file", Status: gate.StatusFail, Message: fmt.Sprintf("%s: %v", f, err)})
			continue
		}
		res.Inputs = append(res.Inputs, gate.Input{Name: f, Digest: digest(b)})
		info, probs := CheckRuleFile(f, b)
		chk := gate.Check{Name: "rule file " + f}
		if len(probs) > 0 {
			lines := make([]string, len(probs))
			for i, p := range probs {
				lines[i] = p.String()
			}
			chk.Status = gate.StatusFail
			chk.Observed = gate.Int(int64(len(probs)))
			chk.Message = fmt.Sprintf("%d problem(s): %s; fix them and run promtool check rules", len(probs), strings.Join(lines, "; "))
			chk.Location = &probs[0].Location
		} else {
			chk.Status = gate.StatusPass
			chk.Message = fmt.Sprintf("%d group(s), %d rule(s), every expr valid PromQL", len(info.Groups), info.Rules)
		}
		res.Checks = append(res.Checks, chk)
		for _, a := range info.Alerts {
			alerts[a] = true
		}
		groups = append(groups, info.Groups...)
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
