package slogate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// RuleOptions selects how CheckRuleFileWith judges a rule file.
type RuleOptions struct {
	// Legacy checks metric and label names as Prometheus 2.x does
	// ([a-zA-Z_:][a-zA-Z0-9_:]*); otherwise UTF-8 names are accepted, as
	// Prometheus 3 does.
	Legacy bool
	// Require holds the review lints every alerting rule must pass.
	Require *RuleRequire
}

// RuleRequire is what a team requires of every alerting rule in review.
type RuleRequire struct {
	For         bool                `yaml:"for" doc:"every alert has a non-zero for: (no alert pages on a single evaluation)"`
	Labels      map[string][]string `yaml:"labels" doc:"labels every alert carries, each with its allowed values (an empty list allows any value), e.g. severity: [critical, warning, info]"`
	Annotations []string            `yaml:"annotations" doc:"annotations every alert carries, e.g. [runbook_url, summary]"`
	Unique      bool                `yaml:"unique" doc:"a repeated rule (same record or alert name and the same labels in one file, as promtool check rules --lint=duplicate-rules finds) fails the file instead of warning"`
}

// RuleProblem is one problem in a rule file, at file:line:col of the key at
// fault. A Warn problem is reported without failing the file.
type RuleProblem struct {
	Location gate.Location
	Msg      string
	Warn     bool
}

func (p RuleProblem) String() string { return p.Location.String() + ": " + p.Msg }

// RuleFileInfo is what a valid rule file defines.
type RuleFileInfo struct {
	Groups []string
	Alerts []string
	Rules  int
	// Form is how the rules were shipped: "rule file", "PrometheusRule" or
	// "empty".
	Form string
}

// CheckRuleFile checks a rule file with the default options (UTF-8 names,
// no review lints); see CheckRuleFileWith.
func CheckRuleFile(path string, b []byte) (RuleFileInfo, []RuleProblem) {
	return CheckRuleFileWith(path, b, RuleOptions{})
}

