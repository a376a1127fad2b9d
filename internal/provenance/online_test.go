package provenance

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/theupdateframework/go-tuf/v2/metadata"

	"github.com/maestro-conductor/releasegate/internal/outbound"
)

// TestTUFFetcherFollowsTheRedirectRule: TUF metadata may come through a
// redirect (a CDN), never from a metadata address; a missing file is the
// error type go-tuf ends its root walk on; an oversized one is refused.
func TestTUFFetcherFollowsTheRedirectRule(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved.json":
			http.Redirect(w, r, "/2.root.json", http.StatusFound)
		case "/2.root.json":
			w.Write([]byte(`{"signed":{}}`))
		case "/metadata.json":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	f := &tufFetcher{client: &http.Client{Transport: &outbound.Transport{Policy: outbound.Policy{CrossOrigin: true}}}}
	if b, err := f.DownloadFile(srv.URL+"/moved.json", 1<<10, 0); err != nil || string(b) != `{"signed":{}}` {
		t.Errorf("a same-origin redirect must be followed: %q, %v", b, err)
	}
	if _, err := f.DownloadFile(srv.URL+"/metadata.json", 1<<10, 0); !errors.Is(err, outbound.ErrRedirect) {
		t.Errorf("a redirect to the metadata address must be refused, got %v", err)
	}
	var httpErr *metadata.ErrDownloadHTTP
	if _, err := f.DownloadFile(srv.URL+"/3.root.json", 1<<10, 0); !errors.As(err, &httpErr) || httpErr.StatusCode != http.StatusNotFound {
		t.Errorf("a missing file must be *metadata.ErrDownloadHTTP 404, got %v", err)
	}
	if _, err := f.DownloadFile(srv.URL+"/2.root.json", 4, 0); !errors.Is(err, &metadata.ErrDownloadLengthMismatch{}) {
		t.Errorf("an oversized file must be refused, got %v", err)
	}
}
