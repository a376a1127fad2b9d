package metrics

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/outbound"
	"github.com/maestro-conductor/releasegate/internal/redact"
)

// HTTPOptions configure an HTTPSource. Secrets (BearerToken, Password,
// header values) are never included in errors.
type HTTPOptions struct {
	// URL is the Prometheus base URL, e.g. http://prometheus:9090 or a
	// Thanos/Mimir query frontend such as https://mimir/prometheus.
	URL string
	// BearerToken is sent as "Authorization: Bearer …".
	BearerToken string
	// Username and Password are sent as HTTP basic auth.
	Username, Password string
	// Headers are added to every request (e.g. X-Scope-OrgID for Mimir).
	Headers map[string]string
	// CAFile is a PEM bundle of CAs to trust instead of the system's.
	CAFile string
	// InsecureSkipVerifyUnsafe disables TLS certificate verification.
	InsecureSkipVerifyUnsafe bool
	// Timeout bounds each attempt (default 30s).
	Timeout time.Duration
	// Retries is how many times a failed attempt (connection error, 429,
	// 5xx) is retried; 4xx replies and "status":"error" for bad queries are
	// not retried. Default 0.
	Retries int
	// Backoff is the wait before the first retry; it doubles each time
	// (default 500ms).
	Backoff time.Duration
	// At, when set, is the evaluation time of every query instead of the
	// current time: a release can be judged as of a fixed moment, and
	// repeated measurements step back through history instead of waiting.
	At time.Time
	// AllowRedirectsTo names hosts a redirect may go to beyond the shared
	// rule (outbound.Policy).
	AllowRedirectsTo []string
	// Client replaces the HTTP client (tests).
	Client *http.Client
}

// HTTPSource queries the Prometheus HTTP API (/api/v1/query).
type HTTPSource struct {
	opts    HTTPOptions
	base    *url.URL
	client  *http.Client
	secrets *redact.Set
}

// NewHTTPSource validates opts and returns a source.
func NewHTTPSource(opts HTTPOptions) (*HTTPSource, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &gate.InputError{Input: "url", Err: fmt.Errorf("%q is not an http(s) URL; expected e.g. http://prometheus:9090", opts.URL)}
	}
	if u.User != nil {
		return nil, &gate.InputError{Input: "url", Err: errors.New("credentials in the URL would be printed; use username and password")}
	}
	if opts.BearerToken != "" && (opts.Username != "" || opts.Password != "") {
		return nil, &gate.InputError{Input: "bearer-token", Err: errors.New("set either bearer-token or username/password, not both")}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 500 * time.Millisecond
	}
	if opts.Retries < 0 {
		return nil, &gate.InputError{Input: "retries", Err: fmt.Errorf("retries %d is negative", opts.Retries)}
	}
	client := opts.Client
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		// Keep a connection per query in flight alive between queries (the
		// default keeps 2 per host); the transport asks for gzip by itself.
		tr.MaxIdleConnsPerHost = 64
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.InsecureSkipVerifyUnsafe} //nolint:gosec // opt-in, named Unsafe
		if opts.CAFile != "" {
			pem, err := fsx.ReadFile(context.Background(), opts.CAFile, fsx.MaxKeySize)
			if err != nil {
				return nil, &gate.InputError{Input: "ca-file", Err: err}
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, &gate.InputError{Input: "ca-file", Err: fmt.Errorf("%s holds no PEM certificate", opts.CAFile)}
			}
			tr.TLSClientConfig.RootCAs = pool
		}
		// error bodies cut and sanitized; redirects by the shared rule
		client = &http.Client{Transport: &redact.Transport{Base: tr},
			CheckRedirect: outbound.Policy{Allow: opts.AllowRedirectsTo, Setting: "the source's allow-redirects-to"}.CheckRedirect()}
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	secrets := &redact.Set{}
	secrets.Add(opts.BearerToken, opts.Password)
	for _, v := range opts.Headers {
		secrets.Add(v)
	}
	return &HTTPSource{opts: opts, base: u, client: client, secrets: secrets}, nil
}

// remote masks credentials in text the server sent before it enters an
// error: the source's own secrets and whatever looks like one.
func (h *HTTPSource) remote(s string) string { return redact.Sanitize(s, h.secrets) }

// Now returns At when set, else the wall clock.
func (h *HTTPSource) Now() time.Time {
	if !h.opts.At.IsZero() {
		return h.opts.At
	}
	return time.Now()
}

// Fixed reports whether At is set; otherwise a server's data moves on.
func (h *HTTPSource) Fixed() bool { return !h.opts.At.IsZero() }

func (h *HTTPSource) String() string { return h.base.String() }

