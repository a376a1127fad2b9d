package syntheticgate

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gates/command/jsonpath"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// The scenarios, each mapped to a checklist gate.
const (
	ScenarioSLO             = "slo"
	ScenarioRateAnomaly     = "rate-anomaly"
	ScenarioGraphComplexity = "graph-complexity"
	ScenarioIngestValidator = "ingest-validator"
	ScenarioIsolation       = "isolation"
)

// scenarios lists every scenario name.
var scenarios = []string{ScenarioSLO, ScenarioRateAnomaly, ScenarioGraphComplexity, ScenarioIngestValidator, ScenarioIsolation}

// Spec is the `with:` block of a synthetic gate.
type Spec struct {
	// Target is the service's base URL.
	Target string `yaml:"target" required:"true" doc:"base URL of the service under test, e.g. http://127.0.0.1:8080"`
	// Tenants are the tenants to probe; each gets its own schedule and checks.
	Tenants []string `yaml:"tenants" required:"true" doc:"tenants to probe; each gets its own arrival schedule, histogram and checks"`
	// TenantHeader carries the tenant on every request.
	TenantHeader string `yaml:"tenant-header" default:"X-Tenant" doc:"request header that carries the tenant"`
	// Scenario selects what is tested.
	Scenario string `yaml:"scenario" default:"slo" enum:"slo,rate-anomaly,graph-complexity,ingest-validator,isolation" doc:"what the load tests: per-tenant SLO compliance, the rate-anomaly guard, the graph-complexity guard, the ingest validator, or heavy-tenant isolation"`
	// Rate is the arrival rate per tenant.
	Rate float64 `yaml:"rate" default:"10" doc:"arrivals per second per tenant (open model: independent of response times)"`
	// Duration is how long the load runs (the rate-anomaly scenario adds its spike and recovery window).
	// It is a pointer so that an explicit 0s is refused, not defaulted.
	Duration *policy.Duration `yaml:"duration" default:"30s" doc:"how long the load runs at rate; the rate-anomaly scenario runs this long before and after its spike; rate × duration must give every judged tenant the samples its checks need (see min-samples)"`
	// MaxInFlight bounds concurrent requests.
	MaxInFlight int `yaml:"max-in-flight" default:"256" doc:"concurrent requests at most; when reached, the schedule slips and the gate reports that the rate could not be reached"`
	// Timeout bounds each request from its scheduled time.
	Timeout policy.Duration `yaml:"timeout" default:"5s" doc:"per-request timeout, measured from the request's scheduled send time"`
	// LateTolerance is how late a request may leave before it counts as
	// late; more than 1 % late requests mean the rate was not reached.
	LateTolerance policy.Duration `yaml:"late-tolerance" default:"50ms" doc:"how far after its scheduled time a request may leave; when more than 1% leave later, the gate reports that the rate could not be reached (an error, not a service failure)"`
	// LoopbackOnly refuses any target that is not a loopback address.
	LoopbackOnly bool `yaml:"loopback-only" doc:"refuse to send to anything but localhost and loopback addresses (tests, demos)"`
	// InsecureSkipVerify disables TLS certificate verification.
	InsecureSkipVerifyUnsafe bool `yaml:"insecure-skip-verify-unsafe" doc:"accept any TLS certificate; only for throwaway test targets"`
	// MinSamples overrides the minimum number of samples per tenant that
	// every check derives from its threshold.
	MinSamples int `yaml:"min-samples" doc:"samples per tenant each check needs before it can pass (default: derived from the check's threshold: the smallest sample with which its 95% confidence bound can meet it, e.g. 59 for p95, 299 for p99, 268 for error-rate < 0.01); below it the check fails with too few samples"`
	// Probe is the request of the slo and isolation scenarios.
	Probe Probe `yaml:"probe" doc:"the request sent by the slo and isolation scenarios"`
	// Thresholds are judged per tenant.
	Thresholds Thresholds `yaml:"thresholds" doc:"per-tenant thresholds"`
	// Spike configures the rate-anomaly scenario.
	Spike Spike `yaml:"spike" doc:"the rate-anomaly scenario: one tenant spikes while the others stay at rate"`
	// Graph configures the graph-complexity scenario.
	Graph Graph `yaml:"graph" doc:"the graph-complexity scenario: normal and over-complex queries"`
	// Ingest configures the ingest-validator scenario.
	Ingest Ingest `yaml:"ingest" doc:"the ingest-validator scenario: valid and malformed payloads"`
	// Heavy configures the isolation scenario.
	Heavy Heavy `yaml:"heavy" doc:"the isolation scenario: one tenant at high load"`
}

