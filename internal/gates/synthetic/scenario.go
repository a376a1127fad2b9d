package syntheticgate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gates/command/jsonpath"
	"github.com/maestro-conductor/releasegate/internal/load"
)

// Judge is what the checks are computed from besides the run: the
// scenario's shape and the thresholds. It travels in Result.Details so
// that merged shards are judged exactly like an unsharded run. It never
// holds headers or bodies, which may carry secrets.
type Judge struct {
	Scenario string `json:"scenario"`
	// Tenants are every tenant of the policy (all shards).
	Tenants []string `json:"tenants"`
	// Special is the spiking (rate-anomaly) or heavy (isolation) tenant.
	Special string `json:"special,omitempty"`
	// SpikeStart and SpikeEnd bound the spike, from the run's start.
	SpikeStart Millis `json:"spike_start_ms,omitempty"`
	SpikeEnd   Millis `json:"spike_end_ms,omitempty"`
	// Rate is the per-tenant base rate.
	Rate       float64    `json:"rate"`
	Thresholds Thresholds `json:"thresholds"`
	// MinSamples is the policy's min-samples; 0 derives the minimum from
	// each check's threshold.
	MinSamples int `json:"min_samples,omitempty"`
}

// Millis is a duration serialised as milliseconds.
type Millis int64

// D returns the duration.
func (m Millis) D() time.Duration { return time.Duration(m) * time.Millisecond }

// Stream kinds within a scenario, named in StreamResult.Scenario.
const (
	streamGraphNormal = "graph-complexity:normal"
	streamGraphBomb   = "graph-complexity:bomb"
	streamIngestValid = "ingest-validator:valid"
	ingestPrefix      = "ingest-validator:"
)

// special is the spiking (rate-anomaly) or heavy (isolation) tenant, whose
// load every shard shares; "" in the other scenarios.
func special(s Spec) string {
	switch s.Scenario {
	case ScenarioRateAnomaly:
		return s.Spike.Tenant
	case ScenarioIsolation:
		return s.Heavy.Tenant
	}
	return ""
}

// judgedTenants are the tenants dealt over shards: every tenant but the
// special one, whose load is split over every shard instead, so that no
// shard's deal is taken by it and left with nothing to judge.
func judgedTenants(s Spec) []string {
	sp := special(s)
	return slices.DeleteFunc(slices.Clone(s.Tenants), func(t string) bool { return t == sp })
}

