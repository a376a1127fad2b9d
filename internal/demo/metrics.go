package demo

import (
	"bufio"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Buckets are the upper bounds, in seconds, of the latency histograms.
var Buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Metric names exposed on /metrics.
const (
	MetricRequests = "demo_http_requests_total"
	MetricDuration = "demo_http_request_duration_seconds"
)

// Metrics holds the service's counters and histograms and serves them in
// the Prometheus text exposition format (version 0.0.4). It uses only the
// standard library.
type Metrics struct {
	mu       sync.Mutex
	requests map[reqKey]uint64
	duration map[durKey]*histogram
}

type reqKey struct{ tenant, route, method, code string }
type durKey struct{ tenant, route string }

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	count  uint64
	sum    float64
}

// NewMetrics returns an empty registry.
func NewMetrics() *Metrics {
	return &Metrics{requests: map[reqKey]uint64{}, duration: map[durKey]*histogram{}}
}

// Observe records one request of a tenant.
func (m *Metrics) Observe(tenant, route, method string, code int, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[reqKey{tenant, route, method, strconv.Itoa(code)}]++
	k := durKey{tenant, route}
	h := m.duration[k]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(Buckets))}
		m.duration[k] = h
	}
	s := d.Seconds()
	for i, b := range Buckets {
		if s <= b {
			h.counts[i]++
			break
		}
	}
	h.count++
	h.sum += s
}

// Requests returns the request count of a tenant, summed over routes,
// methods and codes; codes filters by status class ("5") when not empty.
func (m *Metrics) Requests(tenant, codePrefix string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n uint64
	for k, v := range m.requests {
		if k.tenant == tenant && strings.HasPrefix(k.code, codePrefix) {
			n += v
		}
	}
	return n
}

// ServeHTTP writes the metrics in the Prometheus text format.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	bw := bufio.NewWriter(w)
	m.WriteText(bw)
	bw.Flush()
}

// WriteText writes the metrics in the Prometheus text format, series
// sorted so the output is stable.
func (m *Metrics) WriteText(w *bufio.Writer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintf(w, "# HELP %s Requests served, by tenant, route, method and status code.\n# TYPE %s counter\n", MetricRequests, MetricRequests)
	rk := make([]reqKey, 0, len(m.requests))
	for k := range m.requests {
		rk = append(rk, k)
	}
	sort.Slice(rk, func(i, j int) bool {
		a, b := rk[i], rk[j]
		return a.tenant+"\x00"+a.route+"\x00"+a.method+"\x00"+a.code < b.tenant+"\x00"+b.route+"\x00"+b.method+"\x00"+b.code
	})
	for _, k := range rk {
		fmt.Fprintf(w, "%s{tenant=%s,route=%s,method=%s,code=%s} %d\n", MetricRequests,
			quote(k.tenant), quote(k.route), quote(k.method), quote(k.code), m.requests[k])
	}
	fmt.Fprintf(w, "# HELP %s Request latency, by tenant and route.\n# TYPE %s histogram\n", MetricDuration, MetricDuration)
	dk := make([]durKey, 0, len(m.duration))
	for k := range m.duration {
		dk = append(dk, k)
	}
	sort.Slice(dk, func(i, j int) bool {
		return dk[i].tenant+"\x00"+dk[i].route < dk[j].tenant+"\x00"+dk[j].route
	})
	for _, k := range dk {
		h := m.duration[k]
		labels := fmt.Sprintf("tenant=%s,route=%s", quote(k.tenant), quote(k.route))
		var cum uint64
		for i, b := range Buckets {
			cum += h.counts[i]
			fmt.Fprintf(w, "%s_bucket{%s,le=\"%s\"} %d\n", MetricDuration, labels, strconv.FormatFloat(b, 'g', -1, 64), cum)
		}
		fmt.Fprintf(w, "%s_bucket{%s,le=\"+Inf\"} %d\n", MetricDuration, labels, h.count)
		fmt.Fprintf(w, "%s_sum{%s} %s\n", MetricDuration, labels, strconv.FormatFloat(h.sum, 'g', -1, 64))
		fmt.Fprintf(w, "%s_count{%s} %d\n", MetricDuration, labels, h.count)
	}
}

// quote escapes a label value: backslash, double quote and newline.
func quote(s string) string { return `"` + labelEscaper.Replace(s) + `"` }

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// instrument counts and times every request of a tenant route, labelled
// with the tenant (only known tenants, so the label set stays bounded)
// and the route pattern.
func (s *Service) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.code == 0 {
			rec.code = http.StatusOK
		}
		name := r.PathValue("tenant")
		if s.tenant(name) == nil {
			return // unknown tenants are not series: a scan must not blow up the label set
		}
		route := r.Pattern
		if _, p, ok := strings.Cut(route, " "); ok {
			route = p
		}
		s.metrics.Observe(name, route, r.Method, rec.code, time.Since(start))
	})
}
