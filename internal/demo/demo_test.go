package demo

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func newService(t *testing.T, o Options) *Service {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(t *testing.T, h http.Handler, method, path, body string, hdr ...string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, method, path, body string
		code                     int
		inBody                   string
	}{
		{"health answers ok", "GET", "/health", "", 200, `"status":"ok"`},
		{"ready answers ready", "GET", "/ready", "", 200, `"ready":true`},
		{"a tenant's items list starts empty", "GET", "/t/acme/items", "", 200, `"count":0`},
		{"a valid item is created", "POST", "/t/acme/items", `{"name": "widget", "value": 2.5}`, 201, `"name":"widget","value":2.5`},
		{"an item without a name is refused", "POST", "/t/acme/items", `{"value": 1}`, 400, "name is required"},
		{"an item with a blank name is refused", "POST", "/t/acme/items", `{"name": "  "}`, 400, "name is required"},
		{"an item with an unknown field is refused", "POST", "/t/acme/items", `{"name": "a", "admin": true}`, 400, `unknown field \"admin\"`},
		{"an item with the wrong type is refused", "POST", "/t/acme/items", `{"name": 5}`, 400, "invalid item"},
		{"a body that is not json is refused", "POST", "/t/acme/items", `name=widget`, 400, "invalid item"},
		{"two json values are refused", "POST", "/t/acme/items", `{"name":"a"}{"name":"b"}`, 400, "more than one JSON value"},
		{"a long name is refused", "POST", "/t/acme/items", `{"name": "` + strings.Repeat("x", 201) + `"}`, 400, "longer than 200 bytes"},
		{"an oversized body is refused", "POST", "/t/acme/items", `{"name": "` + strings.Repeat("x", 70<<10) + `"}`, 413, "larger than"},
		{"an unknown tenant is 404", "GET", "/t/umbrella/items", "", 404, `unknown tenant \"umbrella\"`},
		{"a wrong method is 405", "DELETE", "/t/acme/items", "", 405, ""},
		{"an unknown route is 404", "GET", "/nope", "", 404, "404 page not found"},
		{"admin lists every tenant's knobs", "GET", "/admin/tenants", "", 200, `"globex":{"error_rate":0,"latency_ms":0}`},
		{"admin sets knobs", "PUT", "/admin/tenants/globex", `{"latency_ms": 20, "error_rate": 0.25}`, 200, `"error_rate":0.25,"latency_ms":20`},
		{"admin refuses an error rate above 1", "PUT", "/admin/tenants/globex", `{"error_rate": 1.5}`, 400, "out of range"},
		{"admin refuses unknown knobs", "PUT", "/admin/tenants/globex", `{"speed": 1}`, 400, "unknown field"},
		{"admin knobs of an unknown tenant are 404", "GET", "/admin/tenants/umbrella", "", 404, "unknown tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newService(t, Options{})
			code, body := do(t, s, tt.method, tt.path, tt.body)
			if code != tt.code || !strings.Contains(body, tt.inBody) {
				t.Errorf("%s %s = %d %s; want %d containing %s", tt.method, tt.path, code, body, tt.code, tt.inBody)
			}
		})
	}
}

func TestItemsAreKeptPerTenant(t *testing.T) {
	t.Parallel()
	s := newService(t, Options{MaxItems: 2})
	for _, name := range []string{"a", "b"} {
		if code, body := do(t, s, "POST", "/t/acme/items", `{"name":"`+name+`"}`, "Content-Type", "application/json"); code != 201 {
			t.Fatalf("POST = %d %s", code, body)
		}
	}
	if code, body := do(t, s, "POST", "/t/acme/items", `{"name":"c"}`); code != 507 || !strings.Contains(body, "the most it may keep") {
		t.Errorf("third item = %d %s; want 507", code, body)
	}
	if _, body := do(t, s, "GET", "/t/acme/items", ""); !strings.Contains(body, `"count":2`) {
		t.Errorf("acme = %s", body)
	}
	if _, body := do(t, s, "GET", "/t/globex/items", ""); !strings.Contains(body, `"count":0`) {
		t.Errorf("globex sees acme's items: %s", body)
	}
	if code, _ := do(t, s, "POST", "/t/acme/items", `{"name":"x"}`, "Content-Type", "text/plain"); code != 415 {
		t.Errorf("text/plain = %d; want 415", code)
	}
}

