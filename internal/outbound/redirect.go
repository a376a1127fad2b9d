// Package outbound holds the rules every releasegate HTTP client follows
// for where it may go: the redirect policy shared by the http gate, the
// Prometheus and Grafana sources, webhooks, the GitHub clients and the OCI
// registry client.
package outbound

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
)

// maxRedirects is how many redirects a request may follow.
const maxRedirects = 10

// ErrRedirect is wrapped by every refused redirect.
var ErrRedirect = errors.New("redirect refused")

// RedirectError says which redirect was refused and why.
type RedirectError struct {
	// From and To are the redirecting and the target URL, without user
	// information, query or fragment.
	From, To string
	// Host is the target's host, as allow-redirects-to would name it.
	Host string
	// Reason says which rule refused it.
	Reason string
	// Allowable is true when naming Host in the policy's allow list would
	// let the redirect through.
	Allowable bool
	// Setting names that allow list for the message, e.g. "the gate's
	// allow-redirects-to"; empty when the client has none.
	Setting string
}

func (e *RedirectError) Error() string {
	msg := fmt.Sprintf("redirect from %s to %s refused: %s", e.From, e.To, e.Reason)
	if e.Allowable && e.Setting != "" {
		msg += fmt.Sprintf("; if that host is trusted, add %q to %s", e.Host, e.Setting)
	}
	return msg
}

// Unwrap returns ErrRedirect.
func (e *RedirectError) Unwrap() error { return ErrRedirect }

// metadataHosts are cloud instance-metadata endpoints by name and address.
var metadataHosts = []string{"metadata.google.internal", "metadata.goog", "metadata", "169.254.169.254", "fd00:ec2::254", "100.100.100.200"}

// Policy decides which redirects a client follows.
type Policy struct {
	// Allow names hosts (host or host:port, case-insensitive) a redirect
	// may go to whatever the other rules say, except that https is never
	// downgraded to http.
	Allow []string
	// CrossOrigin lets redirects go to other public hosts over https (an
	// OCI registry sends blob downloads to a CDN). Link-local, metadata,
	// loopback and private addresses stay refused unless allowed.
	CrossOrigin bool
	// Setting names where a user allows a host, for messages (e.g. "the
	// gate's allow-redirects-to"); empty when the client has no such
	// setting.
	Setting string
}

// CheckRedirect returns an http.Client CheckRedirect function that follows
// the policy's rule:
//
//   - at most MaxRedirects redirects;
//   - never from https to http;
//   - to a host named in Allow;
//   - else to the same origin (scheme, host and port) as the first request;
//   - never to a link-local address (169.254.0.0/16, fe80::/10) or a cloud
//     metadata endpoint (169.254.169.254, fd00:ec2::254,
//     metadata.google.internal);
//   - from a loopback origin to any loopback address;
//   - never to a loopback or private address from another origin;
//   - to another public https host only with CrossOrigin.
func (p Policy) CheckRedirect() func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if len(via) == 0 {
			return nil
		}
		return p.Check(via[0].URL, via[len(via)-1].URL, req.URL, len(via))
	}
}

// Check applies the rule to a redirect from prev (first requested as
// origin) to to, the hops-th redirect.
func (p Policy) Check(origin, prev, to *url.URL, hops int) error {
	e := &RedirectError{From: clean(prev), To: clean(to), Host: strings.ToLower(to.Host), Setting: p.Setting}
	refuse := func(reason string, allowable bool) error {
		e.Reason, e.Allowable = reason, allowable
		return e
	}
	if hops >= maxRedirects {
		return refuse(fmt.Sprintf("more than %d redirects", maxRedirects), false)
	}
	if to.Scheme != "http" && to.Scheme != "https" {
		return refuse(fmt.Sprintf("scheme %q; only http and https are followed", to.Scheme), false)
	}
	if prev.Scheme == "https" && to.Scheme == "http" || origin.Scheme == "https" && to.Scheme == "http" {
		return refuse("it downgrades https to http", false)
	}
	if p.allowed(to) {
		return nil
	}
	if sameOrigin(origin, to) {
		return nil
	}
	host := to.Hostname()
	if isMetadata(host) {
		return refuse("it points at a cloud metadata endpoint", true)
	}
	addr, isIP := parseIP(host)
	if isIP && (addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast()) {
		return refuse("it points at a link-local address", true)
	}
	fromLoopback := isLoopback(origin.Hostname())
	if isLoopback(host) {
		if fromLoopback {
			return nil
		}
		return refuse("it points at a loopback address from a non-loopback origin", true)
	}
	if isIP && (addr.IsPrivate() || addr.IsUnspecified()) && !fromLoopback {
		return refuse("it points at a private address from another origin", true)
	}
	if p.CrossOrigin && to.Scheme == "https" {
		return nil
	}
	return refuse(fmt.Sprintf("it leaves the origin %s", origin.Scheme+"://"+origin.Host), true)
}

func (p Policy) allowed(to *url.URL) bool {
	h, hp := strings.ToLower(to.Hostname()), strings.ToLower(to.Host)
	return slices.ContainsFunc(p.Allow, func(a string) bool {
		a = strings.ToLower(strings.TrimSpace(a))
		return a == hp || a == h || strings.Trim(a, "[]") == h
	})
}

func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

func parseIP(host string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func isMetadata(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if slices.Contains(metadataHosts, h) {
		return true
	}
	if a, ok := parseIP(h); ok {
		for _, m := range metadataHosts {
			if b, ok := parseIP(m); ok && a == b {
				return true
			}
		}
	}
	return false
}

func isLoopback(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	a, ok := parseIP(h)
	return ok && a.IsLoopback()
}

// clean drops user information, query and fragment from a URL for messages.
func clean(u *url.URL) string {
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return c.String()
}

// ValidateHosts checks allow-redirects-to entries: each is a host name, an
// IP address or host:port, without scheme or path.
func ValidateHosts(hosts []string) []error {
	var errs []error
	for i, h := range hosts {
		if h == "" || strings.ContainsAny(h, "/?#@ ") {
			errs = append(errs, fmt.Errorf("allow-redirects-to[%d] %q: expected a host name, IP address or host:port, without scheme or path", i, h))
			continue
		}
		if _, _, err := net.SplitHostPort(h); err != nil && strings.Count(h, ":") == 1 {
			errs = append(errs, fmt.Errorf("allow-redirects-to[%d] %q: %v", i, h, err))
		}
	}
	return errs
}

// Transport enforces a Policy on redirects from inside the transport, for
// clients whose CheckRedirect cannot be set (the OCI registry client): a
// request the client makes to follow a redirect carries the response that
// caused it, and is refused before it is sent when the policy says so.
type Transport struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Policy decides which redirects are followed.
	Policy Policy
}

// RoundTrip checks a redirected request against the policy, then sends it.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Response != nil && req.Response.Request != nil {
		hops, first := 0, req.Response.Request
		for r := req; r.Response != nil && r.Response.Request != nil; r = r.Response.Request {
			hops++
			first = r.Response.Request
		}
		if err := t.Policy.Check(first.URL, req.Response.Request.URL, req.URL, hops-1); err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// CloseIdleConnections closes the base transport's idle connections.
func (t *Transport) CloseIdleConnections() {
	type closer interface{ CloseIdleConnections() }
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if c, ok := base.(closer); ok {
		c.CloseIdleConnections()
	}
}
