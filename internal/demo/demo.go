// Package demo is the built-in demo target: a small multi-tenant HTTP
// service that `releasegate demo` starts on loopback so that every gate can
// be shown, tried and tested against something real, offline.
//
// Routes:
//
//	GET  /health                 liveness: {"status":"ok",...}
//	GET  /ready                  readiness: 503 until Options.ReadyAfter has passed
//	GET  /t/{tenant}/items       the tenant's items
//	POST /t/{tenant}/items       add an item: {"name": "...", "value": 1.5}, validated
//	GET  /admin/tenants          every tenant's knobs
//	GET  /admin/tenants/{tenant} one tenant's knobs
//	PUT  /admin/tenants/{tenant} set a tenant's knobs: {"latency_ms": 50, "error_rate": 0.1}
//	GET  /metrics                Prometheus text format, per-tenant counters and histograms
//
// The service is built to be extended: each concern is its own handler, and
// tenant routes run through a chain of Middleware (metrics, tenant lookup,
// injected faults, then Options.Middleware) to which guards such as rate
// limits or payload validators are added without touching the handlers.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/maestro-conductor/releasegate/internal/clock"
)

// DefaultTenants are the tenants a service has when Options names none.
var DefaultTenants = []string{"acme", "globex", "initech"}

// Knobs are a tenant's injected faults.
type Knobs struct {
	// Latency is added to every request of the tenant.
	Latency time.Duration `json:"-"`
	// ErrorRate is the fraction (0..1) of the tenant's requests answered
	// with 500. Errors are spread evenly and deterministically: with 0.1,
	// exactly every tenth request fails.
	ErrorRate float64 `json:"error_rate"`
}

// knobsJSON is how Knobs travel over the admin API.
type knobsJSON struct {
	LatencyMS *float64 `json:"latency_ms"`
	ErrorRate *float64 `json:"error_rate"`
}

// Validate checks the knobs' ranges.
func (k Knobs) Validate() error {
	if k.Latency < 0 || k.Latency > time.Minute {
		return fmt.Errorf("latency %s is out of range; expected 0 to 1m", k.Latency)
	}
	if !(k.ErrorRate >= 0 && k.ErrorRate <= 1) {
		return fmt.Errorf("error rate %v is out of range; expected 0 to 1", k.ErrorRate)
	}
	return nil
}

// Middleware wraps a tenant route's handler. The tenant is available to it
// through TenantFrom.
type Middleware func(http.Handler) http.Handler

// Options configure a Service. The zero value is a working service with the
// default tenants and no faults.
type Options struct {
	// Tenants are the known tenants; default DefaultTenants. Requests for
	// any other tenant get 404.
	Tenants []string
	// Knobs are per-tenant faults at start; change them later with
	// SetKnobs or PUT /admin/tenants/{tenant}.
	Knobs map[string]Knobs
	// ReadyAfter keeps /ready at 503 for this long after the service is
	// created, like a service warming up.
	ReadyAfter time.Duration
	// AdminToken, when set, is required as "Authorization: Bearer TOKEN"
	// on /admin routes.
	AdminToken string
	// MaxItems bounds the items kept per tenant; default 10000.
	MaxItems int
	// MaxBody bounds a request body; default 64 KiB.
	MaxBody int64
	// Middleware are added to every tenant route, after the built-in
	// ones, in order (the first is outermost).
	Middleware []Middleware
	// Version is reported by /health; default "demo".
	Version string
	// Now returns the current time; tests replace it.
	Now func() time.Time
	// Sleep waits for injected latency; tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
}

var tenantRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Service is the demo service: an http.Handler with per-tenant state.
type Service struct {
	opts    Options
	started time.Time
	mux     *http.ServeMux
	metrics *Metrics

	mu      sync.RWMutex
	tenants map[string]*tenant
}

// tenant is one tenant's state.
type tenant struct {
	name     string
	mu       sync.Mutex
	knobs    Knobs
	requests uint64 // for deterministic error spreading
	items    []Item
	nextID   int
}

// New builds a Service. It returns an error for invalid tenant names or
// knobs.
func New(o Options) (*Service, error) {
	if o.Tenants == nil {
		o.Tenants = DefaultTenants
	}
	if o.MaxItems <= 0 {
		o.MaxItems = 10000
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 64 << 10
	}
	if o.Version == "" {
		o.Version = "demo"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = clock.Sleep
	}
	s := &Service{opts: o, started: o.Now(), mux: http.NewServeMux(), metrics: NewMetrics(), tenants: map[string]*tenant{}}
	for _, name := range o.Tenants {
		if !tenantRE.MatchString(name) {
			return nil, fmt.Errorf("tenant %q: expected lowercase letters, digits and dashes", name)
		}
		if _, dup := s.tenants[name]; dup {
			return nil, fmt.Errorf("tenant %q is listed twice", name)
		}
		s.tenants[name] = &tenant{name: name}
	}
	for name, k := range o.Knobs {
		if err := s.SetKnobs(name, k); err != nil {
			return nil, err
		}
	}
	s.routes()
	return s, nil
}

