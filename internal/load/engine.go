// Package load is an open-model HTTP load engine with log-linear latency
// histograms.
//
// Open model: each stream (one tenant in one scenario) has a schedule of
// arrivals at a constant rate per stage (ramp, hold, spike), computed up
// front and independent of how fast the target answers. A slow response
// never delays the next arrival, and latency is measured from the
// scheduled send time, not from when the request actually left, so a
// stalled server shows up in the high percentiles instead of silently
// thinning the sample (coordinated omission, as corrected by wrk2).
//
// When the engine itself cannot keep the schedule (the in-flight bound is
// reached, or the machine is too slow), it says so in Shortfall: that is a
// property of the load generator, not a failure of the service.
//
// Requests described by a plain http:// Template go over the engine's own
// lean HTTP/1.1 transport (lean.go): a pool of connection workers per
// target, each with one keep-alive connection, pre-rendered request bytes
// and no allocation per request. Everything else (https, HTTP/2, a custom
// RoundTripper, a Request function) goes through Config.Client, net/http.
package load

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Stage is a period of constant arrival rate. A rate of zero is a pause.
type Stage struct {
	// Rate is arrivals per second.
	Rate float64
	// Duration is how long the stage lasts.
	Duration time.Duration
}

// Stream is one tenant's traffic in one scenario.
type Stream struct {
	// Tenant and Scenario name the stream in results.
	Tenant, Scenario string
	// Stages is the arrival schedule, in order.
	Stages []Stage
	// MaxRequests bounds the number of requests; zero means the schedule
	// alone bounds it.
	MaxRequests int64
	// Stride and Phase keep only the arrivals whose index j in the full
	// schedule has j mod Stride == Phase, so n shards can split one
	// tenant's schedule exactly (Stride 0 or 1 keeps every arrival).
	Stride, Phase int64
	// Objective is the latency a good response must meet to count as
	// compliant (Good); zero counts every good response.
	Objective time.Duration
	// Template describes the requests as data. A plain http:// template
	// is rendered once and sent over the engine's own keep-alive HTTP/1.1
	// connections (the lean transport); anything else goes through
	// Config.Client. Either Template or Request must be set; Request wins.
	Template *Template
	// Request builds the seq-th request (seq counts from 0) for
	// Config.Client. It is called at the scheduled time, so keep it cheap.
	Request func(seq int64) (*http.Request, error)
	// Check judges a response; a nil Check accepts any status below 400.
	// body holds at most MaxBody bytes of the response. Neither resp nor
	// body may be kept after Check returns (the lean transport reuses
	// them), and resp.Body is already consumed.
	Check func(resp *http.Response, body []byte) error
}

// Config bounds a run.
type Config struct {
	// Client sends the requests that the lean transport does not: https,
	// streams with a Request function, templates it cannot render. Nil
	// means a keep-alive client built from MaxInFlight and Timeout (see
	// NewClient). The lean transport dials with Client's
	// Transport.DialContext (so LoopbackOnly holds for both), and stands
	// aside entirely when Client's RoundTripper is not a plain
	// *http.Transport or it has a proxy.
	Client *http.Client
	// NetHTTPOnly sends every request through Client (net/http), never
	// the lean transport.
	NetHTTPOnly bool
	// MaxInFlight bounds concurrent requests over the net/http streams,
	// and the connections (one request in flight each) per target address
	// of the lean transport (default 256).
	MaxInFlight int
	// Timeout bounds one request, from its scheduled time (default 5s).
	Timeout time.Duration
	// Deadline bounds the whole run including the drain of in-flight
	// requests; zero means schedule length + Timeout + 1s. Requests not
	// sent by then count as Unsent.
	Deadline time.Duration
	// LateTolerance is how far after its scheduled time a request may
	// leave before it counts as late (default 10ms).
	LateTolerance time.Duration
	// Slot is the timeline resolution (default 1s).
	Slot time.Duration
	// MaxBody bounds how much of a response body Check sees (default 1 MiB);
	// the rest is read and discarded to keep connections alive.
	MaxBody int64
	// Progress, when set, is called about every ProgressEvery with the
	// number of requests sent and planned so far.
	Progress      func(sent, planned int64, elapsed time.Duration)
	ProgressEvery time.Duration
}

