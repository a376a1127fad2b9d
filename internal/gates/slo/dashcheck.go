package slogate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/logql"
	"github.com/maestro-conductor/releasegate/internal/metrics"
)

// DashboardOptions are the dashboard gate's requirements.
type DashboardOptions struct {
	// TenantVariable must be a template variable, used by RequirePanels.
	TenantVariable string
	// RequirePanels are panel titles every dashboard must have.
	RequirePanels []string
}

// DashboardProblem is one problem in a dashboard, at file:line:col of the
// key at fault.
type DashboardProblem struct {
	Location gate.Location
	Msg      string
}

func (p DashboardProblem) String() string { return p.Location.String() + ": " + p.Msg }

// DashboardReport is what one dashboard (a file may hold several: a
// ConfigMap, a List) was judged to be.
type DashboardReport struct {
	// Name is the file, or file#key for a ConfigMap entry.
	Name string
	// Form is how the dashboard was shipped: dashboard JSON, HTTP API
	// envelope, v2 schema, ConfigMap, GrafanaDashboard, ….
	Form  string
	Title string
	// PromQL and LogQL count the queries checked in each language.
	PromQL, LogQL int
	// Unchecked says what was seen but not checked, and why.
	Unchecked []string
	Problems  []DashboardProblem
}

// CheckDashboardFile reads a file of Grafana dashboards in every form
// they ship in — dashboard JSON (panels, rows with nested or collapsed
// panels, library panels exported with their models), the HTTP API
// envelope {"dashboard": …, "meta": …}, the v2 schema (kind: Dashboard,
// elements), a ConfigMap or List of them (data: {x.json: "…"}) and the
// grafana-operator GrafanaDashboard resource (spec.json) — and checks
// each: template variables resolved as Grafana resolves them, every query
// parsed in its datasource's language (PromQL for Prometheus, LogQL for
// Loki), unique panel ids, datasource references that resolve and the
// required panels. Anything else is refused as unknown. Problems carry
// the line:col of the key at fault in the file.
func CheckDashboardFile(path string, b []byte, o DashboardOptions) []DashboardReport {
	c := &dashChecker{path: path, opts: o}
	trimmed := bytes.TrimLeft(b, " \t\r\n\ufeff")
	switch {
	case len(trimmed) == 0:
		return []DashboardReport{c.fail(path, "", nil, "an empty file; expected a Grafana dashboard")}
	case trimmed[0] == '{' || trimmed[0] == '[':
		root, err := parseJSONTree(b)
		if err != nil {
			var se *JSONSyntaxError
			r := DashboardReport{Name: path, Form: "JSON"}
			if errors.As(err, &se) {
				r.Problems = append(r.Problems, DashboardProblem{gate.Location{File: path, Line: se.Line, Column: se.Column}, "not valid JSON: " + se.Err.Error()})
			} else {
				r.Problems = append(r.Problems, DashboardProblem{gate.Location{File: path, Line: 1}, "not valid JSON: " + err.Error()})
			}
			return []DashboardReport{r}
		}
		return c.root(path, root, "")
	}
	lines := bytes.Split(b, []byte("\n"))
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []*jnode
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			l := yamlErrorLocation(path, err)
			return []DashboardReport{{Name: path, Form: "YAML", Problems: []DashboardProblem{{l, "not valid YAML: " + yamlErrorMessage(err)}}}}
		}
		if expandedTooLarge(&n) {
			return []DashboardReport{c.fail(path, "YAML", &jnode{line: n.Line, col: n.Column}, "the document expands to more than %d nodes through aliases; refusing it", maxExpandedNodes)}
		}
		if !isNull(resolveNode(&n)) {
			docs = append(docs, yamlTreeSrc(&n, lines))
		}
	}
	if len(docs) == 1 {
		return c.root(path, docs[0], "")
	}
	// a manifest of several resources: the dashboards in it are checked,
	// other resources (the Grafana instance, a Deployment) noted
	var out []DashboardReport
	var others []string
	for _, d := range docs {
		kind := d.get("kind").text()
		if kind != "" && !dashboardKind(kind) || kind == "ConfigMap" && !holdsDashboard(d) {
			others = append(others, fmt.Sprintf("%s: kind %s is not a dashboard", c.at(d.get("kind")), kind))
			continue
		}
		out = append(out, c.root(path, d, "")...)
	}
	if len(out) == 0 {
		return []DashboardReport{c.fail(path, "YAML", nil, "no dashboard in %d YAML documents; expected a ConfigMap, GrafanaDashboard or Dashboard resource (found %s)", len(docs), strings.Join(others, "; "))}
	}
	if len(others) > 0 {
		out[0].Unchecked = append(out[0].Unchecked, others...)
	}
	return out
}

