package redact

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// maxRemoteBody is how much of a remote server's error body is kept: enough
// for an error message, too little to carry a page of echoed request.
const maxRemoteBody = 4 << 10

// maxRemoteRead is how much of an error body is read (and sanitized) before
// it is cut to MaxRemoteBody; sanitizing before cutting means a secret
// across the cut cannot leave a prefix behind.
const maxRemoteRead = 256 << 10

var (
	// "Name: value" and "Name=value" lines, as an echoed request or a
	// proxy's error page shows its headers
	headerLine = regexp.MustCompile(`(?m)^([ \t>]*"?([A-Za-z][A-Za-z0-9_.-]*)"?[ \t]*[:=][ \t]*)(.*)$`)
	// the same inside a JSON or Go string, after an escaped line break:
	// …\r\nAuthorization: Bearer …\r\n…
	escapedHeader = regexp.MustCompile(`((?:\\r)?\\n[ \t]*([A-Za-z][A-Za-z0-9_.-]*)[ \t]*:[ \t]*)((?:[^\\"]|\\[^rn])*)`)
	// "Name": "value" and "Name": ["value", …] in JSON
	jsonField = regexp.MustCompile(`("([A-Za-z][A-Za-z0-9_.-]*)"\s*:\s*)(\[[^\]]*\]|"(?:[^"\\]|\\.)*")`)
	// Bearer/Basic/token credentials anywhere
	authScheme = regexp.MustCompile(`(?i)\b(bearer|basic|token|digest)(\s+)[A-Za-z0-9._~+/=:-]{6,}`)
	// scheme://user:password@host
	userinfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s"'<>]+@`)
	// ?access_token=… &password=… &sig=…
	secretParam = regexp.MustCompile(`(?i)([?&;][a-z0-9_.-]*(?:token|password|passwd|secret|key|sig|signature|auth|credential)[a-z0-9_.-]*=)[^&\s"'<>]+`)
)

// Sanitize masks what looks like a credential in text a remote server sent:
// header lines and JSON fields whose name IsSecretName (Authorization,
// Cookie, Proxy-Authorization, X-Api-Key, …), Bearer/Basic/token
// credentials, URL user information and secret-named query parameters,
// after every secret of set (which may be nil).
func Sanitize(text string, set *Set) string {
	// known secrets first, whole: a pattern below could otherwise mask
	// part of one and leave the rest
	text = set.String(text)
	text = headerLine.ReplaceAllStringFunc(text, func(m string) string {
		sub := headerLine.FindStringSubmatch(m)
		if IsSecretName(sub[2]) && strings.TrimSpace(sub[3]) != "" {
			return sub[1] + mask
		}
		return m
	})
	text = escapedHeader.ReplaceAllStringFunc(text, func(m string) string {
		sub := escapedHeader.FindStringSubmatch(m)
		if IsSecretName(sub[2]) && strings.TrimSpace(sub[3]) != "" {
			return sub[1] + mask
		}
		return m
	})
	text = jsonField.ReplaceAllStringFunc(text, func(m string) string {
		sub := jsonField.FindStringSubmatch(m)
		if IsSecretName(sub[2]) {
			return sub[1] + `"` + mask + `"`
		}
		return m
	})
	text = authScheme.ReplaceAllString(text, "${1}${2}"+mask)
	text = userinfo.ReplaceAllString(text, "${1}"+mask+"@")
	text = secretParam.ReplaceAllString(text, "${1}"+mask)
	return text
}

// requestSecrets returns a Set of the credentials req carried: its
// credential headers and the password in its URL.
func requestSecrets(req *http.Request) *Set {
	s := &Set{}
	if req == nil {
		return s
	}
	s.AddHeaders(req.Header)
	if req.URL != nil {
		s.AddURL(req.URL.String())
	}
	return s
}

// cut returns at most n bytes of s on a UTF-8 boundary, saying when it cut.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := s[:n]
	for i := 0; i < utf8.UTFMax && len(cut) > 0 && !utf8.ValidString(cut); i++ {
		cut = cut[:len(cut)-1]
	}
	return cut + "… (cut)"
}

// RemoteBody reads at most a bounded prefix of an error body a server
// answered req with and returns it sanitized (Sanitize, plus req's own
// credentials and set's secrets) and cut to MaxRemoteBody. It is what may
// enter an error message or a Result.
func RemoteBody(body io.Reader, req *http.Request, set *Set) string {
	b, _ := io.ReadAll(io.LimitReader(body, maxRemoteRead))
	return cut(Sanitize(requestSecrets(req).String(string(b)), set), maxRemoteBody)
}

// Transport sanitizes the body of every error response (status 400 and
// above) before the client reading it sees it: the body is cut to
// MaxRemoteBody and sanitized with RemoteBody, so an error page that
// echoes the request (a proxy, a wrong API URL) cannot carry the request's
// token into an error, a log line or a Result. Successful answers pass
// through untouched.
type Transport struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
	// Secrets, when set, are masked too, and learn the credentials of every
	// request sent (Authorization, Cookie, Proxy-Authorization, …).
	Secrets *Set
}

// RoundTrip sends req and sanitizes an error response's body.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if t.Secrets != nil {
		t.Secrets.AddHeaders(req.Header)
	}
	resp, err := base.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	clean := RemoteBody(resp.Body, req, t.Secrets)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader([]byte(clean)))
	resp.ContentLength = int64(len(clean))
	resp.Header.Del("Content-Length")
	resp.Header.Del("Content-Encoding")
	return resp, nil
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

// Client returns c (a new client when nil) with its transport wrapped in a
// Transport; a client already wrapped is returned as is.
func Client(c *http.Client) *http.Client {
	if c == nil {
		c = &http.Client{}
	}
	if _, ok := c.Transport.(*Transport); ok {
		return c
	}
	cc := *c
	cc.Transport = &Transport{Base: c.Transport}
	return &cc
}

// NewClient returns a client for requests that may carry secrets: error
// bodies are cut and sanitized with secrets (every secret the process
// knows), redirects are judged by checkRedirect, and each request takes at
// most timeout.
func NewClient(secrets *Set, timeout time.Duration, checkRedirect func(*http.Request, []*http.Request) error) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &Transport{Secrets: secrets}, CheckRedirect: checkRedirect}
}
