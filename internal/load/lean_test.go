package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestLeanReadsResponses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in   string
		head       bool
		status     int
		body, hdr  string // hdr: the X-A header
		keep       bool
		err        error // nil, io.ErrUnexpectedEOF or ErrBadResponse
		restOfConn string
	}{
		{name: "content-length keeps the connection", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nokNEXT", status: 200, body: "ok", hdr: "b", keep: true, restOfConn: "NEXT"},
		{name: "bare LF line ends", in: "HTTP/1.1 404 Not Found\nContent-Length: 0\n\n", status: 404, keep: true},
		{name: "no reason phrase", in: "HTTP/1.1 204\r\n\r\n", status: 204, keep: true},
		{name: "chunked with extension and trailer", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\nT: 1\r\n\r\nNEXT", status: 200, body: "abc0123456789", keep: true, restOfConn: "NEXT"},
		{name: "connection close", in: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x"},
		{name: "HTTP/1.0 closes unless keep-alive", in: "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x"},
		{name: "HTTP/1.0 keep-alive", in: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", status: 200, body: "x", keep: true},
		{name: "body to the end of the connection", in: "HTTP/1.1 200 OK\r\n\r\nall of it", status: 200, body: "all of it"},
		{name: "interim 100 then the answer", in: "HTTP/1.1 100 Continue\r\nX-A: interim\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", status: 201, keep: true},
		{name: "HEAD has no body", in: "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nNEXT", head: true, status: 200, keep: true, restOfConn: "NEXT"},
		{name: "304 has no body", in: "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", status: 304, keep: true},
		{name: "body cut short", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", err: io.ErrUnexpectedEOF},
		{name: "headers cut short", in: "HTTP/1.1 200 OK\r\nContent-Len", err: io.ErrUnexpectedEOF},
		{name: "nothing at all", in: "", err: io.EOF},
		{name: "not HTTP", in: "SSH-2.0-OpenSSH\r\n\r\n", err: errBadResponse},
		{name: "HTTP/2 preface", in: "HTTP/2 200\r\n\r\n", err: errBadResponse},
		{name: "two-digit status", in: "HTTP/1.1 20 OK\r\n\r\n", err: errBadResponse},
		{name: "status 099", in: "HTTP/1.1 099 x\r\n\r\n", err: errBadResponse},
		{name: "header without colon", in: "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", err: errBadResponse},
		{name: "folded header", in: "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n", err: errBadResponse},
		{name: "conflicting lengths", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx", err: errBadResponse},
		{name: "negative length", in: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", err: errBadResponse},
		{name: "gzip transfer coding", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", err: errBadResponse},
		{name: "bad chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", err: errBadResponse},
		{name: "chunk without CRLF", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n", err: errBadResponse},
		{name: "101 without an upgrade", in: "HTTP/1.1 101 Switching Protocols\r\n\r\n", err: errBadResponse},
		{name: "a header line longer than the buffer", in: "HTTP/1.1 200 OK\r\nX-A: " + strings.Repeat("a", 20000) + "\r\n\r\n", err: errBadResponse},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := respReader{wantHeader: true, wantBody: true, maxBody: 1 << 20}
			br := bufio.NewReaderSize(strings.NewReader(tc.in), 16<<10)
			keep, err := r.read(br, tc.head)
			if tc.err != nil || err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if r.resp.StatusCode != tc.status || string(r.body) != tc.body || r.resp.Header.Get("X-A") != tc.hdr || keep != tc.keep {
				t.Fatalf("status %d body %q X-A %q keep %v; want %d %q %q %v", r.resp.StatusCode, r.body, r.resp.Header.Get("X-A"), keep, tc.status, tc.body, tc.hdr, tc.keep)
			}
			if rest, _ := io.ReadAll(br); string(rest) != tc.restOfConn {
				t.Errorf("left %q on the connection, want %q", rest, tc.restOfConn)
			}
		})
	}
}

// TestLeanBodyBeyondMaxBody: a check sees the first MaxBody bytes and the
// rest is read off the connection, which stays usable.
func TestLeanBodyBeyondMaxBody(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789NEXT",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n0123\r\n6\r\n456789\r\n0\r\n\r\nNEXT",
	} {
		r := respReader{wantBody: true, maxBody: 5}
		br := bufio.NewReader(strings.NewReader(in))
		if _, err := r.read(br, false); err != nil || string(r.body) != "01234" {
			t.Fatalf("body %q err %v, want the first 5 bytes", r.body, err)
		}
		if rest, _ := io.ReadAll(br); string(rest) != "NEXT" {
			t.Errorf("left %q", rest)
		}
	}
}

func FuzzLeanRespReader(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false)
	f.Add("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false)
	f.Add("HTTP/1.0 100 x\r\n\r\nHTTP/1.1 204\r\n\r\n", true)
	f.Fuzz(func(t *testing.T, in string, head bool) {
		r := respReader{wantHeader: true, wantBody: true, maxBody: 64}
		keep, err := r.read(bufio.NewReader(strings.NewReader(in)), head)
		if err != nil {
			if keep {
				t.Fatal("kept a connection after an error")
			}
			return
		}
		if r.resp.StatusCode < 200 || r.resp.StatusCode > 999 || len(r.body) > 64 {
			t.Fatalf("status %d body %d bytes", r.resp.StatusCode, len(r.body))
		}
	})
}

func TestLeanRendersRequests(t *testing.T) {
	t.Parallel()
	raw, err := compileTemplate(&Template{Method: http.MethodPost, URL: "http://127.0.0.1:9/t/{seq}/x?q=1#frag",
		Header: http.Header{"X-Tenant": {"acme"}, "Host": {"ignored"}, "Content-Length": {"7"}}, Body: `{"n":{seq}}`})
	if err != nil {
		t.Fatal(err)
	}
	got := string(raw.render(nil, 1234))
	want := "POST /t/1234/x?q=1 HTTP/1.1\r\nHost: 127.0.0.1:9\r\nUser-Agent: Go-http-client/1.1\r\nX-Tenant: acme\r\nContent-Length: 10\r\n\r\n{\"n\":1234}"
	if got != want || raw.addr != "127.0.0.1:9" || raw.idempotent {
		t.Fatalf("got %q (addr %s), want %q", got, raw.addr, want)
	}
	raw, _ = compileTemplate(&Template{URL: "http://localhost/"})
	if got := string(raw.render(nil, 0)); got != "GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: Go-http-client/1.1\r\n\r\n" || raw.addr != "localhost:80" {
		t.Fatalf("got %q addr %s", got, raw.addr)
	}
	for _, tpl := range []Template{
		{URL: "https://127.0.0.1/"},
		{URL: "http://user:pw@127.0.0.1/"},
		{URL: "http://127.0.0.1/", Header: http.Header{"Connection": {"close"}}},
		{URL: "http://127.0.0.1/", Header: http.Header{"X-A": {"a\r\nX-Injected: 1"}}},
		{URL: "http://127.0.0.1/", Method: "GET /x"},
	} {
		if _, err := compileTemplate(&tpl); err == nil {
			t.Errorf("%+v: the lean transport took a request it must leave to net/http", tpl)
		}
	}
}

// TestLeanChecksAgreeWithNetHTTP: the same streams with checks on status,
// headers and body (chunked and sized, small and beyond MaxBody, POST
// bodies with {seq}) judge the same over both transports.
func TestLeanChecksAgreeWithNetHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Tenant-Echo", r.Header.Get("X-Tenant"))
		w.Header().Set("X-Via-Gzip", fmt.Sprint(r.Header.Get("Accept-Encoding") != ""))
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte("part one;"))
			w.(http.Flusher).Flush()
			w.Write([]byte(strings.Repeat("z", 70000) + "tail " + string(b)))
		case "/missing":
			http.NotFound(w, r)
		default:
			fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, b)
		}
	}))
	defer srv.Close()
	hdr := http.Header{"X-Tenant": {"acme"}}
	want := func(substr string) func(*http.Response, []byte) error {
		return func(resp *http.Response, body []byte) error {
			if resp.StatusCode != 200 || resp.Header.Get("X-Tenant-Echo") != "acme" || !bytes.Contains(body, []byte(substr)) {
				return fmt.Errorf("status %d echo %q body %.40q", resp.StatusCode, resp.Header.Get("X-Tenant-Echo"), body)
			}
			return nil
		}
	}
	var sawLean atomic.Int64
	streams := func() []Stream {
		st := []Stage{{Rate: 200, Duration: 250 * time.Millisecond}}
		return []Stream{
			{Tenant: "get", Stages: st, Template: &Template{URL: srv.URL + "/t/{seq}", Header: hdr}, Check: func(resp *http.Response, body []byte) error {
				if resp.Header.Get("X-Via-Gzip") == "false" {
					sawLean.Add(1)
				}
				return want("GET /t/")(resp, body)
			}},
			{Tenant: "post", Stages: st, Template: &Template{Method: http.MethodPost, URL: srv.URL + "/p", Header: hdr, Body: `{"seq":{seq}}`}, Check: want(`POST /p {"seq":`)},
			{Tenant: "chunked", Stages: st, Template: &Template{URL: srv.URL + "/chunked", Header: hdr}, Check: want("part one;zzz")},
			{Tenant: "missing", Stages: st, Template: &Template{URL: srv.URL + "/missing", Header: hdr}},
			{Tenant: "request-func", Stages: st, Request: get(srv.URL + "/r")},
		}
	}
	results := map[bool]*Run{}
	for _, only := range []bool{false, true} {
		run, err := New(Config{NetHTTPOnly: only, MaxBody: 4096}).Run(context.Background(), streams())
		if err != nil {
			t.Fatal(err)
		}
		results[only] = run
	}
	if sawLean.Load() != 50 {
		t.Errorf("%d of 50 GETs came over the lean transport", sawLean.Load())
	}
	for i, lean := range results[false].Streams {
		nh := results[true].Streams[i]
		if lean.Sent != 50 || lean.OK != nh.OK || lean.CheckFailed != nh.CheckFailed || fmt.Sprint(lean.Status) != fmt.Sprint(nh.Status) || len(lean.Errors) != 0 {
			t.Errorf("%s: lean sent %d ok %d failed %d status %v errors %v; net/http ok %d failed %d status %v",
				lean.Tenant, lean.Sent, lean.OK, lean.CheckFailed, lean.Status, lean.Errors, nh.OK, nh.CheckFailed, nh.Status)
		}
	}
	if m := results[false].Streams[3]; m.OK != 0 || m.Status[404] != 50 {
		t.Errorf("404s without a check must fail: ok %d status %v", m.OK, m.Status)
	}
}