// plan turns the spec into engine streams for the tenants of one shard.
// The special tenant (spiking or heavy) runs in every shard with an
// exact 1/n share of its schedule, so the service sees the same total
// load however the run is split and merged counts equal an unsharded run.
func plan(s Spec, sh Shard) ([]load.Stream, Judge, error) {
	j := Judge{Scenario: s.Scenario, Tenants: slices.Clone(s.Tenants), Rate: s.Rate, Thresholds: s.Thresholds, MinSamples: s.MinSamples}
	mine := sh.Tenants(judgedTenants(s))
	base := []load.Stage{{Rate: s.Rate, Duration: s.Duration.D()}}
	var out []load.Stream
	add := func(tenant string, st []load.Stage, name string, p Probe, check func(*http.Response, []byte) error, split bool) {
		ls := load.Stream{Tenant: tenant, Scenario: name, Stages: st, Template: template(s, p, tenant), Check: check,
			Objective: s.Thresholds.LatencyObjective.D()}
		if split && sh.N > 1 {
			ls.Stride, ls.Phase = int64(sh.N), int64(sh.I-1)
		}
		out = append(out, ls)
	}
	switch s.Scenario {
	case ScenarioSLO:
		for _, t := range mine {
			add(t, base, ScenarioSLO, s.Probe, expectCheck(s.Probe.Expect, t), false)
		}
	case ScenarioIsolation:
		j.Special = s.Heavy.Tenant
		heavy := []load.Stage{{Rate: s.Heavy.Rate, Duration: s.Duration.D()}}
		add(s.Heavy.Tenant, heavy, ScenarioIsolation, s.Probe, expectCheck(s.Probe.Expect, s.Heavy.Tenant), true)
		for _, t := range mine {
			if t != s.Heavy.Tenant {
				add(t, base, ScenarioIsolation, s.Probe, expectCheck(s.Probe.Expect, t), false)
			}
		}
	case ScenarioRateAnomaly:
		j.Special = s.Spike.Tenant
		d, sd := s.Duration.D(), s.Spike.Duration.D()
		j.SpikeStart, j.SpikeEnd = Millis(d.Milliseconds()), Millis((d + sd).Milliseconds())
		spiky := []load.Stage{{Rate: s.Rate, Duration: d}, {Rate: s.Spike.Rate, Duration: sd}, {Rate: s.Rate, Duration: d}}
		steady := []load.Stage{{Rate: s.Rate, Duration: 2*d + sd}}
		add(s.Spike.Tenant, spiky, ScenarioRateAnomaly, s.Probe, nil, true)
		for _, t := range mine {
			if t != s.Spike.Tenant {
				add(t, steady, ScenarioRateAnomaly, s.Probe, nil, false)
			}
		}
	case ScenarioGraphComplexity:
		for _, t := range mine {
			normal := Probe{Method: http.MethodPost, Path: s.Graph.Path, Headers: s.Probe.Headers, Body: graphBody(s.Graph.Normal)}
			bomb := normal
			bomb.Body = graphBody(s.Graph.Bomb)
			add(t, []load.Stage{{Rate: s.Rate * (1 - s.Graph.BombShare), Duration: s.Duration.D()}}, streamGraphNormal, normal, statusIn2xx, false)
			lead := time.Duration(0.5 / s.Rate * float64(time.Second)) // between normal arrivals
			add(t, []load.Stage{{Rate: 0, Duration: lead}, {Rate: s.Rate * s.Graph.BombShare, Duration: s.Duration.D()}}, streamGraphBomb, bomb, statusIs(http.StatusTooManyRequests), false)
		}
	case ScenarioIngestValidator:
		cases := payloads(s.Ingest.MaxBytes)
		for _, t := range mine {
			for k, c := range cases {
				p := Probe{Method: http.MethodPost, Path: s.Ingest.Path, Headers: s.Probe.Headers, Body: string(c.Body)}
				p.Headers = withHeader(p.Headers, "Content-Type", "application/json")
				name, check := streamIngestValid, statusIn2xx
				if !c.Valid {
					name, check = ingestPrefix+c.Name, statusIs(http.StatusBadRequest)
				}
				// stagger the payload streams so the tenant's arrivals are
				// evenly spaced at rate, not bursts of one of each payload
				lead := time.Duration(float64(k) / s.Rate * float64(time.Second))
				add(t, []load.Stage{{Rate: 0, Duration: lead}, {Rate: s.Rate / float64(len(cases)), Duration: s.Duration.D()}}, name, p, check, false)
			}
		}
	default:
		return nil, j, fmt.Errorf("unknown scenario %q", s.Scenario)
	}
	return out, j, nil
}

func withHeader(h map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for hk, hv := range h {
		out[hk] = hv
	}
	return out
}

func graphBody(q string) string {
	b, _ := json.Marshal(map[string]string{"query": q})
	return string(b)
}

// template describes the requests of one tenant's stream. Templates are
// expanded once per tenant; the engine replaces {seq} per request.
func template(s Spec, p Probe, tenant string) *load.Template {
	r := strings.NewReplacer("{tenant}", tenant)
	path := r.Replace(p.Path)
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	hdr := http.Header{}
	for k, v := range p.Headers {
		hdr.Set(k, r.Replace(v))
	}
	hdr.Set(s.TenantHeader, tenant)
	method := p.Method
	if method == "" {
		method = http.MethodGet
	}
	return &load.Template{Method: method, URL: strings.TrimRight(s.Target, "/") + path, Header: hdr, Body: r.Replace(p.Body)}
}

