// Package httpgate implements the `http` gate kind: a health or readiness
// probe with expectations on the response's status, body (text and JSON
// fields) and latency, retried within a window.
//
// An unreachable target (connection refused, DNS failure, TLS failure, a
// request timeout) means the gate could not be evaluated: Run returns an
// error wrapping gate.ErrUnreachable or gate.ErrTimeout (exit code 3). A
// target that answers, but not as expected, fails (exit code 1). With
// `retry.within`, both are retried until the probe passes or the window
// closes; the last attempt is what is reported.
package httpgate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/clock"
	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/gates/command/jsonpath"
	"github.com/maestro-conductor/releasegate/internal/outbound"
	"github.com/maestro-conductor/releasegate/internal/redact"
)

// kind is the registered kind name.
const kind = "http"

// maxBody is how much of a response body is read; a longer body fails its
// body and JSON checks.
const maxBody = 4 << 20

func init() {
	gate.RegisterTyped(gate.Typed[spec]{
		Name:    kind,
		Group:   "slo",
		Summary: "probes an HTTP endpoint: status, body text, JSON fields and latency, retried within a window",
		New: func(m gate.Meta, s spec, env gate.Env) (gate.Gate, error) {
			return buildGate(m, s, env)
		},
	})
}

// Gate probes one URL. Build it with New.
type Gate struct {
	meta    gate.Meta
	spec    spec
	status  statusSet
	client  *http.Client
	caInput *gate.Input
	secrets []string
	logf    func(string, ...any)
	sleep   func(context.Context, time.Duration) error
}

// buildGate builds an http gate. A ca-file that cannot be read or holds no
// certificate is bad input.
func buildGate(m gate.Meta, s spec, env gate.Env) (*Gate, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, &gate.InputError{Input: "with", Err: errors.Join(errs...)}
	}
	if w := s.Retry.Within.D(); m.Timeout > 0 && w >= m.Timeout {
		return nil, &gate.InputError{Input: "retry.within", Err: fmt.Errorf("retry window %s is not below the gate's timeout %s, so the gate would be stopped (error) before the window closes; set the gate's timeout above it, e.g. timeout: %s",
			w, m.Timeout, w+time.Minute)}
	}
	if s.Method == "" {
		s.Method = http.MethodGet
	}
	if m.Kind == "" {
		m.Kind = kind
	}
	st, _ := parseStatus(s.Expect.Status)
	g := &Gate{meta: m, spec: s, status: st, logf: env.Logf, sleep: clock.Sleep}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.CAFile != "" {
		path := env.Path(s.CAFile)
		pem, err := fsx.ReadFile(context.Background(), path, fsx.MaxKeySize)
		if err != nil {
			return nil, &gate.InputError{Input: "ca-file", Err: fmt.Errorf("cannot read %s: %w", path, err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &gate.InputError{Input: "ca-file", Err: fmt.Errorf("%s holds no PEM certificate", path)}
		}
		tlsConf.RootCAs = pool
		g.caInput = &gate.Input{Name: path, Digest: gate.Digest(pem)}
	}
	tlsConf.InsecureSkipVerify = s.InsecureSkipVerify
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     tlsConf,
		DialContext:         (&net.Dialer{Timeout: s.timeout()}).DialContext,
		TLSHandshakeTimeout: s.timeout(),
		DisableKeepAlives:   true, // each attempt measures a fresh connection, like a user would
	}
	// redirects follow the shared rule: same origin, no downgrade, never
	// to link-local or metadata addresses unless allow-redirects-to names
	// the host
	g.client = &http.Client{Transport: tr, CheckRedirect: outbound.Policy{Allow: s.AllowRedirectsTo, Setting: "the gate's allow-redirects-to"}.CheckRedirect()}
	for _, v := range s.SecretHeaders {
		g.secrets = append(g.secrets, v)
	}
	for k, v := range s.Headers {
		if redact.IsSecretName(k) {
			g.secrets = append(g.secrets, v)
		}
	}
	if u, err := url.Parse(s.URL); err == nil {
		if p, ok := u.User.Password(); ok {
			g.secrets = append(g.secrets, p)
		}
	}
	return g, nil
}

// Name returns the gate id.
func (g *Gate) Name() string { return g.meta.ID }

// Describe says what the gate will probe.
func (g *Gate) Describe() string {
	d := fmt.Sprintf("%s %s expecting %s", g.spec.Method, g.target(), g.status)
	if g.spec.Retry.Within > 0 {
		d += " within " + g.spec.Retry.Within.String()
	}
	return d
}

// target is the URL for messages: without userinfo, secrets masked.
func (g *Gate) target() string {
	u, err := url.Parse(g.spec.URL)
	if err != nil {
		return g.mask(g.spec.URL)
	}
	return g.mask(u.Redacted())
}

