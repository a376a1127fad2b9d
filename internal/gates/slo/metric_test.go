package slogate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/metrics"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

var testFile = filepath.Join("..", "..", "..", "testdata", "slo", "metrics.om")

func fileSource(t testing.TB) *metrics.FileSource {
	t.Helper()
	src, err := metrics.OpenFile(testFile, metrics.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

const errRatio = `sum by (tenant) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (tenant) (rate(http_requests_total[5m]))`

// runMetric runs one check over src and returns the checks by tenant.
func runMetric(t *testing.T, src metrics.Source, c MetricCheck, tenants ...string) (*gate.Result, map[string]gate.Check, error) {
	t.Helper()
	spec := &MetricSpec{Source: SourceSpec{File: testFile}, TenantLabel: "tenant", Tenants: tenants, Checks: []MetricCheck{c}}
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	g := NewMetricGate(gate.Meta{ID: "m", Kind: "metric"}, spec, src)
	res, err := evaluate(context.Background(), g)
	by := map[string]gate.Check{}
	if res != nil {
		for _, c := range res.Checks {
			by[c.Tenant] = c
		}
	}
	return res, by, err
}

func TestMetricGateVerdicts(t *testing.T) {
	t.Parallel()
	src := fileSource(t)
	cases := []struct {
		name    string
		check   MetricCheck
		tenants []string
		want    map[string]gate.Status
		msg     map[string]string
	}{
		{
			name:  "an error ratio below the threshold passes and one above fails",
			check: MetricCheck{Name: "error ratio", Query: errRatio, Condition: policy.MustCondition("< 0.01"), Canary: `track="canary"`},
			want:  map[string]gate.Status{"acme": gate.StatusPass, "globex": gate.StatusFail},
			msg:   map[string]string{"globex": "does not meet < 0.01"},
		},
		{
			name:    "a tenant missing from the result fails by default",
			check:   MetricCheck{Name: "error ratio", Query: errRatio, Condition: policy.MustCondition("< 0.01")},
			tenants: []string{"acme", "initech"},
			want:    map[string]gate.Status{"acme": gate.StatusPass, "globex": gate.StatusFail, "initech": gate.StatusFail},
			msg:     map[string]string{"initech": `no series with tenant="initech"`},
		},
		{
			name:    "on-no-data warn turns a missing tenant into a warning",
			check:   MetricCheck{Name: "error ratio", Query: errRatio, Condition: policy.MustCondition("< 0.01"), OnNoData: "warn"},
			tenants: []string{"initech"},
			want:    map[string]gate.Status{"acme": gate.StatusPass, "globex": gate.StatusFail, "initech": gate.StatusWarn},
		},
		{
			name:  "NaN is no data and fails",
			check: MetricCheck{Name: "p95", Query: `max by (tenant) (request_latency_p95_seconds)`, Condition: policy.MustCondition("< 0.5"), Unit: "s"},
			want:  map[string]gate.Status{"acme": gate.StatusPass, "globex": gate.StatusPass, "initech": gate.StatusFail},
			msg:   map[string]string{"initech": "NaN is never a pass"},
		},
		{
			name:  "NaN with on-no-data skip is skipped",
			check: MetricCheck{Name: "p95", Query: `max by (tenant) (request_latency_p95_seconds)`, Condition: policy.MustCondition("< 0.5"), OnNoData: "skip"},
			want:  map[string]gate.Status{"acme": gate.StatusPass, "globex": gate.StatusPass, "initech": gate.StatusSkip},
		},
		{
			name:  "+Inf fails",
			check: MetricCheck{Name: "inf", Query: `sum by (tenant) (rate(http_requests_total[5m])) / 0`, Condition: policy.MustCondition("> 0")},
			want:  map[string]gate.Status{"acme": gate.StatusFail, "globex": gate.StatusFail, "initech": gate.StatusFail},
		},
		{
			name:  "an empty result without fan-out fails",
			check: MetricCheck{Name: "nothing", Query: `sum(no_such_metric)`, Condition: policy.MustCondition("< 1"), TenantLabel: "-"},
			want:  map[string]gate.Status{"": gate.StatusFail},
			msg:   map[string]string{"": "empty is not 0"},
		},
		{
			name:  "a canary worse than its baseline fails and shows both values",
			check: MetricCheck{Name: "canary error ratio", Query: errRatio, Condition: policy.MustCondition("<= baseline * 1.1"), Canary: `track="canary"`, Baseline: `track="baseline"`},
			want:  map[string]gate.Status{"acme": gate.StatusPass, "globex": gate.StatusFail},
			msg:   map[string]string{"globex": "vs baseline 0.001", "acme": "delta"},
		},
		{
			name:  "repeated measurement fails when failures exceed the limit",
			check: MetricCheck{Name: "repeat", Query: errRatio, Condition: policy.MustCondition("< 0.01"), Canary: `track="canary"`, Repeat: &Repeat{Count: 6, Interval: policy.Duration(10 * 60e9), FailureLimit: 3}},
			want:  map[string]gate.Status{"acme": gate.StatusPass, "globex": gate.StatusFail},
			msg:   map[string]string{"globex": "4 of 6 measurements failed, limit 3"},
		},
		{
			name:  "repeated measurement passes while failures stay within the limit",
			check: MetricCheck{Name: "repeat", Query: errRatio, Condition: policy.MustCondition("< 0.01"), Canary: `track="canary"`, Repeat: &Repeat{Count: 6, Interval: policy.Duration(10 * 60e9), FailureLimit: 4}},
			want:  map[string]gate.Status{"acme": gate.StatusPass, "globex": gate.StatusPass},
		},
		{
			name:  "a query that does not keep the tenant label is an error",
			check: MetricCheck{Name: "shape", Query: `sum(rate(http_requests_total[5m]))`, Condition: policy.MustCondition("> 0")},
			want:  map[string]gate.Status{"": gate.StatusError},
			msg:   map[string]string{"": `has no "tenant" label`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, by, err := runMetric(t, src, tc.check, tc.tenants...)
			if err != nil {
				t.Fatal(err)
			}
			if len(by) != len(tc.want) {
				t.Errorf("got checks for %d tenants %v, want %d", len(by), keys(by), len(tc.want))
			}
			for tenant, want := range tc.want {
				if got := by[tenant]; got.Status != want {
					t.Errorf("tenant %q: status %s (%s), want %s", tenant, got.Status, got.Message, want)
				}
			}
			for tenant, want := range tc.msg {
				if got := by[tenant].Message; !strings.Contains(got, want) {
					t.Errorf("tenant %q: message %q, want it to contain %q", tenant, got, want)
				}
			}
			if res.Status == gate.StatusPass {
				for _, c := range res.Checks {
					if c.Status != gate.StatusPass {
						t.Errorf("gate passed with a %s check", c.Status)
					}
				}
			}
		})
	}
}

func keys(m map[string]gate.Check) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

type failingSource struct {
	metrics.Source
	err error
}

func (f failingSource) Query(context.Context, string, time.Time) (metrics.Vector, error) {
	return nil, f.err
}

func TestMetricGateSourceErrorIsNotAPass(t *testing.T) {
	t.Parallel()
	src := failingSource{Source: fileSource(t), err: fmt.Errorf("%w: connection refused", gate.ErrUnreachable)}
	res, _, err := runMetric(t, src, MetricCheck{Name: "x", Query: errRatio, Condition: policy.MustCondition("< 1")})
	if !errors.Is(err, gate.ErrUnreachable) {
		t.Fatalf("Run error = %v, want ErrUnreachable", err)
	}
	if res != nil && res.Status == gate.StatusPass {
		t.Error("an unreachable source passed")
	}
}

func TestMetricSpecValidate(t *testing.T) {
	t.Parallel()
	good := func() *MetricSpec {
		return &MetricSpec{Source: SourceSpec{File: "m.om"}, Checks: []MetricCheck{{Name: "a", Query: "up", Condition: policy.MustCondition("> 0")}}}
	}
	cases := []struct {
		name  string
		edit  func(s *MetricSpec)
		field string
	}{
		{"a source needs url or file", func(s *MetricSpec) { s.Source.File = "" }, "source"},
		{"url and file together are refused", func(s *MetricSpec) { s.Source.URL = "http://x" }, "source"},
		{"a query must be PromQL", func(s *MetricSpec) { s.Checks[0].Query = "sum(" }, "checks[0].query"},
		{"a relative condition needs a baseline", func(s *MetricSpec) { s.Checks[0].Condition = policy.MustCondition("<= baseline * 1.1") }, "checks[0].baseline"},
		{"a baseline needs a relative condition", func(s *MetricSpec) { s.Checks[0].Baseline = `track="b"` }, "checks[0].condition"},
		{"a repeat needs an interval", func(s *MetricSpec) { s.Checks[0].Repeat = &Repeat{Count: 3} }, "checks[0].repeat.interval"},
		{"a failure limit must be below the count", func(s *MetricSpec) {
			s.Checks[0].Repeat = &Repeat{Count: 2, Interval: policy.Duration(1e9), FailureLimit: 2}
		}, "checks[0].repeat.failure-limit"},
		{"check names are unique", func(s *MetricSpec) { s.Checks = append(s.Checks, s.Checks[0]) }, "checks[1].name"},
		{"tenants need a tenant label", func(s *MetricSpec) { s.Tenants = []string{"acme"} }, "tenants"},
		{"a bad canary selector is refused", func(s *MetricSpec) { s.Checks[0].Canary = "track=" }, "checks[0].canary"},
	}
	if errs := good().Validate(); len(errs) != 0 {
		t.Fatalf("good spec: %v", errs)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := good()
			tc.edit(s)
			errs := s.Validate()
			if len(errs) != 1 {
				t.Fatalf("Validate() = %v, want one error", errs)
			}
			var fe *policy.FieldError
			if !errors.As(errs[0], &fe) || fe.Field != tc.field {
				t.Errorf("error %v, want a FieldError at %s", errs[0], tc.field)
			}
		})
	}
}

func TestMetricGateConcurrencyCappedByTheServer(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/status/flags" {
			_, _ = w.Write([]byte(`{"status":"success","data":{"query.max-concurrency":"3"}}`))
			return
		}
		_, _ = w.Write([]byte(vectorOf("1", "2")))
	}))
	t.Cleanup(srv.Close)
	src, _ := metrics.NewHTTPSource(metrics.HTTPOptions{URL: srv.URL})
	for _, tc := range []struct{ want, got int }{{0, 3}, {2, 2}, {50, 3}} {
		spec := &MetricSpec{Source: SourceSpec{URL: srv.URL}, TenantLabel: "tenant", Concurrency: tc.want,
			Checks: []MetricCheck{{Name: "x", Query: `sum by (tenant) (x)`, Condition: policy.MustCondition("> 0")}}}
		res, err := evaluate(context.Background(), NewMetricGate(gate.Meta{ID: "m"}, spec, src))
		if err != nil {
			t.Fatal(err)
		}
		if res.Details["concurrency"] != tc.got || res.Details["server_max_concurrency"] != 3 {
			t.Errorf("concurrency %d against a server allowing 3: details %v, want concurrency %d", tc.want, res.Details, tc.got)
		}
	}
}