func (c *Config) defaults() {
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 256
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.LateTolerance <= 0 {
		c.LateTolerance = 10 * time.Millisecond
	}
	if c.Slot <= 0 {
		c.Slot = time.Second
	}
	if c.MaxBody <= 0 {
		c.MaxBody = 1 << 20
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 5 * time.Second
	}
}

// Slot counts outcomes of requests scheduled within one timeline slot.
type Slot struct {
	OK        int64 `json:"ok"`
	Throttled int64 `json:"throttled"`
	Failed    int64 `json:"failed"`
}

// StreamResult is what happened to one stream.
type StreamResult struct {
	Tenant   string `json:"tenant"`
	Scenario string `json:"scenario"`
	// Planned is the number of arrivals in the schedule.
	Planned int64 `json:"planned"`
	// Sent requests left the engine; Unsent never did (deadline reached).
	Sent   int64 `json:"sent"`
	Unsent int64 `json:"unsent"`
	// Late requests left more than LateTolerance after their scheduled
	// time; LateInFlight of them waited for the in-flight bound.
	Late         int64 `json:"late"`
	LateInFlight int64 `json:"late_in_flight"`
	// MaxLagUS is the worst send delay, in microseconds.
	MaxLagUS int64 `json:"max_lag_us"`
	// Responses received (any status); OK of them passed the check.
	Responses int64 `json:"responses"`
	OK        int64 `json:"ok"`
	// Good responses passed the check within the stream's Objective.
	Good int64 `json:"good"`
	// CheckFailed responses were received but failed the check.
	CheckFailed int64 `json:"check_failed"`
	// Status counts responses by HTTP status code.
	Status map[int]int64 `json:"status"`
	// Errors counts requests without a response by error class.
	Errors map[string]int64 `json:"errors"`
	// Latency of every response received, from the scheduled time.
	Latency Histogram `json:"latency"`
	// FirstThrottledUS and LastThrottledUS are the scheduled offsets (from
	// the run's start) of the first and last 429 answers; -1 when none.
	FirstThrottledUS int64 `json:"first_throttled_us"`
	LastThrottledUS  int64 `json:"last_throttled_us"`
	// LastFailedUS is the scheduled offset of the last request that did
	// not pass (429, other failure or no answer); -1 when none.
	LastFailedUS int64 `json:"last_failed_us"`
	// SlotUS is the timeline resolution; Timeline[i] covers scheduled
	// times [i·SlotUS, (i+1)·SlotUS).
	SlotUS   int64  `json:"slot_us"`
	Timeline []Slot `json:"timeline"`
	// ScheduleUS is the length of the stream's schedule.
	ScheduleUS int64 `json:"schedule_us"`

	mu sync.Mutex
}

// Failed is the number of requests that were sent but did not pass:
// transport errors plus check failures.
func (s *StreamResult) Failed() int64 { return s.Sent - s.OK }

// ErrorRate is Failed/Sent; NaN when nothing was sent.
func (s *StreamResult) ErrorRate() float64 {
	if s.Sent == 0 {
		return math.NaN()
	}
	return float64(s.Failed()) / float64(s.Sent)
}

// Throttled is the number of 429 answers.
func (s *StreamResult) Throttled() int64 { return s.Status[http.StatusTooManyRequests] }