// apiResponse is the envelope of every Prometheus API reply.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
}

type queryData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// retryable marks a failed attempt worth retrying.
type retryable struct{ error }

func (r retryable) Unwrap() error { return r.error }

// Query runs an instant query, retrying transient faults with backoff.
func (h *HTTPSource) Query(ctx context.Context, q string, at time.Time) (Vector, error) {
	form := url.Values{"query": {q}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	var data json.RawMessage
	err := h.do(ctx, "/api/v1/query", form, &data)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q, err)
	}
	var qd queryData
	if err := json.Unmarshal(data, &qd); err != nil {
		return nil, fmt.Errorf("query %s: %w: data: %v", q, ErrMalformed, err)
	}
	v, err := decodeResult(qd)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q, err)
	}
	return v, nil
}

// Get calls a GET endpoint such as /api/v1/rules and decodes its data.
func (h *HTTPSource) Get(ctx context.Context, path string, params url.Values, out any) error {
	var data json.RawMessage
	if err := h.do(ctx, path, params, &data); err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s: %w: %v", path, ErrMalformed, err)
	}
	return nil
}

func (h *HTTPSource) do(ctx context.Context, path string, form url.Values, data *json.RawMessage) error {
	wait := h.opts.Backoff
	var err error
	for attempt := 0; ; attempt++ {
		err = h.attempt(ctx, path, form, data)
		var r retryable
		if err == nil || !errors.As(err, &r) || attempt >= h.opts.Retries || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w: %w (after %d attempts)", gate.ErrTimeout, err, attempt+1)
		case <-t.C:
		}
		wait *= 2
	}
	var r retryable
	if errors.As(err, &r) {
		return r.error
	}
	return err
}

func (h *HTTPSource) attempt(ctx context.Context, path string, form url.Values, data *json.RawMessage) error {
	actx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
	defer cancel()
	u := *h.base
	u.Path += path
	var req *http.Request
	var err error
	if path == "/api/v1/query" {
		req, err = http.NewRequestWithContext(actx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		u.RawQuery = form.Encode()
		req, err = http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrQuery, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "releasegate")
	for k, v := range h.opts.Headers {
		req.Header.Set(k, v)
	}
	if h.opts.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+h.opts.BearerToken)
	} else if h.opts.Username != "" || h.opts.Password != "" {
		req.SetBasicAuth(h.opts.Username, h.opts.Password)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		var ne net.Error
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("%s: %w: %v", h.base, gate.ErrTimeout, ctx.Err())
		case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
			return retryable{fmt.Errorf("%s: %w: no answer within %s", h.base, gate.ErrTimeout, h.opts.Timeout)}
		default:
			return retryable{fmt.Errorf("%s: %w: %v", h.base, gate.ErrUnreachable, stripURL(err))}
		}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		if actx.Err() != nil {
			return retryable{fmt.Errorf("%s: %w: reading the reply", h.base, gate.ErrTimeout)}
		}
		return retryable{fmt.Errorf("%s: %w: reading the reply: %v", h.base, gate.ErrUnreachable, err)}
	}
	var env apiResponse
	jerr := json.Unmarshal(body, &env)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		msg := h.remote(env.Error)
		if jerr != nil || msg == "" {
			msg = h.remote(excerpt(strings.TrimSpace(string(body))))
		}
		return retryable{fmt.Errorf("%w: %s answered %s: %s", ErrQuery, h.base, resp.Status, msg)}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: %s answered %s; check the credentials", ErrQuery, h.base, resp.Status)
	case jerr != nil:
		return fmt.Errorf("%w: %s answered %s with %q: %v", ErrMalformed, h.base, resp.Status, h.remote(excerpt(string(body))), jerr)
	case env.Status == "error":
		err := fmt.Errorf("%w: %s: %s", ErrQuery, h.remote(env.ErrorType), h.remote(env.Error))
		if env.ErrorType == "bad_data" {
			return &gate.InputError{Input: "query", Err: err}
		}
		if env.ErrorType == "timeout" || env.ErrorType == "canceled" {
			return fmt.Errorf("%w: %w", gate.ErrTimeout, err)
		}
		return err
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: %s answered %s", ErrQuery, h.base, resp.Status)
	case env.Status != "success":
		return fmt.Errorf("%w: status %q, expected \"success\"", ErrMalformed, env.Status)
	case len(env.Warnings) > 0:
		return fmt.Errorf("%w: the server warned: %s; the data may be incomplete, so it is not judged", ErrPartial, strings.Join(env.Warnings, "; "))
	case len(env.Data) == 0 || string(env.Data) == "null":
		return fmt.Errorf("%w: reply has no data", ErrMalformed)
	}
	*data = env.Data
	return nil
}

