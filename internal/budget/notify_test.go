package budget

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver is a local webhook that checks signatures, counts deliveries
// per idempotency key, and fails the first n requests with status fail.
type receiver struct {
	secret string
	mu     sync.Mutex
	fail   int
	status int
	got    []Notification
	keys   map[string]int
	bad    int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !Verify(rc.secret, body, r.Header.Get(SignatureHeader)) {
		rc.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if rc.fail > 0 {
		rc.fail--
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(rc.status)
		return
	}
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil || n.IdempotencyKey != r.Header.Get(idempotencyHeader) {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	rc.keys[n.IdempotencyKey]++
	rc.got = append(rc.got, n)
	w.WriteHeader(http.StatusNoContent)
}

func TestNotifier(t *testing.T) {
	t.Parallel()
	a := Assessment{Tenant: "globex", Period: Month, PeriodStart: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Level: LevelOver,
		Spent: 130, Limit: 100, Unit: USD, Message: "tenant globex: $130.00 of $100.00 month budget spent"}
	cases := []struct {
		name      string
		fail      int
		status    int
		secret    string
		delivered bool
		attempts  int
		errText   string
	}{
		{"a healthy receiver gets one signed delivery", 0, 0, "s3cret", true, 1, ""},
		{"a 503 then success is retried", 2, http.StatusServiceUnavailable, "s3cret", true, 3, ""},
		{"a 429 is retried", 1, http.StatusTooManyRequests, "s3cret", true, 2, ""},
		{"a receiver that keeps failing is given up after the bound", 10, http.StatusBadGateway, "s3cret", false, 4, "answered 502"},
		{"a wrong secret is refused and not retried", 0, 0, "wrong", false, 1, "refused the notification with 401"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			rc := &receiver{secret: "s3cret", fail: c.fail, status: c.status, keys: map[string]int{}}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			var slept []time.Duration
			nt := &Notifier{URL: srv.URL + "/hook?token=hidden", Secret: c.secret, Backoff: time.Second,
				Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }}
			d := nt.Send(context.Background(), NewNotification(a, nil))
			if d.Delivered != c.delivered || d.Attempts != c.attempts || !strings.Contains(d.Error, c.errText) {
				t.Errorf("delivery %+v; want delivered=%v attempts=%d error containing %q", d, c.delivered, c.attempts, c.errText)
			}
			if c.delivered && (len(rc.got) != 1 || !strings.Contains(rc.got[0].Text, "tenant globex") || rc.got[0].Level != LevelOver) {
				t.Errorf("receiver got %+v", rc.got)
			}
			if len(slept) != c.attempts-1 {
				t.Errorf("slept %v between %d attempts", slept, c.attempts)
			}
		})
	}

	// the same crossing keeps its key; the next warning level gets a new one
	k1 := NewNotification(a, nil).IdempotencyKey
	if k2 := NewNotification(a, []Action{{Kind: ActCancel}}).IdempotencyKey; k1 != k2 {
		t.Error("the idempotency key must not depend on the actions taken")
	}
	w := a
	w.Level, w.Threshold = levelWarn, 0.9
	if NewNotification(w, nil).IdempotencyKey == k1 {
		t.Error("a different level must have a different idempotency key")
	}
}

func TestNotifierUnreachableHidesURL(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hooks/T000/B000/very-secret-token"
	srv.Close()
	nt := &Notifier{URL: url, Attempts: 2, Sleep: func(context.Context, time.Duration) error { return nil }}
	d := nt.Send(context.Background(), Notification{Tenant: "acme"})
	if d.Delivered || d.Attempts != 2 || !strings.Contains(d.Error, "webhook unreachable") || strings.Contains(d.Error, "very-secret-token") {
		t.Errorf("delivery %+v: want two failed attempts with the URL redacted", d)
	}
}