// Merge adds o (the same tenant and scenario, from another run or shard)
// to s exactly: counts add, histograms merge, timelines add slot by slot.
func (s *StreamResult) Merge(o *StreamResult) {
	s.Planned += o.Planned
	s.Sent += o.Sent
	s.Unsent += o.Unsent
	s.Late += o.Late
	s.LateInFlight += o.LateInFlight
	s.MaxLagUS = max(s.MaxLagUS, o.MaxLagUS)
	s.Responses += o.Responses
	s.OK += o.OK
	s.Good += o.Good
	s.CheckFailed += o.CheckFailed
	if s.Status == nil {
		s.Status = map[int]int64{}
	}
	for k, v := range o.Status {
		s.Status[k] += v
	}
	if s.Errors == nil {
		s.Errors = map[string]int64{}
	}
	for k, v := range o.Errors {
		s.Errors[k] += v
	}
	s.Latency.Merge(&o.Latency)
	s.FirstThrottledUS = minSet(s.FirstThrottledUS, o.FirstThrottledUS)
	s.LastThrottledUS = max(s.LastThrottledUS, o.LastThrottledUS)
	s.LastFailedUS = max(s.LastFailedUS, o.LastFailedUS)
	if s.SlotUS == 0 {
		s.SlotUS = o.SlotUS
	}
	for len(s.Timeline) < len(o.Timeline) {
		s.Timeline = append(s.Timeline, Slot{})
	}
	for i, sl := range o.Timeline {
		s.Timeline[i].OK += sl.OK
		s.Timeline[i].Throttled += sl.Throttled
		s.Timeline[i].Failed += sl.Failed
	}
	s.ScheduleUS = max(s.ScheduleUS, o.ScheduleUS)
}

// minSet is the smaller of two offsets where -1 means unset.
func minSet(a, b int64) int64 {
	switch {
	case a < 0:
		return b
	case b < 0:
		return a
	}
	return min(a, b)
}

// Run is the outcome of one engine run.
type Run struct {
	Streams []*StreamResult `json:"streams"`
	// Started is when the schedule began; ElapsedUS how long the run took.
	Started   time.Time `json:"started"`
	ElapsedUS int64     `json:"elapsed_us"`
	// LateTolerance used to count late sends, in microseconds.
	LateToleranceUS int64 `json:"late_tolerance_us"`
	// MaxInFlight is the in-flight bound the run had (per shard).
	MaxInFlight int `json:"max_in_flight,omitempty"`
}

// Totals sums every stream of the run.
func (r *Run) Totals() *StreamResult {
	t := &StreamResult{FirstThrottledUS: -1, LastThrottledUS: -1, LastFailedUS: -1}
	for _, s := range r.Streams {
		t.Merge(s)
	}
	return t
}

// Shortfall describes how the engine failed to keep its schedule: the
// rate could not be reached. It is empty when every request left on time.
func (r *Run) Shortfall() string {
	t := r.Totals()
	if t.Unsent == 0 && t.Late*100 <= t.Planned { // ≤ 1 % late is on time
		return ""
	}
	msg := fmt.Sprintf("the load generator could not keep its schedule: %d of %d requests left more than %s late (worst %s), %d never left",
		t.Late, t.Planned, time.Duration(r.LateToleranceUS)*time.Microsecond, time.Duration(t.MaxLagUS)*time.Microsecond, t.Unsent)
	if t.LateInFlight > t.Late/2 {
		return msg + "; " + r.inFlightAdvice(t)
	}
	return msg + "; this machine cannot generate the rate: lower it or split tenants over shards"
}

// inFlightAdvice says that the in-flight bound made requests late and how
// far to raise it: by Little's law the run needs about its arrival rate ×
// its longest latency in flight to keep sending through the slowest
// stretch.
func (r *Run) inFlightAdvice(t *StreamResult) string {
	msg := fmt.Sprintf("%d of them waited for the in-flight bound or queued behind a request that did", t.LateInFlight)
	var length int64
	for _, s := range r.Streams {
		length = max(length, s.ScheduleUS)
	}
	if r.MaxInFlight <= 0 || length <= 0 {
		return msg + ": raise max-in-flight or lower the rate"
	}
	rate := float64(t.Planned) / (float64(length) / 1e6)
	need := int(math.Ceil(rate * t.Latency.Max().Seconds()))
	if need <= r.MaxInFlight {
		need = 2 * r.MaxInFlight
	}
	return fmt.Sprintf("%s: max-in-flight %d is too low for %.0f req/s with latencies up to %s; raise max-in-flight to at least %d (rate × longest latency; an upper estimate, as the latencies include the wait for a slot) or lower the rate",
		msg, r.MaxInFlight, rate, t.Latency.Max().Round(time.Millisecond), need)
}

// Engine runs streams on an open-model schedule.
type Engine struct {
	cfg Config
}

