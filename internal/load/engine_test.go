package load

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func get(url string) func(int64) (*http.Request, error) {
	return func(int64) (*http.Request, error) { return http.NewRequest(http.MethodGet, url, nil) }
}

// transports runs f over the lean transport, then over net/http (one
// after the other: these tests are about timing).
func transports(t *testing.T, f func(t *testing.T, netHTTPOnly bool)) {
	t.Helper()
	for _, tc := range []struct {
		name string
		only bool
	}{{"lean", false}, {"net/http", true}} {
		t.Run(tc.name, func(t *testing.T) { f(t, tc.only) })
	}
}

// TestStallShowsInP99 is the coordinated-omission test: the server stalls
// every request for 2 s in the middle of the run. A closed-loop tool
// would send almost nothing during the stall and report a fast p99; the
// open model keeps scheduling, measures from the scheduled time, and the
// stall dominates the tail.
func TestStallShowsInP99(t *testing.T) {
	t.Parallel()
	transports(t, testStallShowsInP99)
}

func testStallShowsInP99(t *testing.T, netHTTPOnly bool) {
	var stallFrom, stallTo atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UnixNano()
		if now >= stallFrom.Load() && now < stallTo.Load() {
			time.Sleep(time.Duration(stallTo.Load() - now))
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	t0 := time.Now()
	stallFrom.Store(t0.Add(500 * time.Millisecond).UnixNano())
	stallTo.Store(t0.Add(2500 * time.Millisecond).UnixNano())
	// 250ms late is still far from the 2s a generator waiting on the stall would lag
	e := New(Config{MaxInFlight: 1000, Timeout: 5 * time.Second, LateTolerance: 250 * time.Millisecond, NetHTTPOnly: netHTTPOnly})
	run, err := e.Run(context.Background(), []Stream{{
		Tenant: "acme", Scenario: "slo", Template: &Template{URL: srv.URL},
		Stages: []Stage{{Rate: 100, Duration: 3500 * time.Millisecond}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s := run.Streams[0]
	if s.Sent != s.Planned || s.Planned != 350 {
		t.Fatalf("sent %d of %d planned, want 350", s.Sent, s.Planned)
	}
	p50, _ := s.Latency.Quantile(0.5)
	p99, _ := s.Latency.Quantile(0.99)
	if p99 < 1500*time.Millisecond {
		t.Errorf("p99 = %v; a 2 s stall must show in the tail (coordinated omission?)", p99)
	}
	// about 200 of 350 requests were scheduled during the stall: the
	// median is inside the stall, the 30th percentile is not
	p30, _ := s.Latency.Quantile(0.3)
	if p30 > 500*time.Millisecond {
		t.Errorf("p30 = %v, want the fast requests before the stall", p30)
	}
	t.Logf("p30 %v p50 %v p99 %v max %v", p30, p50, p99, s.Latency.Max())
	if sf := run.Shortfall(); sf != "" {
		t.Errorf("the schedule should have been kept with 1000 in flight: %s", sf)
	}
}

// TestArrivalsIndependentOfResponses: with a slow server and ample
// in-flight room, every request still leaves on time.
func TestArrivalsIndependentOfResponses(t *testing.T) {
	t.Parallel()
	transports(t, testArrivalsIndependentOfResponses)
}

func testArrivalsIndependentOfResponses(t *testing.T, netHTTPOnly bool) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
	}))
	defer srv.Close()
	// 100ms: well below the 300ms a closed-loop generator would lag by, and
	// above what a busy 2-core CI machine adds to opening new connections
	run, err := New(Config{MaxInFlight: 200, LateTolerance: 100 * time.Millisecond, NetHTTPOnly: netHTTPOnly}).Run(context.Background(), []Stream{{
		Tenant: "a", Template: &Template{URL: srv.URL}, Stages: []Stage{{Rate: 200, Duration: time.Second}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s := run.Streams[0]
	if s.Sent != 200 || s.OK != 200 {
		t.Fatalf("sent %d ok %d, want 200/200", s.Sent, s.OK)
	}
	if sf := run.Shortfall(); sf != "" {
		t.Fatalf("slow responses delayed arrivals: %s", sf)
	}
	if p50, _ := s.Latency.Quantile(0.5); p50 < 300*time.Millisecond {
		t.Errorf("p50 %v below the server's 300ms", p50)
	}
}

// TestInFlightBoundReportsShortfall: a rate that cannot be reached within
// the in-flight bound is reported as the generator's shortfall, and the
// late requests still carry their full latency.
func TestInFlightBoundReportsShortfall(t *testing.T) {
	t.Parallel()
	transports(t, testInFlightBoundReportsShortfall)
}

func testInFlightBoundReportsShortfall(t *testing.T, netHTTPOnly bool) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
	}))
	defer srv.Close()
	run, err := New(Config{MaxInFlight: 2, NetHTTPOnly: netHTTPOnly}).Run(context.Background(), []Stream{{
		Tenant: "a", Template: &Template{URL: srv.URL}, Stages: []Stage{{Rate: 100, Duration: 500 * time.Millisecond}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	sf := run.Shortfall()
	if sf == "" {
		t.Fatal("50 req at 100/s through 2 slots of 100ms each should not keep the schedule")
	}
	s := run.Streams[0]
	if s.LateInFlight == 0 {
		t.Errorf("late requests not attributed to the in-flight bound: %+v", s)
	}
	if p99, _ := s.Latency.Quantile(0.99); p99 < time.Second {
		t.Errorf("p99 %v: queueing behind the bound must count as latency", p99)
	}
	t.Log(sf)
}

func TestStagesAndCountBound(t *testing.T) {
	t.Parallel()
	sch, length := schedule([]Stage{{Rate: 10, Duration: time.Second}, {Rate: 0, Duration: time.Second}, {Rate: 100, Duration: 500 * time.Millisecond}}, 0)
	if len(sch) != 60 || length != 2500*time.Millisecond {
		t.Fatalf("got %d arrivals over %v, want 60 over 2.5s", len(sch), length)
	}
	if sch[10] != 2*time.Second {
		t.Errorf("the stage after the pause starts at %v, want 2s", sch[10])
	}
	sch, _ = schedule([]Stage{{Rate: 1000, Duration: time.Hour}}, 25)
	if len(sch) != 25 {
		t.Errorf("count bound: %d arrivals, want 25", len(sch))
	}
}

func TestDeadlineStopsTheRun(t *testing.T) {
	t.Parallel()
	transports(t, testDeadlineStopsTheRun)
}

func testDeadlineStopsTheRun(t *testing.T, netHTTPOnly bool) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	start := time.Now()
	run, err := New(Config{Deadline: 300 * time.Millisecond, NetHTTPOnly: netHTTPOnly}).Run(context.Background(), []Stream{{
		Tenant: "a", Template: &Template{URL: srv.URL}, Stages: []Stage{{Rate: 10, Duration: time.Hour}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatalf("run took %v past a 300ms deadline", time.Since(start))
	}
	s := run.Streams[0]
	if s.Unsent == 0 || s.Sent+s.Unsent != s.Planned {
		t.Fatalf("sent %d + unsent %d != planned %d", s.Sent, s.Unsent, s.Planned)
	}
	if run.Shortfall() == "" {
		t.Error("unsent requests not reported as a shortfall")
	}
}

func TestTransportErrorsAreClassified(t *testing.T) {
	t.Parallel()
	transports(t, testTransportErrorsAreClassified)
}

func testTransportErrorsAreClassified(t *testing.T, netHTTPOnly bool) {
	// a port with nothing listening
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
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close()
		}
	}))
	t.Cleanup(closer.Close)

	stall := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	t.Cleanup(stall.Close)

	for _, tc := range []struct {
		name, url, want string
	}{
		{"a port with nothing listening is refused", dead, ClassRefused},
		{"a self-signed certificate is a tls error", tlsSrv.URL, ClassTLS},
		{"a server that closes the connection", closer.URL, ClassReset},
		{"a server slower than the timeout", stall.URL, ClassTimeout},
		{"a DNS name is refused under LoopbackOnly", "http://example.invalid:80/", ClassNotLoopback},
		{"a public address is refused under LoopbackOnly", "http://192.0.2.1:80/", ClassNotLoopback},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cl := NewClient(4, 300*time.Millisecond, LoopbackOnly)
			run, err := New(Config{Client: cl, Timeout: 300 * time.Millisecond, NetHTTPOnly: netHTTPOnly}).Run(context.Background(), []Stream{{
				Tenant: "a", Template: &Template{URL: tc.url}, Stages: []Stage{{Rate: 20, Duration: 100 * time.Millisecond}},
			}})
			if err != nil {
				t.Fatal(err)
			}
			s := run.Streams[0]
			if s.Responses != 0 || s.Errors[tc.want] != s.Sent || s.Sent == 0 {
				t.Fatalf("errors %v, responses %d, sent %d; want every request classed %q", s.Errors, s.Responses, s.Sent, tc.want)
			}
		})
	}
}

func TestLoopbackOnly(t *testing.T) {
	t.Parallel()
	for addr, ok := range map[string]bool{
		"127.0.0.1:1": true, "[::1]:1": true, "localhost:1": true,
		"10.0.0.1:80": false, "example.com:443": false, "127.0.0.1.nip.io:80": false,
	} {
		_, err := LoopbackOnly(context.Background(), "tcp", addr)
		if got := !errors.Is(err, ErrNotLoopback); got != ok {
			t.Errorf("%s: allowed=%v (err %v), want %v", addr, got, err, ok)
		}
	}
}

func TestClassifyTLSRecordHeader(t *testing.T) {
	t.Parallel()
	if got := classify(tls.RecordHeaderError{Msg: "x"}); got != ClassTLS {
		t.Errorf("got %q", got)
	}
}

func TestStreamMergeAddsCounts(t *testing.T) {
	t.Parallel()
	a := &StreamResult{Sent: 3, OK: 2, Status: map[int]int64{200: 2, 429: 1}, FirstThrottledUS: 500, LastThrottledUS: 500, LastFailedUS: 500, Timeline: []Slot{{OK: 2, Throttled: 1}}}
	b := &StreamResult{Sent: 2, OK: 2, Status: map[int]int64{200: 2}, FirstThrottledUS: -1, LastThrottledUS: -1, LastFailedUS: -1, Timeline: []Slot{{OK: 1}, {OK: 1}}}
	a.Merge(b)
	if a.Sent != 5 || a.OK != 4 || a.Status[200] != 4 || a.Throttled() != 1 || a.FirstThrottledUS != 500 || len(a.Timeline) != 2 || a.Timeline[0].OK != 3 {
		t.Fatalf("merge wrong: %+v", a)
	}
}

// TestStallAtTheInFlightBoundIsDiagnosed: the target stalls every request
// for a second; the 20 requests in flight hold every slot, the stream's
// scheduler waits for one, and the backlog due meanwhile leaves late when
// the stall ends, most of it without waiting for a slot itself. All of it
// is the in-flight bound's doing, not a slow machine's: the shortfall
// names max-in-flight and how far to raise it.
func TestStallAtTheInFlightBoundIsDiagnosed(t *testing.T) {
	t.Parallel()
	transports(t, testStallAtTheInFlightBoundIsDiagnosed)
}

func testStallAtTheInFlightBoundIsDiagnosed(t *testing.T, netHTTPOnly bool) {
	var stallFrom, stallTo atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now().UnixNano()
		if now >= stallFrom.Load() && now < stallTo.Load() {
			time.Sleep(time.Duration(stallTo.Load() - now))
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	t0 := time.Now()
	stallFrom.Store(t0.Add(300 * time.Millisecond).UnixNano())
	stallTo.Store(t0.Add(1300 * time.Millisecond).UnixNano())
	run, err := New(Config{MaxInFlight: 20, Timeout: 5 * time.Second, LateTolerance: 100 * time.Millisecond, NetHTTPOnly: netHTTPOnly}).Run(context.Background(), []Stream{{
		Tenant: "a", Template: &Template{URL: srv.URL}, Stages: []Stage{{Rate: 200, Duration: 2 * time.Second}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	s := run.Streams[0]
	sf := run.Shortfall()
	if s.Late < 100 || s.LateInFlight*10 < s.Late*9 {
		t.Errorf("%d late, %d of them attributed to the in-flight bound; want at least 100 late, 90%% of them the bound's", s.Late, s.LateInFlight)
	}
	if !strings.Contains(sf, "max-in-flight 20 is too low") || !strings.Contains(sf, "raise max-in-flight to at least") {
		t.Errorf("shortfall %q, want it to name max-in-flight 20 and how far to raise it", sf)
	}
	t.Log(sf)
}
