package syntheticgate

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// fakeService is a small multi-tenant service on loopback: a tenant in
// broken is answered 500 on every request, bombs of a tenant in mixed are
// answered 429 and 503 in turn, and everything else behaves: items
// answer {"tenant": "<tenant>"} (or wrongTenant's name when set), graph
// bombs are refused with 429, valid payloads accepted, malformed ones
// refused with 400 and audited.
type fakeService struct {
	broken, mixed map[string]bool
	wrongTenant   string
	n             atomic.Int64
	mu            sync.Mutex
	rejected      map[string]int
}

func (f *fakeService) start(t *testing.T) string {
	t.Helper()
	loadSlot(t)
	f.rejected = map[string]int{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL
}

func (f *fakeService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tenant := r.Header.Get("X-Tenant")
	body, _ := io.ReadAll(r.Body)
	if strings.HasSuffix(r.URL.Path, "/audit") {
		f.mu.Lock()
		fmt.Fprintf(w, `{"rejected": %d}`, f.rejected[tenant])
		f.mu.Unlock()
		return
	}
	if f.broken[tenant] {
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/graph"):
		if !strings.Contains(string(body), "friends") {
			fmt.Fprint(w, `{"data": {}}`)
			return
		}
		if f.mixed[tenant] && f.n.Add(1)%2 == 0 {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		http.Error(w, "too complex", http.StatusTooManyRequests)
	case strings.HasSuffix(r.URL.Path, "/events"):
		var v struct {
			Event string `json:"event"`
			Value int    `json:"value"`
		}
		if len(body) > 1000 || json.Unmarshal(body, &v) != nil || v.Event != "signup" {
			f.mu.Lock()
			f.rejected[tenant]++
			f.mu.Unlock()
			http.Error(w, "bad payload", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	default:
		name := tenant
		if f.wrongTenant != "" {
			name = f.wrongTenant
		}
		fmt.Fprintf(w, `{"tenant": %q}`, name)
	}
}

func graphEdit(s *Spec) {
	s.Graph.Path = "/t/{tenant}/graph"
	s.Duration = dur(1500 * time.Millisecond) // 72 normal queries per tenant
}

// TestEveryScenarioJudgesErrors: a tenant answered 500 on every request
// fails every scenario, including the abuse scenarios whose own checks
// (429 false positives, bombs, malformed payloads) it would otherwise
// pass; bombs answered 429 and 503 in turn are not refused.
func TestEveryScenarioJudgesErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		scenario string
		svc      *fakeService
		edit     func(*Spec)
		failed   []string
	}{
		{"slo: a tenant answered 500", ScenarioSLO, &fakeService{broken: map[string]bool{"globex": true}}, nil,
			[]string{"globex/successful requests", "globex/error rate", "globex/slo compliance"}},
		{"isolation: a light tenant answered 500", ScenarioIsolation, &fakeService{broken: map[string]bool{"globex": true}},
			func(s *Spec) { s.Heavy = Heavy{Tenant: "acme", Rate: 120} }, []string{"globex/successful requests", "globex/error rate"}},
		{"isolation: the heavy tenant answered 500", ScenarioIsolation, &fakeService{broken: map[string]bool{"acme": true}},
			func(s *Spec) { s.Heavy = Heavy{Tenant: "acme", Rate: 120} }, []string{"acme/successful requests"}},
		{"rate-anomaly: a well-behaved tenant answered 500 has no false positives but fails", ScenarioRateAnomaly, &fakeService{broken: map[string]bool{"globex": true}},
			func(s *Spec) {
				s.Rate, s.Duration = 20, dur(1200*time.Millisecond) // 58 requests of well-behaved tenants
				s.Spike = Spike{Tenant: "acme", Rate: 60, Duration: policy.Duration(500 * time.Millisecond)}
			}, []string{"globex/successful requests", "globex/unexpected errors"}},
		{"graph-complexity: a tenant answered 500", ScenarioGraphComplexity, &fakeService{broken: map[string]bool{"globex": true}},
			graphEdit, []string{"globex/successful requests", "globex/bomb queries answered 429", "globex/unexpected errors"}},
		{"graph-complexity: bombs answered 429 and 503 in turn", ScenarioGraphComplexity, &fakeService{mixed: map[string]bool{"globex": true}},
			graphEdit, []string{"globex/bomb queries answered 429", "globex/unexpected errors"}},
		{"ingest-validator: a tenant answered 500", ScenarioIngestValidator, &fakeService{broken: map[string]bool{"globex": true}},
			func(s *Spec) {
				s.Ingest = Ingest{Path: "/t/{tenant}/events", AuditURL: "/t/{tenant}/audit"}
				s.Rate = 36                                            // 4 of each of the 9 payloads per tenant
				s.Thresholds.ErrorRate = policy.MustCondition("< 0.5") // 4 valid payloads: its bound needs 3
			}, []string{"globex/successful requests", "globex/valid payloads accepted", "globex/unexpected errors"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := baseSpec(tc.svc.start(t), tc.scenario)
			if tc.edit != nil {
				tc.edit(&s)
			}
			r, err := runGate(t, s, "")
			expectStatus(t, r, err, gate.StatusFail, tc.failed...)
			// latency and timeouts of the healthy tenants depend on the
			// machine; their successes do not
			broken := tc.failed[0][:strings.Index(tc.failed[0], "/")+1]
			for _, f := range failed(r) {
				if strings.HasSuffix(f, "/successful requests") && !strings.HasPrefix(f, broken) {
					t.Errorf("a healthy tenant failed: %s", f)
				}
			}
		})
	}
}

// TestTenantInExpectations: {tenant} is replaced in body-contains, so a
// service that answers every tenant with one tenant's data fails.
func TestTenantInExpectations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		wrong  string
		want   gate.Status
		failed []string
	}{
		{"each tenant gets its own data", "", gate.StatusPass, nil},
		{"every tenant gets acme's data", "acme", gate.StatusFail, []string{"globex/error rate", "initech/error rate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := &fakeService{wrongTenant: tc.wrong}
			s := baseSpec(svc.start(t), ScenarioSLO)
			s.Probe.Expect = Expect{BodyContains: `"tenant": "{tenant}"`, Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}}
			r, err := runGate(t, s, "")
			expectStatus(t, r, err, tc.want, tc.failed...)
			if tc.want == gate.StatusFail {
				for _, f := range failed(r) {
					if strings.HasPrefix(f, "acme/") {
						t.Errorf("acme got its own data and failed: %s", f)
					}
				}
			}
		})
	}
}