// CheckRuleFileWith checks rules as Prometheus loads and evaluates them: a
// plain rule file (`groups:`), or PrometheusRule custom resources (one or
// many YAML documents, or a List of them), each group's keys, names and
// durations, and every rule through Prometheus's own rulefmt validation
// (names, labels, templates, expr parsed) plus the expression's type (a
// rule must yield a vector or a scalar). Empty files (null, {}, groups: [])
// are valid, as in Prometheus. Every problem is at the line:col of the key
// or value at fault, sorted by position.
func CheckRuleFileWith(path string, b []byte, o RuleOptions) (RuleFileInfo, []RuleProblem) {
	c := &ruleChecker{path: path, opts: o, info: RuleFileInfo{Form: "empty"}, groupNames: map[string]bool{}, seen: map[string]*yaml.Node{}}
	c.scheme = model.UTF8Validation
	if o.Legacy {
		c.scheme = model.LegacyValidation
	}
	c.parser = &lastParse{Parser: parser.NewParser(parser.Options{})}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for doc := 0; ; doc++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.addAt(yamlErrorLocation(path, err), "not valid YAML: %s", yamlErrorMessage(err))
			break
		}
		if expandedTooLarge(&n) {
			c.add(&n, "the document expands to more than %d nodes through aliases; refusing it", maxExpandedNodes)
			break
		}
		c.document(doc, &n)
	}
	sort.SliceStable(c.probs, func(i, j int) bool {
		a, b := c.probs[i].Location, c.probs[j].Location
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	for _, p := range c.probs {
		if !p.Warn {
			return RuleFileInfo{Form: c.info.Form}, c.probs
		}
	}
	return c.info, c.probs
}

// lastParse remembers the last expression it parsed: rulefmt's validation
// and the type check parse each expr once between them.
type lastParse struct {
	parser.Parser
	input string
	expr  parser.Expr
	err   error
	ok    bool
}

func (p *lastParse) ParseExpr(input string) (parser.Expr, error) {
	if !p.ok || p.input != input {
		p.expr, p.err = p.Parser.ParseExpr(input)
		p.input, p.ok = input, true
	}
	return p.expr, p.err
}

type ruleChecker struct {
	path       string
	opts       RuleOptions
	scheme     model.ValidationScheme
	parser     parser.Parser
	info       RuleFileInfo
	probs      []RuleProblem
	plain      bool
	groupNames map[string]bool
	seen       map[string]*yaml.Node // duplicate-rule keys → first rule
}

func (c *ruleChecker) loc(n *yaml.Node) gate.Location {
	if n == nil {
		return gate.Location{File: c.path, Line: 1}
	}
	return gate.Location{File: c.path, Line: n.Line, Column: n.Column}
}

func (c *ruleChecker) add(n *yaml.Node, format string, args ...any) {
	c.addAt(c.loc(n), format, args...)
}

func (c *ruleChecker) addAt(l gate.Location, format string, args ...any) {
	c.probs = append(c.probs, RuleProblem{Location: l, Msg: fmt.Sprintf(format, args...)})
}

// resolveNode follows aliases and documents to the value node.
func resolveNode(n *yaml.Node) *yaml.Node {
	for n != nil {
		switch n.Kind {
		case yaml.AliasNode:
			n = n.Alias
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		default:
			return n
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// mapping returns the key/value pairs of a mapping node, in order, with
// YAML merge keys (<<: *anchor) expanded as Prometheus's YAML decoder
// expands them: a key of the mapping itself wins over a merged one.
func mapping(n *yaml.Node) [][2]*yaml.Node {
	var own, merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveNode(n.Content[i+1])
		if k.Tag == "!!merge" && v != nil {
			srcs := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				srcs = nil
				for _, s := range v.Content {
					srcs = append(srcs, resolveNode(s))
				}
			}
			for _, s := range srcs {
				if s != nil && s.Kind == yaml.MappingNode {
					merged = append(merged, mapping(s)...)
				}
			}
			continue
		}
		own = append(own, [2]*yaml.Node{k, v})
	}
	if len(merged) == 0 {
		return own
	}
	seen := map[string]bool{}
	for _, kv := range own {
		seen[kv[0].Value] = true
	}
	for _, kv := range merged {
		if !seen[kv[0].Value] {
			seen[kv[0].Value] = true
			own = append(own, kv)
		}
	}
	return own
}

func lookupKey(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for _, p := range mapping(n) {
		if p[0].Value == key {
			return p[0], p[1]
		}
	}
	return nil, nil
}

// repeatedKeys reports a key repeated in one mapping, at the repeat:
// Prometheus's YAML decoder refuses the file.
func (c *ruleChecker) repeatedKeys(n *yaml.Node) {
	if n == nil || n.Kind == yaml.AliasNode {
		return
	}
	if n.Kind == yaml.MappingNode {
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Tag == "!!merge" {
				continue
			}
			if first, dup := seen[k.Value]; dup {
				c.add(k, "key %s repeats the one at line %d; Prometheus refuses a mapping with a repeated key", k.Value, first.Line)
				continue
			}
			seen[k.Value] = k
		}
	}
	for _, ch := range n.Content {
		c.repeatedKeys(ch)
	}
}

func (c *ruleChecker) document(doc int, d *yaml.Node) {
	c.repeatedKeys(d)
	n := resolveNode(d)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		c.add(n, "expected a rule file (a mapping with groups:) or a PrometheusRule, got a %s", kindName(n))
		return
	}
	_, kind := lookupKey(n, "kind")
	switch {
	case kind == nil:
		if doc > 0 || c.info.Form == "PrometheusRule" {
			c.add(n, "a second YAML document in a rule file: Prometheus reads only the first; put every group in one document or ship PrometheusRule resources")
			return
		}
		c.plain = true
		c.ruleFile(n)
	case kind.Value == "PrometheusRule":
		c.prometheusRule(n)
	case kind.Value == "List" || strings.HasSuffix(kind.Value, "List"):
		_, items := lookupKey(n, "items")
		if items == nil || items.Kind != yaml.SequenceNode {
			c.add(kind, "a %s without items; expected items: [PrometheusRule, …]", kind.Value)
			return
		}
		for _, it := range items.Content {
			it = resolveNode(it)
			if _, k := lookupKey(it, "kind"); k == nil || k.Value != "PrometheusRule" {
				c.add(it, "a %s item that is not a PrometheusRule; expected kind: PrometheusRule", kind.Value)
				continue
			}
			c.prometheusRule(it)
		}
	default:
		c.add(kind, "kind %s is not a rule file; expected a Prometheus rule file (groups:) or kind: PrometheusRule (monitoring.coreos.com/v1)", kind.Value)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar " + strconv.Quote(n.Value)
	}
	return "mapping"
}