func dashboardKind(kind string) bool {
	switch kind {
	case "ConfigMap", "GrafanaDashboard", "GrafanaManifest", "Dashboard":
		return true
	}
	return strings.HasSuffix(kind, "List")
}

// holdsDashboard reports whether a ConfigMap has a dashboard JSON entry.
func holdsDashboard(cm *jnode) bool {
	keys, vals := cm.get("data").members()
	for i, k := range keys {
		if dashboardEntry(k, vals[i]) {
			return true
		}
	}
	return false
}

// dashboardEntry: a data key named *.json, or whose value is a JSON object.
func dashboardEntry(key string, v *jnode) bool {
	return strings.HasSuffix(key, ".json") || strings.HasPrefix(strings.TrimSpace(v.text()), "{")
}

type dashChecker struct {
	path string
	opts DashboardOptions
}

func (c *dashChecker) at(n *jnode) gate.Location {
	l, col := n.keyPos()
	if l == 0 {
		l = 1
	}
	return gate.Location{File: c.path, Line: l, Column: col}
}

func (c *dashChecker) fail(name, form string, n *jnode, format string, args ...any) DashboardReport {
	return DashboardReport{Name: name, Form: form, Problems: []DashboardProblem{{c.at(n), fmt.Sprintf(format, args...)}}}
}

func (c *dashChecker) root(name string, n *jnode, via string) []DashboardReport {
	form := func(f string) string {
		if via != "" {
			return via + ": " + f
		}
		return f
	}
	if n == nil || n.kind != 'o' {
		return []DashboardReport{c.fail(name, form("unknown"), n, "not a Grafana dashboard: expected a JSON object or a resource")}
	}
	kind := n.get("kind").text()
	switch {
	case kind == "ConfigMap":
		return c.configMap(name, n, form("ConfigMap"))
	case strings.HasSuffix(kind, "List"):
		var out []DashboardReport
		for _, it := range n.get("items").items() {
			out = append(out, c.root(name, it, form(kind))...)
		}
		if len(out) == 0 {
			out = append(out, c.fail(name, form(kind), n.get("kind"), "a %s without items; expected dashboards in items", kind))
		}
		return out
	case kind == "GrafanaDashboard":
		return c.grafanaDashboard(name, n, form("GrafanaDashboard"))
	case kind == "GrafanaManifest":
		if t := n.path("spec", "template"); t != nil {
			return c.root(name, t, form("GrafanaManifest"))
		}
		return []DashboardReport{c.fail(name, form(kind), n.get("kind"), "a GrafanaManifest without spec.template")}
	case kind == "Dashboard":
		spec := n.get("spec")
		switch {
		case spec.get("elements") != nil:
			return []DashboardReport{c.v2(name, spec, form("Dashboard resource, v2 schema"))}
		case spec.get("panels") != nil || spec.get("rows") != nil:
			return []DashboardReport{c.classic(name, spec, form("Dashboard resource"))}
		}
		return []DashboardReport{c.fail(name, form("Dashboard resource"), n.get("kind"), "a Dashboard resource whose spec has neither elements (v2 schema) nor panels; found %s", spec.keyList())}
	case kind != "":
		return []DashboardReport{c.fail(name, form("unknown"), n.get("kind"), "kind %s is not a dashboard; expected a dashboard JSON, a Dashboard, ConfigMap or GrafanaDashboard resource", kind)}
	case n.get("dashboard") != nil && n.get("dashboard").is('o'):
		return c.root(name, n.get("dashboard"), form("HTTP API envelope"))
	case n.get("elements") != nil:
		return []DashboardReport{c.v2(name, n, form("v2 schema"))}
	case n.get("panels") != nil || n.get("rows") != nil:
		return []DashboardReport{c.classic(name, n, form("dashboard JSON"))}
	}
	return []DashboardReport{c.fail(name, form("unknown"), n,
		"not a Grafana dashboard: expected panels (dashboard JSON), elements (v2 schema), {\"dashboard\": …} (HTTP API) or a ConfigMap/GrafanaDashboard holding one; found %s", n.keyList())}
}