// New returns an engine with cfg's defaults filled in.
func New(cfg Config) *Engine {
	cfg.defaults()
	if cfg.Client == nil {
		cfg.Client = NewClient(cfg.MaxInFlight, cfg.Timeout, nil)
	}
	return &Engine{cfg: cfg}
}

// NewClient returns a keep-alive HTTP client sized for maxInFlight
// concurrent requests. dial, when not nil, replaces the dialer (see
// LoopbackOnly).
func NewClient(maxInFlight int, timeout time.Duration, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if dial == nil {
		dial = d.DialContext
	}
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         dial,
			MaxIdleConns:        maxInFlight,
			MaxIdleConnsPerHost: maxInFlight,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: timeout,
			ForceAttemptHTTP2:   false,
		},
		// no Client.Timeout: each request carries a context deadline from
		// its scheduled time, and a second timer per request costs CPU
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// ErrNotLoopback is returned by a LoopbackOnly dialer for any other host.
var ErrNotLoopback = errors.New("target is not a loopback address")

// LoopbackOnly is a dial function that connects only to loopback
// addresses and the name "localhost"; any other name is refused before it
// is resolved. Tests and the demo use it so that no request leaves the
// machine.
func LoopbackOnly(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !ip.IsLoopback() {
			return nil, fmt.Errorf("%w: %s; only 127.0.0.0/8 and ::1 are allowed here", ErrNotLoopback, host)
		}
	} else if host != "localhost" {
		return nil, fmt.Errorf("%w: %q is a DNS name; only localhost and loopback addresses are allowed here", ErrNotLoopback, host)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// schedule returns the arrival offsets of a stream, bounded by max.
func schedule(st []Stage, maxReq int64) ([]time.Duration, time.Duration) {
	var out []time.Duration
	var start time.Duration
	for _, s := range st {
		if s.Rate > 0 && s.Duration > 0 {
			n := int64(math.Round(s.Rate * s.Duration.Seconds()))
			for j := int64(0); j < n; j++ {
				if maxReq > 0 && int64(len(out)) >= maxReq {
					return out, start + s.Duration
				}
				out = append(out, start+time.Duration(float64(j)/s.Rate*float64(time.Second)))
			}
		}
		start += s.Duration
	}
	return out, start
}

// warmTolerances is how many late tolerances of a pool's peak rate Run
// opens connections for before the clock starts.
const warmTolerances = 3

// peakRate is the highest arrival rate of s's stages, for its share of
// the schedule.
func peakRate(s *Stream) float64 {
	var r float64
	for _, st := range s.Stages {
		if st.Duration > 0 {
			r = max(r, st.Rate)
		}
	}
	if s.Stride > 1 {
		r /= float64(s.Stride)
	}
	return r
}

// Run executes every stream concurrently and returns when all have
// finished or the deadline passed. It returns an error only for an invalid
// configuration; failures of the target are in the Run.
func (e *Engine) Run(ctx context.Context, streams []Stream) (*Run, error) {
	cfg := e.cfg
	scheds, results, longest, planned, err := e.plan(streams)
	if err != nil {
		return nil, err
	}
	deadline := cfg.Deadline
	if deadline <= 0 {
		deadline = longest + cfg.Timeout + time.Second
	}
	sem := make(chan struct{}, cfg.MaxInFlight)
	var sent atomic.Int64

	lean, pools := e.leanStreams(streams, results, &sent)
	// Open, before the clock starts, a connection for every request the
	// peak rate sends in warmTolerances late tolerances: a stall of the
	// target up to that long then needs no new connection (every late run
	// seen had grown its pool to max-in-flight after such a stall; in a
	// small A/B at 35,000/s on loopback, three tolerances' worth left a
	// third as many requests late as one: docs/benchmarks.md).
	warmCtx, warmCancel := context.WithTimeout(ctx, min(cfg.Timeout, 2*time.Second))
	for _, p := range pools {
		p.warm(warmCtx, int(min(math.Ceil(warmTolerances*p.peakRate*cfg.LateTolerance.Seconds()), float64(cfg.MaxInFlight))))
	}
	warmCancel()

	start := time.Now()
	ctx, cancel := context.WithDeadline(ctx, start.Add(deadline))
	defer cancel()
	for _, p := range pools {
		p.deadline = start.Add(deadline)
		p.serveWarm(ctx)
	}
	poolsDone := make(chan struct{})
	if len(pools) > 0 {
		go func() { // a cancelled run stops the connections' pending I/O
			select {
			case <-ctx.Done():
				if ctx.Err() == context.Canceled {
					for _, p := range pools {
						p.abort()
					}
				}
			case <-poolsDone:
			}
		}()
	}
	var reqs sync.WaitGroup
	var schedulers sync.WaitGroup
	stopProgress := e.progress(&sent, planned, start)

	for i := range streams {
		schedulers.Add(1)
		if ls := lean[i]; ls != nil {
			go func(sch []time.Duration, p *pool) {
				defer schedulers.Done()
				ls.schedule(ctx, start, sch, p)
			}(scheds[i], pools[ls.raw.addr])
			continue
		}
		go func(s Stream, sch []time.Duration, res *StreamResult) {
			defer schedulers.Done()
			e.sendNetHTTP(ctx, start, s, sch, res, sem, &sent, &reqs)
		}(streams[i], scheds[i], results[i])
	}
	schedulers.Wait()
	for _, p := range pools {
		p.close()
	}
	close(poolsDone)
	reqs.Wait()
	close(stopProgress)
	run := &Run{Streams: results, Started: start, ElapsedUS: time.Since(start).Microseconds(), LateToleranceUS: cfg.LateTolerance.Microseconds(), MaxInFlight: cfg.MaxInFlight}
	return run, nil
}

// plan checks every stream and computes its schedule (only its own share
// when the stream is striped across shards) and its empty result; longest
// is the longest schedule, planned the number of requests in all.
func (e *Engine) plan(streams []Stream) (scheds [][]time.Duration, results []*StreamResult, longest time.Duration, planned int64, err error) {
	cfg := e.cfg
	scheds = make([][]time.Duration, len(streams))
	results = make([]*StreamResult, len(streams))
	for i, s := range streams {
		if s.Request == nil && s.Template == nil {
			return nil, nil, 0, 0, fmt.Errorf("stream %s/%s has neither a request template nor a builder", s.Tenant, s.Scenario)
		}
		for _, st := range s.Stages {
			if st.Rate < 0 || math.IsNaN(st.Rate) || math.IsInf(st.Rate, 0) || st.Duration < 0 {
				return nil, nil, 0, 0, fmt.Errorf("stream %s/%s: stage rate %g for %s: expected a finite rate ≥ 0 and a duration ≥ 0", s.Tenant, s.Scenario, st.Rate, st.Duration)
			}
		}
		sch, length := schedule(s.Stages, s.MaxRequests)
		if s.Stride > 1 {
			kept := sch[:0]
			for j, off := range sch {
				if int64(j)%s.Stride == s.Phase {
					kept = append(kept, off)
				}
			}
			sch = kept
		}
		scheds[i] = sch
		longest = max(longest, length)
		planned += int64(len(sch))
		nslots := int(length/cfg.Slot) + 1
		results[i] = &StreamResult{
			Tenant: s.Tenant, Scenario: s.Scenario, Planned: int64(len(sch)),
			Status: map[int]int64{}, Errors: map[string]int64{},
			FirstThrottledUS: -1, LastThrottledUS: -1, LastFailedUS: -1,
			SlotUS: cfg.Slot.Microseconds(), Timeline: make([]Slot, nslots),
			ScheduleUS: length.Microseconds(),
		}
	}
	return scheds, results, longest, planned, nil
}

// leanStreams picks the streams the lean transport carries, with one pool
// per address; lean[i] is nil for a stream net/http sends.
func (e *Engine) leanStreams(streams []Stream, results []*StreamResult, sent *atomic.Int64) ([]*leanStream, map[string]*pool) {
	cfg := e.cfg
	lean := make([]*leanStream, len(streams))
	pools := map[string]*pool{}
	if dial, ok := leanDialer(cfg.Client); ok && !cfg.NetHTTPOnly {
		for i := range streams {
			s := &streams[i]
			if s.Request != nil || s.Template == nil {
				continue
			}
			raw, err := compileTemplate(s.Template)
			if err != nil {
				continue // net/http sends it
			}
			if pools[raw.addr] == nil {
				pools[raw.addr] = newPool(e, raw.addr, dial, sent)
			}
			lean[i] = &leanStream{s: s, res: results[i], raw: raw}
			pools[raw.addr].peakRate += peakRate(s)
		}
	}
	return lean, pools
}

// progress reports progress every ProgressEvery, when asked, until the
// returned channel is closed.
func (e *Engine) progress(sent *atomic.Int64, planned int64, start time.Time) chan struct{} {
	cfg := e.cfg
	stop := make(chan struct{})
	if cfg.Progress != nil {
		go func() {
			t := time.NewTicker(cfg.ProgressEvery)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					cfg.Progress(sent.Load(), planned, time.Since(start))
				case <-stop:
					return
				}
			}
		}()
	}
	return stop
}

