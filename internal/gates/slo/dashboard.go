package slogate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/metrics"
	"github.com/maestro-conductor/releasegate/internal/outbound"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/redact"
)

func init() {
	gate.Register(gate.Kind{
		Name:    "dashboard",
		Group:   "infra",
		Summary: "Grafana dashboard JSON valid: every panel query parses as PromQL after template variables resolve, unique panel ids, known datasources, required per-tenant panels",
		Spec:    func() any { return &DashboardSpec{} },
		New:     newDashboardGate,
	})
}

// DashboardSpec is the `with:` block of a dashboard gate.
type DashboardSpec struct {
	Files          []string `yaml:"files" doc:"dashboard JSON files or globs, relative to the policy (files, grafana or both)"`
	TenantVariable string   `yaml:"tenant-variable" doc:"template variable that selects the tenant, e.g. tenant; required panels must use it"`
	RequirePanels  []string `yaml:"require-panels" doc:"panel titles every dashboard must have, e.g. Error budget remaining"`
	Grafana        *Grafana `yaml:"grafana" doc:"also fetch dashboards by uid from a Grafana server"`
}

// Grafana names dashboards to fetch from a Grafana server.
type Grafana struct {
	URL     string          `yaml:"url" required:"true" doc:"Grafana base URL, e.g. https://grafana.example"`
	Token   string          `yaml:"token" secret:"true" doc:"service account token sent as a bearer token"`
	UIDs    []string        `yaml:"uids" required:"true" doc:"dashboard uids to fetch and check"`
	Timeout policy.Duration `yaml:"timeout" default:"30s" doc:"bound on each request"`
}

// Validate checks the globs.
func (s *DashboardSpec) Validate() []error {
	var errs []error
	if len(s.Files) == 0 && s.Grafana == nil {
		errs = append(errs, &policy.FieldError{Field: "files", Err: errors.New("no files and no grafana; expected dashboard JSON files or globs, or dashboards to fetch")})
	}
	if g := s.Grafana; g != nil {
		if u, err := url.Parse(g.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			errs = append(errs, &policy.FieldError{Field: "grafana.url", Err: fmt.Errorf("%q is not an http(s) URL without credentials", g.URL)})
		}
		if len(g.UIDs) == 0 {
			errs = append(errs, &policy.FieldError{Field: "grafana.uids", Err: errors.New("no uids; expected the dashboards to fetch")})
		}
	}
	return errs
}

// DashboardGate checks Grafana dashboards.
type DashboardGate struct {
	meta gate.Meta
	spec *DashboardSpec
	dir  string
	// client replaces the HTTP client for Grafana (tests).
	client *http.Client
}

func newDashboardGate(m gate.Meta, spec any, env gate.Env) (gate.Gate, error) {
	return NewDashboardGate(m, spec.(*DashboardSpec), env.PolicyDir), nil
}

// NewDashboardGate returns a dashboard gate reading files relative to dir.
func NewDashboardGate(m gate.Meta, s *DashboardSpec, dir string) *DashboardGate {
	return &DashboardGate{meta: m, spec: s, dir: dir}
}

// Name returns the gate id.
func (g *DashboardGate) Name() string { return g.meta.ID }

// Run checks every dashboard file.
func (g *DashboardGate) Run(ctx context.Context) (*gate.Result, error) {
	res := &gate.Result{Kind: "dashboard"}
	files, missing := expandGlobs(g.dir, g.spec.Files)
	res.Checks = append(res.Checks, missing...)
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("%w: %w", gate.ErrTimeout, err)
		}
		b, err := fsx.ReadFile(ctx, f, fsx.MaxDocSize)
		if err != nil {
			res.Checks = append(res.Checks, gate.Check{Name: "dashboard " + f, Status: gate.StatusFail, Message: err.Error()})
			continue
		}
		res.Inputs = append(res.Inputs, gate.Input{Name: f, Digest: digest(b)})
		probs := CheckDashboard(b, g.spec.TenantVariable, g.spec.RequirePanels)
		chk := gate.Check{Name: "dashboard " + f, Status: gate.StatusPass, Message: "every panel query parses, panel ids unique, datasources resolve"}
		if len(probs) > 0 {
			chk.Status = gate.StatusFail
			chk.Observed = gate.Int(int64(len(probs)))
			chk.Message = fmt.Sprintf("%d problem(s): %s", len(probs), strings.Join(probs, "; "))
		}
		res.Checks = append(res.Checks, chk)
	}
	if g.spec.Grafana != nil {
		cs, err := g.fetchAll(ctx)
		res.Checks = append(res.Checks, cs...)
		if err != nil {
			return res, err
		}
	}
	res.Summary = summarize(res.Checks)
	return res, nil
}