// ruleFile checks a plain rule file: only groups:.
func (c *ruleChecker) ruleFile(n *yaml.Node) {
	if c.info.Form == "empty" {
		c.info.Form = "rule file"
	}
	for _, kv := range mapping(n) {
		switch kv[0].Value {
		case "groups":
			c.groups(kv[1], false)
		case "apiVersion", "metadata", "spec":
			c.add(kv[0], "field %s not found in a rule file: a PrometheusRule resource needs kind: PrometheusRule; a plain rule file has only groups:", kv[0].Value)
		default:
			c.add(kv[0], "field %s not found in a rule file; expected only groups:", kv[0].Value)
		}
	}
}

// prometheusRule checks a monitoring.coreos.com PrometheusRule resource.
func (c *ruleChecker) prometheusRule(n *yaml.Node) {
	c.info.Form = "PrometheusRule"
	k, api := lookupKey(n, "apiVersion")
	if api == nil || !strings.HasPrefix(api.Value, "monitoring.coreos.com/") {
		at := k
		if at == nil {
			at = n
		}
		c.add(at, "a PrometheusRule without apiVersion monitoring.coreos.com/v1; expected apiVersion: monitoring.coreos.com/v1")
	}
	sk, spec := lookupKey(n, "spec")
	if spec == nil || isNull(spec) {
		return // the operator accepts a resource without groups
	}
	if spec.Kind != yaml.MappingNode {
		c.add(sk, "spec is a %s; expected a mapping with groups:", kindName(spec))
		return
	}
	for _, kv := range mapping(spec) {
		if kv[0].Value != "groups" {
			c.add(kv[0], "field %s not found in a PrometheusRule spec; expected only groups:", kv[0].Value)
			continue
		}
		c.groups(kv[1], true)
	}
}

var groupKeys = []string{"name", "interval", "query_offset", "limit", "rules", "labels"}

// operatorGroupKeys are the group keys prometheus-operator adds (Thanos).
var operatorGroupKeys = []string{"partial_response_strategy"}

var ruleKeys = []string{"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}

func (c *ruleChecker) groups(n *yaml.Node, operator bool) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		c.add(n, "groups is a %s; expected a list of groups", kindName(n))
		return
	}
	for _, g := range n.Content {
		c.group(resolveNode(g), operator)
	}
}

func (c *ruleChecker) group(g *yaml.Node, operator bool) {
	if g == nil || g.Kind != yaml.MappingNode {
		c.add(g, "a group that is not a mapping; expected name: and rules:")
		return
	}
	nk, name := lookupKey(g, "name")
	gname := ""
	switch {
	case name == nil || name.Kind != yaml.ScalarNode || name.Value == "":
		at := nk
		if at == nil {
			at = g
		}
		c.add(at, "a group without a name; expected name: <group>")
	case c.groupNames[name.Value]:
		c.add(name, "groupname: %q is repeated in the same file", name.Value)
		gname = name.Value
	default:
		gname = name.Value
		c.groupNames[gname] = true
	}
	c.info.Groups = append(c.info.Groups, gname)
	for _, kv := range mapping(g) {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "name", "rules":
		case "interval", "query_offset":
			c.duration(fmt.Sprintf("group %q", gname), k, v)
		case "limit":
			if _, err := strconv.Atoi(v.Value); err != nil || v.Kind != yaml.ScalarNode {
				c.add(v, "group %q: limit %q is not an integer", gname, v.Value)
			}
		case "labels":
			c.labels(fmt.Sprintf("group %q", gname), v, false)
		default:
			if operator && slices.Contains(operatorGroupKeys, k.Value) {
				continue
			}
			c.add(k, "group %q: field %s not found in a rule group; expected one of %s", gname, k.Value, strings.Join(groupKeys, ", "))
		}
	}
	_, rules := lookupKey(g, "rules")
	if isNull(rules) {
		return
	}
	if rules.Kind != yaml.SequenceNode {
		c.add(rules, "group %q: rules is a %s; expected a list of rules", gname, kindName(rules))
		return
	}
	for i, r := range rules.Content {
		c.rule(gname, i+1, resolveNode(r))
	}
}

