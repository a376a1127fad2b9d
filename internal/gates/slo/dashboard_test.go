package slogate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

func TestDashboardGate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		spec DashboardSpec
		want gate.Status
		msg  string
	}{
		{"a dashboard whose queries parse with every variable form passes",
			DashboardSpec{Files: []string{"dashboards/*.json"}, TenantVariable: "tenant", RequirePanels: []string{"Error budget remaining", "Burn rate"}}, gate.StatusPass, ""},
		{"a missing required panel fails",
			DashboardSpec{Files: []string{"dashboards/*.json"}, RequirePanels: []string{"Latency p95"}}, gate.StatusFail, `no panel titled "Latency p95"`},
		{"a missing tenant variable fails",
			DashboardSpec{Files: []string{"dashboards/*.json"}, TenantVariable: "customer"}, gate.StatusFail, `no template variable "customer"`},
		{"a glob matching nothing fails", DashboardSpec{Files: []string{"none/*.json"}}, gate.StatusFail, "matched no files"},
		{"a dashboard with no query is a visible skip, never a silent pass",
			DashboardSpec{Files: []string{"corpus/valid/dashboards/grafana-operator/dashboard-url-dashboard.json"}}, gate.StatusSkip, "no PromQL or LogQL query to check"},
		{"{} is refused as unknown", DashboardSpec{Files: []string{"corpus/broken/dashboards/releasegate/empty-object.json"}}, gate.StatusFail, "not a Grafana dashboard"},
		{"Loki panels are checked as LogQL", DashboardSpec{Files: []string{"corpus/valid/dashboards/releasegate/loki-logs.json"}, TenantVariable: "tenant", RequirePanels: []string{"Error ratio"}}, gate.StatusPass, "5 LogQL"},
		{"bad LogQL fails", DashboardSpec{Files: []string{"corpus/broken/dashboards/releasegate/loki-bad-logql.json"}}, gate.StatusFail, "not well-formed LogQL"},
		{"targets of datasources the gate cannot read make a warning", DashboardSpec{Files: []string{"corpus/valid/dashboards/releasegate/mixed-datasources.json"}}, gate.StatusWarn, "datasource type grafana-testdata-datasource is not checked"},
		{"the v2 schema and the HTTP API envelope are read", DashboardSpec{Files: []string{"corpus/valid/dashboards/releasegate/v2-schema.json", "corpus/valid/dashboards/releasegate/http-api-envelope-rows.json"}, RequirePanels: []string{"Request rate"}}, gate.StatusFail, `no panel titled "Request rate"`},
		{"kube-prometheus's ConfigMapList of 33 dashboards passes", DashboardSpec{Files: []string{"corpus/valid/dashboards/kube-prometheus/*.yaml"}}, gate.StatusPass, "Kubernetes / API server"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := evaluate(context.Background(), NewDashboardGate(gate.Meta{ID: "d"}, &tc.spec, sloTestdata))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.want {
				t.Errorf("status %s, want %s: %+v", res.Status, tc.want, res.Checks)
			}
			var all []string
			for _, c := range res.Checks {
				all = append(all, c.Message)
			}
			if !strings.Contains(strings.Join(all, "\n"), tc.msg) {
				t.Errorf("messages %q, want one containing %q", all, tc.msg)
			}
		})
	}
}

// renderReports writes what CheckDashboardFile found, one line each.
func renderReports(rs []DashboardReport) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "# %s: %s %q: %d PromQL, %d LogQL\n", r.Name, r.Form, r.Title, r.PromQL, r.LogQL)
		for _, p := range r.Problems {
			b.WriteString(p.String() + "\n")
		}
		for _, u := range r.Unchecked {
			b.WriteString("not checked: " + u + "\n")
		}
	}
	return b.String()
}

// TestCheckDashboardGolden compares the problems found in each file of
// testdata/slo/dashboards-bad/ with its .out file (-update rewrites them).
func TestCheckDashboardGolden(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join(sloTestdata, "dashboards-bad", "*.*"))
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".out") {
			continue
		}
		n++
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rs := CheckDashboardFile(filepath.Base(f), b, DashboardOptions{TenantVariable: "tenant", RequirePanels: []string{"Error ratio"}})
		problems := 0
		for _, r := range rs {
			problems += len(r.Problems)
			for _, p := range r.Problems {
				if p.Location.Line == 0 || p.Location.Column == 0 {
					t.Errorf("%s: a problem without line:col: %s", f, p)
				}
			}
		}
		if problems == 0 {
			t.Errorf("%s: no problem found", f)
		}
		got := renderReports(rs)
		golden := strings.TrimSuffix(f, filepath.Ext(f)) + ".out"
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", f, got, want)
		}
	}
	if n == 0 {
		t.Fatal("no test files")
	}
}