// Probe is one request template. {tenant} and {seq} are replaced in the
// path, header values and body.
type Probe struct {
	Method  string            `yaml:"method" default:"GET" doc:"HTTP method"`
	Path    string            `yaml:"path" default:"/" doc:"path and query appended to target; {tenant} and {seq} are replaced"`
	Headers map[string]string `yaml:"headers" doc:"extra request headers; {tenant} is replaced"`
	Body    string            `yaml:"body" doc:"request body; {tenant} and {seq} are replaced"`
	Expect  Expect            `yaml:"expect" doc:"what a response must be to count as good"`
}

// Expect is what a good response looks like.
type Expect struct {
	Status       []int             `yaml:"status" default:"[200..299]" doc:"accepted status codes (default: any 2xx)"`
	BodyContains string            `yaml:"body-contains" doc:"text the body must contain; {tenant} is replaced"`
	Headers      map[string]string `yaml:"headers" doc:"response headers that must have these values; {tenant} is replaced in the values"`
	JSON         []jsonpath.Expect `yaml:"json" doc:"expectations on fields of the JSON body; {tenant} is replaced in equals"`
}

// Thresholds are judged per tenant.
type Thresholds struct {
	// Compliance is the share of requests that must be good in time.
	Compliance policy.Condition `yaml:"compliance" json:"compliance" default:">= 0.95" doc:"share of requests that were good and answered within latency-objective"`
	// LatencyObjective is the per-request latency a compliant request meets.
	LatencyObjective policy.Duration `yaml:"latency-objective" json:"latency_objective" default:"300ms" doc:"the latency a request must meet to count as compliant"`
	// P95 bounds the 95th percentile, in milliseconds.
	P95 policy.Condition `yaml:"p95-ms" json:"p95_ms" default:"<= 300" doc:"95th-percentile latency in milliseconds, measured from the scheduled send time"`
	// P99 bounds the 99th percentile, in milliseconds, when set.
	P99 *policy.Condition `yaml:"p99-ms" json:"p99_ms,omitempty" doc:"99th-percentile latency in milliseconds (not judged unless set)"`
	// ErrorRate bounds the share of requests without a good response.
	ErrorRate policy.Condition `yaml:"error-rate" json:"error_rate" default:"< 0.01" doc:"share of requests without a good response (transport errors and failed expectations)"`
	// FalsePositives bounds well-behaved tenants' share of 429s.
	FalsePositives policy.Condition `yaml:"false-positive-rate" json:"false_positive_rate" default:"<= 0.01" doc:"rate-anomaly: share of well-behaved tenants' requests answered 429"`
	// UnexpectedErrors bounds the share of requests of the abuse
	// scenarios that got a 5xx, timed out or lost their connection.
	UnexpectedErrors policy.Condition `yaml:"unexpected-error-rate" json:"unexpected_error_rate" default:"<= 0" doc:"rate-anomaly, graph-complexity, ingest-validator: share of each tenant's requests answered 5xx or without an answer (timeout, connection error); a guard refuses with 429 or 400, it never fails, so none is allowed by default"`
	// Recovery bounds the time from the spike's end to success again.
	Recovery policy.Duration `yaml:"max-recovery" json:"max_recovery" default:"30s" doc:"rate-anomaly: longest time after the spike until the spiking tenant's requests succeed again"`
}

// Spike is the rate-anomaly scenario's spike.
type Spike struct {
	Tenant   string          `yaml:"tenant" doc:"the spiking tenant (default: the first tenant)"`
	Rate     float64         `yaml:"rate" default:"rate × 10" doc:"the spiking tenant's arrivals per second during the spike"`
	Duration policy.Duration `yaml:"duration" default:"10s" doc:"how long the spike lasts"`
}

// Graph is the graph-complexity scenario.
type Graph struct {
	Path   string `yaml:"path" default:"/graph" doc:"path the queries are POSTed to as {\"query\": ...}"`
	Normal string `yaml:"normal" default:"{ tenant { users(first: 10) { id } } }" doc:"a query within the limits, expected to succeed"`
	Bomb   string `yaml:"bomb" default:"a query nested 12 levels deep with first: 100 at each" doc:"an over-complex query, expected to be answered 429"`
	// BombShare is the share of requests that are bombs.
	BombShare float64 `yaml:"bomb-share" default:"0.2" doc:"share of each tenant's requests that are bomb queries"`
}

