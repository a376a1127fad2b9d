package actions

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

func TestIDToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		body    string
		want    string
		wantErr bool
	}{
		{"the runtime's token", http.StatusOK, `{"value":"tok"}`, "tok", false},
		{"a refusal is an error", http.StatusForbidden, `{}`, "", true},
		{"an answer without a token is an error", http.StatusOK, `{"value":""}`, "", true},
		{"an answer that is not JSON is an error", http.StatusOK, `<html>`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("audience") != "sigstore" || r.Header.Get("Authorization") != "Bearer req-tok" {
					http.Error(w, "bad request", http.StatusBadRequest)
					return
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			got, err := IDToken(t.Context(), srv.Client(), srv.URL+"/token?x=1", "req-tok", "sigstore")
			if got != tt.want || (err != nil) != tt.wantErr {
				t.Errorf("expected %q (error %v), found %q, %v", tt.want, tt.wantErr, got, err)
			}
		})
	}
	if _, err := IDToken(t.Context(), http.DefaultClient, "http://[::1", "t", "sigstore"); !errors.Is(err, gate.ErrBadInput) {
		t.Errorf("a bad request URL: expected bad input, found %v", err)
	}
}
