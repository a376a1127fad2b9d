package slogate

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/metrics"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// fault is what a source does wrong and what the gates must make of it:
// an error matching wantErr (exit 3 or 2), or checks that are not pass
// with a message containing msg.
type fault struct {
	name    string
	wantErr error
	msg     string
}

// assertNeverPass runs a metric gate and an slo gate over src and checks
// the outcome of f.
func assertNeverPass(t *testing.T, src metrics.Source, f fault, tenants ...string) {
	t.Helper()
	metric := &MetricSpec{Source: SourceSpec{File: "x"}, TenantLabel: "tenant", Tenants: tenants, Checks: []MetricCheck{
		{Name: "throughput", Query: `sum by (tenant) (rate(http_requests_total[5m]))`, Condition: policy.MustCondition("> 0")},
	}}
	o := availabilitySLO(99)
	o.Tiers = new(bool)
	objective := &SLOSpec{Source: SourceSpec{File: "x"}, TenantLabel: "tenant", Tenants: tenants, SLOs: []SLOObject{o}}
	runs := []struct {
		kind string
		run  func(context.Context) (*gate.Result, error)
	}{
		{"metric", NewMetricGate(gate.Meta{ID: "m"}, metric, src).Run},
		{"slo", NewSLOGate(gate.Meta{ID: "s"}, objective, src).Run},
	}
	for _, r := range runs {
		res, err := r.run(context.Background())
		if f.wantErr != nil {
			if !errors.Is(err, f.wantErr) {
				t.Errorf("%s gate: error %v, want %v", r.kind, err, f.wantErr)
			}
			if err != nil && err.Error() == "" {
				t.Errorf("%s gate: an error without a message", r.kind)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s gate: error %v, want failing checks", r.kind, err)
			continue
		}
		if res.Status == gate.StatusPass || len(res.Checks) == 0 {
			t.Errorf("%s gate: status %s with %d checks; a fault must never pass", r.kind, res.Status, len(res.Checks))
		}
		for _, c := range res.Checks {
			if c.Status == gate.StatusPass {
				t.Errorf("%s gate: %s/%s passed: %s", r.kind, c.Name, c.Tenant, c.Message)
			}
			if !containsAny(c.Message, strings.Split(f.msg, "|")) {
				t.Errorf("%s gate: %s/%s message %q, want it to say %q", r.kind, c.Name, c.Tenant, c.Message, f.msg)
			}
		}
	}
}

// fakePrometheus answers every query with body and code, like the API
// documentation's examples.
func fakePrometheus(t *testing.T, code int, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func vectorOf(values ...string) string {
	var rows []string
	for i, v := range values {
		rows = append(rows, `{"metric":{"code":"500","tenant":"`+[]string{"acme", "globex"}[i]+`"},"value":[1795824000,"`+v+`"]}`)
	}
	return `{"status":"success","data":{"resultType":"vector","result":[` + strings.Join(rows, ",") + `]}}`
}

// TestPrometheusFaultsNeverPass: every fault of the Prometheus API is an
// error or a failing check with a message, for both metric and slo gates.
func TestPrometheusFaultsNeverPass(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()
	hang := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(hang) })
	cases := []struct {
		fault
		url     string
		tenants []string
	}{
		{fault{"connection refused", gate.ErrUnreachable, ""}, refused, nil},
		{fault{"a 503 after retries", metrics.ErrQuery, ""}, fakePrometheus(t, 503, `{"status":"error","errorType":"unavailable","error":"overloaded"}`), nil},
		{fault{"a hanging server times out", gate.ErrTimeout, ""}, hanging.URL, nil},
		{fault{"malformed JSON", metrics.ErrMalformed, ""}, fakePrometheus(t, 200, `{"status":"success","data":{"resultType":"vector","result":[{`), nil},
		{fault{"a partial response with warnings", metrics.ErrPartial, ""}, fakePrometheus(t, 200, `{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["store eu-1 unavailable"]}`), nil},
		{fault{"a query timeout reported by the server", gate.ErrTimeout, ""}, fakePrometheus(t, 422, `{"status":"error","errorType":"timeout","error":"query timed out"}`), nil},
		{fault{"a bad query is bad input", gate.ErrBadInput, ""}, fakePrometheus(t, 400, `{"status":"error","errorType":"bad_data","error":"parse error"}`), nil},
		{fault{"a matrix instead of a vector", metrics.ErrResultType, ""}, fakePrometheus(t, 200, `{"status":"success","data":{"resultType":"matrix","result":[]}}`), nil},
		{fault{"an empty vector", nil, "empty is not 0"}, fakePrometheus(t, 200, vectorOf()), nil},
		{fault{"NaN", nil, "NaN"}, fakePrometheus(t, 200, vectorOf("NaN", "NaN")), nil},
		{fault{"a tenant missing from the result", nil, "globex"}, fakePrometheus(t, 200, vectorOf()), []string{"globex"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src, err := metrics.NewHTTPSource(metrics.HTTPOptions{URL: tc.url, Timeout: 200 * time.Millisecond, Retries: 1, Backoff: time.Millisecond,
				At: time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatal(err)
			}
			assertNeverPass(t, src, tc.fault, tc.tenants...)
		})
	}
	t.Run("+Inf fails the condition", func(t *testing.T) {
		t.Parallel()
		src, _ := metrics.NewHTTPSource(metrics.HTTPOptions{URL: fakePrometheus(t, 200, vectorOf("+Inf", "-Inf"))})
		_, by, err := runMetric(t, src, MetricCheck{Name: "inf", Query: `sum by (tenant) (x)`, Condition: policy.MustCondition("< 1")})
		if err != nil || by["acme"].Status != gate.StatusFail || by["globex"].Status == gate.StatusPass {
			t.Errorf("+Inf/-Inf: %v %v", by, err)
		}
	})
}

// TestFileFaultsNeverPass: the same for the in-process engine over a
// metrics file: no data, NaN, a missing tenant, data gone stale, a
// deadline, a file that does not parse.
func TestFileFaultsNeverPass(t *testing.T) {
	t.Parallel()
	end := fileSource(t).Now()
	at := func(d time.Duration) metrics.Source {
		src, err := metrics.OpenFile(testFile, metrics.FileOptions{At: end.Add(d)})
		if err != nil {
			t.Fatal(err)
		}
		return src
	}
	cases := []struct {
		fault
		src     metrics.Source
		tenants []string
	}{
		{fault{"data gone stale: 10 minutes after the last sample", nil, "empty is not 0|the data is stale"}, at(10 * time.Minute), nil},
		{fault{"data gone stale: 50 minutes after the last sample", nil, "empty is not 0|the data is stale"}, at(50 * time.Minute), nil},
		{fault{"before the first sample", nil, "empty is not 0"}, at(-7 * time.Hour), nil},
		{fault{"a tenant missing from the file", nil, "hooli"}, hooliOnly{at(0)}, []string{"hooli"}},
		{fault{"a query that times out", gate.ErrTimeout, ""}, deadlineSource{at(0)}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assertNeverPass(t, tc.src, tc.fault, tc.tenants...)
		})
	}
	t.Run("a metrics file that does not parse is bad input", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		spec := SourceSpec{File: "bad.om"}
		if err := writeFile(dir+"/bad.om", "up 1\n"); err != nil {
			t.Fatal(err)
		}
		if _, err := spec.Open(dir); !errors.Is(err, gate.ErrBadInput) || !strings.Contains(err.Error(), "bad.om:1:5") {
			t.Errorf("Open = %v, want bad input at bad.om:1:5", err)
		}
		spec.File = "missing.om"
		if _, err := spec.Open(dir); !errors.Is(err, gate.ErrBadInput) {
			t.Errorf("Open(missing) = %v, want bad input", err)
		}
	})
}

// deadlineSource runs every query with a context whose deadline has passed.
type deadlineSource struct{ metrics.Source }

func (d deadlineSource) Query(ctx context.Context, q string, at time.Time) (metrics.Vector, error) {
	ctx, cancel := context.WithDeadline(ctx, time.Now().Add(-time.Second))
	defer cancel()
	return d.Source.Query(ctx, q, at)
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// hooliOnly answers only for tenant hooli, whom the file does not have.
type hooliOnly struct{ metrics.Source }

func (h hooliOnly) Query(ctx context.Context, q string, at time.Time) (metrics.Vector, error) {
	q, err := metrics.WithMatchers(q, `tenant="hooli"`)
	if err != nil {
		return nil, err
	}
	return h.Source.Query(ctx, q, at)
}
