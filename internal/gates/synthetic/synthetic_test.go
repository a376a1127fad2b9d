package syntheticgate

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/demo"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

var tenants = []string{"acme", "globex", "initech"}

// startDemo starts the demo service with the abuse behaviours on loopback.
func startDemo(t *testing.T, ab demo.AbuseOptions, knobs map[string]demo.Knobs) (*demo.Server, *demo.Abuse) {
	t.Helper()
	loadSlot(t)
	a, err := demo.NewAbuse(ab)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv, err := demo.StartWith(ctx, "127.0.0.1:0", demo.Options{Tenants: tenants, Knobs: knobs, Middleware: a.Middleware()})
	if err != nil {
		t.Fatal(err)
	}
	a.Register(srv.Service)
	t.Cleanup(func() { srv.Close() })
	return srv, a
}

// baseSpec is a short, known-good spec for the demo; each test changes
// what it is about. Its 60 samples per tenant meet the minimum of p95
// (59) and, with error-rate < 0.05 and false-positive-rate <= 0.05, of
// the rates (52); the default error-rate < 0.01 would need 268.
func baseSpec(target, scenario string) Spec {
	return Spec{
		Target: target, Tenants: tenants, Scenario: scenario, LoopbackOnly: true,
		Rate: 60, Duration: dur(time.Second), MaxInFlight: 512, Timeout: policy.Duration(5 * time.Second),
		Probe:         Probe{Path: "/t/{tenant}/items"},
		LateTolerance: policy.Duration(time.Second), // a shared, busy 2-core CI machine; lateness has its own test
		Thresholds:    Thresholds{ErrorRate: policy.MustCondition("< 0.05"), FalsePositives: policy.MustCondition("<= 0.05")},
	}
}

// dur is a policy duration for Spec.Duration.
func dur(d time.Duration) *policy.Duration {
	v := policy.Duration(d)
	return &v
}

// heavy bounds how many load-generating tests run at once, so that the
// tests measure the service, not a starved test process.
var heavy = make(chan struct{}, 2)

func loadSlot(t *testing.T) {
	heavy <- struct{}{}
	t.Cleanup(func() { <-heavy })
}