func (c *ruleChecker) duration(where string, k, v *yaml.Node) (model.Duration, bool) {
	if v.Kind != yaml.ScalarNode {
		c.add(v, "%s: %s is a %s; expected a duration such as 5m", where, k.Value, kindName(v))
		return 0, false
	}
	d, err := model.ParseDuration(v.Value)
	if err != nil {
		c.add(v, "%s: %s %q is not a duration; expected a number and a unit (ms, s, m, h, d, w, y) such as 5m", where, k.Value, v.Value)
		return 0, false
	}
	return d, true
}

// labels checks a labels (or annotations) mapping and returns it.
func (c *ruleChecker) labels(where string, v *yaml.Node, annotations bool) (map[string]string, map[string][2]*yaml.Node) {
	what := "label"
	if annotations {
		what = "annotation"
	}
	out, nodes := map[string]string{}, map[string][2]*yaml.Node{}
	if isNull(v) {
		return out, nodes
	}
	if v.Kind != yaml.MappingNode {
		c.add(v, "%s: %ss is a %s; expected a mapping of names to values", where, what, kindName(v))
		return out, nodes
	}
	for _, kv := range mapping(v) {
		k, val := kv[0], kv[1]
		if val == nil || val.Kind != yaml.ScalarNode {
			c.add(k, "%s: %s %s is not a string", where, what, k.Value)
			continue
		}
		if !c.scheme.IsValidLabelName(k.Value) || (!annotations && k.Value == model.MetricNameLabel) {
			c.add(k, "%s: invalid %s name: %s%s", where, what, k.Value, c.schemeHint())
			continue
		}
		out[k.Value] = val.Value
		nodes[k.Value] = [2]*yaml.Node{k, val}
	}
	return out, nodes
}

func (c *ruleChecker) schemeHint() string {
	if c.opts.Legacy {
		return " (Prometheus 2.x names match [a-zA-Z_:][a-zA-Z0-9_:]*)"
	}
	return ""
}

// ruleNode holds a rule's nodes for positions.
type ruleNode struct {
	mapping                         *yaml.Node
	keys                            map[string]*yaml.Node
	record, alert, expr             yaml.Node
	labelNodes, annotationNodes     map[string][2]*yaml.Node
	labelsKey, annotationsKey, name *yaml.Node
}

func (c *ruleChecker) rule(group string, idx int, n *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		c.add(n, "group %q, rule %d: not a mapping; expected record: or alert: with expr:", group, idx)
		return
	}
	var r rulefmt.Rule
	rn := ruleNode{mapping: n, keys: map[string]*yaml.Node{}}
	where := func() string { return fmt.Sprintf("group %q, rule %d, %q", group, idx, r.Alert+r.Record) }
	for _, kv := range mapping(n) {
		k, v := kv[0], kv[1]
		rn.keys[k.Value] = k
		switch k.Value {
		case "record", "alert", "expr":
			if v.Kind != yaml.ScalarNode {
				c.add(v, "group %q, rule %d: %s is a %s; expected a string", group, idx, k.Value, kindName(v))
				continue
			}
			switch k.Value {
			case "record":
				r.Record, rn.record = v.Value, *v
			case "alert":
				r.Alert, rn.alert = v.Value, *v
			default:
				r.Expr, rn.expr = v.Value, *v
			}
		}
	}
	if r.Alert != "" {
		rn.name = rn.keys["alert"]
	} else if r.Record != "" {
		rn.name = rn.keys["record"]
	} else {
		rn.name = n
	}
	for _, kv := range mapping(n) {
		k, v := kv[0], kv[1]
		switch k.Value {
		case "record", "alert", "expr":
		case "for":
			if d, ok := c.duration(where(), k, v); ok {
				r.For = d
			}
		case "keep_firing_for":
			if d, ok := c.duration(where(), k, v); ok {
				r.KeepFiringFor = d
			}
		case "labels":
			rn.labelsKey = k
			r.Labels, rn.labelNodes = c.labels(where(), v, false)
		case "annotations":
			rn.annotationsKey = k
			r.Annotations, rn.annotationNodes = c.labels(where(), v, true)
		default:
			c.add(k, "%s: field %s not found in a rule; expected one of %s", where(), k.Value, strings.Join(ruleKeys, ", "))
		}
	}
	c.info.Rules++
	if r.Alert != "" {
		c.info.Alerts = append(c.info.Alerts, r.Alert)
	}
	// Prometheus's own checks: record/alert, expr parses, recording rule
	// fields, names, templates. Label and annotation names were checked
	// above with positions; keep rulefmt from repeating them.
	for _, we := range r.Validate(rulefmt.RuleNode{}, c.scheme, c.parser) {
		c.validationError(where(), &rn, we.Error())
	}
	c.exprType(where(), &rn, r)
	c.lint(where(), &rn, r)
	c.duplicate(where(), &rn, r)
}