func TestSubstitute(t *testing.T) {
	t.Parallel()
	got, undefined := Substitute(`label_replace(rate(x{a="$tenant",b="${tenant:regex}",c="[[tenant]]",d=${tenant:doublequote}}[$__rate_interval]), "y", "$1", "z", "(.*)") offset $missing`, map[string]string{"tenant": "value"})
	if want := `label_replace(rate(x{a="value",b="value",c="value",d="value"}[5m]), "y", "$1", "z", "(.*)") offset x`; got != want {
		t.Errorf("Substitute = %s, want %s", got, want)
	}
	if len(undefined) != 1 || undefined[0] != "missing" {
		t.Errorf("undefined = %v, want [missing]", undefined)
	}
}

func FuzzCheckDashboard(f *testing.F) {
	for _, p := range []string{"dashboards/tenant-slo.json", "dashboards-bad/broken.json", "dashboards-bad/syntax.json"} {
		b, err := os.ReadFile(filepath.Join(sloTestdata, p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("kind: ConfigMap\ndata:\n  a.json: |\n    {\"panels\": []}\n"))
	f.Add([]byte(`{"dashboard": {"panels": [{"targets": [{"expr": "{a=\"b\"} |= \"x\"", "datasource": {"type": "loki"}}]}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rs := CheckDashboardFile("fuzz.json", b, DashboardOptions{TenantVariable: "tenant", RequirePanels: []string{"Error ratio"}})
		if len(rs) == 0 {
			t.Fatal("no report: a file must be judged")
		}
		invalid := len(bytes.TrimSpace(b)) > 0 && bytes.TrimSpace(b)[0] == '{' && !json.Valid(b)
		for _, r := range rs {
			for _, c := range dashboardChecks("d", r) {
				if c.Status != gate.StatusPass {
					continue
				}
				if r.PromQL+r.LogQL == 0 || len(r.Problems) > 0 || invalid {
					t.Fatalf("a pass with %d queries, %d problems, invalid JSON %v", r.PromQL+r.LogQL, len(r.Problems), invalid)
				}
			}
		}
	})
}

func TestDashboardGateFetchesFromGrafana(t *testing.T) {
	t.Parallel()
	const token = "glsa_secret_token_123"
	good, err := os.ReadFile(filepath.Join(sloTestdata, "dashboards", "tenant-slo.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"message":"Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/api/dashboards/uid/tenant-slo":
			fmt.Fprintf(w, `{"dashboard": %s, "meta": {"slug": "tenant-slos"}}`, good)
		default:
			http.Error(w, `{"message":"Dashboard not found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	run := func(tok string, uids ...string) (*gate.Result, error) {
		spec := &DashboardSpec{TenantVariable: "tenant", RequirePanels: []string{"Burn rate"}, Grafana: &Grafana{URL: srv.URL, Token: tok, UIDs: uids}}
		if errs := spec.Validate(); len(errs) > 0 {
			t.Fatal(errs)
		}
		return evaluate(context.Background(), NewDashboardGate(gate.Meta{ID: "d"}, spec, sloTestdata))
	}
	if res, err := run(token, "tenant-slo"); err != nil || res.Status != gate.StatusPass {
		t.Errorf("a good dashboard: %v, %+v", err, res)
	}
	if res, err := run(token, "tenant-slo", "gone"); err != nil || res.Status != gate.StatusFail {
		t.Errorf("a missing uid: %v, status %v, want fail", err, res.Status)
	}
	res, err := run("wrong", "tenant-slo")
	if err == nil || res.Status == gate.StatusPass {
		t.Errorf("a rejected token: %v, want an error", err)
	}
	if err != nil && strings.Contains(err.Error(), token) {
		t.Error("the token was printed")
	}
	spec := &DashboardSpec{Grafana: &Grafana{URL: "http://127.0.0.1:1", UIDs: []string{"x"}}}
	if _, err := evaluate(context.Background(), NewDashboardGate(gate.Meta{ID: "d"}, spec, sloTestdata)); !errors.Is(err, gate.ErrUnreachable) {
		t.Errorf("an unreachable Grafana: %v, want ErrUnreachable", err)
	}
}
