package httpgate

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/clock"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/gates/command/jsonpath"
	"github.com/maestro-conductor/releasegate/internal/outbound"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/http")

const goldenDir = "../../../testdata/http"

func strp(s string) *string { return &s }
func cond(s string) *policy.Condition {
	c := policy.MustCondition(s)
	return &c
}

// target is a loopback service with the endpoints the tests probe.
func target(t *testing.T) *httptest.Server {
	t.Helper()
	var flaky atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status": "ok", "checks": [{"name": "db", "latency_ms": 3}], "version": "1.4.2"}`)
	})
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("/text", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "all good") })
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		if flaky.Add(1) < 3 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"ready": true}`)
	})
	mux.HandleFunc("/auth", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-123456" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		fmt.Fprint(w, "welcome")
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		var v map[string]any
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&v) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(v)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func newGate(t *testing.T, s spec) *Gate {
	t.Helper()
	g, err := buildGate(gate.Meta{ID: "probe", Kind: kind, Group: "slo", Required: true}, s, gate.Env{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	g.sleep = func(ctx context.Context, d time.Duration) error { return clock.Sleep(ctx, time.Millisecond) }
	return g
}

func TestHTTPGate(t *testing.T) {
	t.Parallel()
	srv := target(t)
	tests := []struct {
		name   string
		spec   spec
		status gate.Status
		check  string
		inMsg  string
	}{
		{"a healthy endpoint answering 200 passes",
			spec{URL: srv.URL + "/health"}, gate.StatusPass, "status", "answered 200"},
		{"json fields meeting their expectations pass",
			spec{URL: srv.URL + "/health", Expect: expect{JSON: []jsonpath.Expect{
				{Path: jsonpath.MustParse(".status"), Equals: strp("ok")},
				{Path: jsonpath.MustParse(".checks[0].latency_ms"), Condition: cond("< 50")}}}},
			gate.StatusPass, "json .status", ".status = \"ok\" as expected"},
		{"a json field with the wrong value fails",
			spec{URL: srv.URL + "/health", Expect: expect{JSON: []jsonpath.Expect{
				{Path: jsonpath.MustParse(".version"), Equals: strp("1.5.0")}}}},
			gate.StatusFail, "json .version", `expected .version == 1.5.0, found a string "1.4.2"`},
		{"a body that is not json fails the json checks",
			spec{URL: srv.URL + "/text", Expect: expect{JSON: []jsonpath.Expect{{Path: jsonpath.MustParse(".ok"), Equals: strp("true")}}}},
			gate.StatusFail, "json .ok", "the response body is not JSON"},
		{"an empty body fails the json checks",
			spec{URL: srv.URL + "/empty", Expect: expect{JSON: []jsonpath.Expect{{Path: jsonpath.MustParse(".ok"), Equals: strp("true")}}}},
			gate.StatusFail, "json .ok", "it is empty"},
		{"an unexpected status fails and shows the body",
			spec{URL: srv.URL + "/down"}, gate.StatusFail, "status", "expected status 200, found 503; the response begins: database unavailable"},
		{"an expected 503 passes",
			spec{URL: srv.URL + "/down", Expect: expect{Status: []any{503, "2xx"}}}, gate.StatusPass, "status", "answered 503"},
		{"a status class matches",
			spec{URL: srv.URL + "/health", Expect: expect{Status: "2xx"}}, gate.StatusPass, "status", "answered 200"},
		{"body text present passes",
			spec{URL: srv.URL + "/text", Expect: expect{BodyContains: "good"}}, gate.StatusPass, "body contains", `the body contains "good"`},
		{"body text absent fails",
			spec{URL: srv.URL + "/text", Expect: expect{BodyContains: "ready"}}, gate.StatusFail, "body contains", `expected the body to contain "ready", it did not; the response begins: all good`},
		{"a slow answer fails its latency bound",
			spec{URL: srv.URL + "/slow", Expect: expect{MaxLatency: policy.Duration(50 * time.Millisecond)}},
			gate.StatusFail, "latency", "expected a response within 50ms, it took"},
		{"a fast answer meets its latency bound",
			spec{URL: srv.URL + "/text", Expect: expect{MaxLatency: policy.Duration(2 * time.Second)}},
			gate.StatusPass, "latency", "within 2s"},
		{"a secret header is sent",
			spec{URL: srv.URL + "/auth", SecretHeaders: map[string]string{"Authorization": "Bearer tok-123456"}},
			gate.StatusPass, "status", "answered 200"},
		{"a POST with a JSON body",
			spec{URL: srv.URL + "/echo", Method: "POST", Body: `{"n": 3}`, Headers: map[string]string{"Content-Type": "application/json"},
				Expect: expect{Status: 201, JSON: []jsonpath.Expect{{Path: jsonpath.MustParse(".n"), Condition: cond("== 3")}}}},
			gate.StatusPass, "json .n", ".n = 3 meets == 3"},
		{"a target that becomes ready within the retry window passes",
			spec{URL: srv.URL + "/flaky", Retry: retry{Within: policy.Duration(5 * time.Second), Interval: policy.Duration(10 * time.Millisecond)}},
			gate.StatusPass, "status", "answered 200"},
		{"a target still failing when the window closes fails",
			spec{URL: srv.URL + "/down", Retry: retry{Within: policy.Duration(100 * time.Millisecond), Interval: policy.Duration(20 * time.Millisecond)}},
			gate.StatusFail, "status", "found 503"},
		{"skipping TLS verification warns",
			spec{URL: srv.URL + "/health", InsecureSkipVerify: true}, gate.StatusWarn, "tls verification", "insecure-skip-verify is on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := evaluate(context.Background(), newGate(t, tt.spec))
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if res.Status != tt.status {
				t.Errorf("status = %s, want %s: %s %+v", res.Status, tt.status, res.Summary, res.Checks)
			}
			var found bool
			for _, c := range res.Checks {
				if c.Name == tt.check {
					found = true
					if !strings.Contains(c.Message, tt.inMsg) {
						t.Errorf("check %q message %q does not contain %q", c.Name, c.Message, tt.inMsg)
					}
				}
			}
			if !found {
				t.Errorf("no check %q in %+v", tt.check, res.Checks)
			}
		})
	}
}

func TestFlakyTargetIsRetried(t *testing.T) {
	t.Parallel()
	srv := target(t)
	res, err := evaluate(context.Background(), newGate(t, spec{URL: srv.URL + "/flaky", Retry: retry{Within: policy.Duration(5 * time.Second), Interval: policy.Duration(time.Millisecond)}}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Details["attempts"] != 3 || !strings.Contains(res.Summary, "after 3 attempt(s)") {
		t.Errorf("attempts = %v, summary %q; want 3", res.Details["attempts"], res.Summary)
	}
}

// closedURL returns a loopback URL where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/health"
}

func TestCouldNotEvaluate(t *testing.T) {
	t.Parallel()
	srv := target(t)
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake failure is the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	tests := []struct {
		name string
		spec spec
		want error
		msg  string
	}{
		{"a target where nothing listens is unreachable, not a fail",
			spec{URL: closedURL(t)}, gate.ErrUnreachable, "connection refused"},
		{"an unreachable target stays unreachable through the retry window",
			spec{URL: closedURL(t), Retry: retry{Within: policy.Duration(50 * time.Millisecond), Interval: policy.Duration(10 * time.Millisecond)}}, gate.ErrUnreachable, "attempt(s) over"},
		{"a target slower than the request timeout is a timeout",
			spec{URL: srv.URL + "/slow", Timeout: policy.Duration(50 * time.Millisecond)}, gate.ErrTimeout, "did not answer within 50ms"},
		{"an untrusted certificate is unreachable with a hint",
			spec{URL: tlsSrv.URL}, gate.ErrUnreachable, "give the CA that signed its certificate in ca-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res, err := evaluate(context.Background(), newGate(t, tt.spec))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v (result %+v), want %v", err, res, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err %q does not contain %q", err, tt.msg)
			}
		})
	}
}

func TestGateStoppedMidRetryIsTimeout(t *testing.T) {
	t.Parallel()
	srv := target(t)
	g := newGate(t, spec{URL: srv.URL + "/down", Retry: retry{Within: policy.Duration(time.Minute), Interval: policy.Duration(20 * time.Millisecond)}})
	g.sleep = clock.Sleep
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err := evaluate(ctx, g)
	if !errors.Is(err, gate.ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
}

func TestCAFile(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "secure") }))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := buildGate(gate.Meta{ID: "tls"}, spec{URL: srv.URL, CAFile: "ca.pem", Expect: expect{BodyContains: "secure"}}, gate.Env{PolicyDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	res, err := evaluate(context.Background(), g)
	if err != nil || res.Status != gate.StatusPass {
		t.Fatalf("res %+v, err %v", res, err)
	}
	if len(res.Inputs) != 2 || !strings.HasSuffix(res.Inputs[1].Name, "ca.pem") {
		t.Errorf("inputs = %+v; want the CA file digested", res.Inputs)
	}
	if err := os.WriteFile(filepath.Join(dir, "bad.pem"), []byte("not a cert"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"bad.pem", "missing.pem"} {
		if _, err := buildGate(gate.Meta{ID: "tls"}, spec{URL: srv.URL, CAFile: f}, gate.Env{PolicyDir: dir}); !errors.Is(err, gate.ErrBadInput) {
			t.Errorf("ca-file %s: err = %v, want ErrBadInput", f, err)
		}
	}
}

func TestSecretsAreNeverEchoed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad token "+r.Header.Get("X-Api-Key")+" for "+r.URL.User.String(), http.StatusForbidden)
	}))
	t.Cleanup(srv.Close)
	u := strings.Replace(srv.URL, "http://", "http://bob:pa55word@", 1)
	res, err := evaluate(context.Background(), newGate(t, spec{URL: u, SecretHeaders: map[string]string{"X-Api-Key": "key-abcdef"}, Expect: expect{BodyContains: "x"}}))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	for _, s := range []string{"key-abcdef", "pa55word"} {
		if strings.Contains(string(b), s) {
			t.Errorf("secret %q in result: %s", s, b)
		}
	}
	if !strings.Contains(string(b), "bad token ***") {
		t.Errorf("expected masked body in %s", b)
	}
}

func TestParseStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   any
		want string
		err  bool
	}{
		{"nothing means 200", nil, "200", false},
		{"a single code", 204, "204", false},
		{"a code as text", "301", "301", false},
		{"a class", "2XX", "2xx", false},
		{"a list of both", []any{200, "3xx"}, "200, 3xx", false},
		{"an empty list", []any{}, "", true},
		{"a code out of range", 42, "", true},
		{"a bad class", "6xx", "", true},
		{"a float", 200.5, "", true},
		{"a mapping", map[string]any{"a": 1}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := parseStatus(tt.in)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if !tt.err && s.String() != tt.want {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := spec{URL: "http://127.0.0.1:1/health"}
	tests := []struct {
		name  string
		edit  func(*spec)
		field string
	}{
		{"a URL without a scheme", func(s *spec) { s.URL = "127.0.0.1/health" }, "url"},
		{"a URL with another scheme", func(s *spec) { s.URL = "ftp://h/x" }, "url"},
		{"a URL without a host", func(s *spec) { s.URL = "http:///x" }, "url"},
		{"a bad status", func(s *spec) { s.Expect.Status = "ok" }, "expect.status"},
		{"a bad header name", func(s *spec) { s.Headers = map[string]string{"Bad Header": "x"} }, "headers.Bad Header"},
		{"a header value with a newline", func(s *spec) { s.SecretHeaders = map[string]string{"X-A": "a\r\nb"} }, "secret-headers.X-A"},
		{"an interval longer than the window", func(s *spec) {
			s.Retry = retry{Within: policy.Duration(time.Second), Interval: policy.Duration(time.Minute)}
		}, "retry.interval"},
		{"both ca-file and insecure-skip-verify", func(s *spec) { s.CAFile, s.InsecureSkipVerify = "ca.pem", true }, "insecure-skip-verify"},
		{"a json expectation without a check", func(s *spec) { s.Expect.JSON = []jsonpath.Expect{{Path: jsonpath.MustParse(".a")}} }, "expect.json[0]"},
	}
	if errs := ok.Validate(); len(errs) != 0 {
		t.Fatalf("the known-good spec is invalid: %v", errs)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := ok
			tt.edit(&s)
			errs := s.Validate()
			if len(errs) != 1 {
				t.Fatalf("errors = %v, want one", errs)
			}
			var fe *policy.FieldError
			if !errors.As(errs[0], &fe) || fe.Field != tt.field {
				t.Errorf("error %v, want a FieldError at %s", errs[0], tt.field)
			}
		})
	}
}

// TestPolicyDecoding decodes an http gate the way the CLI does: status as
// a single value or a list, and the Validate paths.
func TestPolicyDecoding(t *testing.T) {
	t.Parallel()
	env := func(k string) (string, bool) {
		if k == "SERVICE_URL" {
			return "http://127.0.0.1:8080", true
		}
		return "", false
	}
	src := `version: 1