func runGate(t *testing.T, s Spec, shard string) (*gate.Result, error) {
	t.Helper()
	env := gate.Env{Getenv: func(k string) string {
		if k == ShardEnv {
			return shard
		}
		return ""
	}}
	m := gate.Meta{ID: "synthetic-" + s.Scenario, Kind: Kind}
	g, err := New(m, s, env)
	if err != nil {
		t.Fatal(err)
	}
	// As releasegate runs it: gate.Runner folds the checks into the status.
	res, err := (&gate.Runner{}).RunOne(context.Background(), gate.Planned{Meta: m, Gate: g})
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// failed returns "tenant/check" of every failed check.
func failed(r *gate.Result) []string {
	var out []string
	for _, c := range r.Checks {
		if c.Status != gate.StatusPass {
			out = append(out, c.Tenant+"/"+c.Name)
		}
	}
	return out
}

func expectStatus(t *testing.T, r *gate.Result, err error, want gate.Status, wantFailed ...string) {
	t.Helper()
	if err != nil {
		t.Fatalf("gate could not evaluate: %v", err)
	}
	if r.Status != want {
		js, _ := json.MarshalIndent(r.Checks, "", "  ")
		t.Fatalf("status %s, want %s (%s); checks:\n%s", r.Status, want, r.Summary, js)
	}
	got := strings.Join(failed(r), ",")
	for _, w := range wantFailed {
		if !strings.Contains(got, w) {
			t.Errorf("failed checks %q lack %q", got, w)
		}
	}
	for _, c := range r.Checks {
		if c.Message == "" {
			t.Errorf("check %s/%s has no message", c.Tenant, c.Name)
		}
	}
}

func TestSLOScenario(t *testing.T) {
	t.Parallel()
	t.Run("every tenant within its SLO passes", func(t *testing.T) {
		t.Parallel()
		srv, _ := startDemo(t, demo.AbuseOptions{}, nil)
		r, err := runGate(t, baseSpec(srv.URL(), ScenarioSLO), "")
		expectStatus(t, r, err, gate.StatusPass)
		if len(r.Checks) != 3*3 {
			t.Errorf("%d checks, want compliance, p95 and error rate for 3 tenants", len(r.Checks))
		}
	})
	t.Run("a slow tenant fails compliance and p95", func(t *testing.T) {
		t.Parallel()
		srv, _ := startDemo(t, demo.AbuseOptions{}, map[string]demo.Knobs{"globex": {Latency: 400 * time.Millisecond}})
		r, err := runGate(t, baseSpec(srv.URL(), ScenarioSLO), "")
		expectStatus(t, r, err, gate.StatusFail, "globex/slo compliance", "globex/p95 latency")
		for _, f := range failed(r) {
			if !strings.HasPrefix(f, "globex/") {
				t.Errorf("healthy tenant failed: %s", f)
			}
		}
	})
	t.Run("a tenant with 10% errors fails its error rate", func(t *testing.T) {
		t.Parallel()
		srv, _ := startDemo(t, demo.AbuseOptions{}, map[string]demo.Knobs{"initech": {ErrorRate: 0.1}})
		r, err := runGate(t, baseSpec(srv.URL(), ScenarioSLO), "")
		expectStatus(t, r, err, gate.StatusFail, "initech/error rate")
	})
}

func anomalySpec(target string) Spec {
	s := baseSpec(target, ScenarioRateAnomaly)
	s.Rate = 10 // 40 requests per well-behaved tenant: false-positive-rate <= 0.1 needs 25
	s.Thresholds.FalsePositives = policy.MustCondition("<= 0.1")
	s.Duration = dur(1500 * time.Millisecond)
	s.Spike = Spike{Tenant: "globex", Rate: 120, Duration: policy.Duration(time.Second)}
	return s
}

func TestRateAnomalyScenario(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		guard    *demo.RateGuardOptions
		recovery time.Duration
		want     gate.Status
		failed   []string
	}{
		{"a per-tenant z-score guard throttles the spike, spares the others and recovers", &demo.RateGuardOptions{}, 30 * time.Second, gate.StatusPass, nil},
		{"without a guard the spike is never throttled", nil, 30 * time.Second, gate.StatusFail, []string{"globex/spiking tenant throttled"}},
		{"a global guard throttles well-behaved tenants too", &demo.RateGuardOptions{Global: true}, 30 * time.Second, gate.StatusFail, []string{"acme/false-positive 429 rate", "initech/false-positive 429 rate"}},
		{"a guard with a long cool-down recovers too late", &demo.RateGuardOptions{CoolDown: 3 * time.Second}, time.Second, gate.StatusFail, []string{"globex/throttle recovery"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := startDemo(t, demo.AbuseOptions{RateGuard: tc.guard}, nil)
			s := anomalySpec(srv.URL())
			s.Thresholds.Recovery = policy.Duration(tc.recovery)
			r, err := runGate(t, s, "")
			expectStatus(t, r, err, tc.want, tc.failed...)
			if tc.want == gate.StatusPass {
				for _, c := range r.Checks {
					if c.Name == "throttle recovery" {
						if v, _ := c.Observed.Float(); v > 1 {
							t.Errorf("recovery %vs; the guard releases at the first normal bucket", v)
						}
					}
				}
			}
		})
	}
}

func TestGraphComplexityScenario(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		limit  int
		want   gate.Status
		failed []string
	}{
		{"a fan-out limit refuses bombs and serves normal queries", 10000, gate.StatusPass, nil},
		{"without a limit bombs are executed", 0, gate.StatusFail, []string{"acme/bomb queries answered 429"}},
		{"a limit so low it refuses normal queries", 5, gate.StatusFail, []string{"acme/normal queries error rate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := startDemo(t, demo.AbuseOptions{FanOutLimit: tc.limit}, nil)
			s := baseSpec(srv.URL(), ScenarioGraphComplexity)
			s.Duration = dur(1500 * time.Millisecond) // 72 normal queries per tenant
			s.Graph.Path = "/t/{tenant}/graph"
			r, err := runGate(t, s, "")
			expectStatus(t, r, err, tc.want, tc.failed...)
		})
	}
}

