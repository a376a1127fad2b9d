package load

// The lean transport: the engine's own HTTP/1.1 client for its common
// case — plain http://, keep-alive, small requests rendered once from a
// Template. A pool of connection workers per target address, each owning
// one keep-alive TCP connection, takes arrivals from the open-model
// schedulers over a channel. Requests are rendered into a reused buffer
// ({seq} is the only per-request part), responses are parsed from a
// reused bufio.Reader, and the deadline is set on the connection, so the
// hot path allocates nothing and costs one goroutine hand-off, one write
// and one read per request. Everything else (https, HTTP/2, proxies, a
// custom RoundTripper, headers it does not render itself) goes through
// Config.Client, net/http.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Template is a request described as data, so that the engine can render
// it once and send it over its own HTTP/1.1 connections. "{seq}" in URL
// and Body is replaced by the request's sequence number.
type Template struct {
	Method string // default GET
	URL    string
	Header http.Header
	Body   string
}

// seqPlaceholder is replaced by the request's sequence number in a
// Template's URL and Body.
const seqPlaceholder = "{seq}"

// Request builds the seq-th request for net/http.
func (t *Template) Request(seq int64) (*http.Request, error) {
	u, b := t.URL, t.Body
	if strings.Contains(u, seqPlaceholder) || strings.Contains(b, seqPlaceholder) {
		n := strconv.FormatInt(seq, 10)
		u = strings.ReplaceAll(u, seqPlaceholder, n)
		b = strings.ReplaceAll(b, seqPlaceholder, n)
	}
	var rd io.Reader
	if b != "" {
		rd = strings.NewReader(b)
	}
	req, err := http.NewRequest(t.method(), u, rd)
	if err != nil {
		return nil, err
	}
	if t.Header != nil {
		req.Header = t.Header.Clone()
	}
	return req, nil
}

func (t *Template) method() string {
	if t.Method == "" {
		return http.MethodGet
	}
	return t.Method
}

// errBadResponse is the cause of requests whose answer the lean transport
// could not read as HTTP/1.x; they count as errors of class
// ClassBadResponse, never as responses.
var errBadResponse = errors.New("malformed HTTP/1.x response")

// rawRequest is a Template rendered to bytes.
type rawRequest struct {
	addr string // host:port to dial
	// head is the request line and headers up to the Content-Length line,
	// split at {seq}; body is the body split at {seq}. Both have at least
	// one (possibly empty) piece.
	head, body [][]byte
	bodyLen    int // sum of the body pieces
	sendLength bool
	headMethod bool // HEAD: the answer has no body
	idempotent bool
}

// seqToken stands for {seq} while the URL is parsed and escaped: letters
// and digits only, so escaping leaves it intact.
const seqToken = "RGSEQ9f4c2e7b"