// fetchAll fetches each uid from Grafana and checks it. An unreachable
// Grafana is an error (the gate could not be evaluated); a missing
// dashboard is a failing check.
func (g *DashboardGate) fetchAll(ctx context.Context) ([]gate.Check, error) {
	gs := g.spec.Grafana
	timeout := gs.Timeout.D()
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	client := g.client
	if client == nil {
		// error bodies cut and sanitized, redirects by the shared rule
		client = &http.Client{Timeout: timeout, Transport: &redact.Transport{}, CheckRedirect: outbound.Policy{}.CheckRedirect()}
	}
	var out []gate.Check
	for _, uid := range gs.UIDs {
		name := "grafana dashboard " + uid
		u := strings.TrimSuffix(gs.URL, "/") + "/api/dashboards/uid/" + url.PathEscape(uid)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return out, &gate.InputError{Input: "grafana.url", Err: err}
		}
		req.Header.Set("Accept", "application/json")
		if gs.Token != "" {
			req.Header.Set("Authorization", "Bearer "+gs.Token)
		}
		resp, err := client.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
				return out, fmt.Errorf("grafana %s: %w: %v", gs.URL, gate.ErrTimeout, err)
			}
			return out, fmt.Errorf("grafana %s: %w: %v", gs.URL, gate.ErrUnreachable, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
		resp.Body.Close()
		if err != nil {
			return out, fmt.Errorf("grafana %s: %w: reading dashboard %s: %v", gs.URL, gate.ErrUnreachable, uid, err)
		}
		switch {
		case resp.StatusCode == http.StatusNotFound:
			out = append(out, gate.Check{Name: name, Status: gate.StatusFail, Message: fmt.Sprintf("dashboard uid %s not found in %s; expected it to exist", uid, gs.URL)})
			continue
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return out, fmt.Errorf("grafana %s answered %s for dashboard %s; check the token", gs.URL, resp.Status, uid)
		case resp.StatusCode != http.StatusOK:
			return out, fmt.Errorf("grafana %s answered %s for dashboard %s", gs.URL, resp.Status, uid)
		}
		var env struct {
			Dashboard json.RawMessage `json:"dashboard"`
		}
		if err := json.Unmarshal(body, &env); err != nil || len(env.Dashboard) == 0 {
			return out, fmt.Errorf("grafana %s: dashboard %s: reply is not {\"dashboard\": …}", gs.URL, uid)
		}
		chk := gate.Check{Name: name, Status: gate.StatusPass, Message: "every panel query parses, panel ids unique, datasources resolve"}
		if probs := CheckDashboard(env.Dashboard, g.spec.TenantVariable, g.spec.RequirePanels); len(probs) > 0 {
			chk.Status = gate.StatusFail
			chk.Observed = gate.Int(int64(len(probs)))
			chk.Message = fmt.Sprintf("%d problem(s): %s", len(probs), strings.Join(probs, "; "))
		}
		out = append(out, chk)
	}
	return out, nil
}

type dashboard struct {
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
	Rows   []struct {
		Panels []panel `json:"panels"`
	} `json:"rows"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Inputs []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"__inputs"`
}

