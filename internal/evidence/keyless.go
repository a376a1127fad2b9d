package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/provenance"
)

// BundleSigner signs the evidence statement and returns it as a Sigstore
// bundle. *Signer signs with a key; SigstoreSigner signs keyless through
// Fulcio and Rekor; tests plug in an in-process virtual Sigstore.
type BundleSigner interface {
	SignBundle(ctx context.Context, payloadType string, payload []byte) (*Bundle, error)
}

// SignBundle signs payload with the key and wraps the envelope in a bundle
// naming the key by its id.
func (s *Signer) SignBundle(_ context.Context, payloadType string, payload []byte) (*Bundle, error) {
	env, err := s.Sign(payloadType, payload)
	if err != nil {
		return nil, err
	}
	return &Bundle{MediaType: BundleMediaType, VerificationMaterial: VerificationMaterial{PublicKey: &PublicKeyHint{Hint: s.KeyID()}}, DSSEEnvelope: env}, nil
}

// Public Sigstore instances, the defaults of SigstoreSigner.
const (
	DefaultFulcioURL = "https://fulcio.sigstore.dev"
	DefaultRekorURL  = "https://rekor.sigstore.dev"
)

// SigstoreSigner signs keyless: an ephemeral key, a short-lived certificate
// from Fulcio for the identity in an OIDC token, the signature recorded in
// Rekor (and, when TSAURL is set, timestamped by a timestamp authority).
// Every call is a network call; nothing here is used when verifying.
type SigstoreSigner struct {
	// IDToken is the OIDC identity token (e.g. from GitHub Actions with
	// id-token: write, audience "sigstore"). It is sent to Fulcio only.
	IDToken string
	// FulcioURL and RekorURL default to the public Sigstore instances.
	FulcioURL, RekorURL string
	// TSAURL is the full URL of an RFC 3161 timestamp authority; optional.
	TSAURL string
	// Timeout bounds each request (default 30s).
	Timeout time.Duration
}

// Validate says what is missing before any network call.
func (s *SigstoreSigner) Validate() error {
	if strings.Count(s.IDToken, ".") != 2 {
		return &gate.InputError{Input: "--identity-token", Err: errors.New("missing or not a JWT; keyless signing needs an OIDC token (SIGSTORE_ID_TOKEN, or id-token: write in GitHub Actions)")}
	}
	return nil
}

// SignBundle implements BundleSigner with sigstore-go's Fulcio and Rekor
// clients.
func (s *SigstoreSigner) SignBundle(ctx context.Context, payloadType string, payload []byte) (*Bundle, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	kp, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, err
	}
	opts := sign.BundleOptions{
		Context:                    ctx,
		CertificateProvider:        sign.NewFulcio(&sign.FulcioOptions{BaseURL: firstNonEmpty(s.FulcioURL, DefaultFulcioURL), Timeout: s.Timeout, Retries: 1}),
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: s.IDToken},
		TransparencyLogs:           []sign.Transparency{sign.NewRekor(&sign.RekorOptions{BaseURL: firstNonEmpty(s.RekorURL, DefaultRekorURL), Timeout: s.Timeout, Retries: 1})},
	}
	if s.TSAURL != "" {
		opts.TimestampAuthorities = []*sign.TimestampAuthority{sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{URL: s.TSAURL, Timeout: s.Timeout, Retries: 1})}
	}
	pb, err := sign.Bundle(&sign.DSSEData{Data: payload, PayloadType: payloadType}, kp, opts)
	if err != nil {
		return nil, fmt.Errorf("keyless signing (Fulcio %s, Rekor %s): %w", firstNonEmpty(s.FulcioURL, DefaultFulcioURL), firstNonEmpty(s.RekorURL, DefaultRekorURL), err)
	}
	return BundleFromProtobuf(pb)
}

// BundleFromProtobuf converts a sigstore-go protobuf bundle holding a DSSE
// envelope into a Bundle. It fails when the protobuf bundle carries a field
// Bundle does not model, so nothing signed is dropped.
func BundleFromProtobuf(pb *protobundle.Bundle) (*Bundle, error) {
	js, err := protojson.Marshal(pb)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	var b Bundle
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: sigstore bundle: %v", ErrMalformed, err)
	}
	if b.DSSEEnvelope == nil {
		return nil, fmt.Errorf("%w: sigstore bundle has no DSSE envelope", ErrMalformed)
	}
	return &b, nil
}

// keylessResult is what verifyKeyless established.
type keylessResult struct {
	payload        []byte
	signer, issuer string
	log            *provenance.LogEntry
}

// verifyKeyless verifies a keyless bundle offline with sigstore-go: the
// certificate chains to the trusted root at the time the transparency log
// saw the signature, the log entry binds the signature, the DSSE signature
// verifies and its statement names subjectHex, and the certificate's
// identity and issuer match id.
func verifyKeyless(bb []byte, b *Bundle, subjectHex string, o VerifyOptions) (_ *keylessResult, err error) {
	// rekor v1.3.6 (under sigstore-go v0.6.2) dereferences a nil pointer
	// when a log entry's body has no apiVersion; a hostile bundle must be
	// an error, not a crash (found flipping bytes of a keyless bundle; see
	// testdata/fuzz/FuzzVerifyKeylessBundle).
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: keyless bundle: the Sigstore verifier failed on it (%v); the bundle is corrupt", ErrMalformed, r)
		}
	}()
	var pb bundle.Bundle
	if err := pb.UnmarshalJSON(bb); err != nil {
		return nil, fmt.Errorf("%w: keyless bundle: %v", ErrMalformed, err)
	}
	v, err := provenance.NewVerifier(provenance.Options{TrustedRoot: o.TrustedRoot, SkipSCTUnsafe: o.SkipSCTUnsafe})
	if err != nil {
		return nil, err
	}
	sig, err := v.VerifyBlob(&pb, subjectHex, o.Identity)
	if err != nil {
		var mm *provenance.MismatchError
		if errors.As(err, &mm) {
			return nil, fmt.Errorf("%w: %w", ErrIdentity, err)
		}
		return nil, fmt.Errorf("%w: %v; check that --trusted-root is the Sigstore instance that issued the certificate and that no byte of %s changed", ErrSignature, strings.TrimPrefix(err.Error(), provenance.ErrSignature.Error()+": "), BundleFile)
	}
	payload, err := decodePayload(b.DSSEEnvelope)
	if err != nil {
		return nil, err
	}
	return &keylessResult{payload: payload, signer: sig.Signer, issuer: sig.Issuer, log: sig.Log}, nil
}

// LoadTrustedRoot reads a Sigstore trusted_root.json (offline; no TUF).
func LoadTrustedRoot(path string) (root.TrustedMaterial, error) {
	return provenance.LoadTrustedRoot(path)
}
