// Package githubapi is releasegate's GitHub REST client: the concerns every
// caller of the API shares, done once.
//
//   - GITHUB_API_URL is honoured (GitHub Enterprise Server, local test
//     servers); the default is https://api.github.com.
//   - Pagination follows the Link header's rel="next" until it runs out.
//   - Conditional requests: ETags are cached on disk between runs, and a
//     304 reuses the cached body without spending primary rate-limit points.
//   - Primary rate limits (403/429 with X-RateLimit-Remaining: 0) wait until
//     X-RateLimit-Reset; secondary limits (403/429 with Retry-After, or
//     without headers) wait Retry-After or back off exponentially. A wait
//     longer than MaxWait is not slept: it is a *RateLimitError.
//   - Pacing: the client keeps GitHub's X-RateLimit-Remaining and
//     X-RateLimit-Reset from every answer and never sends a request that
//     would spend the last point of the window (or of Budget, the points
//     it may use): it waits for the reset instead, when that wait ends
//     before the deadline (Deadline, else the context's, else MaxWait);
//     otherwise it stops at once with a *RateLimitError saying so.
//   - 5xx and network errors are retried a bounded number of times.
//   - At most Concurrency requests are in flight.
//   - A 410 (the retired /orgs/{org}/settings/billing/actions endpoint) is
//     ErrGone, with a message that says what replaced it.
//
// GitHub itself is never reached by the tests: they run against a local
// server that answers with GitHub's documented response shapes.
package githubapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/maestro-conductor/releasegate/internal/clock"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/outbound"
	"github.com/maestro-conductor/releasegate/internal/redact"
)

// DefaultBaseURL is GitHub.com's REST API.
const DefaultBaseURL = "https://api.github.com"

// APIVersion is the REST API version requested.
const APIVersion = "2022-11-28"

// ErrGone means GitHub answered 410: the endpoint was retired.
var ErrGone = errors.New("endpoint retired by GitHub (410 Gone)")

// APIError is a non-success answer from the API.
type APIError struct {
	Method, Path string
	Status       int
	// Message is GitHub's "message" field, or the body's start.
	Message string
}

func (e *APIError) Error() string {
	hint := ""
	switch {
	case e.Status == http.StatusGone:
		hint = "; GitHub retired this endpoint: use workflow jobs or the enhanced billing usage API (/organizations/{org}/settings/billing/usage) instead"
	case e.Status == http.StatusUnauthorized:
		hint = "; check that GITHUB_TOKEN is set and valid"
	case e.Status == http.StatusForbidden || e.Status == http.StatusNotFound:
		hint = "; check the token's permissions (actions: read/write, administration: read for billing) and the repository name"
	case e.Status >= 500:
		hint = "; GitHub is failing: retry later"
	}
	return fmt.Sprintf("%s %s: HTTP %d: %s%s", e.Method, e.Path, e.Status, e.Message, hint)
}

// Is matches ErrGone for 410 and gate.ErrUnreachable for 5xx.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrGone:
		return e.Status == http.StatusGone
	case gate.ErrUnreachable:
		return e.Status >= 500
	}
	return false
}

// RateLimitError means the API is rate limiting and the wait it asks for is
// longer than the client may wait, or retries ran out.
type RateLimitError struct {
	Method, Path string
	// Secondary is true for secondary (abuse) limits.
	Secondary bool
	// Until is when the API allows requests again, when it said.
	Until time.Time
	// Deadline is set when pacing stopped because waiting until Until
	// would end after it.
	Deadline time.Time
}

