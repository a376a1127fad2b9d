package metrics

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// Replies shaped like https://prometheus.io/docs/prometheus/latest/querying/api/.
const (
	okVector   = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"tenant":"acme"},"value":[1700000000.123,"0.25"]},{"metric":{"tenant":"globex"},"value":[1700000000.123,"NaN"]},{"metric":{"tenant":"initech"},"value":[1700000000.123,"+Inf"]}]}}`
	okEmpty    = `{"status":"success","data":{"resultType":"vector","result":[]}}`
	okScalar   = `{"status":"success","data":{"resultType":"scalar","result":[1700000000,"3"]}}`
	okMatrix   = `{"status":"success","data":{"resultType":"matrix","result":[]}}`
	badData    = `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unclosed left parenthesis"}`
	execErr    = `{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}`
	withWarn   = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]},"warnings":["PromQL info: partial response: store gateway eu-1 unavailable"]}`
	withInfos  = `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]},"infos":["PromQL info: metric might not be a counter"]}`
	badTimeout = `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`
)

func serve(t *testing.T, code int, body string) *HTTPSource {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" || r.FormValue("query") == "" || r.FormValue("time") == "" {
			http.Error(w, `{"status":"error","errorType":"bad_data","error":"wrong request"}`, 400)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	src, err := NewHTTPSource(HTTPOptions{URL: srv.URL, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestHTTPSourceReplies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		code    int
		body    string
		wantErr error
		wantN   int
	}{
		{"a vector keeps NaN and +Inf as values for the gate to judge", 200, okVector, nil, 3},
		{"an empty vector is empty, not 0", 200, okEmpty, nil, 0},
		{"a scalar is one sample", 200, okScalar, nil, 1},
		{"infos alone do not block", 200, withInfos, nil, 1},
		{"a matrix is the wrong type", 200, okMatrix, ErrResultType, 0},
		{"status error bad_data is bad input", 400, badData, gate.ErrBadInput, 0},
		{"status error execution is a query failure", 422, execErr, ErrQuery, 0},
		{"a 503 timeout reply is a query failure", 503, badTimeout, ErrQuery, 0},
		{"warnings are a partial response", 200, withWarn, ErrPartial, 0},
		{"a 5xx html page is a query failure", 502, "<html>bad gateway</html>", ErrQuery, 0},
		{"malformed JSON is malformed", 200, `{"status":"success","data":`, ErrMalformed, 0},
		{"a success without data is malformed", 200, `{"status":"success"}`, ErrMalformed, 0},
		{"an unknown status is malformed", 200, `{"status":"maybe","data":{}}`, ErrMalformed, 0},
		{"a value that is not a string is malformed", 200, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,2]}]}}`, ErrMalformed, 0},
		{"401 asks to check credentials", 401, `unauthorized`, ErrQuery, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := serve(t, tc.code, tc.body)
			v, err := src.Query(context.Background(), "up", time.Unix(1700000000, 0))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(v) != tc.wantN {
				t.Fatalf("got %d samples, want %d", len(v), tc.wantN)
			}
		})
	}
	v, _ := serve(t, 200, okVector).Query(context.Background(), "up", time.Now())
	if v[0].Value != 0.25 || !math.IsNaN(v[1].Value) || !math.IsInf(v[2].Value, 1) {
		t.Errorf("values = %v, want 0.25 NaN +Inf", v)
	}
}

func TestHTTPSourceRetriesThenGivesUp(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) < 3 {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(okScalar))
	}))
	defer srv.Close()
	src, _ := NewHTTPSource(HTTPOptions{URL: srv.URL, Retries: 2, Backoff: time.Millisecond})
	if _, err := src.Query(context.Background(), "up", time.Now()); err != nil {
		t.Fatalf("two 503s then success with 2 retries: %v", err)
	}
	n.Store(0)
	src, _ = NewHTTPSource(HTTPOptions{URL: srv.URL, Retries: 1, Backoff: time.Millisecond})
	if _, err := src.Query(context.Background(), "up", time.Now()); !errors.Is(err, ErrQuery) {
		t.Fatalf("two 503s with 1 retry: error %v, want ErrQuery", err)
	}
}

func TestHTTPSourceUnreachableAndTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	src, _ := NewHTTPSource(HTTPOptions{URL: "http://" + addr, Retries: 1, Backoff: time.Millisecond})
	if _, err := src.Query(context.Background(), "up", time.Now()); !errors.Is(err, gate.ErrUnreachable) {
		t.Errorf("connection refused: error %v, want ErrUnreachable", err)
	}
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	src, _ = NewHTTPSource(HTTPOptions{URL: srv.URL, Timeout: 50 * time.Millisecond})
	if _, err := src.Query(context.Background(), "up", time.Now()); !errors.Is(err, gate.ErrTimeout) {
		t.Errorf("hanging server: error %v, want ErrTimeout", err)
	}
}