func TestReadyAfter(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newService(t, Options{ReadyAfter: 5 * time.Second, Now: clock})
	if code, body := do(t, s, "GET", "/ready", ""); code != 503 || !strings.Contains(body, "warming up") {
		t.Errorf("ready before warm-up = %d %s", code, body)
	}
	mu.Lock()
	now = now.Add(5 * time.Second)
	mu.Unlock()
	if code, _ := do(t, s, "GET", "/ready", ""); code != 200 {
		t.Errorf("ready after warm-up = %d", code)
	}
}

func TestInjectedFaults(t *testing.T) {
	t.Parallel()
	var slept []time.Duration
	var mu sync.Mutex
	s := newService(t, Options{
		Knobs: map[string]Knobs{"acme": {ErrorRate: 0.25, Latency: 40 * time.Millisecond}},
		Sleep: func(ctx context.Context, d time.Duration) error {
			mu.Lock()
			slept = append(slept, d)
			mu.Unlock()
			return nil
		},
	})
	errs := 0
	for range 100 {
		if code, _ := do(t, s, "GET", "/t/acme/items", ""); code == 500 {
			errs++
		}
		if code, _ := do(t, s, "GET", "/t/globex/items", ""); code != 200 {
			t.Fatalf("globex is affected by acme's knobs: %d", code)
		}
	}
	if errs != 25 {
		t.Errorf("acme errors = %d of 100, want exactly 25 at error_rate 0.25", errs)
	}
	if len(slept) != 100 || slept[0] != 40*time.Millisecond {
		t.Errorf("injected latency: %d sleeps, first %v; want 100 of 40ms", len(slept), slept[:min(1, len(slept))])
	}
	if got := s.Metrics().Requests("acme", "5"); got != 25 {
		t.Errorf("acme 5xx in metrics = %d, want 25", got)
	}
}

func TestAdminToken(t *testing.T) {
	t.Parallel()
	s := newService(t, Options{AdminToken: "adm1n-tok"})
	if code, _ := do(t, s, "PUT", "/admin/tenants/acme", `{"error_rate": 1}`); code != 401 {
		t.Errorf("without token = %d, want 401", code)
	}
	if code, _ := do(t, s, "PUT", "/admin/tenants/acme", `{"error_rate": 1}`, "Authorization", "Bearer adm1n-tok"); code != 200 {
		t.Errorf("with token = %d, want 200", code)
	}
	if code, _ := do(t, s, "GET", "/t/acme/items", ""); code != 500 {
		t.Errorf("after error_rate 1 = %d, want 500", code)
	}
}

