package evidence

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// BundleMediaType is the Sigstore bundle media type releasegate writes.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// BundleMediaTypeV01 is the older Sigstore bundle media type: a certificate
// chain and a transparency-log entry with an inclusion promise (signed entry
// timestamp) but no inclusion proof. Keyless bundles may use it.
const BundleMediaTypeV01 = "application/vnd.dev.sigstore.bundle+json;version=0.1"

// Bundle is a Sigstore bundle (protobuf-specs, JSON form) holding the DSSE
// envelope of the evidence statement and what verifies it: for key-based
// signing a public key hint (the key id), for keyless signing the Fulcio
// certificate.
type Bundle struct {
	MediaType            string               `json:"mediaType"`
	VerificationMaterial VerificationMaterial `json:"verificationMaterial"`
	DSSEEnvelope         *Envelope            `json:"dsseEnvelope"`
}

// VerificationMaterial says which key or certificate signed the envelope
// and, for keyless signing, where the transparency log (Rekor) and any
// timestamp authority recorded the signature.
type VerificationMaterial struct {
	PublicKey            *PublicKeyHint `json:"publicKey,omitempty"`
	Certificate          *RawBytes      `json:"certificate,omitempty"`
	X509CertificateChain *CertChain     `json:"x509CertificateChain,omitempty"`
	TlogEntries          []TlogEntry    `json:"tlogEntries,omitempty"`
	// TimestampVerificationData holds RFC 3161 timestamps over the
	// signature, when a timestamp authority was asked.
	TimestampVerificationData *TimestampData `json:"timestampVerificationData,omitempty"`
}

// Keyless reports whether the bundle carries a certificate rather than a
// public key hint.
func (m VerificationMaterial) Keyless() bool {
	return m.Certificate != nil || m.X509CertificateChain != nil
}

// CertChain is a bundle v0.1 certificate chain, leaf first.
type CertChain struct {
	Certificates []RawBytes `json:"certificates"`
}

// TlogEntry is a transparency-log (Rekor) entry in the protobuf-specs JSON
// form. Every field is typed, so the canonical re-encoding in ParseBundle
// covers each of its bytes.
type TlogEntry struct {
	LogIndex          int64             `json:"logIndex,string"`
	LogID             LogID             `json:"logId"`
	KindVersion       KindVersion       `json:"kindVersion"`
	IntegratedTime    int64             `json:"integratedTime,string"`
	InclusionPromise  *InclusionPromise `json:"inclusionPromise,omitempty"`
	InclusionProof    *InclusionProof   `json:"inclusionProof,omitempty"`
	CanonicalizedBody []byte            `json:"canonicalizedBody"`
}

// LogID names a transparency log by the hash of its key.
type LogID struct {
	KeyID []byte `json:"keyId"`
}

// KindVersion is the Rekor entry type, e.g. dsse 0.0.1 or intoto 0.0.2.
type KindVersion struct {
	Kind    string `json:"kind"`
	Version string `json:"version"`
}

// InclusionPromise is Rekor's signed entry timestamp.
type InclusionPromise struct {
	SignedEntryTimestamp []byte `json:"signedEntryTimestamp"`
}

// InclusionProof is the Merkle inclusion proof of an entry, with the
// signed checkpoint it leads to.
type InclusionProof struct {
	LogIndex   int64      `json:"logIndex,string"`
	RootHash   []byte     `json:"rootHash"`
	TreeSize   int64      `json:"treeSize,string"`
	Hashes     [][]byte   `json:"hashes"`
	Checkpoint Checkpoint `json:"checkpoint"`
}

// Checkpoint is a signed tree head in the note format.
type Checkpoint struct {
	Envelope string `json:"envelope"`
}

// TimestampData holds RFC 3161 signed timestamps.
type TimestampData struct {
	RFC3161Timestamps []SignedTimestamp `json:"rfc3161Timestamps"`
}

// SignedTimestamp is one RFC 3161 timestamp response (DER).
type SignedTimestamp struct {
	SignedTimestamp []byte `json:"signedTimestamp"`
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
	switch {
	case b.MediaType == BundleMediaType:
	case b.MediaType == BundleMediaTypeV01 && b.VerificationMaterial.Keyless():
	default:
		return nil, fmt.Errorf("%w: bundle media type %q; expected %q", ErrMalformed, b.MediaType, BundleMediaType)
	}
	vm := b.VerificationMaterial
	n := 0
	for _, set := range []bool{vm.PublicKey != nil, vm.Certificate != nil, vm.X509CertificateChain != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("%w: bundle names %d of public key, certificate and certificate chain; expected exactly one", ErrMalformed, n)
	}
	if b.DSSEEnvelope == nil {
		return nil, fmt.Errorf("%w: bundle has no dsseEnvelope; expected the signed evidence statement", ErrMalformed)
	}
	// Base64 text must be canonical: decoders skip newlines, and a lenient
	// one ignores the spare bits before the padding, so other text could
	// carry the same signed bytes.
	if !canonicalBase64(b.DSSEEnvelope.Payload) {
		return nil, fmt.Errorf("%w: envelope payload is not canonical base64", ErrTampered)
	}
	for i, sig := range b.DSSEEnvelope.Signatures {
		if !canonicalBase64(sig.Sig) {
			return nil, fmt.Errorf("%w: signature %d is not canonical base64", ErrTampered, i)
		}
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

// canonicalBase64 reports whether s is exactly the standard, padded base64
// encoding of what it decodes to.
func canonicalBase64(s string) bool {
	raw, err := base64.StdEncoding.Strict().DecodeString(s)
	return err == nil && base64.StdEncoding.EncodeToString(raw) == s
}
