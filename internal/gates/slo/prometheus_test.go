package slogate

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/metrics"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/testutil"
)

// promSource connects to the Prometheus started by
// scripts/services/prometheus.sh, which holds testdata/slo/metrics.om,
// evaluated at the file's newest sample.
func promSource(t testing.TB) *metrics.HTTPSource {
	t.Helper()
	url := testutil.RequireEnv(t, "RELEASEGATE_TEST_PROMETHEUS", "Prometheus")
	file := fileSource(t)
	src, err := metrics.NewHTTPSource(metrics.HTTPOptions{URL: url, At: file.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// sameVerdictChecks are the checks run over both sources.
var sameVerdictChecks = []MetricCheck{
	{Name: "error ratio", Query: errRatio, Condition: policy.MustCondition("< 0.01")},
	{Name: "canary error ratio", Query: errRatio, Condition: policy.MustCondition("< 0.01"), Canary: `track="canary"`},
	{Name: "canary vs baseline", Query: errRatio, Condition: policy.MustCondition("<= baseline * 1.1"), Canary: `track="canary"`, Baseline: `track="baseline"`},
	{Name: "p95", Query: `max by (tenant) (request_latency_p95_seconds)`, Condition: policy.MustCondition("< 0.5")},
	{Name: "throughput", Query: `sum by (tenant) (rate(http_requests_total[5m])) * 60`, Condition: policy.MustCondition(">= 100")},
	{Name: "repeat", Query: errRatio, Condition: policy.MustCondition("< 0.01"), Canary: `track="canary"`, Repeat: &Repeat{Count: 6, Interval: policy.Duration(10 * 60e9), FailureLimit: 3}},
	{Name: "empty", Query: `sum(nothing_here)`, Condition: policy.MustCondition("< 1"), TenantLabel: "-"},
}

func verdicts(t *testing.T, src metrics.Source) map[string]gate.Status {
	t.Helper()
	spec := &MetricSpec{TenantLabel: "tenant", Tenants: []string{"acme", "globex", "initech"}, Checks: sameVerdictChecks, Source: SourceSpec{File: "x"}}
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	res, err := evaluate(context.Background(), NewMetricGate(gate.Meta{ID: "m"}, spec, src))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]gate.Status{}
	for _, c := range res.Checks {
		out[fmt.Sprintf("%s/%s", c.Name, c.Tenant)] = c.Status
	}
	return out
}

// TestRealPrometheusSameVerdicts runs the same checks against a real
// Prometheus holding the metrics file and against the in-process engine:
// every check and tenant must get the same verdict.
func TestRealPrometheusSameVerdicts(t *testing.T) {
	prom := promSource(t)
	want := verdicts(t, fileSource(t))
	got := verdicts(t, prom)
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if got[k] != want[k] {
			t.Errorf("%s: prometheus %s, file engine %s", k, got[k], want[k])
		}
	}
	if len(got) != len(want) {
		t.Errorf("prometheus gave %d checks, file engine %d", len(got), len(want))
	}
	if want["canary error ratio/globex"] != gate.StatusFail || want["canary error ratio/acme"] != gate.StatusPass {
		t.Errorf("fixture drifted: canary verdicts %v", want)
	}
}

// TestRealPrometheusSameSLOVerdicts does the same for the slo gate.
func TestRealPrometheusSameSLOVerdicts(t *testing.T) {
	prom := promSource(t)
	for _, objective := range []float64{99, 99.9} {
		o := availabilitySLO(objective)
		want := runSLO(t, fileSource(t), o, "acme", "globex", "initech")
		got := runSLO(t, prom, o, "acme", "globex", "initech")
		for k, w := range want {
			if got[k].Status != w.Status {
				t.Errorf("objective %v: %s: prometheus %s (%s), file engine %s (%s)", objective, k, got[k].Status, got[k].Message, w.Status, w.Message)
			}
		}
		if len(got) != len(want) {
			t.Errorf("objective %v: prometheus gave %d checks, file engine %d", objective, len(got), len(want))
		}
	}
}

// TestRealPrometheusSameVerdictsOnStaleData evaluates both engines after the
// data stopped: 50 minutes later, the 1h windows still hold samples but no
// series is fresh, so nothing may pass, and both engines must agree.
func TestRealPrometheusSameVerdictsOnStaleData(t *testing.T) {
	url := testutil.RequireEnv(t, "RELEASEGATE_TEST_PROMETHEUS", "Prometheus")
	for _, after := range []time.Duration{10 * time.Minute, 50 * time.Minute} {
		at := fileSource(t).Now().Add(after)
		file, err := metrics.OpenFile(testFile, metrics.FileOptions{At: at})
		if err != nil {
			t.Fatal(err)
		}
		prom, err := metrics.NewHTTPSource(metrics.HTTPOptions{URL: url, At: at})
		if err != nil {
			t.Fatal(err)
		}
		want, got := verdicts(t, file), verdicts(t, prom)
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s later: %s: prometheus %s, file engine %s", after, k, got[k], w)
			}
			// repeat steps back 10m at a time and tolerates 3 bad of 6:
			// 10m after the end only its newest measurement is stale
			if w == gate.StatusPass && !(strings.HasPrefix(k, "repeat/") && after < 30*time.Minute) {
				t.Errorf("%s later: %s passed on stale data", after, k)
			}
		}
		o := availabilitySLO(99)
		wantSLO := runSLO(t, file, o, "acme", "globex", "initech")
		gotSLO := runSLO(t, prom, o, "acme", "globex", "initech")
		for k, w := range wantSLO {
			if gotSLO[k].Status != w.Status {
				t.Errorf("%s later: %s: prometheus %s, file engine %s", after, k, gotSLO[k].Status, w.Status)
			}
			if w.Status == gate.StatusPass {
				t.Errorf("%s later: %s passed on stale data: %s", after, k, w.Message)
			}
		}
	}
}
