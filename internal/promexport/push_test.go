package promexport

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/maestro-conductor/releasegate/internal/outbound"
)

// pushgateway is a Pushgateway-shaped server: it takes PUT and POST on
// /metrics/job/<job>{/<label>/<value>} with an exposition body, as the
// Pushgateway documents it, and keeps the last push.
type pushgateway struct {
	mu     sync.Mutex
	method string
	path   string
	auth   string
	fams   map[string]*dto.MetricFamily
}

func (g *pushgateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if (r.Method != http.MethodPut && r.Method != http.MethodPost) || !strings.HasPrefix(r.URL.EscapedPath(), "/metrics/job/") {
		http.Error(w, "not a push", http.StatusMethodNotAllowed)
		return
	}
	dec := expfmt.NewDecoder(r.Body, expfmt.ResponseFormat(r.Header))
	fams := map[string]*dto.MetricFamily{}
	for {
		var mf dto.MetricFamily
		err := dec.Decode(&mf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			http.Error(w, "bad exposition: "+err.Error(), http.StatusBadRequest)
			return
		}
		fams[mf.GetName()] = &mf
	}
	g.mu.Lock()
	g.method, g.path, g.auth, g.fams = r.Method, r.URL.EscapedPath(), r.Header.Get("Authorization"), fams
	g.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestPush pushes the demo's reports to a local Pushgateway-shaped server
// and checks the group's path, the basic auth taken from the URL and that
// releasegate_gate_status carries every Result's status.
func TestPush(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"demo-pass", "demo-fail"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			g := &pushgateway{}
			srv := httptest.NewServer(g)
			defer srv.Close()
			rep := demoReport(t, name)
			base := strings.Replace(srv.URL, "http://", "http://ci:s3cr3t-pw@", 1)
			if err := Push(context.Background(), srv.Client(), base, rep, nil); err != nil {
				t.Fatal(err)
			}
			if g.method != http.MethodPut {
				t.Errorf("method %s, want PUT (replace the group)", g.method)
			}
			if want := "/metrics/job/releasegate/release_name/demo-service"; g.path != want {
				t.Errorf("path %s, want %s", g.path, want)
			}
			if want := "Basic " + base64.StdEncoding.EncodeToString([]byte("ci:s3cr3t-pw")); g.auth != want {
				t.Errorf("Authorization %q, want the URL's user and password as basic auth", g.auth)
			}
			gs := g.fams["releasegate_gate_status"]
			if gs == nil {
				t.Fatalf("no releasegate_gate_status pushed; got %d families", len(g.fams))
			}
			got := map[string]string{}
			for _, m := range gs.GetMetric() {
				if m.GetGauge().GetValue() == 1 {
					got[label(m, "gate")] = label(m, "status")
				}
			}
			for _, r := range rep.Results {
				if got[r.Gate] != string(r.Status) {
					t.Errorf("gate %s pushed as %q, want %q", r.Gate, got[r.Gate], r.Status)
				}
			}
			if len(got) != len(rep.Results) {
				t.Errorf("%d gates pushed, want %d", len(got), len(rep.Results))
			}
			rs := g.fams["releasegate_release_status"]
			found := false
			for _, m := range rs.GetMetric() {
				if m.GetGauge().GetValue() == 1 {
					found = label(m, "status") == string(rep.Status)
				}
			}
			if !found {
				t.Errorf("releasegate_release_status does not carry %s", rep.Status)
			}
		})
	}
}

// TestPushUnnamedRelease: a report without a release name is pushed under
// an empty grouping value, which the path encodes as base64 "=".
func TestPushUnnamedRelease(t *testing.T) {
	t.Parallel()
	g := &pushgateway{}
	srv := httptest.NewServer(g)
	defer srv.Close()
	rep := demoReport(t, "demo-pass")
	rep.Release = nil
	if err := Push(context.Background(), srv.Client(), srv.URL, rep, nil); err != nil {
		t.Fatal(err)
	}
	if want := "/metrics/job/releasegate/release_name@base64/="; g.path != want {
		t.Errorf("path %s, want %s", g.path, want)
	}
}

// TestPushErrors: a gateway's 500 that echoes the request's Authorization
// is an error that carries neither the header nor the password; a bad URL
// is ErrPushURL; an unreachable gateway is an error.
func TestPushErrors(t *testing.T) {
	t.Parallel()
	const pw = "hunter2-pushgateway-password"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "internal error; request had Authorization: "+r.Header.Get("Authorization")+" url "+r.URL.String())
	}))
	defer echo.Close()
	rep := demoReport(t, "demo-fail")
	base := strings.Replace(echo.URL, "http://", "http://ci:"+pw+"@", 1)
	err := Push(context.Background(), echo.Client(), base, rep, nil)
	if err == nil {
		t.Fatal("a 500 from the gateway was not an error")
	}
	basic := base64.StdEncoding.EncodeToString([]byte("ci:" + pw))
	for _, secret := range []string{pw, basic} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks %q: %v", secret, err)
		}
	}
	if !strings.Contains(err.Error(), "500") {
		t.Errorf("error does not say the gateway answered 500: %v", err)
	}

	for _, bad := range []string{"", "pushgateway:9091", "ftp://host/", "http://"} {
		if err := Push(context.Background(), nil, bad, rep, nil); !errors.Is(err, errPushURL) {
			t.Errorf("Push(%q) = %v, want ErrPushURL", bad, err)
		}
	}

	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	if err := Push(context.Background(), nil, gone.URL, rep, nil); err == nil {
		t.Error("an unreachable gateway was not an error")
	}
}

// TestPushRedirect: a gateway that redirects to a cloud metadata endpoint
// is refused by the shared redirect rule (outbound.Policy).
func TestPushRedirect(t *testing.T) {
	t.Parallel()
	redir := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254"+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redir.Close()
	err := Push(context.Background(), nil, redir.URL, demoReport(t, "demo-pass"), nil)
	if re := (*outbound.RedirectError)(nil); !errors.As(err, &re) {
		t.Errorf("redirect to the metadata endpoint: err %v, want an *outbound.RedirectError", err)
	}
}
