package cli

import (
	"context"
	"errors"
	"flag"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/actions"
	"github.com/maestro-conductor/releasegate/internal/evidence"
	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/provenance"
)

// keylessFlags are the keyless signing flags of evidence create and ledger
// root.
type keylessFlags struct {
	keyless                     bool
	tokenFile                   string
	fulcioURL, rekorURL, tsaURL string
}

func (k *keylessFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&k.keyless, "keyless", false, "sign keyless: a Fulcio certificate for the OIDC token's identity, logged in Rekor (network; opt-in)")
	fs.StringVar(&k.tokenFile, "identity-token-file", "", "keyless: file holding the OIDC token (default: SIGSTORE_ID_TOKEN, then the GitHub Actions ID token)")
	fs.StringVar(&k.fulcioURL, "fulcio-url", evidence.DefaultFulcioURL, "keyless: Fulcio instance")
	fs.StringVar(&k.rekorURL, "rekor-url", evidence.DefaultRekorURL, "keyless: Rekor instance")
	fs.StringVar(&k.tsaURL, "tsa-url", "", "keyless: RFC 3161 timestamp authority URL (optional)")
}

// registerIdentityFlags registers the keyless signer identity flags that
// every offline keyless verification takes (cosign's names).
func registerIdentityFlags(fs *flag.FlagSet, id *provenance.Identity) {
	fs.StringVar(&id.Identity, "certificate-identity", "", "keyless: the exact signer identity (certificate SAN), e.g. a workflow URI")
	fs.StringVar(&id.IdentityRegexp, "certificate-identity-regexp", "", "keyless: an anchored regexp (^…$) for the signer identity; one matching anyone is refused")
	fs.StringVar(&id.Issuer, "certificate-oidc-issuer", "", "keyless: the exact OIDC issuer, e.g. https://token.actions.githubusercontent.com")
	fs.StringVar(&id.IssuerRegexp, "certificate-oidc-issuer-regexp", "", "keyless: an anchored regexp for the OIDC issuer")
}

// signer finds the OIDC token and builds the keyless signer. The token is
// redacted from all output.
func (k *keylessFlags) signer(ctx context.Context, o *IO) (evidence.BundleSigner, error) {
	token, err := k.token(ctx, o)
	if err != nil {
		return nil, err
	}
	o.Redact([]string{token})
	s := &evidence.SigstoreSigner{IDToken: token, FulcioURL: k.fulcioURL, RekorURL: k.rekorURL, TSAURL: k.tsaURL, Timeout: 30 * time.Second}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if o.keylessSigner != nil {
		return o.keylessSigner(s), nil
	}
	return s, nil
}

func (k *keylessFlags) token(ctx context.Context, o *IO) (string, error) {
	if k.tokenFile != "" {
		b, err := fsx.ReadFile(ctx, k.tokenFile, fsx.MaxKeySize)
		if err != nil {
			return "", &gate.InputError{Input: k.tokenFile, Err: err}
		}
		return strings.TrimSpace(string(b)), nil
	}
	if t := o.Getenv("SIGSTORE_ID_TOKEN"); t != "" {
		return t, nil
	}
	reqURL, reqTok := o.Getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), o.Getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if reqURL == "" || reqTok == "" {
		return "", &gate.InputError{Input: "--keyless", Err: errors.New("no OIDC token; set SIGSTORE_ID_TOKEN, pass --identity-token-file, or run in GitHub Actions with permissions: id-token: write")}
	}
	o.Redact([]string{reqTok})
	return actions.IDToken(ctx, o.httpClient(30*time.Second), reqURL, reqTok, "sigstore")
}