var posPrefixRE = regexp.MustCompile(`^(\d+):(\d+): (?:\d+:\d+: )?`)
var templateErrRE = regexp.MustCompile(`^(label|annotation) "([^"]*)": `)

// validationError places one rulefmt error at the key it is about.
func (c *ruleChecker) validationError(where string, rn *ruleNode, msg string) {
	at := rn.name
	if m := posPrefixRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		msg = msg[len(m[0]):]
		if line > 0 {
			at = &yaml.Node{Line: line, Column: col}
		}
	}
	if m := templateErrRE.FindStringSubmatch(msg); m != nil {
		nodes := rn.labelNodes
		if m[1] == "annotation" {
			nodes = rn.annotationNodes
		}
		if kv, ok := nodes[m[2]]; ok {
			at = kv[1]
		}
	}
	if strings.HasPrefix(msg, "invalid field 'annotations'") && rn.annotationsKey != nil {
		at = rn.annotationsKey
	}
	for _, k := range []string{"for", "keep_firing_for"} {
		if strings.HasPrefix(msg, "invalid field '"+k+"'") && rn.keys[k] != nil {
			at = rn.keys[k]
		}
	}
	switch {
	case strings.HasPrefix(msg, "field 'expr' must be set") && rn.keys["expr"] != nil:
		at = rn.keys["expr"]
	case strings.HasPrefix(msg, "could not parse expression"):
		at = &rn.expr
	case strings.HasPrefix(msg, "invalid recording rule name") || strings.HasPrefix(msg, "braces present"):
		at = &rn.record
	case strings.HasPrefix(msg, "only one of") || strings.HasPrefix(msg, "one of 'record'"):
		at = rn.mapping
	}
	if strings.HasPrefix(msg, "invalid label value") {
		for _, kv := range rn.labelNodes {
			if !model.LabelValue(kv[1].Value).IsValid() {
				at = kv[1]
			}
		}
	}
	c.add(at, "%s: %s", where, msg)
}

// exprType refuses expressions Prometheus loads but cannot evaluate as a
// rule (range vectors, strings), and in legacy mode UTF-8 names.
func (c *ruleChecker) exprType(where string, rn *ruleNode, r rulefmt.Rule) {
	if r.Expr == "" {
		return
	}
	e, err := c.parser.ParseExpr(r.Expr)
	if err != nil {
		return // reported by rulefmt
	}
	at := &rn.expr
	switch t := e.Type(); t {
	case parser.ValueTypeVector, parser.ValueTypeScalar:
	default:
		c.add(at, "%s: expr is a %s; a rule must yield an instant vector or a scalar (Prometheus loads it and fails every evaluation with \"rule result is not a vector or scalar\")", where, t)
	}
	if c.opts.Legacy {
		for _, name := range exprNames(e) {
			if !model.LegacyValidation.IsValidLabelName(name) && !model.LegacyValidation.IsValidMetricName(name) {
				c.add(at, "%s: expr uses the name %q, which Prometheus 2.x refuses; expected [a-zA-Z_:][a-zA-Z0-9_:]* (or set prometheus-version: 3)", where, name)
			}
		}
	}
}

