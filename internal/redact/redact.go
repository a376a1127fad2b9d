// Package redact is releasegate's one redaction boundary: it knows every
// secret the process was given (policy secrets, tokens from the environment
// and flags, passwords in URLs, credentials of requests it sent) and
// replaces them with *** in everything that leaves the process — stdout,
// stderr, files, API payloads, evidence. It also cuts and sanitizes the
// bodies remote servers answer with before they enter an error or a Result.
//
// It fails closed: a value that cannot be redacted is an error, never
// written as is.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// mask is what every secret is replaced with.
const mask = "***"

// minLen is the length below which a value is not treated as a secret:
// masking one- or two-character values would shred ordinary output.
const minLen = 3

// secretName is the one rule for what counts as a secret's name, used by
// the policy (${NAME} expansion, env and header maps), the command and http
// gates, and the process environment.
var secretName = regexp.MustCompile(`(?i)(TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|API[_-]?KEY|PRIVATE|DSN|AUTH|COOKIE)`)

// IsSecretName reports whether a variable, header or field named name
// carries a secret: it contains TOKEN, SECRET, PASSWORD, PASSWD,
// PASSPHRASE, CREDENTIAL, API_KEY/API-KEY/APIKEY, PRIVATE, DSN, AUTH (but not
// AUTHOR) or COOKIE, in any case. Authorization, Cookie,
// Proxy-Authorization, GITHUB_TOKEN, BASIC_AUTH and PGPASSWORD all do;
// GIT_AUTHOR_NAME does not.
func IsSecretName(name string) bool {
	u := strings.ToUpper(name)
	u = strings.ReplaceAll(u, "AUTHORIZATION", "AUTH")
	u = strings.ReplaceAll(u, "AUTHOR", "")
	return secretName.MatchString(u)
}

// tokenEnv names the environment variables whose values are always
// secrets, whatever IsSecretName says of them: GitHub's tokens, the Actions
// runtime and OIDC request tokens, Sigstore's ID token, cosign's key
// password and the token input of releasegate's actions.
var tokenEnv = []string{
	"GITHUB_TOKEN", "GH_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN",
	"ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "SIGSTORE_ID_TOKEN",
	"COSIGN_PASSWORD", "INPUT_TOKEN", "INPUT_GITHUB_TOKEN", "INPUT_GITHUB-TOKEN",
}

// Set is the set of secrets a process knows. Its zero value is empty and
// ready; it is safe for concurrent use.
type Set struct {
	mu sync.RWMutex
	// forms are the strings replaced, longest first, so a secret that
	// contains another is masked whole
	forms []string
	seen  map[string]bool
	// OnAdd, when set, is called once for each new secret value (not its
	// derived forms), e.g. to print ::add-mask:: in GitHub Actions.
	OnAdd func(value string)
}

// Add records secret values. Values shorter than MinLen are ignored. Each
// value is also recorded in the forms it travels in: JSON- and URL-escaped,
// base64, and the basic-auth form GitHub tokens take in git URLs
// (base64 of "x-access-token:VALUE"); a URL with a password adds the
// password and its "user:password" basic-auth form. A value of several
// lines adds each line too.
func (s *Set) Add(values ...string) {
	for _, v := range values {
		s.add(v, true)
	}
}

func (s *Set) add(v string, top bool) {
	v = strings.TrimSpace(v)
	if len(v) < minLen {
		return
	}
	s.mu.Lock()
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	if s.seen[v] {
		s.mu.Unlock()
		return
	}
	s.seen[v] = true
	forms := []string{v}
	if j, err := json.Marshal(v); err == nil {
		forms = append(forms, string(j[1:len(j)-1]))
	}
	forms = append(forms, url.QueryEscape(v), url.PathEscape(v),
		base64.StdEncoding.EncodeToString([]byte(v)),
		base64.StdEncoding.EncodeToString([]byte("x-access-token:"+v)),
		base64.StdEncoding.EncodeToString([]byte(":"+v)))
	for _, f := range forms {
		if len(f) >= minLen && !contains(s.forms, f) {
			s.forms = append(s.forms, f)
		}
	}
	sort.SliceStable(s.forms, func(i, j int) bool { return len(s.forms[i]) > len(s.forms[j]) })
	onAdd := s.OnAdd
	s.mu.Unlock()
	if onAdd != nil && top {
		onAdd(v)
	}
	if strings.Contains(v, "\n") {
		for _, line := range strings.Split(v, "\n") {
			s.add(line, top)
		}
	}
	if u, err := url.Parse(v); err == nil && u.User != nil {
		s.AddURL(v)
	}
	if scheme, tok, ok := strings.Cut(v, " "); ok && (strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "basic") || strings.EqualFold(scheme, "token")) {
		s.add(tok, top)
		if strings.EqualFold(scheme, "basic") {
			if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(tok)); err == nil {
				if _, pw, ok := strings.Cut(string(b), ":"); ok {
					s.add(pw, top)
				}
			}
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// AddURL records the password of a URL (and the basic-auth form of its
// user and password), and a password given as a password= query parameter
// (libpq DSNs). A string that is not a URL adds nothing.
func (s *Set) AddURL(raw string) {
	u, err := url.Parse(raw)
	if err != nil {
		return
	}
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			s.Add(pw)
			s.Add(base64.StdEncoding.EncodeToString([]byte(u.User.Username() + ":" + pw)))
		} else if name := u.User.Username(); len(name) >= 20 {
			// https://TOKEN@host: a token in the user part
			s.Add(name)
		}
	}
	if pw := u.Query().Get("password"); pw != "" {
		s.Add(pw)
	}
}