func (e *RateLimitError) Error() string {
	if !e.Deadline.IsZero() {
		return fmt.Sprintf("%s %s: GitHub rate limit budget spent until %s, after the deadline %s; raise the gate's timeout, source.github.rate-budget or the token's limit, or narrow the tenants",
			e.Method, e.Path, e.Until.UTC().Format(time.RFC3339), e.Deadline.UTC().Format(time.RFC3339))
	}
	kind := "primary"
	if e.Secondary {
		kind = "secondary"
	}
	when := "later"
	if !e.Until.IsZero() {
		when = "after " + e.Until.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s %s: GitHub %s rate limit reached; retry %s, or lower concurrency", e.Method, e.Path, kind, when)
}

// Is makes a rate limit match gate.ErrUnreachable: the source cannot be
// read now, which is never a pass.
func (e *RateLimitError) Is(target error) bool { return target == gate.ErrUnreachable }

// Stats counts what the client did.
type Stats struct {
	// Requests sent, including retries.
	Requests int64
	// NotModified answers (304) served from the ETag cache; they cost no
	// primary rate-limit points.
	NotModified int64
	// Retries after rate limits, 5xx or network errors.
	Retries int64
	// PacedWaits are waits for a rate-limit reset that pacing chose, and
	// PacedFor their total length.
	PacedWaits int64
	PacedFor   time.Duration
}

// Points are the primary rate-limit points spent: requests minus 304s.
func (s Stats) Points() int64 { return s.Requests - s.NotModified }

// Client is a GitHub REST client. Create it with New.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
	cache *Cache
	// MaxRetries bounds retries of one request; default 4.
	MaxRetries int
	// MaxWait is the longest single wait for a rate limit; default 60s.
	MaxWait time.Duration
	// Backoff is the first retry delay for 5xx, network errors and
	// secondary limits without Retry-After; default 1s, doubled each time.
	Backoff time.Duration
	// Budget is the primary rate-limit points per window the client may
	// spend, leaving the rest of the token's limit to others; 0 means all.
	Budget int
	// Deadline is when the work must be done, on the client's clock; zero
	// means the context's deadline.
	Deadline time.Time
	// Now and Sleep are the clock; tests replace them.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error

	sem                     chan struct{}
	requests, notMod, retry atomic.Int64

	pmu sync.Mutex
	// rl is the rate-limit window as last seen; inflight counts requests
	// sent and not yet answered, each holding one point of rl.remaining.
	rl       rateWindow
	inflight int
	pacedN   int64
	pacedFor time.Duration
}

// rateWindow is what the X-RateLimit-* headers said, less what was sent
// since.
type rateWindow struct {
	known            bool
	limit, remaining int
	reset            time.Time
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithCache enables the on-disk ETag cache.
func WithCache(cache *Cache) Option { return func(c *Client) { c.cache = cache } }

// WithConcurrency bounds requests in flight (default 8).
func WithConcurrency(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.sem = make(chan struct{}, n)
		}
	}
}

// New returns a client for baseURL (empty means DefaultBaseURL) that
// authenticates with token (empty sends no Authorization header).
func New(baseURL, token string, opts ...Option) (*Client, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &gate.InputError{Input: "GITHUB_API_URL", Err: fmt.Errorf("%q is not an http(s) URL; expected e.g. https://api.github.com or https://ghe.example.com/api/v3", baseURL)}
	}
	c := &Client{base: u, token: token, http: &http.Client{Timeout: 30 * time.Second, CheckRedirect: outbound.Policy{}.CheckRedirect()},
		MaxRetries: 4, MaxWait: time.Minute, Backoff: time.Second, Now: time.Now, Sleep: clock.Sleep,
		sem: make(chan struct{}, 8)}
	for _, o := range opts {
		o(c)
	}
	if c.http.Transport == nil {
		// keep a connection per request in flight: the default of two idle
		// connections per host makes every other request a new TCP (and
		// TLS) handshake under concurrency
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = cap(c.sem)
		t.MaxConnsPerHost = cap(c.sem)
		c.http.Transport = t
	}
	return c, nil
}

// BaseURL returns the API root the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// Stats returns the counters so far.
func (c *Client) Stats() Stats {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	return Stats{Requests: c.requests.Load(), NotModified: c.notMod.Load(), Retries: c.retry.Load(), PacedWaits: c.pacedN, PacedFor: c.pacedFor}
}

// deadline is Deadline, else the context's deadline (zero: none).
func (c *Client) deadline(ctx context.Context) time.Time {
	if !c.Deadline.IsZero() {
		return c.Deadline
	}
	d, _ := ctx.Deadline()
	return d
}

// mayWait reports whether a wait of d from now ends in time: before the
// deadline when there is one, else within MaxWait.
func (c *Client) mayWait(ctx context.Context, d time.Duration) bool {
	if dl := c.deadline(ctx); !dl.IsZero() {
		return !c.Now().Add(d).After(dl)
	}
	return d <= c.MaxWait
}

// pace takes one rate-limit point before a request is sent. When the
// window's points (less those Budget leaves to others) are spent it waits
// for the reset, if that wait ends in time, and otherwise fails with a
// *RateLimitError naming the reset and the deadline.
func (c *Client) pace(ctx context.Context, method, path string) error {
	for {
		c.pmu.Lock()
		now := c.Now()
		if c.rl.known && !now.Before(c.rl.reset) {
			// a new window: full points until an answer says otherwise
			c.rl.remaining = c.rl.limit
			c.rl.known = c.rl.limit > 0
			c.rl.reset = c.rl.reset.Add(time.Hour)
			for !now.Before(c.rl.reset) {
				c.rl.reset = c.rl.reset.Add(time.Hour)
			}
		}
		floor := 0
		if c.Budget > 0 && c.rl.limit > c.Budget {
			floor = c.rl.limit - c.Budget
		}
		if !c.rl.known || c.rl.remaining > floor {
			c.rl.remaining--
			c.inflight++
			c.pmu.Unlock()
			return nil
		}
		wait := c.rl.reset.Sub(now) + time.Second
		until := c.rl.reset
		if !c.mayWait(ctx, wait) {
			c.pmu.Unlock()
			dl := c.deadline(ctx)
			if dl.IsZero() {
				dl = now.Add(c.MaxWait)
			}
			return &RateLimitError{Method: method, Path: path, Until: until, Deadline: dl}
		}
		c.pacedN++
		c.pacedFor += wait
		c.pmu.Unlock()
		if err := c.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("%s %s: %w while waiting for the rate limit to reset", method, path, err)
		}
	}
}

