package httpgate

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gates/command/jsonpath"
	"github.com/maestro-conductor/releasegate/internal/outbound"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// spec is the `with:` block of an http gate.
type spec struct {
	// URL is the target.
	URL string `yaml:"url" required:"true" doc:"the URL to probe, e.g. ${SERVICE_URL}/ready"`
	// Method is the HTTP method.
	Method string `yaml:"method" default:"GET" enum:"GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS" doc:"the HTTP method"`
	// Headers are sent with the request.
	Headers map[string]string `yaml:"headers" doc:"request headers; values from secret-looking ${VARS} are masked"`
	// SecretHeaders are sent with the request and masked everywhere.
	SecretHeaders map[string]string `yaml:"secret-headers" secret:"true" doc:"request headers whose values are secrets, such as Authorization: Bearer ${TOKEN}"`
	// Body is the request body.
	Body string `yaml:"body" doc:"the request body, e.g. a JSON document for POST"`
	// Timeout bounds one request.
	Timeout policy.Duration `yaml:"timeout" default:"10s" doc:"how long one request may take, including reading the body"`
	// Retry retries a failing probe within a window (readiness probes).
	Retry retry `yaml:"retry" doc:"retry a failing or unreachable target until it passes or the window closes"`
	// CAFile is a PEM bundle of CAs to trust for https.
	CAFile string `yaml:"ca-file" doc:"PEM file of CA certificates to trust for https, relative to the policy file"`
	// AllowRedirectsTo names hosts a redirect may go to beyond the default
	// rule (outbound.Policy).
	AllowRedirectsTo []string `yaml:"allow-redirects-to" doc:"hosts (name, IP or host:port) a redirect may go to beyond the default rule: same origin only (or loopback to loopback), never https to http, never to link-local, cloud metadata, loopback or private addresses from another origin (docs/security.md)"`
	// InsecureSkipVerify turns TLS verification off; the gate then warns.
	InsecureSkipVerify bool `yaml:"insecure-skip-verify" doc:"do not verify the server's TLS certificate (the gate then warns at best); prefer ca-file"`
	// Tenant is the tenant the probe speaks for, if any.
	Tenant string `yaml:"tenant" doc:"the tenant this probe checks, shown on each of its checks (e.g. for ${URL}/t/acme/items)"`
	// Expect is what the response must look like.
	Expect expect `yaml:"expect" doc:"what the response must look like to pass"`
}

// retry is the retry window of a probe.
type retry struct {
	// Within is how long to keep trying.
	Within policy.Duration `yaml:"within" doc:"keep probing until it passes or this long has passed since the first request (0: one attempt)"`
	// Interval is the pause between attempts.
	Interval policy.Duration `yaml:"interval" default:"1s" doc:"pause between attempts"`
}

// expect lists the response's expectations; each becomes one check.
type expect struct {
	// Status is one status, a class ("2xx") or a list of them.
	Status any `yaml:"status" default:"200" doc:"the expected status: a code (200), a class (\"2xx\") or a list of them ([200, 204])"`
	// BodyContains must appear in the body.
	BodyContains string `yaml:"body-contains" doc:"text that must appear in the response body"`
	// JSON are expectations on fields of the body, parsed as JSON.
	JSON []jsonpath.Expect `yaml:"json" doc:"expectations on fields of the response body, parsed as JSON"`
	// MaxLatency bounds the time to a complete response.
	MaxLatency policy.Duration `yaml:"max-latency" doc:"the longest a response may take, from sending the request to the end of the body, e.g. 300ms"`
}

// statusSet is a parsed `expect.status`: codes and classes.
type statusSet struct {
	codes   []int
	classes []int // 2 for 2xx
}

// Match reports whether the status code is in the set.
func (s statusSet) Match(code int) bool {
	for _, c := range s.codes {
		if c == code {
			return true
		}
	}
	for _, c := range s.classes {
		if code/100 == c {
			return true
		}
	}
	return false
}

// String renders the set, e.g. "200" or "200, 3xx".
func (s statusSet) String() string {
	var parts []string
	for _, c := range s.codes {
		parts = append(parts, strconv.Itoa(c))
	}
	for _, c := range s.classes {
		parts = append(parts, fmt.Sprintf("%dxx", c))
	}
	return strings.Join(parts, ", ")
}