// exprNames returns the metric and label names an expression uses.
func exprNames(e parser.Expr) []string {
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			for _, m := range n.LabelMatchers {
				out = append(out, m.Name)
				if m.Name == model.MetricNameLabel {
					out = append(out, m.Value)
				}
			}
		case *parser.AggregateExpr:
			out = append(out, n.Grouping...)
		case *parser.BinaryExpr:
			if n.VectorMatching != nil {
				out = append(out, n.VectorMatching.MatchingLabels...)
				out = append(out, n.VectorMatching.Include...)
			}
		}
		return nil
	})
	return out
}

// lint applies the review requirements to an alerting rule.
func (c *ruleChecker) lint(where string, rn *ruleNode, r rulefmt.Rule) {
	req := c.opts.Require
	if req == nil || r.Alert == "" {
		return
	}
	if req.For && r.For == 0 {
		at := rn.name
		if k := rn.keys["for"]; k != nil {
			at = k
		}
		c.add(at, "%s: no for: (or for: 0); expected a pending period such as for: 5m so one bad evaluation does not page", where)
	}
	for _, name := range sortedKeys(req.Labels) {
		allowed := req.Labels[name]
		kv, ok := rn.labelNodes[name]
		switch {
		case !ok:
			at := rn.name
			if rn.labelsKey != nil {
				at = rn.labelsKey
			}
			c.add(at, "%s: no %s label; expected one of %s", where, name, strings.Join(orAny(allowed), ", "))
		case len(allowed) > 0 && !slices.Contains(allowed, kv[1].Value):
			c.add(kv[1], "%s: %s %q; expected one of %s", where, name, kv[1].Value, strings.Join(allowed, ", "))
		}
	}
	for _, name := range req.Annotations {
		if kv, ok := rn.annotationNodes[name]; !ok || strings.TrimSpace(kv[1].Value) == "" {
			at := rn.name
			if rn.annotationsKey != nil {
				at = rn.annotationsKey
			}
			c.add(at, "%s: no %s annotation; expected one (review requires %s)", where, name, strings.Join(req.Annotations, ", "))
		}
	}
}

func orAny(vs []string) []string {
	if len(vs) == 0 {
		return []string{"any value"}
	}
	return vs
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// duplicate reports a rule with the name and labels of an earlier one in
// the file, at the repeat, as promtool's duplicate-rules lint does.
func (c *ruleChecker) duplicate(where string, rn *ruleNode, r rulefmt.Rule) {
	name := r.Alert
	kind := "alert"
	if name == "" {
		name, kind = r.Record, "record"
	}
	if name == "" {
		return
	}
	var key strings.Builder
	key.WriteString(kind + "\x00" + name)
	for _, k := range sortedKeys(r.Labels) {
		key.WriteString("\x00" + k + "=" + r.Labels[k])
	}
	first, dup := c.seen[key.String()]
	if !dup {
		c.seen[key.String()] = rn.name
		return
	}
	p := RuleProblem{Location: c.loc(rn.name), Warn: c.opts.Require == nil || !c.opts.Require.Unique,
		Msg: fmt.Sprintf("%s: %s %s repeats the rule at line %d with the same labels; give it a distinguishing label or remove it", where, kind, name, first.Line)}
	c.probs = append(c.probs, p)
}

var yamlLineRE = regexp.MustCompile(`line (\d+):? ?(.*)`)

func yamlErrorLocation(path string, err error) gate.Location {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return gate.Location{File: path, Line: line}
	}
	return gate.Location{File: path, Line: 1}
}

func yamlErrorMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil && m[2] != "" {
		return m[2]
	}
	return msg
}

// ruleNameRE matches the rule prefix of a problem, for callers that say a
// repeated problem once.
var ruleNameRE = regexp.MustCompile(`^group "[^"]*", rule \d+, "([^"]*)": `)