// compileTemplate renders t for the lean transport, or says why it cannot
// (the request then goes through net/http).
func compileTemplate(t *Template) (*rawRequest, error) {
	m := t.method()
	if !validToken(m) {
		return nil, fmt.Errorf("method %q", m)
	}
	if strings.Contains(t.URL, seqToken) {
		return nil, errors.New("URL holds the internal placeholder")
	}
	u, err := url.Parse(strings.ReplaceAll(t.URL, seqPlaceholder, seqToken))
	if err != nil {
		return nil, err
	}
	switch {
	case u.Scheme != "http":
		return nil, fmt.Errorf("scheme %q", u.Scheme)
	case u.User != nil:
		return nil, errors.New("credentials in the URL")
	case u.Host == "" || u.Opaque != "" || strings.Contains(u.Host, seqToken):
		return nil, fmt.Errorf("URL %q", t.URL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	var h strings.Builder
	h.WriteString(m + " " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\n")
	if t.Header.Get("User-Agent") == "" {
		h.WriteString("User-Agent: Go-http-client/1.1\r\n")
	}
	keys := make([]string, 0, len(t.Header))
	for k := range t.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		switch ck {
		case "Host", "Content-Length": // net/http ignores both in Header
			continue
		case "Connection", "Transfer-Encoding", "Trailer", "Te", "Upgrade", "Expect", "Keep-Alive", "Proxy-Connection":
			return nil, fmt.Errorf("header %s", ck)
		}
		if !validToken(k) {
			return nil, fmt.Errorf("header name %q", k)
		}
		for _, v := range t.Header[k] {
			if strings.ContainsAny(v, "\r\n\x00") || strings.Contains(v, seqToken) {
				return nil, fmt.Errorf("header %s value", ck)
			}
			h.WriteString(k + ": " + v + "\r\n")
		}
	}
	r := &rawRequest{addr: addr, headMethod: m == http.MethodHead,
		idempotent: m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace}
	for _, p := range strings.Split(h.String(), seqToken) {
		r.head = append(r.head, []byte(p))
	}
	for _, p := range strings.Split(t.Body, seqPlaceholder) {
		r.body = append(r.body, []byte(p))
		r.bodyLen += len(p)
	}
	r.sendLength = t.Body != "" || m == http.MethodPost || m == http.MethodPut || m == http.MethodPatch
	return r, nil
}

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// render appends the seq-th request to dst[:0].
func (r *rawRequest) render(dst []byte, seq int64) []byte {
	var num [20]byte
	digits := strconv.AppendInt(num[:0], seq, 10)
	dst = dst[:0]
	for i, p := range r.head {
		if i > 0 {
			dst = append(dst, digits...)
		}
		dst = append(dst, p...)
	}
	if r.sendLength {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(r.bodyLen+(len(r.body)-1)*len(digits)), 10)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	for i, p := range r.body {
		if i > 0 {
			dst = append(dst, digits...)
		}
		dst = append(dst, p...)
	}
	return dst
}

// leanDialer returns the dial function of c's transport when the lean
// transport may stand in for c: c's RoundTripper is a plain
// *http.Transport without a proxy (so not http.DefaultTransport, which
// honours HTTP_PROXY) or a legacy dialer.
func leanDialer(c *http.Client) (func(context.Context, string, string) (net.Conn, error), bool) {
	rt := c.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	tr, ok := rt.(*http.Transport)
	//lint:ignore SA1019 reading the deprecated Dial: a legacy dialer is a custom dialer the lean transport must respect
	if !ok || tr.Proxy != nil || tr.Dial != nil {
		return nil, false
	}
	if tr.DialContext != nil {
		return tr.DialContext, true
	}
	var d net.Dialer
	return d.DialContext, true
}

// job is one scheduled request.
type job struct {
	st      *leanStream
	seq     int64
	at      time.Time
	off     time.Duration
	blocked bool // the scheduler waited for a free connection
	// behind: the request was due while its scheduler waited for a
	// connection for an earlier one
	behind bool
}

type leanStream struct {
	s   *Stream
	res *StreamResult
	// freed is when the stream's scheduler last got a connection after
	// waiting for one (only its scheduler goroutine touches it)
	freed time.Time
	raw   *rawRequest
}

// pool is the connection workers of one target address.
//
// An idle worker sits in a read on its keep-alive connection. The
// scheduler that claims it writes the request on that connection itself,
// so the worker wakes once per request, when the answer arrives: no
// goroutine hand-off on the way out. When no worker is idle the
// scheduler starts a new one (up to max), which dials and sends the
// request itself, or waits for one to come free: that wait is in the
// request's lag and latency, from its scheduled time.
//
// New connections are opened like TCP's slow start: at most
// max(minDials, connections already open) dials at a time. Without the
// cap, the first milliseconds of a high rate found no idle connection
// for each arrival and opened one per request up to max; the dial storm
// (1,024 connections to open and accept at once) put the first 0.3 s of
// a 30,000/s run tens of milliseconds behind its schedule. With it, the
// pool doubles per dial round trip (microseconds on loopback, one RTT
// over a network) and stops near the connections the rate needs.
type pool struct {
	e        *Engine
	addr     string
	dial     func(context.Context, string, string) (net.Conn, error)
	max      int64
	deadline time.Time // the run's (set once the clock starts)
	peakRate float64   // of the streams it carries: how many connections warm opens
	sent     *atomic.Int64
	wg       sync.WaitGroup
	workers  atomic.Int64
	dialing  atomic.Int64  // first dials of new workers in progress
	freed    chan struct{} // a worker became idle, or a dial ended

	mu      sync.Mutex
	idle    []*worker // last in, first out: the busiest connections stay warm
	conns   map[*worker]net.Conn
	closed  bool // no more requests: idle workers end
	aborted bool // the run was cancelled: no new connections
}

func newPool(e *Engine, addr string, dial func(context.Context, string, string) (net.Conn, error), sent *atomic.Int64) *pool {
	return &pool{e: e, addr: addr, dial: dial, max: int64(e.cfg.MaxInFlight), sent: sent,
		freed: make(chan struct{}, 1), conns: map[*worker]net.Conn{}}
}

const (
	workerBusy = iota
	workerIdle
)

// dispatch sends j now on an idle connection, or on a new one, or waits
// for one; false means the run ended first and j never left.
func (p *pool) dispatch(ctx context.Context, j job) bool {
	for {
		if ctx.Err() != nil {
			return false
		}
		p.mu.Lock()
		if n := len(p.idle); n > 0 {
			w := p.idle[n-1]
			p.idle = p.idle[:n-1]
			w.state, w.cur = workerBusy, j
			more := n > 1
			p.mu.Unlock()
			if j.blocked {
				j.st.freed = time.Now()
			}
			if more && j.blocked {
				p.poke() // pass the wake-up on to another waiting scheduler
			}
			w.markSent(j)
			w.wn, w.werr = w.write(j)
			w.written <- struct{}{}
			return true
		}
		p.mu.Unlock()
		if p.startDial() {
			if p.workers.Add(1) <= p.max {
				if j.blocked {
					j.st.freed = time.Now()
				}
				w := &worker{p: p, br: bufio.NewReaderSize(nil, 16<<10), written: make(chan struct{}, 1), firstDial: true}
				p.wg.Add(1)
				go w.run(ctx, j)
				return true
			}
			p.workers.Add(-1)
			p.endDial()
		}
		j.blocked = true
		select {
		case <-p.freed:
			// Let the other workers whose answers have arrived finish them
			// and go idle before looking again: woken as each one frees,
			// a scheduler that is behind would take one connection per
			// wake-up, ping-ponging with the workers at several times
			// the per-request cost (seen on one P: 75 µs instead of 20).
			runtime.Gosched()
		case <-ctx.Done():
			return false
		}
	}
}

// minDials is how many connections a pool may dial at once before any is
// open.
const minDials = 8

// startDial claims one of the concurrent dials the pool allows:
// max(minDials, the connections open now).
func (p *pool) startDial() bool {
	d := p.dialing.Add(1)
	if d <= max(minDials, p.workers.Load()-d+1) {
		return true
	}
	p.dialing.Add(-1)
	return false
}

// endDial releases a dial claimed by startDial and wakes a waiting
// scheduler, which may now dial or find the new connection idle.
func (p *pool) endDial() {
	p.dialing.Add(-1)
	p.poke()
}

// warm opens up to n connections before the schedule starts, as wrk
// opens its connections before it starts its clock: the first
// milliseconds of a high rate then find idle connections instead of
// opening one per arrival (a dial storm the target has to accept while
// the schedule runs). It gives up at the first failed dial — the
// requests then dial themselves and report the error — or when ctx
// ends. The connections wait idle from serveWarm on.
func (p *pool) warm(ctx context.Context, n int) {
	const parallel = 16
	var wg sync.WaitGroup
	var failed atomic.Bool
	next := make(chan struct{})
	for range min(n, parallel) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				if failed.Load() {
					continue
				}
				c, err := p.dial(ctx, "tcp", p.addr)
				if err != nil {
					failed.Store(true)
					continue
				}
				// reused: it waits idle, so the server may close it before its
				// first request, which is then re-sent once as on any kept-alive
				// connection
				w := &worker{p: p, conn: c, reused: true, br: bufio.NewReaderSize(c, 16<<10), written: make(chan struct{}, 1)}
				if !p.track(w, c) {
					c.Close()
					continue
				}
				p.workers.Add(1)
				p.wg.Add(1)
				p.mu.Lock()
				w.state = workerIdle
				p.idle = append(p.idle, w)
				p.mu.Unlock()
			}
		}()
	}
	for range n {
		if failed.Load() || ctx.Err() != nil {
			break
		}
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
}