func (g *Gate) mask(s string) string {
	for _, v := range g.secrets {
		if len(v) >= 3 {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return s
}

// remote masks what a server sent before it enters a message: the gate's
// secrets, and whatever looks like a credential (an echoed Authorization
// header, a token in a URL).
func (g *Gate) remote(s string) string {
	return redact.Sanitize(g.mask(s), nil)
}

// attempt is the outcome of one request.
type attempt struct {
	res     *gate.Result // judged response, nil when err is set
	err     error        // the target could not be reached
	status  int
	latency time.Duration
}

// verdict is what the runner will fold the attempt's checks to; an attempt
// that reached nothing has no status.
func (a attempt) verdict() gate.Status {
	if a.res == nil {
		return ""
	}
	return gate.Folded(a.res.Checks)
}

// Run probes the target, retrying within the window, and returns the last
// attempt's result or error.
func (g *Gate) Run(ctx context.Context) (*gate.Result, error) {
	start := time.Now()
	var last attempt
	n := 0
	for {
		n++
		last = g.probe(ctx)
		if last.err == nil && last.verdict() == gate.StatusPass || last.res != nil && last.verdict() == gate.StatusWarn {
			break
		}
		if errors.Is(last.err, outbound.ErrRedirect) {
			break // the target redirects where it may not: retrying cannot help
		}
		window := g.spec.Retry.Within.D()
		if window <= 0 || time.Since(start)+g.spec.interval() > window || ctx.Err() != nil {
			break
		}
		why := "it failed"
		if last.err != nil {
			why = last.err.Error()
		}
		if g.logf != nil {
			g.logf("%s: attempt %d: %s; retrying in %s", g.meta.ID, n, g.mask(why), g.spec.interval())
		}
		if err := g.sleep(ctx, g.spec.interval()); err != nil {
			break
		}
	}
	elapsed := time.Since(start)
	tries := ""
	if n > 1 {
		tries = fmt.Sprintf(" after %d attempt(s) over %s", n, elapsed.Round(time.Millisecond))
	}
	if last.err != nil {
		var re *outbound.RedirectError
		if errors.As(last.err, &re) {
			return nil, fmt.Errorf("%s %s: %w", g.spec.Method, g.target(), re)
		}
		if ctx.Err() != nil && !errors.Is(last.err, gate.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s %s: the gate was stopped%s: %w", gate.ErrTimeout, g.spec.Method, g.target(), tries, last.err)
		}
		return nil, fmt.Errorf("%s%s: %w", g.spec.Method, tries, last.err)
	}
	res := last.res
	res.Details["attempts"] = n
	verdict := last.verdict()
	switch verdict {
	case gate.StatusPass:
		res.Summary = fmt.Sprintf("%s %s answered %d in %s%s", g.spec.Method, g.target(), last.status, fmtLatency(last.latency), tries)
	case gate.StatusWarn:
		res.Summary = fmt.Sprintf("%s %s answered %d in %s%s, with warnings", g.spec.Method, g.target(), last.status, fmtLatency(last.latency), tries)
	default:
		res.Summary = fmt.Sprintf("%s %s: %d of %d check(s) failed%s", g.spec.Method, g.target(), res.Counts()[gate.StatusFail], len(res.Checks), tries)
	}
	if ctx.Err() != nil && verdict != gate.StatusPass {
		return res, fmt.Errorf("%w: the gate was stopped before %s passed: %s", gate.ErrTimeout, g.target(), res.Summary)
	}
	return res, nil
}

// probe sends one request and judges the response.
func (g *Gate) probe(ctx context.Context) attempt {
	ctx, cancel := context.WithTimeout(ctx, g.spec.timeout())
	defer cancel()
	var body io.Reader
	if g.spec.Body != "" {
		body = strings.NewReader(g.spec.Body)
	}
	req, err := http.NewRequestWithContext(ctx, g.spec.Method, g.spec.URL, body)
	if err != nil {
		return attempt{err: &gate.InputError{Input: "url", Err: errors.New(g.mask(err.Error()))}}
	}
	req.Header.Set("User-Agent", "releasegate-http-probe")
	for _, h := range []map[string]string{g.spec.Headers, g.spec.SecretHeaders} {
		for k, v := range h {
			if strings.EqualFold(k, "Host") {
				req.Host = v
				continue
			}
			req.Header.Set(k, v)
		}
	}
	start := time.Now()
	resp, err := g.client.Do(req)
	var re *outbound.RedirectError
	if errors.As(err, &re) {
		return attempt{err: re} // not a reachability problem: said as it is
	}
	if err != nil {
		return attempt{err: g.reachErr(ctx, err, time.Since(start))}
	}
	defer resp.Body.Close()
	b, readErr := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	latency := time.Since(start)
	if readErr != nil {
		return attempt{err: g.reachErr(ctx, fmt.Errorf("reading the body: %w", readErr), latency)}
	}
	return attempt{res: g.judge(resp, b, latency), status: resp.StatusCode, latency: latency}
}

// reachErr classifies a transport error: a timeout or an unreachable target.
func (g *Gate) reachErr(ctx context.Context, err error, took time.Duration) error {
	msg := g.mask(unwrapURL(err).Error())
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: %s did not answer within %s (%s); check that it is up, or raise timeout", gate.ErrTimeout, g.target(), g.spec.timeout(), msg)
	}
	hint := "check that the service is up and the URL is right"
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		hint = "give the CA that signed its certificate in ca-file"
	}
	return fmt.Errorf("%w: %s could not be reached after %s (%s); %s", gate.ErrUnreachable, g.target(), took.Round(time.Millisecond), msg, hint)
}

