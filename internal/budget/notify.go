package budget

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/clock"
	"github.com/maestro-conductor/releasegate/internal/outbound"
	"github.com/maestro-conductor/releasegate/internal/redact"
)

// SignatureHeader carries "sha256=" + hex(HMAC-SHA256(secret, body)).
const SignatureHeader = "X-Releasegate-Signature-256"

// idempotencyHeader carries the notification's idempotency key; a receiver
// that has seen the key already can drop the retry.
const idempotencyHeader = "Idempotency-Key"

// Notification is the JSON body of a budget webhook. Text makes it usable
// as a Slack incoming-webhook payload as is.
type Notification struct {
	Text           string    `json:"text"`
	Tenant         string    `json:"tenant"`
	Level          Level     `json:"level"`
	Period         Period    `json:"period"`
	PeriodStart    time.Time `json:"period_start"`
	Spent          float64   `json:"spent"`
	Limit          float64   `json:"limit"`
	Unit           Unit      `json:"unit"`
	Actions        []Action  `json:"actions,omitempty"`
	IdempotencyKey string    `json:"idempotency_key"`
}

// NewNotification builds the notification for an assessment. Its key is
// the same for the same tenant, period, level and warning threshold, so a
// tenant is told once per crossing, however often the gate runs.
func NewNotification(a Assessment, acts []Action) Notification {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%s|%g", a.Tenant, a.Period, a.PeriodStart.Format(time.RFC3339), a.Level, a.Threshold)))
	text := fmt.Sprintf("releasegate CI budget %s: %s", a.Level, a.Message)
	if n := len(acts); n > 0 {
		applied := 0
		for _, x := range acts {
			if x.Applied {
				applied++
			}
		}
		text += fmt.Sprintf(" (%d throttling actions planned, %d applied)", n, applied)
	}
	return Notification{Text: text, Tenant: a.Tenant, Level: a.Level, Period: a.Period, PeriodStart: a.PeriodStart,
		Spent: a.Spent, Limit: a.Limit, Unit: a.Unit, Actions: acts, IdempotencyKey: hex.EncodeToString(h[:16])}
}

// Delivery records what happened to one notification.
type Delivery struct {
	Tenant         string `json:"tenant"`
	IdempotencyKey string `json:"idempotency_key"`
	Attempts       int    `json:"attempts"`
	// Status is the last HTTP status, 0 when no response arrived.
	Status    int    `json:"status"`
	Delivered bool   `json:"delivered"`
	Error     string `json:"error,omitempty"`
}

// Notifier posts signed notifications to a webhook with bounded retries.
type Notifier struct {
	// URL of the webhook. It is never printed: it often embeds a token.
	URL string
	// Secret keys the HMAC-SHA256 signature; empty sends unsigned.
	Secret string
	// Client sends the requests; nil means a client with a 10s timeout.
	Client *http.Client
	// Attempts bounds tries per notification; 0 means 4.
	Attempts int
	// Backoff is the first retry delay, doubled each retry; 0 means 1s.
	Backoff time.Duration
	// MaxDelay caps a Retry-After the receiver asks for; 0 means 30s.
	MaxDelay time.Duration
	// Sleep waits; tests replace it. It returns early with ctx's error.
	Sleep func(ctx context.Context, d time.Duration) error
	// Redact, when set, masks secrets in the body before it is signed and
	// sent (a throttling action's error may quote a remote reply).
	Redact func(string) string
}

// Send posts n and retries network errors, 429 and 5xx with exponential
// backoff (honouring Retry-After). Other 4xx are not retried. It never
// returns an error: the outcome is in the Delivery, which the gate records
// without letting it change the verdict.
func (nt *Notifier) Send(ctx context.Context, n Notification) Delivery {
	d := Delivery{Tenant: n.Tenant, IdempotencyKey: n.IdempotencyKey}
	body, err := json.Marshal(n)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	if nt.Redact != nil {
		// the masked text stays valid JSON: secrets are replaced in their
		// JSON-escaped form
		body = []byte(nt.Redact(string(body)))
	}
	client := nt.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second, Transport: &redact.Transport{},
			CheckRedirect: outbound.Policy{}.CheckRedirect()}
	}
	attempts, backoff, maxDelay := nt.Attempts, nt.Backoff, nt.MaxDelay
	if attempts <= 0 {
		attempts = 4
	}
	if backoff <= 0 {
		backoff = time.Second
	}
	if maxDelay <= 0 {
		maxDelay = 30 * time.Second
	}
	sleep := nt.Sleep
	if sleep == nil {
		sleep = clock.Sleep
	}
	for d.Attempts < attempts {
		d.Attempts++
		retry, wait := nt.post(ctx, client, body, n.IdempotencyKey, &d)
		if d.Delivered || !retry || d.Attempts == attempts {
			break
		}
		if wait <= 0 {
			wait = backoff << (d.Attempts - 1)
		}
		if err := sleep(ctx, min(wait, maxDelay)); err != nil {
			d.Error = "gave up waiting to retry: " + err.Error()
			break
		}
	}
	return d
}

func (nt *Notifier) post(ctx context.Context, client *http.Client, body []byte, key string, d *Delivery) (retry bool, wait time.Duration) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, nt.URL, bytes.NewReader(body))
	if err != nil {
		d.Error = "bad webhook URL: " + redactURL(err.Error(), nt.URL)
		return false, 0
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "releasegate")
	req.Header.Set(idempotencyHeader, key)
	if nt.Secret != "" {
		req.Header.Set(SignatureHeader, sign(nt.Secret, body))
	}
	resp, err := client.Do(req)
	if err != nil {
		d.Status = 0
		d.Error = "webhook unreachable: " + redactURL(err.Error(), nt.URL)
		return ctx.Err() == nil, 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	d.Status = resp.StatusCode
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		d.Delivered, d.Error = true, ""
		return false, 0
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		d.Error = fmt.Sprintf("webhook answered %d; retrying", resp.StatusCode)
		if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 {
			wait = time.Duration(s) * time.Second
		}
		return true, wait
	default:
		d.Error = fmt.Sprintf("webhook refused the notification with %d; check the webhook URL and secret", resp.StatusCode)
		return false, 0
	}
}

// sign returns the signature header value for body: "sha256=" followed by
// the hex HMAC-SHA256 of body under secret.
func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header value in constant time; receivers use
// it (and the tests do).
func Verify(secret string, body []byte, header string) bool {
	return hmac.Equal([]byte(sign(secret, body)), []byte(header))
}

// redactURL removes the webhook URL (which often embeds a token) from an
// error message.
func redactURL(msg, url string) string {
	if url == "" {
		return msg
	}
	return strings.ReplaceAll(msg, url, "<webhook-url>")
}