// parseStatus parses `expect.status` as decoded from YAML: nil (200), an
// integer, a string ("200", "2xx") or a list of those.
func parseStatus(v any) (statusSet, error) {
	var s statusSet
	if v == nil {
		s.codes = []int{200}
		return s, nil
	}
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	if len(items) == 0 {
		return s, errors.New("an empty list; expected a status such as 200 or a list such as [200, 204]")
	}
	for _, it := range items {
		var text string
		switch x := it.(type) {
		case int:
			text = strconv.Itoa(x)
		case string:
			text = strings.TrimSpace(x)
		default:
			return s, fmt.Errorf("%v is not a status; expected a code such as 200 or a class such as \"2xx\"", it)
		}
		if len(text) == 3 && text[0] >= '1' && text[0] <= '5' && strings.EqualFold(text[1:], "xx") {
			s.classes = append(s.classes, int(text[0]-'0'))
			continue
		}
		n, err := strconv.Atoi(text)
		if err != nil || n < 100 || n > 599 {
			return s, fmt.Errorf("%q is not a status; expected a code from 100 to 599 or a class such as \"2xx\"", text)
		}
		s.codes = append(s.codes, n)
	}
	return s, nil
}

// Validate reports every problem with the settings at once.
func (s *spec) Validate() []error {
	var errs []error
	if s.URL != "" {
		u, err := url.Parse(s.URL)
		switch {
		case err != nil:
			errs = append(errs, &policy.FieldError{Field: "url", Err: fmt.Errorf("not a URL: %v", unwrapURL(err))})
		case u.Scheme != "http" && u.Scheme != "https":
			errs = append(errs, &policy.FieldError{Field: "url", Err: fmt.Errorf("scheme %q is not http or https", u.Scheme)})
		case u.Host == "":
			errs = append(errs, &policy.FieldError{Field: "url", Err: errors.New("no host; expected e.g. http://127.0.0.1:8080/health")})
		}
	}
	if items, ok := s.Expect.Status.([]any); ok && len(items) > 0 {
		// each item on its own, so that one bad status does not hide the next
		for i, it := range items {
			if _, list := it.([]any); list {
				it = fmt.Sprint(it)
			}
			if _, err := parseStatus(it); err != nil {
				errs = append(errs, &policy.FieldError{Field: fmt.Sprintf("expect.status[%d]", i), Err: err})
			}
		}
	} else if _, err := parseStatus(s.Expect.Status); err != nil {
		errs = append(errs, &policy.FieldError{Field: "expect.status", Err: err})
	}
	for _, m := range []struct {
		key string
		h   map[string]string
	}{{"headers", s.Headers}, {"secret-headers", s.SecretHeaders}} {
		for k, v := range m.h {
			if !validHeaderName(k) {
				errs = append(errs, &policy.FieldError{Field: m.key + "." + k, Err: fmt.Errorf("%q is not a valid header name", k)})
			}
			if strings.ContainsAny(v, "\r\n") {
				errs = append(errs, &policy.FieldError{Field: m.key + "." + k, Err: errors.New("header values cannot contain line breaks")})
			}
		}
	}
	if s.Retry.Interval.D() < 0 || s.Retry.Within > 0 && s.Retry.Interval.D() > s.Retry.Within.D() {
		errs = append(errs, &policy.FieldError{Field: "retry.interval", Err: fmt.Errorf("interval %s is longer than the window %s", s.Retry.Interval, s.Retry.Within)})
	}
	if s.CAFile != "" && s.InsecureSkipVerify {
		errs = append(errs, &policy.FieldError{Field: "insecure-skip-verify", Err: errors.New("give ca-file or insecure-skip-verify, not both")})
	}
	for i, e := range s.Expect.JSON {
		errs = append(errs, e.Validate(fmt.Sprintf("expect.json[%d]", i))...)
	}
	for _, err := range outbound.ValidateHosts(s.AllowRedirectsTo) {
		errs = append(errs, &policy.FieldError{Field: "allow-redirects-to", Err: err})
	}
	return errs
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// timeout returns the per-request timeout (default 10s).
func (s *spec) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout.D()
	}
	return 10 * time.Second
}

func (s *spec) interval() time.Duration {
	if s.Retry.Interval > 0 {
		return s.Retry.Interval.D()
	}
	return time.Second
}