func TestHTTPSourceSendsAuthAndNeverPrintsIt(t *testing.T) {
	t.Parallel()
	const token = "s3cr3t-token-value"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token || r.Header.Get("X-Scope-OrgID") != "tenant-1" {
			http.Error(w, "denied", http.StatusUnauthorized)
			return
		}
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	defer srv.Close()
	src, err := NewHTTPSource(HTTPOptions{URL: srv.URL, BearerToken: token, Headers: map[string]string{"X-Scope-OrgID": "tenant-1"}, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Query(context.Background(), "up", time.Now())
	if !errors.Is(err, ErrQuery) || !strings.Contains(err.Error(), "500") {
		t.Fatalf("error = %v, want the 500 reached with credentials", err)
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("error %q contains the token", err)
	}
	if _, err := NewHTTPSource(HTTPOptions{URL: "http://user:pw@x"}); !errors.Is(err, gate.ErrBadInput) {
		t.Errorf("credentials in the URL: %v, want ErrBadInput", err)
	}
}

func TestHTTPSourceTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(okScalar))
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		opts    HTTPOptions
		wantErr error
	}{
		{"an unknown CA is refused", HTTPOptions{URL: srv.URL}, gate.ErrUnreachable},
		{"the CA file makes the server trusted", HTTPOptions{URL: srv.URL, CAFile: ca}, nil},
		{"insecure-skip-verify-unsafe skips verification", HTTPOptions{URL: srv.URL, InsecureSkipVerifyUnsafe: true}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src, err := NewHTTPSource(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			_, err = src.Query(context.Background(), "up", time.Now())
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
		})
	}
	if _, err := NewHTTPSource(HTTPOptions{URL: srv.URL, CAFile: filepath.Join(t.TempDir(), "none.pem")}); !errors.Is(err, gate.ErrBadInput) {
		t.Errorf("missing CA file: %v, want ErrBadInput", err)
	}
}

// replyTransport answers every request with one status and body, in-process.
type replyTransport struct {
	code int
	body []byte
}

func (r replyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: r.code, Status: http.StatusText(r.code), Body: io.NopCloser(bytes.NewReader(r.body)),
		Header: http.Header{"Content-Type": {"application/json"}}, Request: req}, nil
}

// FuzzHTTPReply feeds arbitrary replies to the Prometheus API client: it
// never panics, every failure is one of the classified faults, and a
// success is a well-formed "status":"success" reply without warnings.
func FuzzHTTPReply(f *testing.F) {
	for _, b := range []string{okVector, okEmpty, okScalar, okMatrix, badData, execErr, withWarn, withInfos, badTimeout,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1e400"]}]}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"histogram":[1,{"count":"1"}]}]}}`} {
		f.Add(200, []byte(b))
	}
	f.Add(503, []byte("<html>"))
	f.Add(429, []byte(`{"status":"error"}`))
	f.Fuzz(func(t *testing.T, code int, body []byte) {
		if code < 100 || code > 599 {
			return
		}
		src, err := NewHTTPSource(HTTPOptions{URL: "http://prometheus.invalid", Client: &http.Client{Transport: replyTransport{code, body}}, Backoff: time.Nanosecond})
		if err != nil {
			t.Fatal(err)
		}
		v, err := src.Query(context.Background(), "up", time.Unix(1700000000, 0))
		if err != nil {
			for _, known := range []error{ErrQuery, ErrMalformed, ErrPartial, ErrResultType, gate.ErrBadInput, gate.ErrTimeout, gate.ErrUnreachable} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("unclassified error %v", err)
		}
		var env apiResponse
		if code != 200 || json.Unmarshal(body, &env) != nil || env.Status != "success" || len(env.Warnings) > 0 {
			t.Fatalf("reply %d %q was accepted as %v", code, body, v)
		}
	})
}

func TestHTTPSourceMaxConcurrency(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		code int
		body string
		want int
	}{
		{"Prometheus says its --query.max-concurrency", 200, `{"status":"success","data":{"query.max-concurrency":"4","query.timeout":"2m"}}`, 4},
		{"a server without the endpoint says nothing", 404, `404 page not found`, 0},
		{"a flag that is not a number says nothing", 200, `{"status":"success","data":{"query.max-concurrency":"many"}}`, 0},
		{"no flag says nothing", 200, `{"status":"success","data":{}}`, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v1/status/flags" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tc.code)
				_, _ = w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			src, _ := NewHTTPSource(HTTPOptions{URL: srv.URL})
			if got := src.MaxConcurrency(context.Background()); got != tc.want {
				t.Errorf("MaxConcurrency = %d, want %d", got, tc.want)
			}
		})
	}
	if url := os.Getenv("RELEASEGATE_TEST_PROMETHEUS"); url != "" {
		src, _ := NewHTTPSource(HTTPOptions{URL: url})
		if got := src.MaxConcurrency(context.Background()); got != 20 {
			t.Errorf("real Prometheus: MaxConcurrency = %d, want its default 20", got)
		}
	}
}

// FuzzPoint: the allocation-free decoding of a sample's [time, "value"]
// agrees with the general one whenever it takes an input. Its inputs are
// valid JSON (encoding/json checks the whole reply before UnmarshalJSON
// sees a value), so others are skipped.
func FuzzPoint(f *testing.F) {
	for _, s := range []string{`[1,"1"]`, `[1700000000.123, "0.25"]`, `[1,"NaN"]`, `[1,"+Inf"]`, `[1,"-1e-3"]`,
		`[1,"1e400"]`, `[1,"a\"b"]`, `["1","2"]`, `[1,"2",3]`, `[1]`, `[,"1"]`, ` [ 1 , "2" ] `, `[1,"0x1p-2"]`, `[1,"1_000"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := fastPoint(b)
		if !ok || !json.Valid(b) {
			return
		}
		var raw []json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatalf("fastPoint took %q, which is not JSON: %v", b, err)
		}
		want, err := decodePoint(raw)
		if err != nil {
			t.Fatalf("fastPoint took %q = %v; decodePoint: %v", b, got, err)
		}
		if got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Fatalf("fastPoint(%q) = %v, decodePoint = %v", b, got, want)
		}
	})
}
