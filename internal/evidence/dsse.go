package evidence

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
)

// PayloadType is the DSSE payload type of an in-toto statement.
const PayloadType = "application/vnd.in-toto+json"

// Envelope is a DSSE envelope (https://github.com/secure-systems-lab/dsse).
type Envelope struct {
	Payload     string      `json:"payload"`
	PayloadType string      `json:"payloadType"`
	Signatures  []Signature `json:"signatures"`
}

// Signature is one signature in an Envelope.
type Signature struct {
	Sig   string `json:"sig"`
	KeyID string `json:"keyid,omitempty"`
}

// PAE is the DSSE pre-authentication encoding of a payload: the bytes that
// are actually signed.
func PAE(payloadType string, payload []byte) []byte {
	b := []byte("DSSEv1 ")
	b = strconv.AppendInt(b, int64(len(payloadType)), 10)
	b = append(b, ' ')
	b = append(b, payloadType...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(payload)), 10)
	b = append(b, ' ')
	return append(b, payload...)
}

// Signer signs DSSE envelopes with a private key.
type Signer struct {
	key crypto.Signer
}

// NewSigner returns a Signer for an ECDSA P-256 or Ed25519 private key.
func NewSigner(k crypto.Signer) (*Signer, error) {
	switch p := k.(type) {
	case *ecdsa.PrivateKey:
		if p.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: ecdsa curve %s; expected P-256", ErrKeyType, p.Curve.Params().Name)
		}
	case ed25519.PrivateKey:
	default:
		return nil, fmt.Errorf("%w: %T; expected an ECDSA P-256 or Ed25519 key", ErrKeyType, k)
	}
	return &Signer{key: k}, nil
}

// Public returns the signer's public key.
func (s *Signer) Public() crypto.PublicKey { return s.key.Public() }

// KeyID is the hex SHA-256 of the signer's public key in PKIX DER form.
func (s *Signer) KeyID() string { return KeyID(s.key.Public()) }

// Sign signs payload and returns the envelope. ECDSA signatures are
// deterministic (RFC 6979) and Ed25519 ones are by design, so the same
// statement signed twice with the same key gives the same envelope and the
// evidence tarball stays reproducible.
//
// The signature's keyid is left empty. DSSE verifiers that are given a key
// (go-securesystemslib's, under cosign, sigstore-go and slsa-verifier)
// compute their own key id — an SSH-style "SHA256:<base64>" fingerprint —
// and skip a signature whose keyid is set and differs; releasegate before
// this change wrote the hex SHA-256 of the key there, so those clients
// found no signature to check. The keyid is not covered by the signature,
// so an empty one costs nothing: the key is what verifies.
func (s *Signer) Sign(payloadType string, payload []byte) (*Envelope, error) {
	pae := PAE(payloadType, payload)
	var sig []byte
	var err error
	switch k := s.key.(type) {
	case *ecdsa.PrivateKey:
		h := sha256.Sum256(pae)
		sig, err = k.Sign(nil, h[:], crypto.SHA256)
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, pae)
	}
	if err != nil {
		return nil, fmt.Errorf("sign evidence statement: %w", err)
	}
	return &Envelope{
		Payload:     base64.StdEncoding.EncodeToString(payload),
		PayloadType: payloadType,
		Signatures:  []Signature{{Sig: base64.StdEncoding.EncodeToString(sig)}},
	}, nil
}

// KeyID is the hex SHA-256 of a public key in PKIX DER form, or "" when the
// key cannot be marshalled.
func KeyID(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%x", sha256.Sum256(der))
}

// VerifyEnvelope checks that at least one signature of env verifies with
// pub and returns the decoded payload. Signatures by other keys are ignored;
// when none verifies the error wraps ErrSignature.
func VerifyEnvelope(env *Envelope, pub crypto.PublicKey) ([]byte, error) {
	payload, err := decodePayload(env)
	if err != nil {
		return nil, err
	}
	if len(env.Signatures) == 0 {
		return nil, fmt.Errorf("%w: envelope has no signatures; expected one by the release key", ErrSignature)
	}
	pae := PAE(env.PayloadType, payload)
	for _, s := range env.Signatures {
		sig, err := base64.StdEncoding.Strict().DecodeString(s.Sig)
		if err != nil {
			continue
		}
		if verifySig(pub, pae, sig) {
			return payload, nil
		}
	}
	return nil, fmt.Errorf("%w: no signature verifies with key %s; check that --key is the public half of the signing key", ErrSignature, shortID(KeyID(pub)))
}

// decodePayload returns the envelope's payload, checking its type and
// encoding (no signature check).
func decodePayload(env *Envelope) ([]byte, error) {
	payload, err := base64.StdEncoding.Strict().DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload is not base64: %v", ErrMalformed, err)
	}
	if env.PayloadType != PayloadType {
		return nil, fmt.Errorf("%w: payload type %q; expected %q", ErrMalformed, env.PayloadType, PayloadType)
	}
	return payload, nil
}

func verifySig(pub crypto.PublicKey, msg, sig []byte) bool {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		h := sha256.Sum256(msg)
		return ecdsa.VerifyASN1(k, h[:], sig)
	case ed25519.PublicKey:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(k, msg, sig)
	}
	return false
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	if id == "" {
		return "(unknown)"
	}
	return id
}

// Sentinel errors; match them with errors.Is.
var (
	// ErrSignature: the signature does not verify with the given key or
	// identity.
	ErrSignature = errors.New("signature verification failed")
	// ErrIdentity: a keyless signature verifies, but its certificate names
	// another signer identity or OIDC issuer than the one required.
	ErrIdentity = errors.New("signer identity mismatch")
	// ErrKeyType: the key is not an ECDSA P-256 or Ed25519 key.
	ErrKeyType = errors.New("unsupported key type")
	// ErrKeyMismatch: the signing key is not the private half of the
	// verification key.
	ErrKeyMismatch = errors.New("signing key does not match the verification key")
	// ErrMalformed: the bundle or one of its files cannot be parsed.
	ErrMalformed = errors.New("malformed evidence")
	// ErrTampered: a file's bytes differ from what the signed manifest says.
	ErrTampered = errors.New("evidence altered")
	// ErrUnsafeEntry: a tar entry is absolute, climbs with .., is a link or
	// device, is a duplicate or is too large.
	ErrUnsafeEntry = errors.New("unsafe tar entry")
	// ErrSubject: an artifact is not a subject of the statement.
	ErrSubject = errors.New("subject mismatch")
	// ErrNotPassed: the evidence is intact but records a failed release.
	ErrNotPassed = errors.New("release did not pass")
)