func (c *dashChecker) configMap(name string, n *jnode, form string) []DashboardReport {
	data := n.get("data")
	var out []DashboardReport
	keys, vals := data.members()
	for i, k := range keys {
		if !dashboardEntry(k, vals[i]) {
			continue
		}
		out = append(out, c.embedded(name+"#"+k, vals[i], form)...)
	}
	if len(out) == 0 {
		at := data
		if at == nil {
			at = n.get("kind")
		}
		out = append(out, c.fail(name, form, at, "a ConfigMap without a *.json entry in data; expected data: {<name>.json: <dashboard JSON>}"))
	}
	return out
}

func (c *dashChecker) grafanaDashboard(name string, n *jnode, form string) []DashboardReport {
	spec := n.get("spec")
	if j := spec.get("json"); j != nil {
		return c.embedded(name, j, form)
	}
	for _, k := range []string{"gzipJson", "url", "configMapRef", "grafanaCom", "jsonnet", "jsonnetLib", "oci"} {
		if v := spec.get(k); v != nil {
			return []DashboardReport{{Name: name, Form: form, Title: n.path("metadata", "name").text(),
				Unchecked: []string{fmt.Sprintf("%s: the dashboard comes from spec.%s, not from this file; its queries are not checked", c.at(v), k)}}}
		}
	}
	return []DashboardReport{c.fail(name, form, n.get("kind"), "a GrafanaDashboard without spec.json; expected the dashboard JSON in spec.json")}
}

// embedded checks dashboard JSON held in a string of the file.
func (c *dashChecker) embedded(name string, v *jnode, form string) []DashboardReport {
	if !v.is('s') {
		return []DashboardReport{c.fail(name, form, v, "expected the dashboard JSON as a string")}
	}
	root, err := parseJSONTree([]byte(v.str))
	if err != nil {
		var se *JSONSyntaxError
		loc := c.at(v)
		msg := "not valid JSON: " + err.Error()
		if errors.As(err, &se) {
			msg = "not valid JSON: " + se.Err.Error()
			if v.block > 0 {
				loc = gate.Location{File: c.path, Line: v.line + se.Line, Column: v.block - 1 + se.Column}
			} else {
				msg += fmt.Sprintf(" (line %d:%d of the embedded JSON)", se.Line, se.Column)
			}
		}
		return []DashboardReport{{Name: name, Form: form, Problems: []DashboardProblem{{loc, msg}}}}
	}
	if v.block > 0 {
		root.shift(v.line, v.block-1)
	} else {
		root.pin(v.line, v.col)
	}
	return c.root(name, root, form)
}

// dashEnv is what queries of one dashboard resolve against.
type dashEnv struct {
	vars     map[string]tvar
	dsVars   map[string]string // datasource variable or __inputs entry → plugin type
	elements *jnode            // __elements: library panel models
	ids      map[string]*jnode
	titles   map[string][]string // panel title → its queries
	rootNode *jnode
}