// Ingest is the ingest-validator scenario.
type Ingest struct {
	Path string `yaml:"path" default:"/ingest" doc:"path payloads are POSTed to as application/json"`
	// AuditURL reads the service's audit counter of rejected payloads.
	AuditURL string `yaml:"audit-url" default:"/audit?tenant={tenant}" doc:"URL (or path under target) of a JSON document with the count of rejected payloads; {tenant} makes the count per tenant"`
	// AuditField is the JSON field holding the count.
	AuditField jsonpath.Path `yaml:"audit-field" default:".rejected" doc:"the field of the audit document holding the count"`
	// MaxBytes is the service's payload limit; the oversized case exceeds it.
	MaxBytes int `yaml:"max-bytes" default:"65536" doc:"the service's payload size limit; the oversized payload is one byte more"`
}

// Heavy is the isolation scenario's heavy tenant.
type Heavy struct {
	Tenant string  `yaml:"tenant" doc:"the heavy tenant (default: the first tenant); the others are light and judged"`
	Rate   float64 `yaml:"rate" default:"rate × 20" doc:"the heavy tenant's arrivals per second"`
}

// withDefaults fills what the policy left out.
func (s Spec) withDefaults() Spec {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&s.TenantHeader, "X-Tenant")
	def(&s.Scenario, ScenarioSLO)
	def(&s.Probe.Method, "GET")
	def(&s.Probe.Path, "/")
	def(&s.Graph.Path, "/graph")
	def(&s.Graph.Normal, `{ tenant { users(first: 10) { id } } }`)
	def(&s.Graph.Bomb, bombQuery(12, 100))
	def(&s.Ingest.Path, "/ingest")
	def(&s.Ingest.AuditURL, "/audit?tenant={tenant}")
	if b, _ := s.Ingest.AuditField.MarshalText(); len(b) == 0 {
		s.Ingest.AuditField = jsonpath.MustParse(".rejected")
	}
	if s.Ingest.MaxBytes == 0 {
		s.Ingest.MaxBytes = 64 << 10
	}
	if s.Rate == 0 {
		s.Rate = 10
	}
	if s.Duration == nil {
		d := policy.Duration(30 * time.Second)
		s.Duration = &d
	}
	if s.MaxInFlight == 0 {
		s.MaxInFlight = 256
	}
	if s.Timeout == 0 {
		s.Timeout = policy.Duration(5 * time.Second)
	}
	if s.LateTolerance == 0 {
		s.LateTolerance = policy.Duration(50 * time.Millisecond)
	}
	t := &s.Thresholds
	cond := func(c *policy.Condition, v string) {
		if c.IsZero() {
			*c = policy.MustCondition(v)
		}
	}
	cond(&t.Compliance, ">= 0.95")
	cond(&t.P95, "<= 300")
	cond(&t.ErrorRate, "< 0.01")
	cond(&t.FalsePositives, "<= 0.01")
	cond(&t.UnexpectedErrors, "<= 0")
	if t.LatencyObjective == 0 {
		t.LatencyObjective = policy.Duration(300 * time.Millisecond)
	}
	if t.Recovery == 0 {
		t.Recovery = policy.Duration(30 * time.Second)
	}
	if len(s.Tenants) > 0 {
		def(&s.Spike.Tenant, s.Tenants[0])
		def(&s.Heavy.Tenant, s.Tenants[0])
	}
	if s.Spike.Rate == 0 {
		s.Spike.Rate = s.Rate * 10
	}
	if s.Spike.Duration == 0 {
		s.Spike.Duration = policy.Duration(10 * time.Second)
	}
	if s.Heavy.Rate == 0 {
		s.Heavy.Rate = s.Rate * 20
	}
	if s.Graph.BombShare == 0 {
		s.Graph.BombShare = 0.2
	}
	return s
}

// bombQuery nests depth levels of a list field asking for width items
// each: width^depth nodes.
func bombQuery(depth, width int) string {
	var b strings.Builder
	b.WriteString("{ tenant ")
	for range depth {
		fmt.Fprintf(&b, "{ friends(first: %d) ", width)
	}
	b.WriteString("{ id }")
	for range depth {
		b.WriteString(" }")
	}
	b.WriteString(" }")
	return b.String()
}