// stripURL removes the request URL from a *url.Error: it may carry the
// query string.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func decodeResult(qd queryData) (Vector, error) {
	switch qd.ResultType {
	case "vector":
		var rows []struct {
			Metric    map[string]string `json:"metric"`
			Value     point             `json:"value"`
			Histogram json.RawMessage   `json:"histogram"`
		}
		if err := json.Unmarshal(qd.Result, &rows); err != nil {
			return nil, fmt.Errorf("%w: vector: %v", ErrMalformed, err)
		}
		out := make(Vector, 0, len(rows))
		for _, r := range rows {
			if len(r.Histogram) > 0 {
				return nil, fmt.Errorf("%w: native histogram sample; use histogram_quantile or a float expression", ErrResultType)
			}
			if !r.Value.set {
				return nil, fmt.Errorf("%w: sample without a value, expected [time, \"value\"]", ErrMalformed)
			}
			f := r.Value.f
			if r.Metric == nil {
				r.Metric = map[string]string{}
			}
			out = append(out, Sample{Labels: r.Metric, Value: f})
		}
		return out, nil
	case "scalar":
		var p []json.RawMessage
		if err := json.Unmarshal(qd.Result, &p); err != nil {
			return nil, fmt.Errorf("%w: scalar: %v", ErrMalformed, err)
		}
		f, err := decodePoint(p)
		if err != nil {
			return nil, err
		}
		return Vector{{Labels: map[string]string{}, Value: f}}, nil
	case "matrix", "string":
		return nil, fmt.Errorf("%w: got %s, expected an instant vector or scalar", ErrResultType, qd.ResultType)
	default:
		return nil, fmt.Errorf("%w: resultType %q", ErrMalformed, qd.ResultType)
	}
}

// point is a sample's [<unix seconds>, "<value>"], decoded without
// allocating in the common case (a number, then a string without escapes).
type point struct {
	f   float64
	set bool
}

func (p *point) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	f, ok := fastPoint(b)
	if !ok {
		var raw []json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return fmt.Errorf("%w: sample %s, expected [time, \"value\"]", ErrMalformed, b)
		}
		var err error
		if f, err = decodePoint(raw); err != nil {
			return err
		}
	}
	p.f, p.set = f, true
	return nil
}

// fastPoint decodes b when it is exactly [<number>, "<digits, no
// escapes>"] with a value strconv parses; false sends it to decodePoint,
// which says what is wrong.
func fastPoint(b []byte) (float64, bool) {
	b = trimJSONSpace(b)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return 0, false
	}
	b = b[1 : len(b)-1]
	comma := -1
	for i, c := range b {
		if c == ',' {
			comma = i
			break
		}
		if !(c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			return 0, false
		}
	}
	if comma < 1 || len(trimJSONSpace(b[:comma])) == 0 {
		return 0, false
	}
	v := trimJSONSpace(b[comma+1:])
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return 0, false
	}
	v = v[1 : len(v)-1]
	for _, c := range v {
		if c == '"' || c == '\\' || c < 0x20 {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

func trimJSONSpace(b []byte) []byte {
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// decodePoint decodes [<unix seconds>, "<value>"].
func decodePoint(p []json.RawMessage) (float64, error) {
	if len(p) != 2 {
		return 0, fmt.Errorf("%w: sample %s, expected [time, \"value\"]", ErrMalformed, p)
	}
	var s string
	if err := json.Unmarshal(p[1], &s); err != nil {
		return 0, fmt.Errorf("%w: sample value %s is not a string", ErrMalformed, p[1])
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%w: sample value %q is not a number", ErrMalformed, s)
	}
	if errors.Is(err, strconv.ErrRange) {
		f = math.Copysign(math.Inf(1), f)
	}
	return f, nil
}

// MaxConcurrency returns the server's --query.max-concurrency from
// /api/v1/status/flags, or 0 when the server does not say (Thanos, Mimir
// and proxies may not serve it). Queries beyond it wait in the server's
// queue, so a gate never needs more in flight.
func (h *HTTPSource) MaxConcurrency(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, min(h.opts.Timeout, 5*time.Second))
	defer cancel()
	var data json.RawMessage
	if err := h.attempt(ctx, "/api/v1/status/flags", url.Values{}, &data); err != nil {
		return 0
	}
	var flags map[string]string
	if json.Unmarshal(data, &flags) != nil {
		return 0
	}
	n, err := strconv.Atoi(flags["query.max-concurrency"])
	if err != nil || n < 1 {
		return 0
	}
	return n
}
