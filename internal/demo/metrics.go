package demo

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// Buckets are the upper bounds, in seconds, of the latency histograms.
var Buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Metric names exposed on /metrics.
const (
	MetricRequests = "demo_http_requests_total"
	MetricDuration = "demo_http_request_duration_seconds"
)

// Label names of the metrics, in the order Observe gives their values.
var (
	requestLabels  = []string{"tenant", "route", "method", "code"}
	durationLabels = []string{"tenant", "route"}
)

// Metrics holds the service's counters and histograms, built with
// client_golang on a registry of its own (never the global default one:
// several services run in one process), and serves them with promhttp.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	handler  http.Handler
}

// NewMetrics returns an empty registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricRequests,
			Help: "Requests served, by tenant, route, method and status code.",
		}, requestLabels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    MetricDuration,
			Help:    "Request latency, by tenant and route.",
			Buckets: slices.Clone(Buckets),
		}, durationLabels),
	}
	m.reg.MustRegister(m.requests, m.duration)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.HTTPErrorOnError,
	})
	return m
}

// Observe records one request of a tenant.
func (m *Metrics) Observe(tenant, route, method string, code int, d time.Duration) {
	m.requests.WithLabelValues(tenant, route, method, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(tenant, route).Observe(d.Seconds())
}

// Requests returns the request count of a tenant, summed over routes,
// methods and codes; codes filters by status class ("5") when not empty.
func (m *Metrics) Requests(tenant, codePrefix string) uint64 {
	mfs, err := m.reg.Gather()
	if err != nil {
		return 0 // only a collector clash fails a gather, and NewMetrics registers none
	}
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() != MetricRequests {
			continue
		}
		for _, mt := range mf.GetMetric() {
			if labelValue(mt, "tenant") == tenant && strings.HasPrefix(labelValue(mt, "code"), codePrefix) {
				n += uint64(mt.GetCounter().GetValue())
			}
		}
	}
	return n
}

// ServeHTTP serves the metrics with promhttp, which negotiates the format
// (the Prometheus text format when the client asks for nothing else).
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.handler.ServeHTTP(w, r) }

// labelValue returns the value of a series' label, "" when absent.
func labelValue(mt *dto.Metric, name string) string {
	for _, lp := range mt.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

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
