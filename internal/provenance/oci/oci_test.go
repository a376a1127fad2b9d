package oci

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestRegistryErrorBodyIsSanitized: a registry (or a proxy in front of it)
// that answers an error page quoting the request cannot carry the
// registry credentials into the error the provenance gate reports.
func TestRegistryErrorBodyIsSanitized(t *testing.T) {
	t.Parallel()
	const user, pass = "robot", "registry-pass-canary-31337"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		dump, _ := httputil.DumpRequest(r, true)
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "ECHO-MARKER\n%s", dump)
	}))
	t.Cleanup(srv.Close)
	d, err := name.NewDigest(strings.TrimPrefix(srv.URL, "http://") + "/app@sha256:" + strings.Repeat("a", 64))
	if err != nil {
		t.Fatal(err)
	}
	_, err = LegacySignatures(context.Background(), d, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	if err == nil {
		t.Fatal("expected the 403 to be an error")
	}
	msg := err.Error()
	for _, s := range []string{pass, base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))} {
		if strings.Contains(msg, s) {
			t.Errorf("the error holds the credential %q:\n%s", s, msg)
		}
	}
	if !strings.Contains(msg, "ECHO-MARKER") {
		t.Errorf("the (sanitized) reply should still be quoted, so this test can fail:\n%s", msg)
	}
}