func ferr(field string, format string, args ...any) error {
	return &policy.FieldError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Validate reports every problem with the settings at once.
func (s *Spec) Validate() []error {
	var errs []error
	u, err := url.Parse(s.Target)
	switch {
	case s.Target == "":
		errs = append(errs, ferr("target", "no target; give the service's base URL, e.g. http://127.0.0.1:8080"))
	case err != nil:
		errs = append(errs, ferr("target", "%q is not a URL: %v", s.Target, err))
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		errs = append(errs, ferr("target", "%q: expected an http:// or https:// URL with a host", s.Target))
	}
	for _, f := range []struct{ key, v string }{{"target", s.Target}, {"tenant-header", s.TenantHeader}} {
		if strings.Contains(f.v, "{tenant}") {
			errs = append(errs, ferr(f.key, "%q: {tenant} is not replaced here (one value serves every tenant); put the tenant in probe.path, probe.headers, probe.body or the expectations", f.v))
		}
	}
	if len(s.Tenants) == 0 {
		errs = append(errs, ferr("tenants", "no tenants; list at least one, e.g. [acme, globex]"))
	}
	seen := map[string]bool{}
	for i, t := range s.Tenants {
		if strings.TrimSpace(t) == "" || strings.ContainsAny(t, "\r\n") {
			errs = append(errs, ferr(fmt.Sprintf("tenants[%d]", i), "tenant %q is empty or spans lines", t))
		}
		if seen[t] {
			errs = append(errs, ferr(fmt.Sprintf("tenants[%d]", i), "tenant %q is listed twice", t))
		}
		seen[t] = true
	}
	if s.Scenario != "" && !slices.Contains(scenarios, s.Scenario) {
		errs = append(errs, ferr("scenario", "%q: expected one of %s", s.Scenario, strings.Join(scenarios, ", ")))
	}
	for _, r := range []struct {
		key string
		v   float64
	}{{"rate", s.Rate}, {"spike.rate", s.Spike.Rate}, {"heavy.rate", s.Heavy.Rate}} {
		if r.v < 0 || r.v > 1e6 || r.v != r.v {
			errs = append(errs, ferr(r.key, "%g arrivals per second: expected more than 0 and at most 1000000", r.v))
		}
	}
	if s.MaxInFlight < 0 || s.MaxInFlight > 100000 {
		errs = append(errs, ferr("max-in-flight", "%d: expected 1 to 100000", s.MaxInFlight))
	}
	if s.Graph.BombShare < 0 || s.Graph.BombShare >= 1 {
		errs = append(errs, ferr("graph.bomb-share", "%g: expected a share between 0 and 1 (exclusive of 1, so normal queries are sent too)", s.Graph.BombShare))
	}
	if s.MinSamples < 0 {
		errs = append(errs, ferr("min-samples", "%d: expected a positive number of samples, or nothing for the minimum each threshold needs", s.MinSamples))
	}
	if s.Ingest.MaxBytes < 0 {
		errs = append(errs, ferr("ingest.max-bytes", "%d: expected a positive size in bytes", s.Ingest.MaxBytes))
	}
	if s.Spike.Tenant != "" && len(s.Tenants) > 0 && !slices.Contains(s.Tenants, s.Spike.Tenant) {
		errs = append(errs, ferr("spike.tenant", "%q is not one of tenants %v", s.Spike.Tenant, s.Tenants))
	}
	if s.Heavy.Tenant != "" && len(s.Tenants) > 0 && !slices.Contains(s.Tenants, s.Heavy.Tenant) {
		errs = append(errs, ferr("heavy.tenant", "%q is not one of tenants %v", s.Heavy.Tenant, s.Tenants))
	}
	if (s.Scenario == ScenarioRateAnomaly || s.Scenario == ScenarioIsolation) && len(s.Tenants) < 2 {
		errs = append(errs, ferr("tenants", "the %s scenario needs at least two tenants: one heavy or spiking, one judged", s.Scenario))
	}
	for i, st := range s.Probe.Expect.Status {
		if st < 100 || st > 599 {
			errs = append(errs, ferr(fmt.Sprintf("probe.expect.status[%d]", i), "%d is not an HTTP status", st))
		}
	}
	for i, e := range s.Probe.Expect.JSON {
		errs = append(errs, e.Validate(fmt.Sprintf("probe.expect.json[%d]", i))...)
	}
	t := s.Thresholds
	for _, c := range []struct {
		key string
		c   policy.Condition
	}{{"thresholds.compliance", t.Compliance}, {"thresholds.p95-ms", t.P95}, {"thresholds.error-rate", t.ErrorRate}, {"thresholds.false-positive-rate", t.FalsePositives}, {"thresholds.unexpected-error-rate", t.UnexpectedErrors}} {
		if c.c.Relative() {
			errs = append(errs, ferr(c.key, "%q refers to %s, which this gate has no value for; use an absolute threshold", c.c, c.c.Ref))
		}
	}
	if t.P99 != nil && t.P99.Relative() {
		errs = append(errs, ferr("thresholds.p99-ms", "%q refers to %s, which this gate has no value for; use an absolute threshold", t.P99, t.P99.Ref))
	}
	if s.Duration != nil && *s.Duration <= 0 {
		errs = append(errs, ferr("duration", "%s: expected a positive duration, e.g. 30s (leave it out for the default 30s)", s.Duration.D()))
	} else if len(errs) == 0 {
		errs = append(errs, s.validateSamples()...)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// validateSamples refuses a schedule that cannot give a judged tenant the
// samples its checks need: zero arrivals, or fewer than a threshold's
// minimum (what the check would fail with "too few samples" after the
// whole run).
func (s *Spec) validateSamples() []error {
	d := s.withDefaults()
	dur := d.Duration.D()
	arrivals := func(rate float64, dd time.Duration) int64 { return int64(math.Round(rate * dd.Seconds())) }
	if n := arrivals(d.Rate, dur); n < 1 {
		return []error{ferr("duration", "rate %g × duration %s = %d requests per tenant: expected at least one; raise rate or duration", d.Rate, dur, n)}
	}
	j := Judge{MinSamples: d.MinSamples}
	th := d.Thresholds
	type need struct {
		what string
		n    int64
	}
	ratio := func(what string, c policy.Condition) need {
		return need{what + " " + c.String(), j.need(minSamplesRatio(c))}
	}
	quantile := func(what string, q float64) need {
		return need{what, max(j.need(minSamplesQuantile(q)), minSamplesQuantile(q))}
	}
	var stream string
	var n int64
	var needs []need
	switch d.Scenario {
	case ScenarioSLO, ScenarioIsolation:
		stream, n = "requests", arrivals(d.Rate, dur)
		needs = []need{ratio("compliance", th.Compliance), quantile("p95", 0.95), ratio("error-rate", th.ErrorRate)}
		if th.P99 != nil {
			needs = append(needs, quantile("p99", 0.99))
		}
	case ScenarioRateAnomaly:
		stream, n = "requests of a well-behaved tenant", arrivals(d.Rate, 2*dur+d.Spike.Duration.D())
		needs = []need{ratio("false-positive-rate", th.FalsePositives), ratio("unexpected-error-rate", th.UnexpectedErrors)}
	case ScenarioGraphComplexity:
		stream, n = "normal queries", arrivals(d.Rate*(1-d.Graph.BombShare), dur)
		needs = []need{ratio("error-rate", th.ErrorRate)}
		if b := arrivals(d.Rate*d.Graph.BombShare, dur); b < 1 {
			return []error{ferr("duration", "rate %g × graph.bomb-share %g × duration %s = %d bomb queries per tenant: expected at least one; raise rate, duration or bomb-share", d.Rate, d.Graph.BombShare, dur, b)}
		}
	case ScenarioIngestValidator:
		k := float64(len(payloads(1)))
		stream, n = "valid payloads (one request in 9)", arrivals(d.Rate/k, dur)
		needs = []need{ratio("error-rate", th.ErrorRate)}
		if n < 1 {
			return []error{ferr("duration", "rate %g × duration %s sends %d of each of the %g payloads per tenant: expected at least one; raise rate or duration", d.Rate, dur, n, k)}
		}
	default:
		return nil
	}
	var short []string
	most := int64(0)
	for _, x := range needs {
		if n < x.n {
			short = append(short, fmt.Sprintf("%s needs %d", x.what, x.n))
			most = max(most, x.n)
		}
	}
	if len(short) == 0 {
		return nil
	}
	// the duration at this rate that gives the most demanding check its
	// samples, in whole seconds
	secs := math.Ceil(float64(most) * dur.Seconds() / math.Max(float64(n), 0.5))
	return []error{ferr("duration", "rate %g × duration %s gives %d %s per tenant, too few samples to judge at %.0f%% confidence: %s; raise rate or duration (about %gs at this rate), or loosen the threshold",
		d.Rate, dur, n, stream, confidence*100, strings.Join(short, ", "), secs)}
}
