package syntheticgate

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/load"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// Record is the gate's data in Result.Details["synthetic"]: everything the
// checks are computed from, so that `releasegate synthetic merge` judges
// merged shards with the same code and renderers can draw the run.
type Record struct {
	Judge Judge `json:"judge"`
	// Shards lists the shards this record covers, e.g. ["1/2", "2/2"].
	Shards []string `json:"shards"`
	// Run holds the per-stream counts and histograms.
	Run *load.Run `json:"run"`
	// Audit is the rise of the service's rejected-payload counter during
	// the run, per tenant ("*" when the counter is not per tenant).
	Audit map[string]int64 `json:"audit,omitempty"`
}

// DetailsKey is the key of the Record in Result.Details.
const DetailsKey = "synthetic"

// Evaluate computes the gate's checks from a record. The checks depend
// only on the record, so a merged record is judged exactly like an
// unsharded run.
func Evaluate(rec *Record) []gate.Check {
	j := rec.Judge
	streams := map[string][]*load.StreamResult{}
	for _, s := range rec.Run.Streams {
		streams[s.Tenant] = append(streams[s.Tenant], s)
	}
	tenants := slices.Clone(j.Tenants)
	sort.Strings(tenants)
	var checks []gate.Check
	for _, t := range tenants {
		ss := streams[t]
		if len(ss) == 0 {
			continue // another shard's tenant
		}
		switch j.Scenario {
		case ScenarioSLO:
			checks = append(checks, sloChecks(j, t, ss[0])...)
		case ScenarioIsolation:
			if t != j.Special {
				checks = append(checks, sloChecks(j, t, ss[0])...)
			} else if c := successCheck(t, ss); c != nil {
				checks = append(checks, *c) // the heavy tenant is not judged by the SLO, but it must be served
			}
		case ScenarioRateAnomaly:
			checks = append(checks, anomalyChecks(j, t, ss[0])...)
		case ScenarioGraphComplexity:
			checks = append(checks, graphChecks(j, t, ss)...)
		case ScenarioIngestValidator:
			checks = append(checks, ingestChecks(j, t, ss, rec.Audit)...)
		}
	}
	if n, ok := rec.Audit["*"]; ok {
		var rejected int64
		for _, s := range rec.Run.Streams {
			rejected += s.Status[http.StatusBadRequest]
		}
		checks = append(checks, auditCheck("", n, rejected))
	}
	return checks
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// noAnswers is the check for a stream that got nothing to judge.
func noAnswers(name, tenant string, s *load.StreamResult) gate.Check {
	return gate.Check{Name: name, Tenant: tenant, Status: gate.StatusFail,
		Message: fmt.Sprintf("expected answers to judge, found %d responses to %d requests sent (%s); check that the service is up and routes tenant %s", s.Responses, s.Sent, errorSummary(s), tenant)}
}

func errorSummary(s *load.StreamResult) string {
	if len(s.Errors) == 0 {
		return "no transport errors"
	}
	keys := make([]string, 0, len(s.Errors))
	for k := range s.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", s.Errors[k], k)
	}
	return strings.Join(parts, ", ")
}

func statusOf(ok bool) gate.Status {
	if ok {
		return gate.StatusPass
	}
	return gate.StatusFail
}

// need is the minimum number of samples for a check: the policy's
// min-samples when set, otherwise what the check's threshold needs.
func (j Judge) need(derived int64) int64 {
	if j.MinSamples > 0 {
		return int64(j.MinSamples)
	}
	return derived
}

// ratioCheck judges x of n against c by its 95 % Wilson bound, after the
// minimum number of samples. text renders the message from the verdict.
func ratioCheck(j Judge, name, tenant, unit string, c policy.Condition, x, n int64, text func(v ratioVerdict) string) gate.Check {
	v := judgeRatio(c, x, n)
	ch := gate.Check{Name: name, Tenant: tenant, Expected: c.String(), Unit: unit}
	if n > 0 {
		ch.Observed = gate.Number(v.Point)
	}
	if need := j.need(minSamplesRatio(c)); n < need {
		ch.Status = gate.StatusFail
		ch.Message = tooFew(n, need, fmt.Sprintf("%s %s", name, c)) + "; " + text(v)
		return ch
	}
	ch.Status = statusOf(v.Holds)
	ch.Message = text(v)
	return ch
}

