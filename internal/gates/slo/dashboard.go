package slogate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/outbound"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/redact"
)

func init() {
	gate.RegisterTyped(gate.Typed[DashboardSpec]{
		Name:    "dashboard",
		Group:   "infra",
		Summary: "Grafana dashboards valid as Grafana reads them (dashboard JSON, HTTP API envelope, v2 schema, ConfigMap and GrafanaDashboard wrappers): every query parses in its datasource's language (PromQL, LogQL) after template variables resolve, unique panel ids, known datasources, required per-tenant panels; file:line:col for each problem",
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

func newDashboardGate(m gate.Meta, spec DashboardSpec, env gate.Env) (gate.Gate, error) {
	return NewDashboardGate(m, &spec, env.PolicyDir), nil
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
		for _, r := range CheckDashboardFile(f, b, g.spec.options()) {
			res.Checks = append(res.Checks, dashboardChecks("dashboard "+r.Name, r)...)
		}
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
		for _, r := range CheckDashboardFile("grafana:"+uid, body, g.spec.options()) {
			out = append(out, dashboardChecks(name, r)...)
		}
	}
	return out, nil
}

func (s *DashboardSpec) options() DashboardOptions {
	return DashboardOptions{TenantVariable: s.TenantVariable, RequirePanels: s.RequirePanels}
}

// dashboardChecks turns one dashboard's report into its check, and what
// it saw but could not check into a visible skip (never a silent pass).
func dashboardChecks(name string, r DashboardReport) []gate.Check {
	chk := gate.Check{Name: name}
	what := r.Form
	if r.Title != "" {
		what += fmt.Sprintf(" %q", r.Title)
	}
	switch {
	case len(r.Problems) > 0:
		lines := make([]string, len(r.Problems))
		for i, p := range r.Problems {
			lines[i] = p.String()
		}
		chk.Status = gate.StatusFail
		chk.Observed = gate.Int(int64(len(r.Problems)))
		chk.Location = &r.Problems[0].Location
		chk.Message = fmt.Sprintf("%s: %d problem(s): %s", what, len(r.Problems), strings.Join(lines, "; "))
	case r.PromQL+r.LogQL == 0:
		chk.Status = gate.StatusSkip
		chk.Observed = gate.Int(0)
		chk.Message = fmt.Sprintf("%s: no PromQL or LogQL query to check; nothing was judged", what)
	default:
		chk.Status = gate.StatusPass
		chk.Observed = gate.Int(int64(r.PromQL + r.LogQL))
		chk.Message = fmt.Sprintf("%s: %d PromQL and %d LogQL (syntax check) queries parse after template variables resolve, panel ids unique, datasources resolve", what, r.PromQL, r.LogQL)
	}
	out := []gate.Check{chk}
	if len(r.Unchecked) > 0 {
		out = append(out, gate.Check{Name: name + " (not checked)", Status: gate.StatusSkip, Observed: gate.Int(int64(len(r.Unchecked))),
			Message: fmt.Sprintf("%d item(s) not checked: %s", len(r.Unchecked), strings.Join(r.Unchecked, "; "))})
	}
	return out
}
