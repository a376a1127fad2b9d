package demo

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maestro-conductor/releasegate/internal/clock"
)

// AbuseOptions turn on the behaviours the synthetic gate's abuse,
// isolation and validation scenarios test. Each has an "on" and a
// misconfigured setting so a scenario can show both its pass and its fail.
type AbuseOptions struct {
	// RateGuard, when set, throttles (429) a tenant whose request rate is
	// anomalous against its own baseline.
	RateGuard *RateGuardOptions
	// FanOutLimit is the largest number of nodes a graph query may touch
	// (the product of its nested `first:` arguments); larger queries get
	// 429. Zero executes every query, however large.
	FanOutLimit int
	// Validate turns on the strict event validator: malformed events get
	// 400. Off, every event is accepted.
	Validate bool
	// Audit counts each rejected event in the tenant's audit counter.
	Audit bool
	// MaxEventBytes bounds an event body (default 64 KiB).
	MaxEventBytes int
	// MaxDepth bounds the nesting of an event (default 32).
	MaxDepth int
	// Noisy, when set, makes tenant requests share a bounded worker pool.
	Noisy *NoisyOptions
}

// Abuse holds the state of the abuse behaviours of one service: the rate
// guard, the worker pools and the audit counters.
type Abuse struct {
	opts  AbuseOptions
	guard *RateGuard
	noisy *noisy

	mu    sync.Mutex
	audit map[string]*atomic.Int64
}

// NewAbuse builds the behaviours. Pass Middleware to Options.Middleware
// and call Register on the service.
func NewAbuse(o AbuseOptions) (*Abuse, error) {
	if o.MaxEventBytes <= 0 {
		o.MaxEventBytes = 64 << 10
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = 32
	}
	if o.FanOutLimit < 0 {
		return nil, fmt.Errorf("fan-out limit %d: expected 0 (no limit) or more", o.FanOutLimit)
	}
	a := &Abuse{opts: o, audit: map[string]*atomic.Int64{}}
	if o.RateGuard != nil {
		g, err := NewRateGuard(*o.RateGuard)
		if err != nil {
			return nil, err
		}
		a.guard = g
	}
	if o.Noisy != nil {
		n, err := newNoisy(*o.Noisy)
		if err != nil {
			return nil, err
		}
		a.noisy = n
	}
	return a, nil
}

// Middleware returns the guards for Options.Middleware: the rate guard
// outermost (a throttled request costs nothing), then the worker pool.
func (a *Abuse) Middleware() []Middleware {
	var m []Middleware
	if a.guard != nil {
		m = append(m, a.guard.Middleware)
	}
	if a.noisy != nil {
		m = append(m, a.noisy.middleware)
	}
	return m
}

// Register adds the abuse routes to the service:
//
//	POST /t/{tenant}/graph   {"query": "..."}: 429 above the fan-out limit
//	POST /t/{tenant}/events  an event, validated: 202 or 400
//	GET  /t/{tenant}/audit   {"tenant": ..., "rejected": N}
//
// graph and events run through the tenant chain (metrics, faults, guards);
// audit only through the tenant lookup, so reading it is never throttled.
func (a *Abuse) Register(s *Service) {
	s.mux.Handle("POST /t/{tenant}/graph", s.tenantChain(http.HandlerFunc(a.handleGraph)))
	s.mux.Handle("POST /t/{tenant}/events", s.tenantChain(http.HandlerFunc(a.handleEvent)))
	s.mux.Handle("GET /t/{tenant}/audit", s.lookupTenant(http.HandlerFunc(a.handleAudit)))
}

// Rejected returns how many events of the tenant were rejected and audited.
func (a *Abuse) Rejected(tenant string) int64 { return a.counter(tenant).Load() }

func (a *Abuse) counter(tenant string) *atomic.Int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.audit[tenant]
	if c == nil {
		c = &atomic.Int64{}
		a.audit[tenant] = c
	}
	return c
}

func (a *Abuse) handleAudit(w http.ResponseWriter, r *http.Request) {
	t := tenantOf(r)
	writeJSON(w, http.StatusOK, map[string]any{"tenant": t.name, "rejected": a.Rejected(t.name)})
}

// NoisyOptions is the noisy-neighbour mode: every tenant request holds a
// worker for Work. Without partitioning all tenants share Workers, so a
// heavy tenant queues everyone; partitioned, each tenant has its own.
type NoisyOptions struct {
	Workers     int
	Work        time.Duration
	Partitioned bool
}

type noisy struct {
	opts   NoisyOptions
	shared chan struct{}
	mu     sync.Mutex
	per    map[string]chan struct{}
}

func newNoisy(o NoisyOptions) (*noisy, error) {
	if o.Workers <= 0 || o.Work <= 0 {
		return nil, fmt.Errorf("noisy-neighbour mode needs workers > 0 and work > 0, got %d and %s", o.Workers, o.Work)
	}
	return &noisy{opts: o, shared: make(chan struct{}, o.Workers), per: map[string]chan struct{}{}}, nil
}

func (n *noisy) pool(tenant string) chan struct{} {
	if !n.opts.Partitioned {
		return n.shared
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	p := n.per[tenant]
	if p == nil {
		p = make(chan struct{}, n.opts.Workers)
		n.per[tenant] = p
	}
	return p
}

func (n *noisy) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, _ := TenantFrom(r.Context())
		p := n.pool(name)
		select {
		case p <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		err := clock.Sleep(r.Context(), n.opts.Work)
		<-p
		if err != nil {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// DefaultAbuse is the well-configured setting of every abuse behaviour:
// the one under which the synthetic gate's five scenarios pass against
// the demo (testdata/synthetic/demo-policy.yml).
func DefaultAbuse() AbuseOptions {
	return AbuseOptions{
		RateGuard:   &RateGuardOptions{},
		FanOutLimit: 10000,
		Validate:    true,
		Audit:       true,
		Noisy:       &NoisyOptions{Workers: 8, Work: 2 * time.Millisecond, Partitioned: true},
	}
}