// observe returns the point a request held and reads the rate-limit
// headers of its answer (h is nil when there was none). The estimate only
// goes down within a window: answers arrive out of order, and requests
// still in flight may already have been counted by GitHub or not.
func (c *Client) observe(h http.Header, status int) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.inflight--
	if status == http.StatusNotModified {
		c.rl.remaining++ // a 304 costs no point
	}
	if h == nil {
		return
	}
	rem, err1 := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	lim, err2 := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	rs, err3 := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64)
	if err1 != nil || err3 != nil {
		return
	}
	reset := time.Unix(rs, 0)
	if err2 != nil || lim <= 0 {
		lim = max(c.rl.limit, rem)
	}
	est := rem - c.inflight
	if !c.rl.known || reset.After(c.rl.reset) {
		c.rl = rateWindow{known: true, limit: lim, remaining: est, reset: reset}
		return
	}
	if reset.Equal(c.rl.reset) {
		c.rl.remaining = min(c.rl.remaining, est)
	}
}

// resolve turns an API path (or an absolute next-page URL on the same host)
// into a URL.
func (c *Client) resolve(pathOrURL string, q url.Values) (*url.URL, error) {
	if strings.HasPrefix(pathOrURL, "http://") || strings.HasPrefix(pathOrURL, "https://") {
		u, err := url.Parse(pathOrURL)
		if err != nil {
			return nil, err
		}
		if u.Host != c.base.Host {
			return nil, fmt.Errorf("refusing to follow a link to another host %s", u.Host)
		}
		return u, nil
	}
	u := *c.base
	p, rawQ, _ := strings.Cut(pathOrURL, "?")
	u.Path = c.base.Path + p
	vals, err := url.ParseQuery(rawQ)
	if err != nil {
		return nil, err
	}
	for k, vs := range q {
		vals[k] = vs
	}
	u.RawQuery = vals.Encode()
	return &u, nil
}

// Page is one page of a GET.
type Page struct {
	Body []byte
	// Next is the rel="next" URL, empty on the last page.
	Next string
	// NotModified is true when the body came from the ETag cache.
	NotModified bool
}

// Get fetches one page.
func (c *Client) Get(ctx context.Context, path string, q url.Values) (*Page, error) {
	u, err := c.resolve(path, q)
	if err != nil {
		return nil, err
	}
	return c.do(ctx, http.MethodGet, u, nil)
}

// GetAll fetches path and every following page, calling each for each
// page's body in order.
func (c *Client) GetAll(ctx context.Context, path string, q url.Values, each func(body []byte) error) error {
	next := path
	for pages := 0; next != ""; pages++ {
		if pages > 10000 {
			return fmt.Errorf("GET %s: more than 10000 pages; narrow the query", path)
		}
		p, err := c.Get(ctx, next, q)
		if err != nil {
			return err
		}
		if err := each(p.Body); err != nil {
			return fmt.Errorf("GET %s: %w", next, err)
		}
		next, q = p.Next, nil
	}
	return nil
}

// Do sends a request with an optional JSON body and decodes a JSON answer
// into out (when non-nil). Any 2xx is success, including the 202 Accepted
// that cancelling a run answers.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	u, err := c.resolve(path, nil)
	if err != nil {
		return err
	}
	var b []byte
	if body != nil {
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	p, err := c.do(ctx, method, u, b)
	if err != nil {
		return err
	}
	if out != nil && len(bytes.TrimSpace(p.Body)) > 0 {
		return json.Unmarshal(p.Body, out)
	}
	return nil
}