gates:
  - id: ready
    kind: http
    with:
      url: ${SERVICE_URL}/ready
      retry: {within: 2m, interval: 2s}
      expect:
        status: [200, "2xx"]
        max-latency: 300ms
        json:
          - {path: .status, equals: ok}
  - id: health
    kind: http
    with:
      url: ${SERVICE_URL}/health
      expect: {status: 700}
`
	_, err := policy.Parse("p.yml", []byte(src), policy.Options{LookupEnv: env})
	if err == nil || !strings.Contains(err.Error(), "p.yml:17:16: gates[1].with.expect.status: \"700\" is not a status") {
		t.Fatalf("err = %v", err)
	}
	p, err := policy.Parse("p.yml", []byte(strings.Replace(src, "700", "204", 1)), policy.Options{LookupEnv: env})
	if err != nil {
		t.Fatal(err)
	}
	s := p.Gates[0].Spec.(*spec)
	st, _ := parseStatus(s.Expect.Status)
	if s.URL != "http://127.0.0.1:8080/ready" || st.String() != "200, 2xx" || s.Retry.Within.D() != 2*time.Minute || p.Gates[0].Group != "slo" {
		t.Errorf("decoded %+v", s)
	}
}

var elapsedRE = regexp.MustCompile(`(in|took|over) [0-9.]+(ns|µs|ms|s)\b`)

func normalise(r *gate.Result, url string) {
	r.StartedAt, r.FinishedAt, r.DurationMS = time.Time{}, time.Time{}, 0
	r.Details["latency_ms"] = 0
	fix := func(s string) string {
		return elapsedRE.ReplaceAllString(strings.ReplaceAll(s, url, "http://target"), "$1 <elapsed>")
	}
	r.Summary = fix(r.Summary)
	for i := range r.Inputs {
		r.Inputs[i].Name, r.Inputs[i].URI = fix(r.Inputs[i].Name), fix(r.Inputs[i].URI)
	}
	for i := range r.Checks {
		c := &r.Checks[i]
		c.Message = fix(c.Message)
		if c.Name == "latency" {
			c.Observed = gate.Text("<elapsed>")
		}
	}
}

func TestGoldenResults(t *testing.T) {
	t.Parallel()
	srv := target(t)
	tests := map[string]spec{
		"pass": {URL: srv.URL + "/health", Expect: expect{MaxLatency: policy.Duration(5 * time.Second), BodyContains: "ok",
			JSON: []jsonpath.Expect{{Path: jsonpath.MustParse(".status"), Equals: strp("ok")}}}},
		"fail": {URL: srv.URL + "/down", Expect: expect{BodyContains: "ready",
			JSON: []jsonpath.Expect{{Path: jsonpath.MustParse(".status"), Equals: strp("ok")}}}},
		"retried": {URL: srv.URL + "/flaky", Retry: retry{Within: policy.Duration(5 * time.Second), Interval: policy.Duration(time.Millisecond)},
			Expect: expect{JSON: []jsonpath.Expect{{Path: jsonpath.MustParse(".ready"), Equals: strp("true")}}}},
	}
	for name, spec := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			res, err := evaluate(context.Background(), newGate(t, spec))
			if err != nil {
				t.Fatal(err)
			}
			normalise(res, srv.URL)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(res); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(goldenDir, name+".json.golden")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if buf.String() != string(want) {
				t.Errorf("result differs from %s (run go test -update to accept):\n%s", path, buf.String())
			}
		})
	}
}

// FuzzParseStatus: any status from a policy is accepted as a valid set or
// refused with an error, never a panic; an accepted set prints in a form
// that parses back to a set matching exactly the same codes.
func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{"200", "2xx", "5XX", "599", "100", "0", "-1", "6xx", "x", ""} {
		f.Add(s, 204)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		set, err := parseStatus([]any{s, n})
		if err != nil {
			return
		}
		var parts []any
		for _, p := range strings.Split(set.String(), ", ") {
			parts = append(parts, p)
		}
		again, err := parseStatus(parts)
		if err != nil {
			t.Fatalf("%q parsed, but its printed form %q does not: %v", s, set, err)
		}
		for code := 0; code < 700; code++ {
			if set.Match(code) != again.Match(code) {
				t.Fatalf("%q: %s and its reparsed form %s disagree on %d", s, set, again, code)
			}
		}
	})
}

func TestTenantIsOnEveryCheck(t *testing.T) {
	t.Parallel()
	srv := target(t)
	res, err := evaluate(context.Background(), newGate(t, spec{URL: srv.URL + "/health", Tenant: "acme", Expect: expect{BodyContains: "ok", MaxLatency: policy.Duration(time.Minute)}}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Checks) != 3 {
		t.Fatalf("checks = %+v", res.Checks)
	}
	for _, c := range res.Checks {
		if c.Tenant != "acme" {
			t.Errorf("check %q has tenant %q, want acme", c.Name, c.Tenant)
		}
	}
}

func TestRetryWindowMustBeBelowTheGateTimeout(t *testing.T) {
	t.Parallel()
	_, err := buildGate(gate.Meta{ID: "ready", Timeout: time.Minute}, spec{URL: "http://127.0.0.1:1/", Retry: retry{Within: policy.Duration(5 * time.Minute)}}, gate.Env{})
	if !errors.Is(err, gate.ErrBadInput) || !strings.Contains(err.Error(), "timeout: 6m0s") {
		t.Errorf("err = %v, want bad input suggesting a timeout", err)
	}
}

// TestRedirectToMetadataIsRefused: a target that answers 302 to the cloud
// metadata address is an error that says so and how to allow the host;
// the metadata reply is never requested, so it cannot reach the result.
// The test's dialler sends 169.254.169.254:80 to a local stand-in, which
// proves the refusal is the rule's (with the host allowed, it is reached).
func TestRedirectToMetadataIsRefused(t *testing.T) {
	t.Parallel()
	var metaHits atomic.Int32
	meta := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		metaHits.Add(1)
		fmt.Fprint(w, `{"AccessKeyId":"AKIA-STOLEN-CREDENTIAL"}`)
	}))
	t.Cleanup(meta.Close)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/iam/security-credentials/role", http.StatusFound)
	}))
	t.Cleanup(origin.Close)
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == "169.254.169.254:80" {
			addr = meta.Listener.Addr().String()
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	for _, allow := range [][]string{nil, {"169.254.169.254"}} {
		g := newGate(t, spec{URL: origin.URL + "/health", AllowRedirectsTo: allow, Retry: retry{Within: policy.Duration(time.Second), Interval: policy.Duration(time.Millisecond)}})
		g.client.Transport.(*http.Transport).DialContext = dial
		before := metaHits.Load()
		res, err := evaluate(context.Background(), g)
		if allow != nil {
			if err != nil || metaHits.Load() != before+1 {
				t.Fatalf("with the host allowed the redirect must be followed: %v (%d hits)", err, metaHits.Load()-before)
			}
			continue
		}
		if res.Status != gate.StatusError || len(res.Checks) != 0 || !errors.Is(err, outbound.ErrRedirect) {
			t.Fatalf("expected an error wrapping outbound.ErrRedirect and an errored result without checks, got %v, %v", res, err)
		}
		want := fmt.Sprintf("GET %s/health: redirect from %s/health to http://169.254.169.254/latest/meta-data/iam/security-credentials/role refused: it points at a cloud metadata endpoint; if that host is trusted, add \"169.254.169.254\" to the gate's allow-redirects-to", origin.URL, origin.URL)
		if err.Error() != want {
			t.Errorf("message\n got %s\nwant %s", err, want)
		}
		if metaHits.Load() != before || strings.Contains(err.Error(), "AKIA") {
			t.Errorf("the metadata address was requested (%d) or its reply is in the error", metaHits.Load()-before)
		}
	}
}

// TestEchoedCredentialsAreSanitized: a target that answers an error page
// quoting the request (a proxy) cannot carry the request's headers into
// the result, even those the policy did not mark secret.
func TestEchoedCredentialsAreSanitized(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		for k, v := range r.Header {
			fmt.Fprintf(w, "%s: %s\n", k, strings.Join(v, ","))
		}
	}))
	t.Cleanup(srv.Close)
	res, err := evaluate(context.Background(), newGate(t, spec{URL: srv.URL, Headers: map[string]string{"X-Session": "plain-value-1", "Cookie": "sid=cookie-value-2"}}))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	if strings.Contains(string(b), "cookie-value-2") || !strings.Contains(string(b), "Cookie: ***") {
		t.Errorf("the echoed cookie must be masked: %s", b)
	}
}