// AddHeaders records the values of the credential-carrying headers of a
// request: Authorization, Proxy-Authorization, Cookie and any header whose
// name IsSecretName.
func (s *Set) AddHeaders(h map[string][]string) {
	for k, vs := range h {
		if IsSecretName(k) {
			for _, v := range vs {
				s.Add(v)
			}
		}
	}
}

// AddEnv records the values of the environment's secrets: every TokenEnv
// variable, and, from environ ("NAME=value" pairs, may be nil), every
// variable IsSecretName of at least 8 characters whose value is not a
// boolean, a number or an absolute path (such values would mask ordinary
// output). Passwords
// in URL-valued variables are recorded too.
func (s *Set) AddEnv(getenv func(string) string, environ []string) {
	for _, name := range tokenEnv {
		if v := getenv(name); v != "" {
			s.Add(v)
		}
	}
	for _, kv := range environ {
		name, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			continue
		}
		if strings.Contains(v, "://") {
			s.AddURL(v)
		}
		if IsSecretName(name) && !notSecretEnv[name] && len(v) >= 8 && !plain(v) {
			s.Add(v)
		}
	}
}

// notSecretEnv are well-known variables whose names look secret and whose
// values are configuration, not credentials.
var notSecretEnv = map[string]bool{
	"GOPRIVATE": true, "GONOPRIVATE": true, "GONOPROXY": true, "GONOSUMDB": true, "GOAUTH": true,
	"SSH_AUTH_SOCK": true, "XAUTHORITY": true, "GIT_ASKPASS": true, "SSH_ASKPASS": true, "SUDO_ASKPASS": true,
	"GIT_TERMINAL_PROMPT": true,
}

// plain reports values that are never secrets however they are named.
func plain(v string) bool {
	switch strings.ToLower(v) {
	case "true", "false", "yes", "no", "on", "off", "null", "none":
		return true
	}
	return strings.HasPrefix(v, "/") || strings.Trim(v, "0123456789.-") == ""
}

// maxLen is the length of the longest masked string (at least 1).
func (s *Set) maxLen() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.forms) == 0 {
		return 1
	}
	return len(s.forms[0]) // longest first
}

// Len returns how many strings are masked (secrets and derived forms).
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.forms)
}

// String returns x with every secret replaced by Mask.
func (s *Set) String(x string) string {
	if s == nil {
		return x
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, f := range s.forms {
		if strings.Contains(x, f) {
			x = strings.ReplaceAll(x, f, mask)
		}
	}
	return x
}

// Bytes returns b with every secret replaced by Mask. b is not modified.
func (s *Set) Bytes(b []byte) []byte {
	if s == nil || s.Len() == 0 {
		return b
	}
	return []byte(s.String(string(b)))
}

// errRedact means a value could not be redacted; it was not written.
var errRedact = errors.New("cannot redact secrets")

// Value returns v with every secret of s masked in its JSON encoding: v is
// encoded, masked and, when anything was masked, decoded into a new value
// (numbers kept exact). Any failure is an error wrapping ErrRedact: the
// caller must not write v instead.
func Value[T any](s *Set, v T) (T, error) {
	var zero T
	b, err := json.Marshal(v)
	if err != nil {
		return zero, fmt.Errorf("%w: encoding: %v", errRedact, err)
	}
	masked := s.Bytes(b)
	if bytes.Equal(masked, b) {
		return v, nil
	}
	var out T
	dec := json.NewDecoder(bytes.NewReader(masked))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return zero, fmt.Errorf("%w: decoding the redacted value: %v", errRedact, err)
	}
	return out, nil
}