func (c *Client) do(ctx context.Context, method string, u *url.URL, body []byte) (*Page, error) {
	path := u.Path
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	var cached *entry
	key := ""
	if method == http.MethodGet && c.cache != nil {
		key = c.cache.key(u.String(), c.token)
		cached = c.cache.get(key)
	}
	backoff := c.Backoff
	for attempt := 0; ; attempt++ {
		resp, err := c.send(ctx, method, u, body, cached)
		var wait time.Duration
		var retryErr error
		switch {
		case errors.As(err, new(*RateLimitError)):
			return nil, err
		case err != nil:
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
			}
			retryErr = fmt.Errorf("%s %s: %w: %v", method, path, gate.ErrUnreachable, err)
			wait = backoff
		case resp.status == http.StatusNotModified && cached != nil:
			c.notMod.Add(1)
			return &Page{Body: cached.Body, Next: cached.Next, NotModified: true}, nil
		case resp.status >= 200 && resp.status < 300:
			if key != "" && resp.etag != "" {
				c.cache.put(key, &entry{ETag: resp.etag, Next: resp.next, Body: resp.body})
			}
			return &Page{Body: resp.body, Next: resp.next}, nil
		case resp.status == http.StatusForbidden || resp.status == http.StatusTooManyRequests:
			rl, w, ok := c.rateLimit(resp, method, path, backoff)
			if !ok {
				return nil, resp.apiError(method, path)
			}
			if w > c.MaxWait && !c.mayWait(ctx, w) {
				return nil, rl
			}
			retryErr, wait = rl, w
		case resp.status >= 500:
			retryErr, wait = resp.apiError(method, path), backoff
		default:
			return nil, resp.apiError(method, path)
		}
		if attempt >= c.MaxRetries {
			return nil, fmt.Errorf("giving up after %d attempts: %w", attempt+1, retryErr)
		}
		c.retry.Add(1)
		if err := c.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s %s: %w while waiting to retry: %w", method, path, err, retryErr)
		}
		backoff *= 2
	}
}

type response struct {
	status int
	body   []byte
	header http.Header
	etag   string
	next   string
}

func (r *response) apiError(method, path string) *APIError {
	var m struct {
		Message string `json:"message"`
	}
	msg := strings.TrimSpace(string(r.body))
	if json.Unmarshal(r.body, &m) == nil && m.Message != "" {
		msg = m.Message
	}
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	if msg == "" {
		msg = http.StatusText(r.status)
	}
	return &APIError{Method: method, Path: path, Status: r.status, Message: msg}
}

func (c *Client) send(ctx context.Context, method string, u *url.URL, body []byte, cached *entry) (*response, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	if err := c.pace(ctx, method, u.Path); err != nil {
		return nil, err
	}
	var hdr http.Header
	status := 0
	defer func() { c.observe(hdr, status) }()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", APIVersion)
	req.Header.Set("User-Agent", "releasegate")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if cached != nil {
		req.Header.Set("If-None-Match", cached.ETag)
	}
	c.requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	hdr, status = resp.Header, resp.StatusCode
	var b []byte
	if resp.StatusCode >= 400 {
		// an error page may echo the request, token included: only a cut,
		// sanitized excerpt may reach an error message
		b = []byte(redact.RemoteBody(resp.Body, req, nil))
	} else if b, err = io.ReadAll(io.LimitReader(resp.Body, 64<<20)); err != nil {
		return nil, err
	}
	return &response{status: resp.StatusCode, body: b, header: resp.Header, etag: resp.Header.Get("ETag"),
		next: nextLink(resp.Header.Get("Link"))}, nil
}

// rateLimit classifies a 403/429. A 403 without rate-limit signs is a
// permission problem (ok=false).
func (c *Client) rateLimit(r *response, method, path string, backoff time.Duration) (*RateLimitError, time.Duration, bool) {
	h := r.header
	now := c.Now()
	if s := strings.TrimSpace(h.Get("Retry-After")); s != "" {
		if sec, err := strconv.Atoi(s); err == nil && sec >= 0 {
			d := time.Duration(sec) * time.Second
			return &RateLimitError{Method: method, Path: path, Secondary: true, Until: now.Add(d)}, d, true
		}
	}
	if h.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(h.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			until := time.Unix(reset, 0)
			return &RateLimitError{Method: method, Path: path, Until: until}, max(0, until.Sub(now)) + time.Second, true
		}
		return &RateLimitError{Method: method, Path: path}, backoff, true
	}
	msg := strings.ToLower(string(r.body))
	if r.status == http.StatusTooManyRequests || strings.Contains(msg, "secondary rate limit") || strings.Contains(msg, "rate limit") {
		// secondary limit without headers: GitHub asks for at least a
		// minute; MaxWait decides whether that is waited or reported
		d := max(backoff, time.Minute)
		return &RateLimitError{Method: method, Path: path, Secondary: true, Until: now.Add(d)}, d, true
	}
	return nil, 0, false
}

var linkNext = regexp.MustCompile(`<([^>]+)>\s*;\s*rel="?next"?`)

// nextLink extracts rel="next" from a Link header.
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		if m := linkNext.FindStringSubmatch(part); m != nil {
			return m[1]
		}
	}
	return ""
}