func TestIngestValidatorScenario(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		ab     demo.AbuseOptions
		want   gate.Status
		failed []string
	}{
		{"a strict validator rejects every malformation and audits each", demo.AbuseOptions{Validate: true, Audit: true}, gate.StatusPass, nil},
		{"without validation malformed payloads are accepted", demo.AbuseOptions{Audit: true}, gate.StatusFail,
			[]string{"acme/truncated-json payloads answered 400", "acme/sql-injection payloads answered 400", "acme/deep-nesting payloads answered 400", "acme/invalid-utf8 payloads answered 400"}},
		{"rejections that are not audited", demo.AbuseOptions{Validate: true}, gate.StatusFail, []string{"acme/rejections audited"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, a := startDemo(t, tc.ab, nil)
			s := baseSpec(srv.URL(), ScenarioIngestValidator)
			s.Rate = 36                                            // 4 of each of the 9 payloads per tenant
			s.Thresholds.ErrorRate = policy.MustCondition("< 0.5") // 4 valid payloads: its bound needs 3
			s.Ingest = Ingest{Path: "/t/{tenant}/events", AuditURL: "/t/{tenant}/audit"}
			r, err := runGate(t, s, "")
			expectStatus(t, r, err, tc.want, tc.failed...)
			if tc.want == gate.StatusPass {
				rec, _ := RecordOf(r)
				if rec.Audit["acme"] != a.Rejected("acme") || a.Rejected("acme") != 32 {
					t.Errorf("audit delta %d, service counter %d, want 32 (8 malformations × 4)", rec.Audit["acme"], a.Rejected("acme"))
				}
			}
		})
	}
}

func TestIsolationScenario(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		partitioned bool
		want        gate.Status
	}{
		{"partitioned workers keep light tenants within their p95", true, gate.StatusPass},
		{"a shared worker pool lets the heavy tenant queue everyone", false, gate.StatusFail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := startDemo(t, demo.AbuseOptions{Noisy: &demo.NoisyOptions{Workers: 2, Work: 20 * time.Millisecond, Partitioned: tc.partitioned}}, nil)
			// 2 workers × 20ms serve 100 req/s; the heavy tenant asks for 150,
			// the light ones 40 each
			s := baseSpec(srv.URL(), ScenarioIsolation)
			s.Rate = 40 // 60 requests per light tenant, for p95's 59
			s.Duration = dur(1500 * time.Millisecond)
			s.Timeout = policy.Duration(5 * time.Second)
			s.Heavy = Heavy{Tenant: "acme", Rate: 150}
			r, err := runGate(t, s, "")
			expectStatus(t, r, err, tc.want)
			for _, c := range r.Checks {
				if c.Tenant == "acme" {
					t.Errorf("the heavy tenant was judged: %+v", c)
				}
			}
			if tc.want == gate.StatusFail && !strings.Contains(strings.Join(failed(r), ","), "globex/p95 latency") {
				t.Errorf("failed %v, want globex's p95 among them", failed(r))
			}
		})
	}
}