// sendNetHTTP sends a net/http stream's requests at their offsets from start,
// at most MaxInFlight at once across streams (sem), counting what could
// not be sent before ctx ended as unsent.
func (e *Engine) sendNetHTTP(ctx context.Context, start time.Time, s Stream, sch []time.Duration, res *StreamResult,
	sem chan struct{}, sent *atomic.Int64, reqs *sync.WaitGroup) {
	cfg := e.cfg
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// freed is when this stream last got a slot after waiting for one: a
	// request due before then queued behind the blocked one, so its
	// lateness is the in-flight bound's too
	var freed time.Time
	for seq, off := range sch {
		at := start.Add(off)
		if !sleepUntil(ctx, timer, at) {
			res.addUnsent(int64(len(sch) - seq))
			return
		}
		behind, blocked := at.Before(freed), false
		select {
		case sem <- struct{}{}:
		default:
			blocked = true
			select {
			case sem <- struct{}{}:
				freed = time.Now()
			case <-ctx.Done():
				res.addUnsent(int64(len(sch) - seq))
				return
			}
		}
		lag := time.Since(at)
		res.addSent(lag, lag > cfg.LateTolerance, (blocked || behind) && lag > cfg.LateTolerance)
		sent.Add(1)
		reqs.Add(1)
		go func(seq int64, at time.Time, off time.Duration) {
			defer reqs.Done()
			defer func() { <-sem }()
			e.do(ctx, s, res, seq, at, off)
		}(int64(seq), at, off)
	}
}

