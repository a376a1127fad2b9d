package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"
)

func TestIsSecretName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"GITHUB_TOKEN": true, "BASIC_AUTH": true, "Authorization": true, "Proxy-Authorization": true,
		"Cookie": true, "X-Api-Key": true, "API_KEY": true, "PGPASSWORD": true, "RELEASEGATE_DSN": true,
		"COSIGN_PASSWORD": true, "webhook_secret": true, "X-Auth-Token": true,
		"GIT_AUTHOR_NAME": false, "HOME": false, "PATH": false, "X-Scope-OrgID": false, "Content-Type": false,
	} {
		if got := IsSecretName(name); got != want {
			t.Errorf("IsSecretName(%q) = %v, expected %v", name, got, want)
		}
	}
}

func TestSetMasksEveryForm(t *testing.T) {
	t.Parallel()
	const tok = `ghs_abc"def\123`
	var s Set
	var masked []string
	s.OnAdd = func(v string) { masked = append(masked, v) }
	s.Add(tok, "ab", "")
	j, _ := json.Marshal(tok)
	for _, form := range []string{
		tok, string(j[1 : len(j)-1]),
		base64.StdEncoding.EncodeToString([]byte("x-access-token:" + tok)),
		base64.StdEncoding.EncodeToString([]byte(tok)),
	} {
		if got := s.String("before " + form + " after"); got != "before *** after" {
			t.Errorf("form %q: got %q, expected it masked", form, got)
		}
	}
	if got := s.String("ab stays"); got != "ab stays" {
		t.Errorf("a two-character value must not be a secret: %q", got)
	}
	if len(masked) != 1 || masked[0] != tok {
		t.Errorf("OnAdd saw %q, expected only the secret itself", masked)
	}
}

func TestSetAddsPartsOfCredentials(t *testing.T) {
	t.Parallel()
	var s Set
	s.Add("Bearer bearer-tok-1", "https://bob:url-pass-2@example.com/x?password=dsn-pass-3")
	basic := base64.StdEncoding.EncodeToString([]byte("bob:url-pass-2"))
	for _, v := range []string{"bearer-tok-1", "url-pass-2", "dsn-pass-3", basic} {
		if got := s.String("[" + v + "]"); got != "[***]" {
			t.Errorf("%q: got %q, expected it masked", v, got)
		}
	}
}

func TestAddEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{"GITHUB_TOKEN": "gh-token-1"}
	var s Set
	s.AddEnv(func(k string) string { return env[k] }, []string{
		"MY_API_TOKEN=custom-token-2", "FEATURE_TOKEN_ENABLED=true", "SSH_AUTH_SOCK=/tmp/agent.1", "GOPRIVATE=github.com/acme",
		"HOME=/root", "DATABASE_URL=postgres://app:db-pass-3@db/app", "SHORT_TOKEN=abc",
	})
	out := s.String("gh-token-1 custom-token-2 true /tmp/agent.1 /root db-pass-3 abc github.com/acme")
	if out != "*** *** true /tmp/agent.1 /root *** abc github.com/acme" {
		t.Errorf("got %q", out)
	}
}

func TestWriterCatchesASecretSplitAcrossWrites(t *testing.T) {
	t.Parallel()
	var s Set
	s.Add("split-secret")
	var buf bytes.Buffer
	w := NewWriter(&buf, &s)
	io.WriteString(w, "a split-")
	io.WriteString(w, "secret b\nno newline split-sec")
	io.WriteString(w, "ret")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "a *** b\nno newline ***" {
		t.Errorf("got %q", got)
	}
}

func TestValueFailsClosed(t *testing.T) {
	t.Parallel()
	var s Set
	s.Add("xyz-secret")
	out, err := Value(&s, map[string]any{"v": math.NaN(), "s": "xyz-secret"})
	if !errors.Is(err, errRedact) {
		t.Fatalf("a value that cannot be encoded must be an ErrRedact error, got %v", err)
	}
	if out != nil {
		t.Errorf("nothing may be returned on failure, got %v", out)
	}
	got, err := Value(&s, map[string]any{"s": "a xyz-secret b", "n": int64(1) << 60})
	if err != nil || got["s"] != "a *** b" || fmt.Sprint(got["n"]) != "1152921504606846976" {
		t.Errorf("got %v, %v; expected the secret masked and the number exact", got, err)
	}
}

