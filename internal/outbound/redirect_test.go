package outbound

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, from, to string
		policy         Policy
		refused        bool
	}{
		{"same origin", "https://a.example/x", "https://a.example/y", Policy{}, false},
		{"same origin with explicit default port", "https://a.example/x", "https://a.example:443/y", Policy{}, false},
		{"another host", "https://a.example/x", "https://b.example/y", Policy{}, true},
		{"another host, allowed", "https://a.example/x", "https://b.example/y", Policy{Allow: []string{"B.example"}}, false},
		{"another public host with CrossOrigin", "https://reg.example/v2/", "https://cdn.example/blob", Policy{CrossOrigin: true}, false},
		{"https to http on the same host", "https://a.example/x", "http://a.example/y", Policy{}, true},
		{"https to http, even allowed", "https://a.example/x", "http://b.example/y", Policy{Allow: []string{"b.example"}}, true},
		{"metadata address", "http://10.0.0.5/x", "http://169.254.169.254/latest/meta-data/", Policy{}, true},
		{"metadata name", "https://a.example/x", "https://metadata.google.internal/computeMetadata/v1/", Policy{CrossOrigin: true}, true},
		{"ec2 IPv6 metadata", "http://[fd00:ec2::1]/x", "http://[fd00:ec2::254]/", Policy{}, true},
		{"link-local from loopback", "http://127.0.0.1:8080/x", "http://169.254.10.1/", Policy{}, true},
		{"link-local IPv6", "http://127.0.0.1/x", "http://[fe80::1]/", Policy{}, true},
		{"metadata, explicitly allowed", "http://127.0.0.1/x", "http://169.254.169.254/", Policy{Allow: []string{"169.254.169.254"}}, false},
		{"loopback to loopback on another port", "http://127.0.0.1:8080/x", "http://localhost:9090/y", Policy{}, false},
		{"loopback from a remote origin", "https://a.example/x", "https://127.0.0.1/admin", Policy{CrossOrigin: true}, true},
		{"private from a remote origin", "https://a.example/x", "https://10.1.2.3/", Policy{CrossOrigin: true}, true},
		{"not http", "https://a.example/x", "file:///etc/passwd", Policy{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			from, _ := url.Parse(tt.from)
			to, _ := url.Parse(tt.to)
			err := tt.policy.Check(from, from, to, 1)
			if tt.refused != (err != nil) {
				t.Fatalf("%s → %s: refused=%v (%v), expected refused=%v", tt.from, tt.to, err != nil, err, tt.refused)
			}
			var re *RedirectError
			if err != nil && (!errors.Is(err, ErrRedirect) || !errors.As(err, &re) || re.Reason == "") {
				t.Errorf("expected a *RedirectError wrapping ErrRedirect with a reason, got %v", err)
			}
		})
	}
}

func TestTooManyRedirects(t *testing.T) {
	t.Parallel()
	u, _ := url.Parse("http://127.0.0.1/x")
	if err := (Policy{}).Check(u, u, u, maxRedirects); !errors.Is(err, ErrRedirect) {
		t.Errorf("expected the %dth redirect refused, got %v", maxRedirects, err)
	}
}

// TestTransportRefusesBeforeSending: a client whose CheckRedirect cannot
// be set still follows loopback to loopback, and never sends a request
// the rule refuses (a metadata address is not even dialled).
func TestTransportRefusesBeforeSending(t *testing.T) {
	t.Parallel()
	hits := 0
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer target.Close()
	to := target.URL + "/ok"
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to, http.StatusFound)
	}))
	defer origin.Close()
	c := &http.Client{Transport: &Transport{}} // a client without an allow list: no hint
	resp, err := c.Get(origin.URL)
	if err != nil {
		t.Fatalf("loopback to loopback must be followed: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if hits != 1 {
		t.Fatalf("expected the loopback target reached once, got %d", hits)
	}
	to = "http://169.254.169.254/latest/meta-data/iam/"
	_, err = c.Get(origin.URL)
	var re *RedirectError
	if !errors.As(err, &re) || !errors.Is(err, ErrRedirect) || !re.Allowable {
		t.Fatalf("expected the redirect to the metadata address refused with a *RedirectError, got %v", err)
	}
	if want := fmt.Sprintf("redirect from %s to http://169.254.169.254/latest/meta-data/iam/ refused: it points at a cloud metadata endpoint", origin.URL); re.Error() != want {
		t.Errorf("message\n got %s\nwant %s", re.Error(), want)
	}
}
