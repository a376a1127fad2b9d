package promexport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/prometheus/common/expfmt"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/outbound"
	"github.com/maestro-conductor/releasegate/internal/redact"
)

// job is the Pushgateway job the release metrics are pushed under.
const job = "releasegate"

// groupingLabel names the release in the Pushgateway's grouping key, so
// two releases pushed to one gateway keep their own groups. It is not a
// label of any pushed metric (client_golang refuses a push whose metrics
// carry a grouping label).
const groupingLabel = "release_name"

// errPushURL marks a Pushgateway URL that cannot be used (bad input).
var errPushURL = errors.New("bad pushgateway url")

// Push sends the report's metrics (Registry) to the Pushgateway at rawURL
// with client_golang's push package: a PUT of the text exposition to
// /metrics/job/releasegate/release_name/<release>, which replaces the
// group's previous push so a gate that no longer runs leaves no stale
// series. A user and password in rawURL are sent as basic auth, never in
// the path. c sends the request; it is wrapped so error bodies are cut and
// sanitized (redact.Transport) and, when it has no redirect rule, redirects
// follow the shared one (outbound.Policy). secrets, when set, are masked
// too, and learn the URL's password.
func Push(ctx context.Context, c *http.Client, rawURL string, rep *gate.Report, secrets *redact.Set) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: %q: expected an http(s) base URL such as http://pushgateway:9091", errPushURL, redactedURL(rawURL))
	}
	if secrets == nil {
		secrets = &redact.Set{}
	}
	secrets.AddURL(rawURL)
	user := u.User
	u.User = nil
	reg, err := registry(rep)
	if err != nil {
		return err
	}
	p := push.New(u.String(), job).Client(client(c, secrets)).Gatherer(reg).
		Format(expfmt.NewFormat(expfmt.TypeTextPlain))
	name := ""
	if rep.Release != nil {
		name = rep.Release.Name
	}
	p = p.Grouping(groupingLabel, name)
	if user != nil {
		pw, _ := user.Password()
		p = p.BasicAuth(user.Username(), pw)
	}
	if err := p.PushContext(ctx); err != nil {
		// the error may quote the answer's body, which the transport has
		// already cut and sanitized; the URL it names carries no user
		return fmt.Errorf("push the release metrics to %s: %w", u.Redacted(), err)
	}
	return nil
}

// client returns c with its transport sanitizing error bodies with
// secrets and the shared redirect rule when c has none.
func client(c *http.Client, secrets *redact.Set) *http.Client {
	if c == nil {
		c = &http.Client{}
	}
	cc := *c
	if t, ok := cc.Transport.(*redact.Transport); ok {
		if t.Secrets == nil {
			tt := *t
			tt.Secrets = secrets
			cc.Transport = &tt
		}
	} else {
		cc.Transport = &redact.Transport{Base: c.Transport, Secrets: secrets}
	}
	if cc.CheckRedirect == nil {
		cc.CheckRedirect = outbound.Policy{}.CheckRedirect()
	}
	return &cc
}

func redactedURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable)"
}