func (r *StreamResult) addUnsent(n int64) {
	r.mu.Lock()
	r.Unsent += n
	r.mu.Unlock()
}

func (r *StreamResult) addSent(lag time.Duration, late, inFlight bool) {
	r.mu.Lock()
	r.Sent++
	if late {
		r.Late++
	}
	if inFlight {
		r.LateInFlight++
	}
	r.MaxLagUS = max(r.MaxLagUS, lag.Microseconds())
	r.mu.Unlock()
}

// schedule hands the stream's arrivals to the pool at their scheduled
// times. A request that waits for a free worker keeps its scheduled time:
// the wait counts in its lag and its latency.
func (ls *leanStream) schedule(ctx context.Context, start time.Time, sch []time.Duration, p *pool) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for seq, off := range sch {
		at := start.Add(off)
		if !sleepUntil(ctx, timer, at) {
			ls.res.addUnsent(int64(len(sch) - seq))
			return
		}
		// a request due while the scheduler waited for a connection for an
		// earlier one is late because of the in-flight bound too
		if !p.dispatch(ctx, job{st: ls, seq: int64(seq), at: at, off: off, behind: at.Before(ls.freed)}) {
			ls.res.addUnsent(int64(len(sch) - seq))
			return
		}
	}
}

// sleepUntil waits on timer until at; false when ctx ends first.
func sleepUntil(ctx context.Context, timer *time.Timer, at time.Time) bool {
	wait := time.Until(at)
	if wait <= 0 {
		return true // behind schedule: send now, the lag is recorded
	}
	timer.Reset(wait)
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// do sends one request through the client and records its outcome.
func (e *Engine) do(ctx context.Context, s Stream, res *StreamResult, seq int64, at time.Time, off time.Duration) {
	build := s.Request
	if build == nil {
		build = s.Template.Request
	}
	req, err := build(seq)
	if err != nil {
		res.record(off, 0, 0, "request", e.cfg.Slot)
		return
	}
	rctx, cancel := context.WithDeadline(ctx, at.Add(e.cfg.Timeout))
	defer cancel()
	resp, err := e.cfg.Client.Do(req.WithContext(rctx))
	if err != nil {
		res.record(off, 0, 0, classify(err), e.cfg.Slot)
		return
	}
	var body []byte
	var rerr error
	if s.Check != nil { // only a check needs the body; otherwise drain it
		body, rerr = io.ReadAll(io.LimitReader(resp.Body, e.cfg.MaxBody))
	}
	if rerr == nil {
		_, rerr = io.Copy(io.Discard, resp.Body)
	}
	resp.Body.Close()
	if rerr != nil {
		res.record(off, 0, 0, classify(rerr), e.cfg.Slot)
		return
	}
	e.judge(&s, res, off, at, resp, body)
}

// judge checks a response and records it, with its latency from the
// scheduled time at.
func (e *Engine) judge(s *Stream, res *StreamResult, off time.Duration, at time.Time, resp *http.Response, body []byte) {
	lat := time.Since(at)
	var verdict error
	if s.Check != nil {
		verdict = s.Check(resp, body)
	} else if resp.StatusCode >= 400 {
		verdict = fmt.Errorf("status %d", resp.StatusCode)
	}
	outcome := outcomeOK
	if verdict != nil {
		outcome = outcomeCheckFailed
	}
	res.record(off, resp.StatusCode, lat, outcome, e.cfg.Slot)
	if verdict == nil && (s.Objective == 0 || lat <= s.Objective) {
		res.mu.Lock()
		res.Good++
		res.mu.Unlock()
	}
}

const (
	outcomeOK          = ""
	outcomeCheckFailed = "check"
)

// record adds one outcome: status 0 means no response and class names the
// error; otherwise class is outcomeOK or outcomeCheckFailed.
func (r *StreamResult) record(off time.Duration, status int, lat time.Duration, class string, slot time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := int(off / slot)
	if i >= len(r.Timeline) {
		i = len(r.Timeline) - 1
	}
	us := off.Microseconds()
	if status == 0 {
		r.Errors[class]++
		r.Timeline[i].Failed++
		r.LastFailedUS = max(r.LastFailedUS, us)
		return
	}
	r.Responses++
	r.Status[status]++
	r.Latency.Record(lat)
	if status == http.StatusTooManyRequests {
		r.Timeline[i].Throttled++
		r.FirstThrottledUS = minSet(r.FirstThrottledUS, us)
		r.LastThrottledUS = max(r.LastThrottledUS, us)
	}
	if class == outcomeOK {
		r.OK++
		if status != http.StatusTooManyRequests {
			r.Timeline[i].OK++
		}
		return
	}
	r.CheckFailed++
	r.LastFailedUS = max(r.LastFailedUS, us)
	if status != http.StatusTooManyRequests {
		r.Timeline[i].Failed++
	}
}

// Error classes of requests that got no response.
const (
	ClassTimeout     = "timeout"
	ClassRefused     = "connection refused"
	ClassReset       = "connection closed"
	ClassTLS         = "tls"
	classDNS         = "dns"
	ClassNotLoopback = "not loopback"
	ClassBadResponse = "bad response"
	classOther       = "other"
)

// classify names the class of a transport error.
func classify(err error) string {
	var (
		dnsErr   *net.DNSError
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		certInv  x509.CertificateInvalidError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		netErr   net.Error
	)
	switch {
	case errors.Is(err, ErrNotLoopback):
		return ClassNotLoopback
	case errors.Is(err, errBadResponse):
		return ClassBadResponse
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return ClassTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassRefused
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &hostErr),
		errors.As(err, &certInv), errors.As(err, &recErr), errors.As(err, &alertErr):
		return ClassTLS
	case errors.As(err, &dnsErr):
		return classDNS
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.EPIPE):
		return ClassReset
	}
	return classOther
}