// judge turns a response into checks.
func (g *Gate) judge(resp *http.Response, body []byte, latency time.Duration) *gate.Result {
	res := &gate.Result{Schema: gate.SchemaVersion, Gate: g.meta.ID, Kind: kind, Group: g.meta.Group,
		Required: g.meta.Required, Location: g.meta.Location,
		Inputs: []gate.Input{{Name: g.spec.Method + " " + g.target(), URI: g.target(), Digest: gate.Digest(body)}},
		Details: map[string]any{"status": resp.StatusCode, "latency_ms": latency.Milliseconds(),
			"body_bytes": len(body), "tls": resp.TLS != nil}}
	if g.caInput != nil {
		res.Inputs = append(res.Inputs, *g.caInput)
	}
	truncated := len(body) > maxBody
	if truncated {
		body = body[:maxBody]
	}
	st := gate.Check{Name: "status", Observed: gate.Int(int64(resp.StatusCode)), Expected: g.status.String(), Status: gate.StatusFail}
	if g.status.Match(resp.StatusCode) {
		st.Status = gate.StatusPass
		st.Message = fmt.Sprintf("answered %d in %s", resp.StatusCode, fmtLatency(latency))
	} else {
		st.Message = fmt.Sprintf("expected status %s, found %d; the response begins: %s", g.status, resp.StatusCode, g.remote(snippet(body)))
	}
	res.Add(st)
	if ml := g.spec.Expect.MaxLatency.D(); ml > 0 {
		c := gate.Check{Name: "latency", Observed: gate.Int(latency.Milliseconds()), Unit: "ms",
			Expected: fmt.Sprintf("<= %d", ml.Milliseconds()), Status: gate.StatusPass,
			Message: fmt.Sprintf("answered in %s, within %s", fmtLatency(latency), ml)}
		if latency > ml {
			c.Status = gate.StatusFail
			c.Message = fmt.Sprintf("expected a response within %s, it took %s; look for slow dependencies or raise max-latency", ml, fmtLatency(latency))
		}
		res.Add(c)
	}
	if want := g.spec.Expect.BodyContains; want != "" {
		c := gate.Check{Name: "body contains", Expected: fmt.Sprintf("contains %q", want)}
		found := strings.Contains(string(body), want)
		c.Observed = gate.Bool(found)
		if found {
			c.Status, c.Message = gate.StatusPass, fmt.Sprintf("the body contains %q", want)
		} else {
			c.Status = gate.StatusFail
			c.Message = g.remote(fmt.Sprintf("expected the body to contain %q, it did not; the response begins: %s", want, snippet(body)))
		}
		res.Add(c)
	}
	if len(g.spec.Expect.JSON) > 0 {
		var doc any
		var docErr error
		switch {
		case truncated:
			docErr = fmt.Errorf("it is longer than %d bytes", maxBody)
		case len(strings.TrimSpace(string(body))) == 0:
			docErr = errors.New("it is empty")
		default:
			doc, docErr = jsonpath.Decode(body)
		}
		for _, e := range g.spec.Expect.JSON {
			c := e.Check(doc, docErr, "the response body")
			c.Message = g.remote(c.Message)
			res.Add(c)
		}
	}
	if g.spec.InsecureSkipVerify {
		res.Add(gate.Check{Name: "tls verification", Status: gate.StatusWarn, Expected: "verified",
			Observed: gate.Text("skipped"),
			Message:  "insecure-skip-verify is on, so the server's certificate was not verified; give its CA in ca-file instead"})
	}
	for i := range res.Checks {
		res.Checks[i].Tenant = g.spec.Tenant
	}
	return res
}

// snippet is the start of a body for messages, on one line.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if s == "" {
		return "(empty)"
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// fmtLatency rounds a latency for messages: to the millisecond above 10ms,
// to 10µs below, so a fast answer does not read "0s".
func fmtLatency(d time.Duration) time.Duration {
	if d >= 10*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Microsecond)
}
