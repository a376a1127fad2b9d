package demo

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestGraphCost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		q     string
		cost  float64
		depth int
		bad   bool
	}{
		{"a flat query costs one", "{ tenant { id } }", 1, 2, false},
		{"first: multiplies the level below", "{ users(first: 10) { id } }", 10, 2, false},
		{"nested first: multiply along the path", "{ a(first: 10) { b(first: 20) { id } } }", 200, 3, false},
		{"siblings take the larger path, not the sum", "{ a(first: 10) { id } b(first: 3) { c(first: 2) { id } } }", 10, 3, false},
		{"an unclosed brace is an error", "{ a { id }", 0, 0, true},
		{"a stray closing brace is an error", "{ a } }", 0, 0, true},
	} {
		cost, depth, err := GraphCost(tc.q)
		if (err != nil) != tc.bad || !tc.bad && (cost != tc.cost || depth != tc.depth) {
			t.Errorf("%s: cost %v depth %d err %v, want %v %d bad=%v", tc.name, cost, depth, err, tc.cost, tc.depth, tc.bad)
		}
	}
}

func TestValidateEvent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		body string
		ok   bool
	}{
		{"a valid event", `{"event":"signup","value":42,"tags":["web"]}`, true},
		{"truncated JSON", `{"event":"sig`, false},
		{"wrong types", `{"event":42,"value":"x"}`, false},
		{"an unknown field", `{"event":"a","admin":true}`, false},
		{"invalid UTF-8", "{\"event\":\"a\xff\"}", false},
		{"SQL injection in the name", `{"event":"a'; DROP TABLE x;--"}`, false},
		{"deep nesting", strings.Repeat("[", 40) + strings.Repeat("]", 40), false},
		{"two documents", `{"event":"a"}{"event":"b"}`, false},
		{"oversized", `{"event":"a","note":"` + strings.Repeat("x", 100) + `"}`, false},
		{"brackets inside strings do not nest", `{"event":"a","note":"` + strings.Repeat("[", 40) + `"}`, true},
	} {
		_, err := ValidateEvent([]byte(tc.body), 100, 32)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func FuzzValidateEvent(f *testing.F) {
	f.Add([]byte(`{"event":"signup","value":1}`))
	f.Add([]byte(`[[[[`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ValidateEvent(b, 4096, 32)
		if err == nil && (e == nil || !eventNameRE.MatchString(e.Event)) {
			t.Fatalf("accepted an event without a valid name: %q", b)
		}
	})
}

func FuzzGraphCost(f *testing.F) {
	f.Add("{ a(first: 10) { b { id } } }")
	f.Fuzz(func(t *testing.T, q string) {
		cost, depth, err := GraphCost(q)
		if err == nil && (cost < 1 || depth < 0) {
			t.Fatalf("cost %v depth %d for %q", cost, depth, q)
		}
	})
}

// TestRateGuard drives the guard with a fake clock: steady traffic is
// never throttled, a spike is, and the tenant is released at the first
// normal bucket after the spike (or after the cool-down).
func TestRateGuard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		cooldown time.Duration
		release  time.Duration // at most, after the spike
	}{
		{"released at the first normal bucket", 0, 500 * time.Millisecond},
		{"held for the cool-down", 2 * time.Second, 2500 * time.Millisecond},
	} {
		g, err := NewRateGuard(RateGuardOptions{CoolDown: tc.cooldown})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Unix(1000, 0)
		send := func(rate float64, d time.Duration) (denied int, lastDenied time.Time) {
			step := time.Duration(float64(time.Second) / rate)
			for end := now.Add(d); now.Before(end); now = now.Add(step) {
				if !g.Allow("a", now) {
					denied++
					lastDenied = now
				}
			}
			return
		}
		if n, _ := send(10, 3*time.Second); n != 0 {
			t.Fatalf("%s: steady 10/s throttled %d times", tc.name, n)
		}
		if n, _ := send(100, time.Second); n < 50 {
			t.Fatalf("%s: a 10× spike was throttled only %d times", tc.name, n)
		}
		spikeEnd := now
		_, last := send(10, 4*time.Second)
		if rec := last.Sub(spikeEnd); rec > tc.release {
			t.Errorf("%s: still throttled %s after the spike, want at most %s", tc.name, rec, tc.release)
		}
	}
}

func TestAbuseRoutes(t *testing.T) {
	t.Parallel()
	a, err := NewAbuse(AbuseOptions{FanOutLimit: 1000, Validate: true, Audit: true})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := StartWith(context.Background(), "127.0.0.1:0", Options{Middleware: a.Middleware()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a.Register(srv.Service)
	post := func(path, body string) int {
		resp, err := http.Post(srv.URL()+path, "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		path, body string
		want       int
	}{
		{"/t/acme/graph", `{"query":"{ users(first: 10) { id } }"}`, 200},
		{"/t/acme/graph", `{"query":"{ a(first: 100) { b(first: 100) { id } } }"}`, 429},
		{"/t/acme/events", `{"event":"signup"}`, 202},
		{"/t/acme/events", `{"event":`, 400},
		{"/t/nobody/events", `{"event":"signup"}`, 404},
	} {
		if got := post(tc.path, tc.body); got != tc.want {
			t.Errorf("POST %s %s: %d, want %d", tc.path, tc.body, got, tc.want)
		}
	}
	if n := a.Rejected("acme"); n != 1 {
		t.Errorf("audit counter %d, want 1", n)
	}
	resp, err := http.Get(srv.URL() + "/t/acme/audit")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if !strings.Contains(buf.String(), `"rejected":1`) {
		t.Errorf("audit document %s", buf.String())
	}
}

func TestRateGuardFreshBaselineAfterIdle(t *testing.T) {
	t.Parallel()
	g, _ := NewRateGuard(RateGuardOptions{})
	now := time.Unix(1000, 0)
	for i := range 40 { // 4 s at 10/s
		g.Allow("a", now.Add(time.Duration(i)*100*time.Millisecond))
	}
	now = now.Add(10 * time.Second) // long idle, then 20/s: a new baseline, not an anomaly
	for i := range 40 {
		if !g.Allow("a", now.Add(time.Duration(i)*50*time.Millisecond)) {
			t.Fatalf("request %d after an idle period throttled", i)
		}
	}
}