// serveWarm starts the workers of the connections warm opened, under
// the run's ctx.
func (p *pool) serveWarm(ctx context.Context) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.idle {
		go w.idle(ctx)
	}
}

func (p *pool) poke() {
	select {
	case p.freed <- struct{}{}:
	default:
	}
}

// close ends the workers once no scheduler sends any more, and waits.
func (p *pool) close() {
	p.mu.Lock()
	p.closed = true
	for _, w := range p.idle {
		w.conn.SetDeadline(time.Unix(1, 0)) // wakes its read; it sees the pool closed
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// abort makes every connection's pending I/O fail now (the run was
// cancelled).
func (p *pool) abort() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed, p.aborted = true, true
	for _, c := range p.conns {
		c.SetDeadline(time.Unix(1, 0))
	}
}

func (p *pool) track(w *worker, c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c == nil {
		delete(p.conns, w)
		return true
	}
	if p.aborted {
		return false
	}
	p.conns[w] = c
	return true
}

// worker owns one keep-alive connection and carries one request at a
// time.
type worker struct {
	p      *pool
	conn   net.Conn
	reused bool // conn has carried a request before
	// firstDial: the worker holds one of the pool's concurrent dials
	// (startDial) until its first dial ends
	firstDial bool
	br        *bufio.Reader
	wbuf      []byte
	rr        respReader

	state int // under p.mu
	cur   job // under p.mu: the request written by the scheduler that claimed it
	// set by the writer of cur before it signals written
	wn       int
	werr     error
	deadline time.Time
	written  chan struct{}
}

// run carries first (dialling), then serves.
func (w *worker) run(ctx context.Context, first job) {
	p := w.p
	defer p.wg.Done()
	defer p.poke() // a waiting scheduler may start a new worker now
	defer p.workers.Add(-1)
	defer w.hangUp()
	w.markSent(first)
	w.handle(ctx, first, false)
	w.serve(ctx, false)
}

// idle runs a worker whose connection warm opened and listed idle.
func (w *worker) idle(ctx context.Context) {
	p := w.p
	defer p.wg.Done()
	defer p.poke()
	defer p.workers.Add(-1)
	defer w.hangUp()
	w.serve(ctx, true)
}

// serve waits idle in a read for the requests schedulers write on w's
// connection, until the connection ends or the pool closes. listed: w
// is already in the pool's idle list.
func (w *worker) serve(ctx context.Context, listed bool) {
	p := w.p
	for w.conn != nil {
		if !listed {
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				return
			}
			w.state = workerIdle
			p.idle = append(p.idle, w)
			p.mu.Unlock()
			p.poke()
		}
		listed = false
		var perr error
		for {
			_, perr = w.br.Peek(1) // until an answer, the end of the connection or a deadline
			p.mu.Lock()
			if w.state == workerIdle {
				// nothing was sent: the server closed the idle connection or
				// sent unasked-for bytes, the pool closed, or the deadline of
				// the last request passed while idle
				if perr != nil && isTimeout(perr) && !p.closed && ctx.Err() == nil {
					w.conn.SetDeadline(time.Time{})
					p.mu.Unlock()
					continue
				}
				for i, x := range p.idle {
					if x == w {
						p.idle = append(p.idle[:i], p.idle[i+1:]...)
						break
					}
				}
				p.mu.Unlock()
				return
			}
			j := w.cur
			p.mu.Unlock()
			<-w.written
			for perr != nil && isTimeout(perr) && time.Now().Before(w.deadline) {
				_, perr = w.br.Peek(1) // the idle deadline passed just before this request's was set
			}
			w.handle(ctx, j, true)
			break
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (w *worker) hangUp() {
	if w.conn != nil {
		w.p.track(w, nil)
		w.conn.Close()
		w.conn = nil
	}
}

// markSent counts j as sent, now, with its lag behind the schedule.
func (w *worker) markSent(j job) {
	e := w.p.e
	lag := time.Since(j.at)
	late := lag > e.cfg.LateTolerance
	j.st.res.addSent(lag, late, (j.blocked || j.behind) && late)
	w.p.sent.Add(1)
	w.deadline = j.at.Add(e.cfg.Timeout)
	if w.deadline.After(w.p.deadline) {
		w.deadline = w.p.deadline
	}
}

// write renders j's request and writes it on the connection.
func (w *worker) write(j job) (int, error) {
	w.wbuf = j.st.raw.render(w.wbuf, j.seq)
	if err := w.conn.SetDeadline(w.deadline); err != nil {
		return 0, err
	}
	return w.conn.Write(w.wbuf)
}

// handle completes j and records its outcome. written says whether a
// scheduler already wrote it (then w.wn, w.werr hold the write's result).
func (w *worker) handle(ctx context.Context, j job, written bool) {
	e, s, res := w.p.e, j.st.s, j.st.res
	w.rr.wantHeader, w.rr.wantBody, w.rr.maxBody = s.Check != nil, s.Check != nil, int(e.cfg.MaxBody)
	if err := w.exchange(ctx, j, written); err != nil {
		res.record(j.off, 0, 0, classify(err), e.cfg.Slot)
		return
	}
	e.judge(s, res, j.off, j.at, &w.rr.resp, w.rr.body)
}

// exchange writes j (unless written) and reads the answer into w.rr. A
// request that finds a reused connection closed by the server before any
// byte of the answer is sent again once on a new connection, as net/http
// does: when it was never written, or when it is idempotent.
func (w *worker) exchange(ctx context.Context, j job, written bool) error {
	raw := j.st.raw
	for attempt := 0; ; attempt++ {
		var n int
		var werr error
		reused := true
		if written {
			n, werr = w.wn, w.werr
		} else {
			if w.conn == nil {
				dctx, cancel := context.WithDeadline(ctx, w.deadline)
				c, err := w.p.dial(dctx, "tcp", w.p.addr)
				cancel()
				if w.firstDial {
					w.firstDial = false
					w.p.endDial()
				}
				if err != nil {
					return err
				}
				if !w.p.track(w, c) {
					c.Close()
					return context.Canceled
				}
				w.conn, w.reused = c, false
				w.br.Reset(c)
			}
			reused = w.reused
			n, werr = w.write(j)
		}
		written = false
		w.reused = true
		if werr != nil && n == 0 && reused && attempt == 0 {
			w.hangUp()
			continue
		}
		keep, rerr := w.rr.read(w.br, raw.headMethod)
		if rerr != nil || !keep {
			w.hangUp()
		}
		if rerr == nil {
			return nil // an answer, even if the write failed part-way (a server may answer and close early)
		}
		if reused && attempt == 0 && w.rr.nread == 0 && (werr != nil && n == 0 || raw.idempotent && closedErr(rerr)) {
			continue
		}
		if werr != nil {
			return werr
		}
		return rerr
	}
}

func closedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// respReader parses HTTP/1.x responses. Its fields are reused from one
// response to the next.
type respReader struct {
	wantHeader, wantBody bool
	maxBody              int

	resp  http.Response
	hdr   http.Header
	body  []byte
	nread int // bytes of this response read so far
	lines int // bytes of this response's status, header, chunk-size and trailer lines
}

// maxHeaderBytes bounds one response's status line and headers.
const maxHeaderBytes = 64 << 10

func badResponse(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errBadResponse}, a...)...)
}