// echoRequest is an error page that quotes the whole request, as a proxy
// or a wrong API URL does: as text and as a JSON string.
func echoRequest(w http.ResponseWriter, r *http.Request, status int) {
	dump, _ := httputil.DumpRequest(r, true)
	j, _ := json.Marshal(string(dump))
	w.WriteHeader(status)
	fmt.Fprintf(w, "%s\n{\"message\": %s}\n", dump, j)
}

func TestTransportSanitizesAnEchoedRequest(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { echoRequest(w, r, 401) }))
	defer srv.Close()
	secrets := []string{"tok-bearer-123456", "cookie-val-123456", "proxy-cred-123456", "qs-token-123456", "url-pass-123456"}
	c := Client(nil)
	req, _ := http.NewRequest(http.MethodGet, strings.Replace(srv.URL, "http://", "http://alice:url-pass-123456@", 1)+"/x?access_token=qs-token-123456", nil)
	req.Header.Set("Authorization", "Bearer tok-bearer-123456")
	req.Header.Set("Cookie", "session=cookie-val-123456")
	req.Header.Set("Proxy-Authorization", "Basic proxy-cred-123456")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, sec := range secrets {
		if bytes.Contains(b, []byte(sec)) {
			t.Errorf("the sanitized body still holds %q:\n%s", sec, b)
		}
	}
	if !bytes.Contains(b, []byte("GET /x")) {
		t.Errorf("the body should still say what was asked:\n%s", b)
	}
}

func TestRemoteBodyIsCut(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("é", maxRemoteBody) + "Authorization: Bearer late-secret-1234"
	got := RemoteBody(strings.NewReader(body), nil, nil)
	if len(got) > maxRemoteBody+len("… (cut)") || !strings.HasSuffix(got, "… (cut)") {
		t.Errorf("got %d bytes, expected at most %d and a cut mark", len(got), maxRemoteBody)
	}
	if !strings.HasPrefix(got, "é") || strings.ContainsRune(got, '\uFFFD') {
		t.Errorf("the cut must fall on a character boundary")
	}
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"header line", "Authorization: Bearer abc.def-ghi", "Authorization: ***"},
		{"cookie line", "  Cookie: a=b; c=d", "  Cookie: ***"},
		{"ordinary header kept", "Content-Type: text/plain", "Content-Type: text/plain"},
		{"escaped header in a JSON string", `"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic QWxh\r\nAccept: */*"`, `"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: ***\r\nAccept: */*"`},
		{"JSON field", `{"authorization":"Bearer x1234567","user":"bob"}`, `{"authorization":"***","user":"bob"}`},
		{"JSON list", `{"Cookie":["a=b"]}`, `{"Cookie":"***"}`},
		{"bearer in prose", "token was bearer abcdef123456 sorry", "token was bearer *** sorry"},
		{"userinfo", "see https://bob:pw1234@example.com/a", "see https://***@example.com/a"},
		{"query token", "GET /a?x=1&access_token=zzz999&y=2", "GET /a?x=1&access_token=***&y=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Sanitize(tt.in, nil); got != tt.want {
				t.Errorf("Sanitize(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzSanitize: remote bodies are outside input. Sanitizing never panics,
// never grows a text beyond what masks add, and a known secret never
// survives it.
func FuzzSanitize(f *testing.F) {
	f.Add("Authorization: Bearer s3cret-value\r\nCookie: x", "s3cret-value")
	f.Add(`{"message":"GET / HTTP/1.1\r\nAuthorization: token s3cret"}`, "s3cret")
	f.Add("https://u:p@h/?password=x", "pass-word")
	f.Fuzz(func(t *testing.T, text, secret string) {
		var s Set
		s.Add(secret)
		out := Sanitize(text, &s)
		if len(secret) >= minLen && strings.TrimSpace(secret) == secret && !strings.Contains(secret, "*") && strings.Contains(out, secret) {
			t.Errorf("secret %q survived: %q", secret, out)
		}
	})
}

func TestWriterLongLineKeepsASplitSecret(t *testing.T) {
	t.Parallel()
	var s Set
	s.Add("long-line-secret")
	var buf bytes.Buffer
	w := NewWriter(&buf, &s)
	io.WriteString(w, strings.Repeat("x", 64<<10)+"long-line")
	io.WriteString(w, "-secret tail")
	w.Flush()
	if strings.Contains(buf.String(), "long-line-secret") || !strings.HasSuffix(buf.String(), "x*** tail") {
		t.Errorf("a secret split after a 64 KiB line must still be masked; the end is %q", buf.String()[buf.Len()-20:])
	}
}