// TestShardMergeEqualsUnsharded runs the same scenario whole and in two
// shards against the same kind of service; the merged shard result has
// exactly the unsharded run's request counts per tenant.
func TestShardMergeEqualsUnsharded(t *testing.T) {
	t.Parallel()
	for _, scenario := range []string{ScenarioSLO, ScenarioIsolation} {
		t.Run(scenario, func(t *testing.T) {
			t.Parallel()
			srv, _ := startDemo(t, demo.AbuseOptions{}, nil)
			s := baseSpec(srv.URL(), scenario)
			s.Heavy.Rate = 45 // odd split: 45 arrivals over 2 shards
			whole, err := runGate(t, s, "")
			if err != nil {
				t.Fatal(err)
			}
			var parts []gate.Result
			for _, sh := range []string{"2/2", "1/2"} {
				r, err := runGate(t, s, sh)
				if err != nil {
					t.Fatal(err)
				}
				// through JSON, as the matrix hands files to the merge job
				b, _ := json.Marshal(r)
				var back gate.Result
				if err := json.Unmarshal(b, &back); err != nil {
					t.Fatal(err)
				}
				parts = append(parts, back)
			}
			merged, err := Merge(parts)
			if err != nil {
				t.Fatal(err)
			}
			wr, _ := RecordOf(whole)
			mr, _ := RecordOf(merged)
			if len(wr.Run.Streams) != len(mr.Run.Streams) {
				t.Fatalf("%d streams merged, %d unsharded", len(mr.Run.Streams), len(wr.Run.Streams))
			}
			for i, w := range wr.Run.Streams {
				m := mr.Run.Streams[i]
				if w.Tenant != m.Tenant || w.Planned != m.Planned || w.Sent != m.Sent || w.Responses != m.Responses || w.Latency.Count() != m.Latency.Count() {
					t.Errorf("%s: merged planned/sent/responses/latency count %d/%d/%d/%d, unsharded %d/%d/%d/%d", w.Tenant,
						m.Planned, m.Sent, m.Responses, m.Latency.Count(), w.Planned, w.Sent, w.Responses, w.Latency.Count())
				}
			}
			if len(merged.Checks) != len(whole.Checks) || merged.Status != whole.Status {
				t.Errorf("merged: %d checks, %s; unsharded: %d checks, %s", len(merged.Checks), merged.Status, len(whole.Checks), whole.Status)
			}
			if strings.Join(mr.Shards, ",") != "1/2,2/2" {
				t.Errorf("shards %v", mr.Shards)
			}
		})
	}
}

func TestMergeRefusesIncompleteOrDuplicateShards(t *testing.T) {
	t.Parallel()
	srv, _ := startDemo(t, demo.AbuseOptions{}, nil)
	s := baseSpec(srv.URL(), ScenarioSLO)
	one, err := runGate(t, s, "1/2")
	if err != nil {
		t.Fatal(err)
	}
	other := baseSpec(srv.URL(), ScenarioSLO)
	other.Thresholds.P95 = policy.MustCondition("<= 100")
	two, err := runGate(t, other, "2/2")
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string][]gate.Result{
		"a missing shard":          {*one},
		"a shard given twice":      {*one, *one},
		"shards of other settings": {*one, *two},
		"nothing":                  nil,
	} {
		if _, err := Merge(in); !errors.Is(err, ErrShards) {
			t.Errorf("%s: got %v, want ErrShards", name, err)
		}
	}
}

func TestMergeOfAnErroredShardIsAnError(t *testing.T) {
	t.Parallel()
	r := fixedResult()
	bad := gate.Result{Gate: r.Gate, Kind: Kind, Status: gate.StatusError, Error: "source unreachable: http://127.0.0.1:1"}
	m, err := Merge([]gate.Result{*r, bad})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != gate.StatusError || !strings.Contains(m.Error, "127.0.0.1:1") {
		t.Fatalf("status %s error %q; want error naming the shard's cause", m.Status, m.Error)
	}
}

func TestShardTenantsAreDeterministicAndDisjoint(t *testing.T) {
	t.Parallel()
	all := []string{"zeta", "acme", "globex", "initech", "umbrella"}
	seen := map[string]int{}
	for i := 1; i <= 3; i++ {
		for _, tn := range (Shard{i, 3}).Tenants(all) {
			seen[tn]++
		}
	}
	for _, tn := range all {
		if seen[tn] != 1 {
			t.Errorf("tenant %s in %d shards", tn, seen[tn])
		}
	}
	if got := (Shard{1, 3}).Tenants([]string{"b", "a", "c", "d"}); strings.Join(got, ",") != "a,d" {
		t.Errorf("shard 1/3 of a..d = %v, want a,d regardless of policy order", got)
	}
	for _, bad := range []string{"0/2", "3/2", "1", "a/b", "1/0", "-1/2"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("shard %q accepted", bad)
		}
	}
}