// TestShardsDealJudgedTenants: with tenants [h, t1, t2, t3] and a heavy h
// over 4 shards, the judged tenants are dealt to shards 1-3 and shard 4
// runs only its share of h's load: it skips with its reason instead of
// failing, every other shard passes, and the merge of the four equals the
// unsharded verdict.
func TestShardsDealJudgedTenants(t *testing.T) {
	t.Parallel()
	svc := &fakeService{}
	s := baseSpec(svc.start(t), ScenarioIsolation)
	s.Tenants = []string{"h", "t1", "t2", "t3"}
	s.Heavy = Heavy{Tenant: "h", Rate: 120}
	whole, err := runGate(t, s, "")
	expectStatus(t, whole, err, gate.StatusPass)
	var parts []gate.Result
	for i := 1; i <= 4; i++ {
		sh := fmt.Sprintf("%d/4", i)
		r, err := runGate(t, s, sh)
		if err != nil {
			t.Fatalf("shard %s: %v", sh, err)
		}
		want := gate.StatusPass
		if i == 4 {
			want = gate.StatusSkip
		}
		if r.Status != want || len(r.Checks) == 0 {
			t.Errorf("shard %s: %s with %d checks (%s), want %s", sh, r.Status, len(r.Checks), r.Summary, want)
		}
		if i == 4 && (r.Checks[0].Status != gate.StatusSkip || !strings.Contains(r.Checks[0].Message, "judges no tenant of its own")) {
			t.Errorf("shard 4/4's check: %+v, want a skip saying why", r.Checks[0])
		}
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
	if merged.Status != whole.Status || len(merged.Checks) != len(whole.Checks) {
		t.Errorf("merged: %s with %d checks; unsharded: %s with %d checks", merged.Status, len(merged.Checks), whole.Status, len(whole.Checks))
	}
	mr, _ := RecordOf(merged)
	wr, _ := RecordOf(whole)
	if m, w := mr.Run.Totals(), wr.Run.Totals(); m.Planned != w.Planned {
		t.Errorf("merged %d planned requests, unsharded %d", m.Planned, w.Planned)
	}
}