// quantileCheck judges latency quantile q by its 95 % upper
// order-statistic bound.
func quantileCheck(j Judge, name, tenant string, q float64, c conditionLike, s *load.StreamResult) gate.Check {
	h := &s.Latency
	v := judgeQuantile(h, q)
	n := int64(h.Count())
	ch := gate.Check{Name: name, Tenant: tenant, Observed: gate.Number(ms(v.Point)), Expected: c.String(), Unit: "ms"}
	need := j.need(minSamplesQuantile(q))
	switch {
	case n < need:
		ch.Status = gate.StatusFail
		ch.Message = fmt.Sprintf("%s; observed %s %.1fms over %d responses", tooFew(n, need, name), name, ms(v.Point), n)
	case !v.OK:
		ch.Status = gate.StatusFail
		ch.Message = fmt.Sprintf("%s; observed %s %.1fms", tooFew(n, minSamplesQuantile(q), name+" (its 95% upper bound does not exist below that)"), name, ms(v.Point))
	default:
		ch.Status = statusOf(c.Holds(ms(v.Bound)))
		ch.Message = fmt.Sprintf("%s %.1fms (95%% upper bound %.1fms, rank %d of %d responses) measured from the scheduled send time, expected %s ms; %s",
			name, ms(v.Point), ms(v.Bound), v.Rank, n, c, adviceLatency(s))
	}
	return ch
}

// unexpected counts a stream's 5xx answers and requests without an
// answer (timeouts, connection errors): failures no guard should cause.
func unexpected(s *load.StreamResult) int64 {
	var n int64
	for code, c := range s.Status {
		if code >= 500 {
			n += c
		}
	}
	for _, c := range s.Errors {
		n += c
	}
	return n
}

// unexpectedCheck judges the 5xx, timeouts and connection errors of all
// of a tenant's streams in an abuse scenario.
func unexpectedCheck(j Judge, t string, ss []*load.StreamResult) gate.Check {
	var x, n int64
	var all load.StreamResult
	for _, s := range ss {
		x += unexpected(s)
		n += s.Sent
		all.Merge(s)
	}
	c := j.Thresholds.UnexpectedErrors
	return ratioCheck(j, "unexpected errors", t, "ratio", c, x, n, func(v ratioVerdict) string {
		return fmt.Sprintf("%d of %d requests got a 5xx, timed out or lost their connection (%s; status %s), expected a share %s; a guard refuses with 429 or 400, it does not fail: check the service's logs for tenant %s",
			x, n, errorSummary(&all), statusSummary(&all), c, t)
	})
}

// successCheck fails a tenant none of whose requests succeeded, whatever
// else is judged: no success, no pass. It returns nil when some did.
func successCheck(t string, ss []*load.StreamResult) *gate.Check {
	var ok, sent int64
	var all load.StreamResult
	for _, s := range ss {
		ok += s.OK
		sent += s.Sent
		all.Merge(s)
	}
	if ok > 0 {
		return nil
	}
	return &gate.Check{Name: "successful requests", Tenant: t, Status: gate.StatusFail, Observed: gate.Int(0), Expected: "> 0",
		Message: fmt.Sprintf("none of tenant %s's %d requests got the expected answer (%s; status %s); a tenant without one success never passes: check that the service is up and serves tenant %s", t, sent, errorSummary(&all), statusSummary(&all), t)}
}

// sloChecks judges compliance, p95, p99 and error rate of one tenant.
func sloChecks(j Judge, t string, s *load.StreamResult) []gate.Check {
	th := j.Thresholds
	if s.Sent == 0 || s.Responses == 0 {
		return []gate.Check{noAnswers("slo compliance", t, s)}
	}
	var out []gate.Check
	if c := successCheck(t, []*load.StreamResult{s}); c != nil {
		out = append(out, *c)
	}
	out = append(out, ratioCheck(j, "slo compliance", t, "ratio", th.Compliance, s.Good, s.Sent, func(v ratioVerdict) string {
		return fmt.Sprintf("%d of %d requests were good within %s: %s, expected %s; %s", s.Good, s.Sent, th.LatencyObjective.D(), v.describe(), th.Compliance, adviceLatency(s))
	}))
	out = append(out, quantileCheck(j, "p95 latency", t, 0.95, th.P95, s))
	if th.P99 != nil {
		out = append(out, quantileCheck(j, "p99 latency", t, 0.99, *th.P99, s))
	}
	out = append(out, ratioCheck(j, "error rate", t, "ratio", th.ErrorRate, s.Failed(), s.Sent, func(v ratioVerdict) string {
		return fmt.Sprintf("%d of %d requests failed: %s (%s; %d failed expectations; status %s), expected error rate %s", s.Failed(), s.Sent, v.describe(), errorSummary(s), s.CheckFailed, statusSummary(s), th.ErrorRate)
	}))
	return out
}

// conditionLike is what sloChecks needs from a policy.Condition.
type conditionLike interface {
	String() string
	Holds(float64) bool
}