// rawServer answers every request on every connection with reply, from
// a loop that reads and writes fixed buffers; close, when set, hangs up
// after each answer.
func rawServer(t testing.TB, reply string, closeAfter bool) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	answer := []byte(reply)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					if !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
						continue // small requests: the rest of the head follows
					}
					if _, err := c.Write(answer); err != nil || closeAfter {
						return
					}
				}
			}()
		}
	}()
	return "http://" + l.Addr().String()
}

// TestLeanFailsBadResponsesClearly: an answer that is not HTTP/1.x is an
// error of its own class, never a response and never a pass.
func TestLeanFailsBadResponsesClearly(t *testing.T) {
	t.Parallel()
	for _, reply := range []string{"SSH-2.0-OpenSSH_9.2\r\n", "HTTP/1.1 200 OK\r\nTransfer-Encoding: br\r\n\r\nxx"} {
		u := rawServer(t, reply, true)
		run, err := New(Config{}).Run(context.Background(), []Stream{{Tenant: "a", Template: &Template{URL: u}, Stages: []Stage{{Rate: 100, Duration: 100 * time.Millisecond}}}})
		if err != nil {
			t.Fatal(err)
		}
		s := run.Streams[0]
		if s.Sent != 10 || s.Responses != 0 || s.OK != 0 || s.Errors[ClassBadResponse] != 10 {
			t.Errorf("%q: sent %d responses %d ok %d errors %v; want 10 errors %q", reply, s.Sent, s.Responses, s.OK, s.Errors, ClassBadResponse)
		}
	}
}