func (c *dashChecker) classic(name string, d *jnode, form string) DashboardReport {
	r := DashboardReport{Name: name, Form: form, Title: d.get("title").text()}
	env := &dashEnv{vars: map[string]tvar{}, dsVars: map[string]string{}, elements: d.get("__elements"), ids: map[string]*jnode{}, titles: map[string][]string{}, rootNode: d}
	for _, v := range d.path("templating", "list").items() {
		name, typ := v.get("name").text(), v.get("type").text()
		if name == "" {
			continue
		}
		if typ == "datasource" {
			env.dsVars[name] = v.get("query").text()
			env.vars[name] = tvar{name: name, typ: typ, value: "ds", dsType: env.dsVars[name]}
			continue
		}
		env.vars[name] = tvar{name: name, typ: typ, value: variableValue(v, typ)}
	}
	for _, in := range d.get("__inputs").items() {
		name := in.get("name").text()
		switch in.get("type").text() {
		case "datasource":
			env.dsVars[name] = in.get("pluginId").text()
		case "constant":
			env.vars[name] = tvar{name: name, typ: "constant", value: in.get("value").scalar()}
		}
	}
	c.tenantVariable(&r, env, d.get("templating"))
	for _, p := range d.get("panels").items() {
		c.panel(&r, env, p)
	}
	for _, row := range d.get("rows").items() {
		for _, p := range row.get("panels").items() {
			c.panel(&r, env, p)
		}
	}
	c.requiredPanels(&r, env)
	return r
}

func (c *dashChecker) tenantVariable(r *DashboardReport, env *dashEnv, at *jnode) {
	if tv := c.opts.TenantVariable; tv != "" {
		if _, ok := env.vars[tv]; !ok {
			if at == nil {
				at = env.rootNode
			}
			r.problem(c.at(at), "no template variable %q; expected one so the dashboard can show each tenant", tv)
		}
	}
}

func (r *DashboardReport) problem(l gate.Location, format string, args ...any) {
	r.Problems = append(r.Problems, DashboardProblem{l, fmt.Sprintf(format, args...)})
}

func panelName(p *jnode) string {
	if id := p.get("id").scalar(); id != "" {
		return fmt.Sprintf("panel %s %q", id, p.get("title").text())
	}
	return fmt.Sprintf("panel %q", p.get("title").text())
}

// panel checks a classic panel and the panels nested in it (rows).
func (c *dashChecker) panel(r *DashboardReport, env *dashEnv, p *jnode) {
	if p.kind != 'o' {
		return
	}
	name := panelName(p)
	if idn := p.get("id"); idn.scalar() != "" {
		if other, dup := env.ids[idn.scalar()]; dup {
			r.problem(c.at(idn), "%s: id %s is also used by panel %q; panel ids must be unique", name, idn.scalar(), other.text())
		} else {
			env.ids[idn.scalar()] = p.get("title")
		}
	}
	title := p.get("title").text()
	env.titles[title] = append(env.titles[title], "")
	for _, sub := range p.get("panels").items() {
		c.panel(r, env, sub)
	}
	source := p
	if lib := p.get("libraryPanel"); lib != nil && p.get("targets") == nil {
		uid := lib.get("uid").text()
		model := env.elements.path(uid, "model")
		if model == nil {
			r.Unchecked = append(r.Unchecked, fmt.Sprintf("%s: %s is library panel %q (uid %s), kept in Grafana; its queries are not in the file", c.at(lib), name, lib.get("name").text(), uid))
			return
		}
		source = model
	}
	panelLang := c.datasourceType(r, env, source.get("datasource"), name)
	for _, t := range source.get("targets").items() {
		where := fmt.Sprintf("%s target %s", name, t.get("refId").text())
		lang := panelLang
		if tds := t.get("datasource"); !tds.isNull() {
			lang = c.datasourceType(r, env, tds, where)
		}
		if lang == "mixed" { // a target of a mixed panel without its own: the default datasource
			lang = ""
		}
		expr := t.get("expr")
		if expr == nil && t.get("query").is('s') && lang == "loki" {
			expr = t.get("query")
		}
		c.query(r, env, where, lang, expr, t, title)
	}
}

