package evidence

import (
	"bytes"
	"errors"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/redact"
)

// TestCreateRedactsAtEntry: results that quote a secret (a remote error
// body) are masked before anything is made from them or signed, whatever
// the caller did before; a file included byte for byte that holds a secret
// is refused instead (masking it would change the digest the evidence
// vouches for).
func TestCreateRedactsAtEntry(t *testing.T) {
	t.Parallel()
	const secret = "evidence-canary-token-8675309"
	o := testOptions(t, false)
	o.Results[0].Summary = "GitHub answered 401: Authorization: Bearer " + secret
	o.Results[0].Error = "token " + secret
	o.GitHub.Actor = secret
	o.Secrets = &redact.Set{}
	o.Secrets.Add(secret)
	ev, err := Create(o)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ev.TarGz, []byte(secret)) {
		t.Errorf("the compressed tarball holds the secret")
	}
	for _, f := range ev.Files {
		if bytes.Contains(f.Data, []byte(secret)) {
			t.Errorf("%s holds the secret", f.Name)
		}
	}
	md, err := Checklist(o)
	if err != nil || bytes.Contains([]byte(md), []byte(secret)) {
		t.Errorf("the checklist holds the secret (or failed: %v)", err)
	}

	o = testOptions(t, true)
	o.Secrets = &redact.Set{}
	o.Secrets.Add(secret)
	o.Policy.Data = append(o.Policy.Data, []byte("# token: "+secret+"\n")...)
	if _, err := Create(o); !errors.Is(err, ErrLiteralSecret) || !errors.Is(err, gate.ErrBadInput) {
		t.Errorf("a policy holding a secret literally must be refused as bad input, got %v", err)
	}
}
