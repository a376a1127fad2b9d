package evidence

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// BundleMediaType is the Sigstore bundle media type releasegate writes.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// Bundle is a Sigstore bundle (protobuf-specs, JSON form) holding the DSSE
// envelope of the evidence statement and what verifies it: for key-based
// signing a public key hint (the key id), for keyless signing the Fulcio
// certificate.
type Bundle struct {
	MediaType            string               `json:"mediaType"`
	VerificationMaterial VerificationMaterial `json:"verificationMaterial"`
	DSSEEnvelope         *Envelope            `json:"dsseEnvelope"`
}

// VerificationMaterial says which key or certificate signed the envelope.
type VerificationMaterial struct {
	PublicKey   *PublicKeyHint `json:"publicKey,omitempty"`
	Certificate *RawBytes      `json:"certificate,omitempty"`
}

// PublicKeyHint names the verification key by its key id.
type PublicKeyHint struct {
	Hint string `json:"hint"`
}

// RawBytes is a DER certificate, base64 in JSON.
type RawBytes struct {
	RawBytes []byte `json:"rawBytes"`
}

// MaxBundleSize bounds the signature bundle file.
const MaxBundleSize = 16 << 20

// MarshalBundle encodes b in its canonical form: indented JSON with a final
// newline. ParseBundle accepts only this form.
func MarshalBundle(b *Bundle) ([]byte, error) {
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// ParseBundle decodes a bundle written by MarshalBundle. Unknown fields,
// trailing data and any byte that differs from the canonical encoding are
// rejected, so the bundle file cannot carry unsigned extra content.
func ParseBundle(data []byte) (*Bundle, error) {
	if len(data) > MaxBundleSize {
		return nil, fmt.Errorf("%w: bundle is %d bytes; at most %d are accepted", ErrMalformed, len(data), MaxBundleSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var b Bundle
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("%w: bundle: %v", ErrMalformed, err)
	}
	if b.MediaType != BundleMediaType {
		return nil, fmt.Errorf("%w: bundle media type %q; expected %q", ErrMalformed, b.MediaType, BundleMediaType)
	}
	if b.DSSEEnvelope == nil {
		return nil, fmt.Errorf("%w: bundle has no dsseEnvelope; expected the signed evidence statement", ErrMalformed)
	}
	canon, err := MarshalBundle(&b)
	if err != nil {
		return nil, fmt.Errorf("%w: bundle: %v", ErrMalformed, err)
	}
	if !bytes.Equal(canon, data) {
		return nil, fmt.Errorf("%w: bundle bytes differ from its canonical encoding", ErrTampered)
	}
	return &b, nil
}
