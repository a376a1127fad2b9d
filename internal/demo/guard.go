package demo

import (
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"
)

// RateGuardOptions configure the z-score rate-anomaly guard.
type RateGuardOptions struct {
	// Bucket is the counting interval (default 250ms).
	Bucket time.Duration
	// Z is how many standard deviations above its baseline mean a bucket's
	// count must be to be anomalous (default 4).
	Z float64
	// Warmup is the number of buckets of baseline needed before the guard
	// judges a tenant (default 4).
	Warmup int
	// Alpha is the weight of a new bucket in the baseline's moving mean
	// and variance (default 0.2).
	Alpha float64
	// CoolDown keeps a tenant throttled this long after its last anomalous
	// bucket (default 0: released at the first normal bucket).
	CoolDown time.Duration
	// Global judges all tenants' traffic together, as one baseline: a
	// misconfiguration that throttles well-behaved tenants with the
	// spiking one.
	Global bool
	// Now returns the time; tests replace it.
	Now func() time.Time
}

// RateGuard throttles tenants whose per-bucket request count is a z-score
// outlier against an exponentially weighted baseline of their own past
// buckets. The standard deviation has a Poisson floor (√mean, at least 1)
// so that a perfectly steady tenant is not throttled for a little jitter.
// Anomalous buckets do not update the baseline, so a spike cannot teach
// the guard that spiking is normal.
type RateGuard struct {
	o  RateGuardOptions
	mu sync.Mutex
	ts map[string]*zstate
}

type zstate struct {
	bucket    int64 // index of the current bucket
	count     float64
	mean, vr  float64
	seen      int
	throttled bool
	lastBad   time.Time
}

// idleReset is how many idle buckets make a tenant start a new baseline.
const idleReset = 8

// NewRateGuard builds a guard with o's defaults filled in.
func NewRateGuard(o RateGuardOptions) (*RateGuard, error) {
	if o.Bucket == 0 {
		o.Bucket = 250 * time.Millisecond
	}
	if o.Z == 0 {
		o.Z = 4
	}
	if o.Warmup == 0 {
		o.Warmup = 4
	}
	if o.Alpha == 0 {
		o.Alpha = 0.2
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Bucket < time.Millisecond || o.Z <= 0 || o.Alpha <= 0 || o.Alpha > 1 || o.Warmup < 1 || o.CoolDown < 0 {
		return nil, fmt.Errorf("rate guard: bucket %s, z %g, alpha %g, warmup %d, cool-down %s: expected bucket ≥ 1ms, z > 0, 0 < alpha ≤ 1, warmup ≥ 1, cool-down ≥ 0",
			o.Bucket, o.Z, o.Alpha, o.Warmup, o.CoolDown)
	}
	return &RateGuard{o: o, ts: map[string]*zstate{}}, nil
}

func (z *zstate) limit(k float64) float64 {
	sd := math.Max(math.Sqrt(z.vr), math.Max(math.Sqrt(z.mean), 1))
	return z.mean + k*sd
}

// Allow counts one request of the key at now and reports whether it may
// proceed.
func (g *RateGuard) Allow(key string, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	z := g.ts[key]
	b := now.UnixNano() / int64(g.o.Bucket)
	if z == nil {
		z = &zstate{bucket: b}
		g.ts[key] = z
	}
	if b-z.bucket > idleReset && !z.throttled {
		// back from a long idle: judge against a fresh baseline rather
		// than one that the idle time has pulled towards zero
		*z = zstate{bucket: b}
	}
	for z.bucket < b { // close finished buckets; short idle gaps count as zero
		g.close(z, now)
		z.bucket++
		z.count = 0
		if b-z.bucket > 1000 { // skip ahead over a long gap
			z.bucket = b
		}
	}
	z.count++
	if z.seen >= g.o.Warmup && z.count > z.limit(g.o.Z) {
		z.throttled = true
		z.lastBad = now
	}
	return !z.throttled
}

// close folds a finished bucket into the baseline, or keeps the tenant
// throttled when it was anomalous.
func (g *RateGuard) close(z *zstate, now time.Time) {
	anomalous := z.seen >= g.o.Warmup && z.count > z.limit(g.o.Z)
	if anomalous {
		z.lastBad = now
		return
	}
	if z.throttled && now.Sub(z.lastBad) >= g.o.CoolDown {
		z.throttled = false
	}
	if z.seen == 0 {
		z.mean = z.count
	} else {
		d := z.count - z.mean
		z.mean += g.o.Alpha * d
		z.vr = (1 - g.o.Alpha) * (z.vr + g.o.Alpha*d*d)
	}
	z.seen++
}

// Middleware answers 429 with Retry-After to throttled tenants.
func (g *RateGuard) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, _ := TenantFrom(r.Context())
		if g.o.Global {
			key = "*"
		}
		if !g.Allow(key, g.o.Now()) {
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "request rate of %s is anomalous against its baseline; slow down", key)
			return
		}
		next.ServeHTTP(w, r)
	})
}