// datasourceType resolves a datasource reference to a plugin type: "" for
// the default (or a name whose type the file does not say), "mixed", or
// the plugin id. A reference to an undefined variable is a problem.
func (c *dashChecker) datasourceType(r *DashboardReport, env *dashEnv, ds *jnode, where string) string {
	if ds.isNull() {
		return ""
	}
	typ, ref := "", ""
	switch ds.kind {
	case 's':
		ref = ds.str
	case 'o':
		typ, ref = ds.get("type").text(), ds.get("uid").text()
	default:
		r.problem(c.at(ds), "%s: datasource %s is neither a name nor {type, uid}", where, ds.str)
		return ""
	}
	switch ref {
	case "-- Mixed --":
		return "mixed"
	case "-- Grafana --", "grafana":
		return "grafana"
	case "-- Dashboard --":
		return "dashboard"
	}
	if typ == "datasource" {
		return "grafana"
	}
	for _, m := range varRE.FindAllStringSubmatch(ref, -1) {
		name := m[1] + m[2] + m[4]
		pt, ok := env.dsVars[name]
		if !ok {
			r.problem(c.at(ds), "%s: datasource refers to $%s, which is neither a datasource variable nor an __inputs entry; define it or fix the name", where, name)
			if typ == "" {
				return "?"
			}
		}
		if typ == "" {
			typ = pt
		}
	}
	if typ == "" && ds.is('s') {
		low := strings.ToLower(ref)
		switch {
		case strings.Contains(low, "loki"):
			return "loki"
		case strings.Contains(low, "prom"), strings.Contains(low, "thanos"), strings.Contains(low, "mimir"), strings.Contains(low, "cortex"), strings.Contains(low, "victoria"):
			return "prometheus"
		}
	}
	return typ
}

// promTypes are the datasource types whose queries are PromQL.
var promTypes = map[string]bool{"prometheus": true, "grafana-amazonprometheus-datasource": true, "grafana-azureprometheus-datasource": true}

// query checks one query in the language of its datasource type.
func (c *dashChecker) query(r *DashboardReport, env *dashEnv, where, typ string, expr, target *jnode, title string) {
	text := strings.TrimSpace(expr.text())
	if typ == "?" {
		typ = ""
	}
	if !promTypes[typ] && typ != "loki" && typ != "" {
		if text != "" || expr != nil || typ != "grafana" {
			r.Unchecked = append(r.Unchecked, fmt.Sprintf("%s: %s: datasource type %s is not checked (the gate reads PromQL and LogQL)", c.at(target), where, typ))
		}
		return
	}
	if text == "" {
		return
	}
	env.titles[title] = append(env.titles[title], text)
	q, undefined := substitute(text, env.vars)
	for _, u := range undefined {
		r.problem(c.at(expr), "%s: $%s is not a template variable of the dashboard; define it or fix the name", where, u)
	}
	switch {
	case promTypes[typ]:
		r.PromQL++
		if _, err := metrics.ParseQuery(q); err != nil {
			r.problem(c.at(expr), "%s: expr is not valid PromQL: %v", where, err)
		}
	case typ == "loki":
		r.LogQL++
		if _, err := logql.Check(q); err != nil {
			r.problem(c.at(expr), "%s: expr is not well-formed LogQL: %v", where, err)
		}
	default: // the default datasource: PromQL, or LogQL if it reads as such
		_, perr := metrics.ParseQuery(q)
		if perr == nil {
			r.PromQL++
			return
		}
		if _, lerr := logql.Check(q); lerr == nil {
			r.LogQL++
			return
		}
		r.PromQL++
		r.problem(c.at(expr), "%s: expr is not valid PromQL (nor LogQL; the datasource does not say its type): %v", where, perr)
	}
}

