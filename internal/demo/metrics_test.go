package demo

import (
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape GETs /metrics and parses it with expfmt.
func scrape(t *testing.T, s *Service) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := do(t, s, "GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("/metrics = %d, want 200:\n%s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing /metrics: %v\n%s", err, body)
	}
	return mfs
}

// series finds the series of a family with exactly these label values.
func series(t *testing.T, mf *dto.MetricFamily, labels map[string]string) *dto.Metric {
	t.Helper()
	if mf == nil {
		t.Fatalf("no such family; want series %v", labels)
	}
next:
	for _, mt := range mf.GetMetric() {
		if len(mt.GetLabel()) != len(labels) {
			continue
		}
		for _, lp := range mt.GetLabel() {
			if labels[lp.GetName()] != lp.GetValue() {
				continue next
			}
		}
		return mt
	}
	t.Fatalf("%s has no series %v", mf.GetName(), labels)
	return nil
}

// TestMetricsExactValues scrapes /metrics after a known sequence of
// requests and observations and checks every counter and bucket count.
func TestMetricsExactValues(t *testing.T) {
	t.Parallel()
	s := newService(t, Options{})
	for range 3 {
		do(t, s, "GET", "/t/acme/items", "")
	}
	do(t, s, "POST", "/t/acme/items", `{"name": "a", "value": 1}`, "Content-Type", "application/json")
	do(t, s, "POST", "/t/globex/items", `{}`) // 400
	do(t, s, "POST", "/t/globex/items", `{}`)
	do(t, s, "GET", "/t/initech/items", "")
	do(t, s, "GET", "/t/umbrella/items", "") // unknown tenant: no series

	// Known latencies on a route of their own: bounds are inclusive (le).
	const probe = "/t/{tenant}/probe"
	for _, d := range []time.Duration{
		time.Millisecond,        // le 0.005
		5 * time.Millisecond,    // le 0.005 (on the bound)
		5100 * time.Microsecond, // le 0.01
		300 * time.Millisecond,  // le 0.5
		2 * time.Second,         // le 2.5
		11 * time.Second,        // only +Inf
	} {
		s.Metrics().Observe("acme", probe, "GET", 200, d)
	}
	s.Metrics().Observe("globex", probe, "GET", 503, 7*time.Second) // le 10

	mfs := scrape(t, s)
	req := mfs[MetricRequests]
	if got := req.GetType(); got != dto.MetricType_COUNTER {
		t.Errorf("%s type = %v, want COUNTER", MetricRequests, got)
	}
	for _, c := range []struct {
		tenant, route, method, code string
		want                        float64
	}{
		{"acme", "/t/{tenant}/items", "GET", "200", 3},
		{"acme", "/t/{tenant}/items", "POST", "201", 1},
		{"globex", "/t/{tenant}/items", "POST", "400", 2},
		{"initech", "/t/{tenant}/items", "GET", "200", 1},
		{"acme", probe, "GET", "200", 6},
		{"globex", probe, "GET", "503", 1},
	} {
		mt := series(t, req, map[string]string{"tenant": c.tenant, "route": c.route, "method": c.method, "code": c.code})
		if got := mt.GetCounter().GetValue(); got != c.want {
			t.Errorf("%s %v = %v, want %v", MetricRequests, c, got, c.want)
		}
	}
	if n := len(req.GetMetric()); n != 6 {
		t.Errorf("%s has %d series, want 6", MetricRequests, n)
	}
	if got, want := s.Metrics().Requests("acme", ""), uint64(10); got != want {
		t.Errorf("Requests(acme) = %d, want %d", got, want)
	}
	if got, want := s.Metrics().Requests("globex", "5"), uint64(1); got != want {
		t.Errorf("Requests(globex, 5) = %d, want %d", got, want)
	}

	dur := mfs[MetricDuration]
	if got := dur.GetType(); got != dto.MetricType_HISTOGRAM {
		t.Errorf("%s type = %v, want HISTOGRAM", MetricDuration, got)
	}
	if n := len(dur.GetMetric()); n != 5 {
		t.Errorf("%s has %d series, want 5", MetricDuration, n)
	}
	// Cumulative counts per bound, in Buckets order.
	for _, c := range []struct {
		tenant string
		want   []uint64
		count  uint64
		sum    float64
	}{
		{"acme", []uint64{2, 3, 3, 3, 3, 3, 4, 4, 5, 5, 5}, 6, 0.001 + 0.005 + 0.0051 + 0.3 + 2 + 11},
		{"globex", []uint64{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 1, 7},
	} {
		h := series(t, dur, map[string]string{"tenant": c.tenant, "route": probe}).GetHistogram()
		bs := h.GetBucket() // the parser keeps the +Inf bucket last
		if len(bs) != len(Buckets)+1 {
			t.Fatalf("%s has %d buckets, want %d and +Inf", c.tenant, len(bs), len(Buckets))
		}
		if inf := bs[len(Buckets)]; !math.IsInf(inf.GetUpperBound(), 1) || inf.GetCumulativeCount() != c.count {
			t.Errorf("%s last bucket = le %v: %d, want le +Inf: %d", c.tenant, inf.GetUpperBound(), inf.GetCumulativeCount(), c.count)
		}
		for i, b := range bs[:len(Buckets)] {
			if b.GetUpperBound() != Buckets[i] || b.GetCumulativeCount() != c.want[i] {
				t.Errorf("%s bucket %d = le %v: %d, want le %v: %d", c.tenant, i, b.GetUpperBound(), b.GetCumulativeCount(), Buckets[i], c.want[i])
			}
		}
		if h.GetSampleCount() != c.count {
			t.Errorf("%s count = %d, want %d", c.tenant, h.GetSampleCount(), c.count)
		}
		if d := h.GetSampleSum() - c.sum; d > 1e-9 || d < -1e-9 {
			t.Errorf("%s sum = %v, want %v", c.tenant, h.GetSampleSum(), c.sum)
		}
	}
	// Requests through the chain: the sample count is the request count,
	// and an in-process request takes well under the top bound (le 10).
	for tenant, want := range map[string]uint64{"acme": 4, "globex": 2, "initech": 1} {
		h := series(t, dur, map[string]string{"tenant": tenant, "route": "/t/{tenant}/items"}).GetHistogram()
		bs := h.GetBucket()
		if h.GetSampleCount() != want || len(bs) != len(Buckets)+1 || bs[len(Buckets)-1].GetCumulativeCount() != want {
			t.Errorf("%s items histogram: count %d, top bucket %v; want %d in both", tenant, h.GetSampleCount(), bs, want)
		}
	}
}

// TestMetricsRegistryPerService checks two services in one process keep
// separate numbers (no global registry).
func TestMetricsRegistryPerService(t *testing.T) {
	t.Parallel()
	a, b := newService(t, Options{}), newService(t, Options{})
	do(t, a, "GET", "/t/acme/items", "")
	do(t, a, "GET", "/t/acme/items", "")
	do(t, b, "GET", "/t/acme/items", "")
	if got := a.Metrics().Requests("acme", "2"); got != 2 {
		t.Errorf("service a: acme 2xx = %d, want 2", got)
	}
	if got := b.Metrics().Requests("acme", "2"); got != 1 {
		t.Errorf("service b: acme 2xx = %d, want 1", got)
	}
}

// TestMetricsTextFormat: /metrics is client_golang's text format 0.0.4 by
// default, each series with all its labels (client_golang orders them by
// name; the demo policies' checks do not depend on the order).
func TestMetricsTextFormat(t *testing.T) {
	t.Parallel()
	s := newService(t, Options{})
	do(t, s, "GET", "/t/globex/items", "")
	do(t, s, "GET", "/t/acme/items", "")
	r := httptest.NewRequest("GET", "/metrics", nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	body := w.Body.String()
	for _, want := range []string{
		`demo_http_requests_total{code="200",method="GET",route="/t/{tenant}/items",tenant="acme"} 1`,
		`demo_http_requests_total{code="200",method="GET",route="/t/{tenant}/items",tenant="globex"} 1`,
		`demo_http_request_duration_seconds_bucket{route="/t/{tenant}/items",tenant="acme",le="+Inf"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type = %q, want the text format 0.0.4", ct)
	}
}