// TestLeanReconnects: servers that close after each answer, or close
// idle keep-alive connections, cost a reconnect, never a failed request.
func TestLeanReconnects(t *testing.T) {
	t.Parallel()
	idle := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	idle.Config.IdleTimeout = 5 * time.Millisecond
	idle.Start()
	t.Cleanup(idle.Close)
	for name, u := range map[string]string{
		"connection: close":     rawServer(t, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", true),
		"HTTP/1.0 close":        rawServer(t, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", true),
		"idle connections shut": idle.URL,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			run, err := New(Config{}).Run(context.Background(), []Stream{{Tenant: "a", Template: &Template{URL: u}, Stages: []Stage{{Rate: 100, Duration: 300 * time.Millisecond}}}})
			if err != nil {
				t.Fatal(err)
			}
			if s := run.Streams[0]; s.OK != 30 {
				t.Errorf("ok %d of 30, errors %v", s.OK, s.Errors)
			}
		})
	}
}

// TestLeanFallsBackToTheClient: a custom RoundTripper is always used.
func TestLeanFallsBackToTheClient(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	cl := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	})}
	run, err := New(Config{Client: cl}).Run(context.Background(), []Stream{{Tenant: "a", Template: &Template{URL: "http://127.0.0.1:1/"}, Stages: []Stage{{Rate: 100, Duration: 100 * time.Millisecond}}}})
	if err != nil {
		t.Fatal(err)
	}
	if n.Load() != 10 || run.Streams[0].OK != 10 {
		t.Errorf("the client's RoundTripper saw %d of 10 requests", n.Load())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestLeanRoundTripAllocatesNothing: the hot path, on a kept-alive
// connection, with and without a body to capture.
func TestLeanRoundTripAllocatesNothing(t *testing.T) {
	u := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false)
	e := New(Config{})
	var sent atomic.Int64
	raw, err := compileTemplate(&Template{Method: http.MethodPost, URL: u + "/x/{seq}", Body: `{"n":{seq}}`})
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(e, raw.addr, LoopbackOnly, &sent)
	p.deadline = time.Now().Add(time.Hour)
	w := &worker{p: p, br: bufio.NewReaderSize(nil, 16<<10)}
	defer w.hangUp()
	st := &leanStream{s: &Stream{}, res: &StreamResult{}, raw: raw}
	for _, capture := range []bool{false, true} {
		w.rr.wantBody, w.rr.maxBody = capture, 1024
		seq := int64(0)
		allocs := testing.AllocsPerRun(500, func() {
			seq++
			j := job{st: st, seq: seq, at: time.Now()}
			w.markSent(j)
			if err := w.exchange(context.Background(), j, false); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 0.05 || string(w.rr.body) != map[bool]string{false: "", true: "ok"}[capture] {
			t.Errorf("capture %v: %.2f allocations per request, body %q", capture, allocs, w.rr.body)
		}
	}
}

// TestPoolWarm: warm opens the connections before the clock starts and
// lists them idle; a target that refuses stops it at the first dial.
func TestPoolWarm(t *testing.T) {
	t.Parallel()
	u := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false)
	raw, err := compileTemplate(&Template{URL: u + "/"})
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	p := newPool(New(Config{}), raw.addr, LoopbackOnly, &sent)
	p.warm(context.Background(), 5)
	if p.workers.Load() != 5 || len(p.idle) != 5 || len(p.conns) != 5 {
		t.Fatalf("after warm(5): %d workers, %d idle, %d connections; want 5 of each", p.workers.Load(), len(p.idle), len(p.conns))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p.deadline = time.Now().Add(time.Minute)
	p.serveWarm(ctx)
	res := &StreamResult{Status: map[int]int64{}, Errors: map[string]int64{}, Timeline: make([]Slot, 1), SlotUS: time.Minute.Microseconds()}
	st := &leanStream{s: &Stream{}, res: res, raw: raw}
	for seq := range 20 {
		if !p.dispatch(ctx, job{st: st, seq: int64(seq), at: time.Now()}) {
			t.Fatal("dispatch refused a job on a warm pool")
		}
	}
	p.close()
	if res.Sent != 20 || res.Status[200] != 20 {
		t.Fatalf("sent %d, statuses %v; want 20 answered 200", res.Sent, res.Status)
	}
	if got := p.workers.Load(); got != 0 {
		t.Fatalf("%d workers left after close", got)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	q := newPool(New(Config{}), dead, LoopbackOnly, &sent)
	q.warm(context.Background(), 100)
	if q.workers.Load() != 0 || len(q.idle) != 0 {
		t.Fatalf("warm against a closed port: %d workers, %d idle; want none", q.workers.Load(), len(q.idle))
	}
}

// TestRunWarmsBeforeTheClock: before its schedule starts, a run opens a
// connection for each request the peak rate sends in warmTolerances late
// tolerances (90 at 3,000/s and 3 × 10 ms), so the target accepts at
// least that many.
func TestRunWarmsBeforeTheClock(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var accepted atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				accepted.Add(1)
			}
		}}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	run, err := New(Config{LateTolerance: 10 * time.Millisecond}).Run(context.Background(), []Stream{{
		Tenant: "a", Template: &Template{URL: "http://" + l.Addr().String() + "/"},
		Stages: []Stage{{Rate: 1000, Duration: 20 * time.Millisecond}, {Rate: 3000, Duration: 30 * time.Millisecond}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if s := run.Streams[0]; s.OK != s.Planned || s.Planned != 110 {
		t.Fatalf("planned %d, ok %d; want 110 answered", s.Planned, s.OK)
	}
	if got := accepted.Load(); got < 90 {
		t.Fatalf("the target accepted %d connections; want at least the 90 warm ones", got)
	}
}

// TestStartDialSlowStart: a pool dials at most max(minDials, open
// connections) at a time.
func TestStartDialSlowStart(t *testing.T) {
	t.Parallel()
	for _, open := range []int64{0, 3, 40} {
		p := &pool{max: 1 << 20, freed: make(chan struct{}, 1)}
		p.workers.Store(open)
		n := int64(0)
		for p.startDial() {
			p.workers.Add(1) // as dispatch does for the worker it starts
			n++
		}
		if want := max(minDials, open); n != want {
			t.Errorf("%d connections open: %d dials at once; want %d", open, n, want)
		}
		p.endDial()
		if !p.startDial() {
			t.Errorf("%d open: no dial allowed after one ended", open)
		}
	}
}