func statusIn2xx(resp *http.Response, _ []byte) error {
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d, expected 2xx", resp.StatusCode)
	}
	return nil
}

func statusIs(code int) func(*http.Response, []byte) error {
	return func(resp *http.Response, _ []byte) error {
		if resp.StatusCode != code {
			return fmt.Errorf("status %d, expected %d", resp.StatusCode, code)
		}
		return nil
	}
}

// expectCheck judges a probe response of tenant against the policy's
// expectations, with {tenant} replaced in every expected text: the body
// text, header values and JSON equals values.
func expectCheck(e Expect, tenant string) func(*http.Response, []byte) error {
	r := strings.NewReplacer("{tenant}", tenant)
	e.BodyContains = r.Replace(e.BodyContains)
	hdr := make(map[string]string, len(e.Headers))
	for k, v := range e.Headers {
		hdr[k] = r.Replace(v)
	}
	e.Headers = hdr
	js := make([]jsonpath.Expect, len(e.JSON))
	for i, x := range e.JSON {
		if x.Equals != nil {
			v := r.Replace(*x.Equals)
			x.Equals = &v
		}
		js[i] = x
	}
	e.JSON = js
	return func(resp *http.Response, body []byte) error {
		if len(e.Status) == 0 {
			if resp.StatusCode/100 != 2 {
				return fmt.Errorf("status %d, expected 2xx", resp.StatusCode)
			}
		} else if !slices.Contains(e.Status, resp.StatusCode) {
			return fmt.Errorf("status %d, expected one of %v", resp.StatusCode, e.Status)
		}
		if e.BodyContains != "" && !bytes.Contains(body, []byte(e.BodyContains)) {
			return fmt.Errorf("body lacks %q", e.BodyContains)
		}
		for k, v := range e.Headers {
			if got := resp.Header.Get(k); got != v {
				return fmt.Errorf("header %s is %q, expected %q", k, got, v)
			}
		}
		if len(e.JSON) > 0 {
			doc, err := jsonpath.Decode(body)
			for _, x := range e.JSON {
				if c := x.Check(doc, err, "response body"); c.Status != "pass" {
					return errors.New(c.Message)
				}
			}
		}
		return nil
	}
}

// Payload is one generated ingest payload.
type Payload struct {
	// Name is the malformation, or "valid".
	Name  string
	Body  []byte
	Valid bool
}

// payloads returns the ingest scenario's payloads: one valid event and
// one of each malformation. maxBytes is the service's size limit.
func payloads(maxBytes int) []Payload {
	valid := `{"event":"signup","value":42,"tags":["web"]}`
	deep := strings.Repeat(`{"a":`, 512) + `1` + strings.Repeat(`}`, 512)
	pad := maxBytes + 1 - len(`{"event":"signup","value":1,"note":""}`)
	if pad < 0 {
		pad = 0
	}
	return []Payload{
		{Name: "valid", Body: []byte(valid), Valid: true},
		{Name: "truncated-json", Body: []byte(valid[:len(valid)/2])},
		{Name: "wrong-types", Body: []byte(`{"event":42,"value":"forty-two","tags":"web"}`)},
		{Name: "oversized", Body: []byte(`{"event":"signup","value":1,"note":"` + strings.Repeat("x", pad) + `"}`)},
		{Name: "invalid-utf8", Body: []byte("{\"event\":\"sign\xff\xfeup\",\"value\":1}")},
		{Name: "sql-injection", Body: []byte(`{"event":"signup'; DROP TABLE events;--","value":1}`)},
		{Name: "script-injection", Body: []byte(`{"event":"<script>alert(1)</script>","value":1}`)},
		{Name: "template-injection", Body: []byte(`{"event":"${jndi:ldap://127.0.0.1/a}","value":1}`)},
		{Name: "deep-nesting", Body: []byte(deep)},
	}
}