func adviceLatency(s *load.StreamResult) string {
	p50, _ := s.Latency.Quantile(0.5)
	p99, _ := s.Latency.Quantile(0.99)
	return fmt.Sprintf("p50 %.1fms, p99 %.1fms, max %.1fms", ms(p50), ms(p99), ms(s.Latency.Max()))
}

func statusSummary(s *load.StreamResult) string {
	codes := make([]int, 0, len(s.Status))
	for c := range s.Status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%d×%d", s.Status[c], c)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// anomalyChecks judges the rate-anomaly guard for one tenant.
func anomalyChecks(j Judge, t string, s *load.StreamResult) []gate.Check {
	th := j.Thresholds
	if s.Sent == 0 || s.Responses == 0 {
		return []gate.Check{noAnswers("rate-anomaly guard", t, s)}
	}
	var out []gate.Check
	if c := successCheck(t, []*load.StreamResult{s}); c != nil {
		out = append(out, *c)
	}
	if t != j.Special {
		th429 := s.Throttled()
		out = append(out, ratioCheck(j, "false-positive 429 rate", t, "ratio", th.FalsePositives, th429, s.Sent, func(v ratioVerdict) string {
			return fmt.Sprintf("well-behaved tenant %s got %d 429s to %d requests at %g req/s: %s, expected %s; when that fails, the guard throttles tenants that did not spike: raise its z-score threshold or widen its baseline window", t, th429, s.Sent, j.Rate, v.describe(), th.FalsePositives)
		}))
		return append(out, unexpectedCheck(j, t, []*load.StreamResult{s}))
	}
	out = append(out, unexpectedCheck(j, t, []*load.StreamResult{s}))
	th429 := s.Throttled()
	spike := fmt.Sprintf("%s spike", (j.SpikeEnd - j.SpikeStart).D())
	c := gate.Check{Name: "spiking tenant throttled", Tenant: t, Observed: gate.Int(th429), Expected: "> 0", Status: statusOf(th429 > 0)}
	if th429 > 0 {
		c.Message = fmt.Sprintf("the spiking tenant got %d 429s, the first %s after the spike began", th429, (time.Duration(s.FirstThrottledUS)*time.Microsecond - j.SpikeStart.D()).Round(time.Millisecond))
	} else {
		c.Message = fmt.Sprintf("expected the spiking tenant to be throttled (429) during the %s, found no 429 in %d responses (%s); check that the rate-anomaly guard is enabled for tenant %s", spike, s.Responses, statusSummary(s), t)
	}
	out = append(out, c)
	// Recovery: from the end of the spike to the first scheduled request
	// from which every later request succeeded.
	rc := gate.Check{Name: "throttle recovery", Tenant: t, Expected: "<= " + th.Recovery.D().String(), Unit: "s"}
	end := j.SpikeEnd.D()
	last := time.Duration(s.LastFailedUS) * time.Microsecond
	interval := time.Duration(float64(time.Second) / j.Rate)
	sched := time.Duration(s.ScheduleUS) * time.Microsecond
	switch {
	case th429 == 0:
		rc.Status = gate.StatusFail
		rc.Message = "no throttling to recover from; the recovery time is not measurable without it"
	case s.LastFailedUS >= 0 && last+interval >= sched:
		rc.Status = gate.StatusFail
		rc.Observed = gate.Number((sched - end).Seconds())
		rc.Message = fmt.Sprintf("the spiking tenant's requests still failed at the end of the run, %s after the spike (%s); expected success again within %s; check that the guard releases a tenant whose rate is back to baseline", (sched - end).Round(time.Millisecond), statusSummary(s), th.Recovery.D())
	default:
		rec := time.Duration(0)
		if s.LastFailedUS >= 0 && last >= end {
			rec = last + interval - end
		}
		rc.Observed = gate.Number(math.Round(rec.Seconds()*1000) / 1000)
		rc.Status = statusOf(rec <= th.Recovery.D())
		rc.Message = fmt.Sprintf("the spiking tenant's requests succeeded again %s after the spike ended, expected within %s", rec.Round(time.Millisecond), th.Recovery.D())
		if rc.Status == gate.StatusFail {
			rc.Message += "; the guard holds its throttle too long: shorten its cool-down"
		}
	}
	return append(out, rc)
}

func find(ss []*load.StreamResult, name string) *load.StreamResult {
	for _, s := range ss {
		if s.Scenario == name {
			return s
		}
	}
	return nil
}

// graphChecks judges the graph-complexity guard for one tenant.
func graphChecks(j Judge, t string, ss []*load.StreamResult) []gate.Check {
	var out []gate.Check
	if b := find(ss, streamGraphBomb); b != nil {
		n429 := b.Throttled()
		var n2xx, n5xx int64
		for code, n := range b.Status {
			switch code / 100 {
			case 2:
				n2xx += n
			case 5:
				n5xx += n
			}
		}
		share := math.NaN()
		if b.Sent > 0 {
			share = float64(n429) / float64(b.Sent)
		}
		c := gate.Check{Name: "bomb queries answered 429", Tenant: t, Observed: gate.Number(share), Expected: "== 1", Unit: "ratio", Status: statusOf(b.Sent > 0 && n429 == b.Sent)}
		switch {
		case b.Responses == 0:
			c = noAnswers(c.Name, t, b)
		case n2xx > 0:
			c.Message = fmt.Sprintf("%d of %d over-complex queries were executed (2xx) and %d refused with 429; expected every one refused: check the fan-out limit", n2xx, b.Sent, n429)
		case n429 == 0:
			c.Message = fmt.Sprintf("expected over-complex queries to be refused with 429, found %s (%s); check the fan-out limit", statusSummary(b), errorSummary(b))
		case n429 < b.Sent:
			c.Message = fmt.Sprintf("%d of %d over-complex queries were refused with 429, the others got %s (%s, %d 5xx); expected every one refused with 429: the service fails on them instead of refusing them", n429, b.Sent, statusSummary(b), errorSummary(b), n5xx)
		default:
			c.Message = fmt.Sprintf("all %d over-complex queries were refused with 429", b.Sent)
		}
		out = append(out, c)
	}
	if n := find(ss, streamGraphNormal); n != nil {
		if n.Responses == 0 {
			return append(out, noAnswers("normal queries error rate", t, n))
		}
		if c := successCheck(t, []*load.StreamResult{n}); c != nil {
			out = append(out, *c)
		}
		out = append(out, ratioCheck(j, "normal queries error rate", t, "ratio", j.Thresholds.ErrorRate, n.Failed(), n.Sent, func(v ratioVerdict) string {
			return fmt.Sprintf("%d of %d normal queries failed: %s (%s; status %s), expected error rate %s; the guard must not refuse queries within the limit", n.Failed(), n.Sent, v.describe(), errorSummary(n), statusSummary(n), j.Thresholds.ErrorRate)
		}))
	}
	return append(out, unexpectedCheck(j, t, ss))
}

// ingestChecks judges the ingest validator for one tenant.
func ingestChecks(j Judge, t string, ss []*load.StreamResult, audit map[string]int64) []gate.Check {
	var out []gate.Check
	var rejected int64
	for _, s := range ss {
		rejected += s.Status[http.StatusBadRequest]
		if s.Scenario == streamIngestValid {
			if s.Responses == 0 {
				out = append(out, noAnswers("valid payloads accepted", t, s))
				continue
			}
			if c := successCheck(t, []*load.StreamResult{s}); c != nil {
				out = append(out, *c)
			}
			out = append(out, ratioCheck(j, "valid payloads accepted", t, "error ratio", j.Thresholds.ErrorRate, s.Failed(), s.Sent, func(v ratioVerdict) string {
				return fmt.Sprintf("%d of %d valid payloads were not accepted with 2xx: %s (%s; status %s), expected error rate %s", s.Failed(), s.Sent, v.describe(), errorSummary(s), statusSummary(s), j.Thresholds.ErrorRate)
			}))
			continue
		}
		kind := strings.TrimPrefix(s.Scenario, ingestPrefix)
		name := kind + " payloads answered 400"
		if s.Responses == 0 {
			out = append(out, noAnswers(name, t, s))
			continue
		}
		share := float64(s.OK) / float64(s.Sent)
		c := gate.Check{Name: name, Tenant: t, Observed: gate.Number(share), Expected: "== 1", Unit: "ratio", Status: statusOf(s.OK == s.Sent)}
		if c.Status == gate.StatusPass {
			c.Message = fmt.Sprintf("all %d %s payloads were rejected with 400", s.Sent, kind)
		} else {
			c.Message = fmt.Sprintf("expected every %s payload rejected with 400, found %s (%s); the validator lets malformed input through or fails on it", kind, statusSummary(s), errorSummary(s))
		}
		out = append(out, c)
	}
	if n, ok := audit[t]; ok {
		out = append(out, auditCheck(t, n, rejected))
	}
	return append(out, unexpectedCheck(j, t, ss))
}

func auditCheck(t string, delta, rejected int64) gate.Check {
	c := gate.Check{Name: "rejections audited", Tenant: t, Observed: gate.Int(delta), Expected: fmt.Sprintf("== %d", rejected), Status: statusOf(delta == rejected)}
	if delta == rejected {
		c.Message = fmt.Sprintf("the audit counter rose by %d, one per payload rejected with 400", delta)
	} else {
		c.Message = fmt.Sprintf("expected the audit counter to rise by %d (payloads rejected with 400), found %d; every rejection must be audited exactly once", rejected, delta)
	}
	return c
}
