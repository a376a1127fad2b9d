package slogate

import (
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

// TestCheckDashboardGolden compares the problems found in each file of
// testdata/slo/dashboards-bad/ with its .out file (-update rewrites them).
func TestCheckDashboardGolden(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join(sloTestdata, "dashboards-bad", "*.json"))
	if len(files) == 0 {
		t.Fatal("no test files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(CheckDashboard(b, "tenant", []string{"Error ratio"}), "\n") + "\n"
		golden := strings.TrimSuffix(f, ".json") + ".out"
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run with -update)", err)
		}
		if got != string(want) || got == "\n" {
			t.Errorf("%s:\ngot:\n%s\nwant:\n%s", f, got, want)
		}
	}
}

func TestSubstitute(t *testing.T) {
	t.Parallel()
	got, undefined := Substitute(`rate(x{a="$tenant",b="${tenant:regex}",c="[[tenant]]"}[$__rate_interval]) offset $missing`, map[string]string{"tenant": "value"})
	if want := `rate(x{a="value",b="value",c="value"}[5m]) offset x`; got != want {
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
	f.Fuzz(func(t *testing.T, b []byte) {
		probs := CheckDashboard(b, "tenant", []string{"Error ratio"})
		if len(probs) == 0 && !json.Valid(b) {
			t.Fatal("invalid JSON passed")
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