// TestBadTargets: a target that cannot be judged is an error (exit 3),
// named by its cause, never a pass or a service failure.
func TestBadTargets(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	closer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
			c.Close()
		}
	}))
	t.Cleanup(closer.Close)
	for _, tc := range []struct{ name, target, want string }{
		{"nothing listens on the port", dead, "nothing listens there"},
		{"the certificate is not trusted", tlsSrv.URL, "TLS handshake failed"},
		{"the target closes every connection", closer.URL, "closes connections"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := baseSpec(tc.target, ScenarioSLO)
			r, err := runGate(t, s, "")
			if !errors.Is(err, gate.ErrUnreachable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got result %v, error %v; want ErrUnreachable saying %q", r, err, tc.want)
			}
		})
	}
}

func TestNonLoopbackTargetRefusedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"http://example.com", "https://10.1.2.3:8443", "http://127.0.0.1.nip.io"} {
		s := baseSpec(target, ScenarioSLO)
		_, err := New(gate.Meta{ID: "x"}, s, gate.Env{})
		if !errors.Is(err, gate.ErrBadInput) {
			t.Errorf("%s: got %v, want a bad-input error", target, err)
		}
	}
}

// TestUnreachableRateIsTheGeneratorsFault: a rate beyond the in-flight
// bound is reported as "rate not reached", an error, not a failure of
// the service.
func TestUnreachableRateIsTheGeneratorsFault(t *testing.T) {
	t.Parallel()
	srv, _ := startDemo(t, demo.AbuseOptions{}, map[string]demo.Knobs{"acme": {Latency: 100 * time.Millisecond}})
	s := baseSpec(srv.URL(), ScenarioSLO)
	s.MaxInFlight = 2
	s.LateTolerance = policy.Duration(50 * time.Millisecond)
	s.Rate = 60 // 10 times what 2 in flight at 100ms can send
	r, err := runGate(t, s, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != gate.StatusError || !strings.Contains(r.Error, "rate not reached") || !strings.Contains(r.Error, "max-in-flight") {
		t.Fatalf("status %s, error %q; want an error naming the unreached rate and max-in-flight", r.Status, r.Error)
	}
}

func TestSpecValidation(t *testing.T) {
	t.Parallel()
	good := baseSpec("http://127.0.0.1:1", ScenarioSLO)
	for _, tc := range []struct {
		name  string
		edit  func(*Spec)
		field string
	}{
		{"a target without scheme", func(s *Spec) { s.Target = "127.0.0.1:8080" }, "target"},
		{"no tenants", func(s *Spec) { s.Tenants = nil }, "tenants"},
		{"a duplicate tenant", func(s *Spec) { s.Tenants = []string{"a", "a"} }, "tenants[1]"},
		{"an unknown scenario", func(s *Spec) { s.Scenario = "chaos" }, "scenario"},
		{"a negative rate", func(s *Spec) { s.Rate = -1 }, "rate"},
		{"a spike tenant not in tenants", func(s *Spec) { s.Scenario = ScenarioRateAnomaly; s.Spike.Tenant = "nobody" }, "spike.tenant"},
		{"isolation with one tenant", func(s *Spec) { s.Scenario = ScenarioIsolation; s.Tenants = []string{"a"} }, "tenants"},
		{"a bomb share of 1", func(s *Spec) { s.Graph.BombShare = 1 }, "graph.bomb-share"},
		{"a relative threshold", func(s *Spec) { s.Thresholds.P95 = policy.MustCondition("<= baseline * 2") }, "thresholds.p95-ms"},
		{"an impossible status", func(s *Spec) { s.Probe.Expect.Status = []int{42} }, "probe.expect.status[0]"},
		{"{tenant} in the tenant header's name", func(s *Spec) { s.TenantHeader = "X-{tenant}" }, "tenant-header"},
		{"a negative min-samples", func(s *Spec) { s.MinSamples = -1 }, "min-samples"},
		{"an explicit duration of 0s", func(s *Spec) { s.Duration = dur(0) }, "duration"},
		{"too few samples for p95", func(s *Spec) { s.Rate = 50 }, "duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := good
			tc.edit(&s)
			errs := s.Validate()
			var fe *policy.FieldError
			if len(errs) == 0 || !errors.As(errs[0], &fe) || fe.Field != tc.field {
				t.Fatalf("errors %v, want one at %s", errs, tc.field)
			}
		})
	}
	if errs := good.Validate(); len(errs) != 0 {
		t.Fatalf("the good spec is refused: %v", errs)
	}
}
