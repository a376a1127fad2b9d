package synthetic

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

// sloChecks judges compliance, p95, p99 and error rate of one tenant.
func sloChecks(j Judge, t string, s *load.StreamResult) []gate.Check {
	th := j.Thresholds
	if s.Sent == 0 || s.Responses == 0 {
		return []gate.Check{noAnswers("slo compliance", t, s)}
	}
	var out []gate.Check
	comp := float64(s.Good) / float64(s.Sent)
	out = append(out, gate.Check{Name: "slo compliance", Tenant: t, Observed: gate.Number(comp), Expected: th.Compliance.String(), Unit: "ratio",
		Status:  statusOf(th.Compliance.Holds(comp)),
		Message: fmt.Sprintf("%d of %d requests were good within %s (%.2f%%), expected %s; %s", s.Good, s.Sent, th.LatencyObjective.D(), comp*100, th.Compliance, adviceLatency(s))})
	lat := []struct {
		name string
		q    float64
		c    conditionLike
	}{{"p95 latency", 0.95, th.P95}}
	if th.P99 != nil {
		lat = append(lat, struct {
			name string
			q    float64
			c    conditionLike
		}{"p99 latency", 0.99, *th.P99})
	}
	for _, q := range lat {
		v, _ := s.Latency.Quantile(q.q)
		out = append(out, gate.Check{Name: q.name, Tenant: t, Observed: gate.Number(ms(v)), Expected: q.c.String(), Unit: "ms",
			Status:  statusOf(q.c.Holds(ms(v))),
			Message: fmt.Sprintf("%s %.1fms over %d responses (measured from the scheduled send time), expected %s ms; %s", q.name, ms(v), s.Responses, q.c, adviceLatency(s))})
	}
	er := s.ErrorRate()
	out = append(out, gate.Check{Name: "error rate", Tenant: t, Observed: gate.Number(er), Expected: th.ErrorRate.String(), Unit: "ratio",
		Status:  statusOf(th.ErrorRate.Holds(er)),
		Message: fmt.Sprintf("%d of %d requests failed (%s; %d failed expectations; status %s), expected error rate %s", s.Failed(), s.Sent, errorSummary(s), s.CheckFailed, statusSummary(s), th.ErrorRate)})
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
	if t != j.Special {
		fp := float64(s.Throttled()) / float64(s.Sent)
		return []gate.Check{{Name: "false-positive 429 rate", Tenant: t, Observed: gate.Number(fp), Expected: th.FalsePositives.String(), Unit: "ratio",
			Status:  statusOf(th.FalsePositives.Holds(fp)),
			Message: fmt.Sprintf("well-behaved tenant %s got %d 429s to %d requests at %g req/s (%.2f%%), expected %s; the guard throttles tenants that did not spike: raise its z-score threshold or widen its baseline window", t, s.Throttled(), s.Sent, j.Rate, fp*100, th.FalsePositives)}}
	}
	var out []gate.Check
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
		n429, n2xx := b.Throttled(), int64(0)
		for code, n := range b.Status {
			if code/100 == 2 {
				n2xx += n
			}
		}
		c := gate.Check{Name: "bomb queries answered 429", Tenant: t, Observed: gate.Int(n429), Expected: "> 0", Status: statusOf(n429 > 0 && n2xx == 0)}
		switch {
		case b.Responses == 0:
			c = noAnswers(c.Name, t, b)
		case n2xx > 0:
			c.Message = fmt.Sprintf("%d of %d over-complex queries were executed (2xx) and %d refused with 429; expected every one refused: check the fan-out limit", n2xx, b.Responses, n429)
		case n429 == 0:
			c.Message = fmt.Sprintf("expected over-complex queries to be refused with 429, found %s; check the fan-out limit", statusSummary(b))
		default:
			c.Message = fmt.Sprintf("%d of %d over-complex queries were refused with 429", n429, b.Sent)
		}
		out = append(out, c)
	}
	if n := find(ss, streamGraphNormal); n != nil {
		if n.Responses == 0 {
			return append(out, noAnswers("normal queries error rate", t, n))
		}
		er := n.ErrorRate()
		out = append(out, gate.Check{Name: "normal queries error rate", Tenant: t, Observed: gate.Number(er), Expected: j.Thresholds.ErrorRate.String(), Unit: "ratio",
			Status:  statusOf(j.Thresholds.ErrorRate.Holds(er)),
			Message: fmt.Sprintf("%d of %d normal queries failed (%s; status %s), expected error rate %s; the guard must not refuse queries within the limit", n.Failed(), n.Sent, errorSummary(n), statusSummary(n), j.Thresholds.ErrorRate)})
	}
	return out
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
			er := s.ErrorRate()
			out = append(out, gate.Check{Name: "valid payloads accepted", Tenant: t, Observed: gate.Number(er), Expected: j.Thresholds.ErrorRate.String(), Unit: "error ratio",
				Status:  statusOf(j.Thresholds.ErrorRate.Holds(er)),
				Message: fmt.Sprintf("%d of %d valid payloads were not accepted with 2xx (%s; status %s), expected error rate %s", s.Failed(), s.Sent, errorSummary(s), statusSummary(s), j.Thresholds.ErrorRate)})
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
	return out
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