// line returns the next line without its CRLF (or LF). The slice is valid
// until the next read.
func (r *respReader) line(br *bufio.Reader) ([]byte, error) {
	l, err := br.ReadSlice('\n')
	r.nread += len(l)
	r.lines += len(l)
	if err == bufio.ErrBufferFull {
		return nil, badResponse("a header line longer than %d bytes", br.Size())
	}
	if err != nil {
		if err == io.EOF && r.nread > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if r.lines > maxHeaderBytes {
		return nil, badResponse("header and chunk lines longer than %d bytes", maxHeaderBytes)
	}
	l = l[:len(l)-1]
	if len(l) > 0 && l[len(l)-1] == '\r' {
		l = l[:len(l)-1]
	}
	return l, nil
}

// read parses one response from br (skipping 1xx interim answers) and
// reads or discards its body. keep reports whether the connection can
// carry another request.
func (r *respReader) read(br *bufio.Reader, head bool) (keep bool, err error) {
	r.nread, r.lines = 0, 0
	r.body = r.body[:0]
	if r.wantHeader {
		if r.hdr == nil {
			r.hdr = http.Header{}
		}
		clear(r.hdr)
	}
	var code, minor int
	var length int64
	var chunked, closeConn, keepAlive bool
	for {
		l, err := r.line(br)
		if err != nil {
			return false, err
		}
		// "HTTP/1.x NNN[ reason]"
		if len(l) < 12 || string(l[:7]) != "HTTP/1." || (l[7] != '0' && l[7] != '1') || l[8] != ' ' ||
			(len(l) > 12 && l[12] != ' ') || !isDigit(l[9]) || !isDigit(l[10]) || !isDigit(l[11]) || l[9] == '0' {
			return false, badResponse("status line %q", truncate(l))
		}
		minor = int(l[7] - '0')
		code = int(l[9]-'0')*100 + int(l[10]-'0')*10 + int(l[11]-'0')
		if r.wantHeader {
			r.resp.Status = string(l[9:])
		}
		if length, chunked, closeConn, keepAlive, err = r.headers(br); err != nil {
			return false, err
		}
		if code == http.StatusSwitchingProtocols {
			return false, badResponse("101 Switching Protocols to a request that asked for no upgrade")
		}
		if code >= 200 {
			break
		}
		if r.wantHeader { // an interim 1xx answer: the real one follows
			clear(r.hdr)
		}
	}
	keep = !closeConn && (minor == 1 || keepAlive)
	if chunked {
		length = -1
	}
	proto := "HTTP/1.1"
	if minor == 0 {
		proto = "HTTP/1.0"
	}
	r.resp = http.Response{Status: r.resp.Status, StatusCode: code, Proto: proto,
		ProtoMajor: 1, ProtoMinor: minor, Header: r.hdr, ContentLength: length, Body: http.NoBody, Close: !keep}
	switch {
	case head || code == http.StatusNoContent || code == http.StatusNotModified:
		return keep, nil
	case chunked:
		if err := r.readChunked(br); err != nil {
			return false, err // the connection is mid-body: never reuse it
		}
		return keep, nil
	case length >= 0:
		if err := r.readN(br, length); err != nil {
			return false, err
		}
		return keep, nil
	}
	// no length: the body runs to the end of the connection
	if err := r.readN(br, -1); err != nil {
		return false, err
	}
	return false, nil
}

// headers reads header lines up to the blank line, recording them when
// wanted, and returns what framing needs: the Content-Length (-1 if none),
// whether the body is chunked, and the Connection tokens.
func (r *respReader) headers(br *bufio.Reader) (length int64, chunked, closeConn, keepAlive bool, err error) {
	length = -1
	for {
		l, err := r.line(br)
		if err != nil {
			return 0, false, false, false, err
		}
		if len(l) == 0 {
			return length, chunked, closeConn, keepAlive, nil
		}
		colon := bytes.IndexByte(l, ':')
		if colon <= 0 || l[0] == ' ' || l[0] == '\t' {
			return 0, false, false, false, badResponse("header line %q", truncate(l))
		}
		name, value := l[:colon], trimOWS(l[colon+1:])
		switch {
		case equalFold(name, "content-length"):
			n, ok := parseLength(value)
			if !ok || length >= 0 && n != length {
				return 0, false, false, false, badResponse("Content-Length %q", truncate(value))
			}
			length = n
		case equalFold(name, "transfer-encoding"):
			if !equalFold(value, "chunked") || chunked {
				return 0, false, false, false, badResponse("Transfer-Encoding %q", truncate(value))
			}
			chunked = true
		case equalFold(name, "connection"):
			closeConn = closeConn || hasToken(value, "close")
			keepAlive = keepAlive || hasToken(value, "keep-alive")
		}
		if r.wantHeader {
			k := textproto.CanonicalMIMEHeaderKey(string(name))
			r.hdr[k] = append(r.hdr[k], string(value))
		}
	}
}

// readN reads n bytes of body (n < 0: up to EOF), keeping the first
// maxBody when the body is wanted.
func (r *respReader) readN(br *bufio.Reader, n int64) error {
	for n != 0 {
		if r.wantBody && len(r.body) < r.maxBody {
			want := r.maxBody - len(r.body)
			if n > 0 && int64(want) > n {
				want = int(n)
			}
			if cap(r.body)-len(r.body) < want {
				r.body = slices.Grow(r.body, min(want, 64<<10))
			}
			room := r.body[len(r.body):min(cap(r.body), len(r.body)+want)]
			m, err := br.Read(room)
			r.body = r.body[:len(r.body)+m]
			r.nread += m
			if n > 0 {
				n -= int64(m)
			}
			if err != nil {
				return bodyEOF(err, n)
			}
			continue
		}
		chunk := br.Buffered()
		if chunk == 0 {
			if _, err := br.Peek(1); err != nil {
				return bodyEOF(err, n)
			}
			chunk = br.Buffered()
		}
		if n > 0 && int64(chunk) > n {
			chunk = int(n)
		}
		m, _ := br.Discard(chunk)
		r.nread += m
		if n > 0 {
			n -= int64(m)
		}
	}
	return nil
}

// bodyEOF maps the end of the connection inside a body: expected when the
// body runs to the end (n < 0), truncation otherwise.
func bodyEOF(err error, n int64) error {
	if err == io.EOF {
		if n < 0 {
			return nil
		}
		return io.ErrUnexpectedEOF
	}
	return err
}

func (r *respReader) readChunked(br *bufio.Reader) error {
	for {
		r.lines = 0 // each chunk-size line (and the trailers) within the bound
		l, err := r.line(br)
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(l, ';'); i >= 0 {
			l = l[:i]
		}
		l = trimOWS(l)
		if len(l) == 0 || len(l) > 15 {
			return badResponse("chunk size %q", truncate(l))
		}
		var size int64
		for _, c := range l {
			var d byte
			switch {
			case '0' <= c && c <= '9':
				d = c - '0'
			case 'a' <= c && c <= 'f':
				d = c - 'a' + 10
			case 'A' <= c && c <= 'F':
				d = c - 'A' + 10
			default:
				return badResponse("chunk size %q", truncate(l))
			}
			size = size<<4 | int64(d)
		}
		if size == 0 {
			for { // trailers
				l, err := r.line(br)
				if err != nil {
					return err
				}
				if len(l) == 0 {
					return nil
				}
			}
		}
		if err := r.readN(br, size); err != nil {
			return err
		}
		l, err = r.line(br)
		if err != nil {
			return err
		}
		if len(l) != 0 {
			return badResponse("chunk not followed by CRLF")
		}
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// trimOWS trims HTTP's optional whitespace (spaces and tabs).
func trimOWS(b []byte) []byte { return bytes.Trim(b, " \t") }

// equalFold compares ASCII b with lower-case s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v holds tok.
func hasToken(v []byte, tok string) bool {
	for len(v) > 0 {
		var t []byte
		t, v, _ = bytes.Cut(v, []byte{','})
		if equalFold(trimOWS(t), tok) {
			return true
		}
	}
	return false
}

func parseLength(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func truncate(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "…"
	}
	return string(b)
}
