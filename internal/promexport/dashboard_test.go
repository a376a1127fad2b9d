package promexport

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/gates/slo"
	"github.com/maestro-conductor/releasegate/internal/metrics"
)

// dashboardFile is the Grafana dashboard shipped for these metrics.
var dashboardFile = filepath.Join("..", "..", "examples", "grafana", "releasegate-release.json")

// TestDashboardPassesDashboardGate runs the project's own dashboard gate
// kind, through the runner, over the shipped dashboard: every panel query
// parses as PromQL after its variables resolve, panel ids are unique,
// datasources resolve, and the panels a release manager needs are there.
func TestDashboardPassesDashboardGate(t *testing.T) {
	t.Parallel()
	k, ok := gate.Lookup("dashboard")
	if !ok {
		t.Fatal("the dashboard gate kind is not registered")
	}
	spec := k.Spec().(*slogate.DashboardSpec)
	*spec = slogate.DashboardSpec{Files: []string{filepath.Base(dashboardFile)},
		RequirePanels: []string{"Release verdict", "Gate status by gate", "Check values", "Run duration", "Gate duration"}}
	meta := gate.Meta{ID: "release-dashboard", Kind: "dashboard"}
	g, err := k.New(meta, spec, gate.Env{PolicyDir: filepath.Dir(dashboardFile)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := (&gate.Runner{}).RunOne(context.Background(), gate.Planned{Meta: meta, Gate: g})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != gate.StatusPass || len(res.Checks) == 0 {
		t.Errorf("dashboard gate: status %s, want pass: %+v", res.Status, res.Checks)
	}
}

// TestDashboardMetricsExist renders the demo's reports through Registry
// and checks that every metric a panel or variable of the dashboard
// queries is one the export writes, so no panel stays empty by a typo.
func TestDashboardMetricsExist(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query struct {
					Query string `json:"query"`
				} `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, name := range []string{"demo-pass", "demo-fail"} {
		reg, err := registry(demoReport(t, name))
		if err != nil {
			t.Fatal(err)
		}
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			exported[f.GetName()] = true
		}
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = "value"
	}
	used := map[string][]string{}
	queries := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			q, undefined := slogate.Substitute(tg.Expr, vars)
			if len(undefined) > 0 {
				t.Errorf("panel %q: undefined variables %v", p.Title, undefined)
			}
			expr, err := metrics.ParseQuery(q)
			if err != nil {
				t.Errorf("panel %q: %v", p.Title, err)
				continue
			}
			queries++
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
					used[vs.Name] = append(used[vs.Name], p.Title)
				}
				return nil
			})
		}
	}
	for _, v := range d.Templating.List {
		// label_values(<selector>, <label>): the selector's metric
		sel, ok := labelValuesSelector(v.Query.Query)
		if ok {
			sel, _ = slogate.Substitute(sel, vars)
			expr, err := metrics.ParseQuery(sel)
			if err != nil {
				t.Errorf("variable %s: %v", v.Name, err)
				continue
			}
			if vs, ok := expr.(*parser.VectorSelector); ok {
				used[vs.Name] = append(used[vs.Name], "variable "+v.Name)
			}
		}
	}
	if queries < len(d.Panels) {
		t.Errorf("%d queries for %d panels; expected every panel to query", queries, len(d.Panels))
	}
	var names []string
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !exported[n] {
			t.Errorf("metric %s (used by %v) is not written by promexport", n, used[n])
		}
	}
	for _, want := range []string{"releasegate_gate_status", "releasegate_check_value", "releasegate_run_duration_seconds", "releasegate_gate_duration_seconds"} {
		if len(used[want]) == 0 {
			t.Errorf("no panel shows %s", want)
		}
	}
}

// labelValuesSelector returns the series selector of a Grafana
// label_values(<selector>, <label>) query.
func labelValuesSelector(q string) (string, bool) {
	rest, ok := strings.CutPrefix(q, "label_values(")
	if !ok {
		return "", false
	}
	depth := 0
	for i, c := range rest {
		switch {
		case c == '{':
			depth++
		case c == '}':
			depth--
		case c == ',' && depth == 0:
			return rest[:i], true
		}
	}
	return "", false
}