type panel struct {
	ID         *int            `json:"id"`
	Title      string          `json:"title"`
	Type       string          `json:"type"`
	Datasource json.RawMessage `json:"datasource"`
	Targets    []struct {
		RefID      string          `json:"refId"`
		Expr       string          `json:"expr"`
		Datasource json.RawMessage `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

// builtins are Grafana's global variables with values that parse in
// every position they may appear in a PromQL query.
var builtins = map[string]string{
	"__rate_interval": "5m", "__interval": "1m", "__range": "1h", "__interval_ms": "60000",
	"__range_ms": "3600000", "__range_s": "3600", "__auto": "1m", "__dashboard": "dashboard",
	"__org": "1", "__user": "user", "timeFilter": "1h", "__name": "name",
}

// varRE matches $var, ${var}, ${var:fmt} and [[var]].
var varRE = regexp.MustCompile(`\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]|\$([A-Za-z0-9_]+)`)

// Substitute replaces Grafana template variables in a query: built-ins by
// values that parse, interval variables by 5m, others by a label-safe
// value. It returns the variables that are not defined.
func Substitute(q string, vars map[string]string) (string, []string) {
	var undefined []string
	out := varRE.ReplaceAllStringFunc(q, func(m string) string {
		sm := varRE.FindStringSubmatch(m)
		name := sm[1] + sm[2] + sm[3]
		if v, ok := builtins[name]; ok {
			return v
		}
		if v, ok := vars[name]; ok {
			return v
		}
		undefined = append(undefined, name)
		return "x"
	})
	return out, undefined
}

// CheckDashboard returns every problem in a Grafana dashboard.
func CheckDashboard(b []byte, tenantVar string, requirePanels []string) []string {
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := lineCol(b, se.Offset)
			return []string{fmt.Sprintf("%d:%d: not valid JSON: %v", line, col, err)}
		}
		return []string{fmt.Sprintf("not a Grafana dashboard: %v", err)}
	}
	var probs []string
	vars := map[string]string{}
	dsVars := map[string]bool{}
	for _, v := range d.Templating.List {
		switch v.Type {
		case "interval":
			vars[v.Name] = "5m"
		case "datasource":
			dsVars[v.Name] = true
			vars[v.Name] = "ds"
		default:
			vars[v.Name] = "value"
		}
	}
	for _, in := range d.Inputs {
		if in.Type == "datasource" {
			dsVars[in.Name] = true
		}
	}
	if tenantVar != "" && vars[tenantVar] == "" {
		probs = append(probs, fmt.Sprintf("no template variable %q; expected one so the dashboard can show each tenant", tenantVar))
	}
	all := flatten(d.Panels)
	for _, r := range d.Rows {
		all = append(all, flatten(r.Panels)...)
	}
	ids := map[int]string{}
	titles := map[string]panel{}
	for _, p := range all {
		name := fmt.Sprintf("panel %q", p.Title)
		if p.ID != nil {
			name = fmt.Sprintf("panel %d %q", *p.ID, p.Title)
			if other, dup := ids[*p.ID]; dup {
				probs = append(probs, fmt.Sprintf("%s: id %d is also used by panel %q; panel ids must be unique", name, *p.ID, other))
			}
			ids[*p.ID] = p.Title
		}
		titles[p.Title] = p
		if msg := checkDatasource(p.Datasource, dsVars); msg != "" {
			probs = append(probs, name+": "+msg)
		}
		for _, t := range p.Targets {
			where := fmt.Sprintf("%s target %s", name, t.RefID)
			if msg := checkDatasource(t.Datasource, dsVars); msg != "" {
				probs = append(probs, where+": "+msg)
			}
			if strings.TrimSpace(t.Expr) == "" {
				continue
			}
			q, undefined := Substitute(t.Expr, vars)
			for _, u := range undefined {
				probs = append(probs, fmt.Sprintf("%s: $%s is not a template variable of the dashboard; define it or fix the name", where, u))
			}
			if _, err := metrics.ParseQuery(q); err != nil {
				probs = append(probs, fmt.Sprintf("%s: expr is not valid PromQL: %v", where, err))
			}
		}
	}
	for _, want := range requirePanels {
		p, ok := titles[want]
		if !ok {
			probs = append(probs, fmt.Sprintf("no panel titled %q; expected one", want))
			continue
		}
		if tenantVar != "" && !usesVar(p, tenantVar) {
			probs = append(probs, fmt.Sprintf("panel %q does not use $%s; expected a per-tenant query", want, tenantVar))
		}
	}
	sort.Strings(probs)
	return probs
}

func usesVar(p panel, name string) bool {
	for _, t := range p.Targets {
		for _, m := range varRE.FindAllStringSubmatch(t.Expr, -1) {
			if m[1]+m[2]+m[3] == name {
				return true
			}
		}
	}
	return false
}

func flatten(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, flatten(p.Panels)...)
	}
	return out
}

// checkDatasource accepts null, a name, {"type","uid"}, and variable
// references that are defined.
func checkDatasource(raw json.RawMessage, dsVars map[string]bool) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var ref string
	var obj struct {
		UID string `json:"uid"`
	}
	if json.Unmarshal(raw, &ref) != nil {
		if json.Unmarshal(raw, &obj) != nil {
			return fmt.Sprintf("datasource %s is neither a name nor {type, uid}", raw)
		}
		ref = obj.UID
	}
	for _, m := range varRE.FindAllStringSubmatch(ref, -1) {
		name := m[1] + m[2] + m[3]
		if !dsVars[name] {
			return fmt.Sprintf("datasource refers to $%s, which is neither a datasource variable nor an __inputs entry", name)
		}
	}
	return ""
}

func lineCol(b []byte, off int64) (int, int) {
	line, col := 1, 1
	for i := int64(0); i < off && i < int64(len(b)); i++ {
		if b[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