func TestMiddlewareExtension(t *testing.T) {
	t.Parallel()
	var seen []string
	guard := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name, _ := TenantFrom(r.Context())
			seen = append(seen, name)
			if name == "initech" {
				writeError(w, http.StatusTooManyRequests, "throttled")
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	s := newService(t, Options{Middleware: []Middleware{guard}})
	do(t, s, "GET", "/t/acme/items", "")
	if code, _ := do(t, s, "GET", "/t/initech/items", ""); code != 429 {
		t.Errorf("guarded tenant = %d, want 429", code)
	}
	if strings.Join(seen, ",") != "acme,initech" {
		t.Errorf("middleware saw %v", seen)
	}
	if got := s.Metrics().Requests("initech", "429"); got != 1 {
		t.Errorf("a guard's answers must be measured: initech 429 = %d", got)
	}
}

var sampleRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? [0-9.e+-]+$|^[a-zA-Z_:][a-zA-Z0-9_:]*\{.*le="\+Inf".*\} [0-9]+$`)

func TestMetricsFormat(t *testing.T) {
	t.Parallel()
	s := newService(t, Options{})
	do(t, s, "GET", "/t/acme/items", "")
	do(t, s, "GET", "/t/acme/items", "")
	do(t, s, "POST", "/t/globex/items", `{}`)
	do(t, s, "GET", "/t/umbrella/items", "") // unknown tenants make no series
	code, body := do(t, s, "GET", "/metrics", "")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`demo_http_requests_total{code="200",method="GET",route="/t/{tenant}/items",tenant="acme"} 2`,
		`demo_http_requests_total{code="400",method="POST",route="/t/{tenant}/items",tenant="globex"} 1`,
		`demo_http_request_duration_seconds_bucket{route="/t/{tenant}/items",tenant="acme",le="+Inf"} 2`,
		`demo_http_request_duration_seconds_count{route="/t/{tenant}/items",tenant="acme"} 2`,
		"# TYPE demo_http_request_duration_seconds histogram",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "umbrella") {
		t.Errorf("an unknown tenant became a series:\n%s", body)
	}
	sc := bufio.NewScanner(strings.NewReader(body))
	var last uint64
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		if !sampleRE.MatchString(line) {
			t.Errorf("not a Prometheus sample line: %q", line)
		}
		if strings.Contains(line, "_bucket{") && strings.Contains(line, `tenant="acme"`) {
			var n uint64
			if _, err := fmtSscan(line[strings.LastIndex(line, " ")+1:], &n); err != nil || n < last {
				t.Errorf("buckets are not cumulative at %q", line)
			}
			last = n
		}
	}
}

func TestServer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") {
		t.Errorf("URL = %s", srv.URL())
	}
	resp, err := http.Get(srv.URL() + "/health")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if v["status"] != "ok" || v["tenants"] != float64(3) {
		t.Errorf("/health = %v", v)
	}
	cancel() // ending the context stops the server
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := http.Get(srv.URL() + "/health")
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the server still answers after its context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStartRefuses(t *testing.T) {
	t.Parallel()
	for name, addr := range map[string]string{
		"a public address":          "0.0.0.0:0",
		"a non-loopback ip":         "192.0.2.1:80",
		"an address without a port": "127.0.0.1",
	} {
		t.Run(name, func(t *testing.T) {
			if s, err := Start(context.Background(), addr); err == nil {
				s.Close()
				t.Errorf("Start(%q) succeeded", addr)
			}
		})
	}
	if _, err := New(Options{Tenants: []string{"Bad Name"}}); err == nil {
		t.Error("a bad tenant name was accepted")
	}
	if _, err := New(Options{Knobs: map[string]Knobs{"nobody": {}}}); err == nil {
		t.Error("knobs for an unknown tenant were accepted")
	}
}

// FuzzAddItem: whatever the body, POST /t/{tenant}/items answers 201 or a
// 4xx, never a 5xx or a panic, and a 201 stores a valid item.
func FuzzAddItem(f *testing.F) {
	for _, s := range []string{`{"name":"a"}`, `{"name":"a","value":1e308}`, `{"value":null}`, `[]`, `{"name":"\ud800"}`, ``, `{"name":"a"} x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		s := newService(t, Options{})
		code, resp := do(t, s, "POST", "/t/acme/items", body)
		if code >= 500 || code != 201 && (code < 400 || code >= 500) {
			t.Fatalf("POST %q = %d %s", body, code, resp)
		}
		if code == 201 {
			var it Item
			if err := json.Unmarshal([]byte(resp), &it); err != nil || strings.TrimSpace(it.Name) == "" {
				t.Fatalf("stored %q from %q", resp, body)
			}
		}
	})
}

func fmtSscan(s string, n *uint64) (int, error) { return fmt.Sscan(s, n) }