func (c *dashChecker) requiredPanels(r *DashboardReport, env *dashEnv) {
	for _, want := range c.opts.RequirePanels {
		qs, ok := env.titles[want]
		if !ok {
			r.problem(c.at(env.rootNode), "no panel titled %q; expected one", want)
			continue
		}
		if tv := c.opts.TenantVariable; tv != "" && !usesVar(qs, tv) {
			r.problem(c.at(env.rootNode), "panel %q does not use $%s; expected a per-tenant query", want, tv)
		}
	}
	sort.SliceStable(r.Problems, func(i, j int) bool {
		a, b := r.Problems[i].Location, r.Problems[j].Location
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}

func usesVar(queries []string, name string) bool {
	for _, q := range queries {
		for _, m := range varRE.FindAllStringSubmatch(q, -1) {
			if m[1]+m[2]+m[4] == name {
				return true
			}
		}
	}
	return false
}

// v2 checks a Grafana v2 schema dashboard spec: variables and elements.
func (c *dashChecker) v2(name string, spec *jnode, form string) DashboardReport {
	r := DashboardReport{Name: name, Form: form, Title: spec.get("title").text()}
	env := &dashEnv{vars: map[string]tvar{}, dsVars: map[string]string{}, ids: map[string]*jnode{}, titles: map[string][]string{}, rootNode: spec}
	for _, v := range spec.get("variables").items() {
		s := v.get("spec")
		vname := s.get("name").text()
		typ := strings.ToLower(strings.TrimSuffix(v.get("kind").text(), "Variable"))
		if typ == "text" {
			typ = "textbox"
		}
		if vname == "" {
			continue
		}
		if typ == "datasource" {
			env.dsVars[vname] = s.get("pluginId").text()
			env.vars[vname] = tvar{name: vname, typ: typ, value: "ds"}
			continue
		}
		env.vars[vname] = tvar{name: vname, typ: typ, value: variableValue(s, typ)}
	}
	c.tenantVariable(&r, env, spec.get("variables"))
	els := spec.get("elements")
	keys, vals := els.members()
	for i, key := range keys {
		el := vals[i]
		s := el.get("spec")
		pname := fmt.Sprintf("element %s %q", key, s.get("title").text())
		switch el.get("kind").text() {
		case "LibraryPanel":
			r.Unchecked = append(r.Unchecked, fmt.Sprintf("%s: %s is a library panel kept in Grafana; its queries are not in the file", c.at(el), pname))
			continue
		case "Panel":
		default:
			r.problem(c.at(el.get("kind")), "%s: kind %q; expected Panel or LibraryPanel", pname, el.get("kind").text())
			continue
		}
		title := s.get("title").text()
		env.titles[title] = append(env.titles[title], "")
		if idn := s.get("id"); idn.scalar() != "" {
			if other, dup := env.ids[idn.scalar()]; dup {
				r.problem(c.at(idn), "%s: id %s is also used by panel %q; panel ids must be unique", pname, idn.scalar(), other.text())
			} else {
				env.ids[idn.scalar()] = s.get("title")
			}
		}
		for _, q := range s.path("data", "spec", "queries").items() {
			qs := q.get("spec")
			query := qs.get("query")
			where := fmt.Sprintf("%s query %s", pname, qs.get("refId").text())
			typ := query.get("group").text()
			if qk := query.get("kind").text(); typ == "" && qk != "DataQuery" {
				typ = qk
			}
			if ds := qs.get("datasource"); typ == "" && !ds.isNull() {
				typ = c.datasourceType(&r, env, ds, where)
			}
			c.query(&r, env, where, typ, query.path("spec", "expr"), q, title)
		}
	}
	c.requiredPanels(&r, env)
	return r
}

// yamlTreeSrc converts a YAML document, noting for each literal block
// scalar the column its text starts at (so embedded JSON keeps positions).
func yamlTreeSrc(y *yaml.Node, lines [][]byte) *jnode {
	n := yamlTree(y)
	markBlocks(resolveNode(y), n, lines)
	return n
}

func markBlocks(y *yaml.Node, n *jnode, lines [][]byte) {
	if y == nil || n == nil {
		return
	}
	switch y.Kind {
	case yaml.MappingNode:
		for i, kv := range mapping(y) {
			markBlocks(kv[1], n.vals[i], lines)
		}
	case yaml.SequenceNode:
		for i, ch := range y.Content {
			markBlocks(resolveNode(ch), n.vals[i], lines)
		}
	case yaml.ScalarNode:
		if y.Style&yaml.LiteralStyle == 0 {
			return
		}
		for l := y.Line; l < len(lines); l++ { // lines[l] is line l+1
			if t := bytes.TrimLeft(lines[l], " "); len(bytes.TrimSpace(t)) > 0 {
				n.block = len(lines[l]) - len(t) + 1
				return
			}
		}
	}
}