// ErrUnknownTenant is returned for a tenant the service does not have.
var ErrUnknownTenant = errors.New("unknown tenant")

// SetKnobs changes a tenant's injected faults.
func (s *Service) SetKnobs(name string, k Knobs) error {
	if err := k.Validate(); err != nil {
		return fmt.Errorf("tenant %s: %w", name, err)
	}
	t := s.tenant(name)
	if t == nil {
		return fmt.Errorf("%w %q; the service has %v", ErrUnknownTenant, name, s.Tenants())
	}
	t.mu.Lock()
	t.knobs = k
	t.mu.Unlock()
	return nil
}

// Knobs returns a tenant's injected faults.
func (s *Service) Knobs(name string) (Knobs, error) {
	t := s.tenant(name)
	if t == nil {
		return Knobs{}, fmt.Errorf("%w %q", ErrUnknownTenant, name)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.knobs, nil
}

// Tenants returns the tenant names, sorted.
func (s *Service) Tenants() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.tenants))
	for n := range s.tenants {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (s *Service) tenant(name string) *tenant {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tenants[name]
}

// Metrics returns the service's metrics registry.
func (s *Service) Metrics() *Metrics { return s.metrics }

// ServeHTTP serves the demo routes.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// routes wires every handler. Tenant routes go through the tenant chain.
func (s *Service) routes() {
	s.mux.HandleFunc("GET /health", s.handleHealth)
	s.mux.HandleFunc("GET /ready", s.handleReady)
	s.mux.Handle("GET /metrics", s.metrics)
	s.mux.Handle("GET /t/{tenant}/items", s.tenantChain(http.HandlerFunc(s.handleListItems)))
	s.mux.Handle("POST /t/{tenant}/items", s.tenantChain(http.HandlerFunc(s.handleAddItem)))
	s.mux.Handle("GET /admin/tenants", s.admin(http.HandlerFunc(s.handleListKnobs)))
	s.mux.Handle("GET /admin/tenants/{tenant}", s.admin(http.HandlerFunc(s.handleGetKnobs)))
	s.mux.Handle("PUT /admin/tenants/{tenant}", s.admin(http.HandlerFunc(s.handlePutKnobs)))
}

// tenantChain is the middleware chain of tenant routes: metrics outermost
// (so injected faults and guards are measured), then the tenant lookup,
// then the injected faults, then Options.Middleware.
func (s *Service) tenantChain(h http.Handler) http.Handler {
	for i := len(s.opts.Middleware) - 1; i >= 0; i-- {
		h = s.opts.Middleware[i](h)
	}
	h = s.faults(h)
	h = s.lookupTenant(h)
	return s.instrument(h)
}

type tenantKey struct{}

// TenantFrom returns the tenant name of a request on a tenant route.
func TenantFrom(ctx context.Context) (string, bool) {
	t, ok := ctx.Value(tenantKey{}).(*tenant)
	if !ok {
		return "", false
	}
	return t.name, true
}

func tenantOf(r *http.Request) *tenant {
	t, _ := r.Context().Value(tenantKey{}).(*tenant)
	return t
}

// lookupTenant answers 404 for unknown tenants and puts the tenant in the
// request's context.
func (s *Service) lookupTenant(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := s.tenant(r.PathValue("tenant"))
		if t == nil {
			writeError(w, http.StatusNotFound, "unknown tenant %q; this service has %v", r.PathValue("tenant"), s.Tenants())
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tenantKey{}, t)))
	})
}

// faults applies the tenant's injected latency and error rate.
func (s *Service) faults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := tenantOf(r)
		t.mu.Lock()
		k := t.knobs
		n := t.requests
		t.requests++
		t.mu.Unlock()
		if k.Latency > 0 {
			if err := s.opts.Sleep(r.Context(), k.Latency); err != nil {
				return // the client went away
			}
		}
		// Spread errors evenly: request n fails when the running count of
		// due errors steps up.
		if k.ErrorRate > 0 && uint64(float64(n+1)*k.ErrorRate) > uint64(float64(n)*k.ErrorRate) {
			writeError(w, http.StatusInternalServerError, "injected error for tenant %s (error_rate %v)", t.name, k.ErrorRate)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// admin guards /admin routes with the admin token, when one is set.
func (s *Service) admin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.AdminToken != "" && r.Header.Get("Authorization") != "Bearer "+s.opts.AdminToken {
			writeError(w, http.StatusUnauthorized, "admin routes need Authorization: Bearer <admin token>")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Service) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": s.opts.Version,
		"tenants": len(s.Tenants()), "uptime_s": s.opts.Now().Sub(s.started).Seconds()})
}

func (s *Service) handleReady(w http.ResponseWriter, r *http.Request) {
	if left := s.opts.ReadyAfter - s.opts.Now().Sub(s.started); left > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": "warming up", "ready_in_s": left.Seconds()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ready": true})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeError answers {"error": "..."} with the status code.
func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
}
