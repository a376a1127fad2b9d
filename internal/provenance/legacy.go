package provenance

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"strings"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
)

// SimpleSigningMediaType is the layer media type of cosign's legacy image
// signatures (the sha256-<digest>.sig tag).
const SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"

// DSSEMediaType is the layer media type of cosign's legacy attestations
// (the sha256-<digest>.att tag): a DSSE envelope.
const DSSEMediaType = "application/vnd.dsse.envelope.v1+json"

// LegacySignature is one layer of a cosign legacy signature manifest: the
// signed "simple signing" payload and the annotations cosign puts next to
// it.
type LegacySignature struct {
	// Payload is the signed JSON: {"critical":{"image":{"docker-manifest-digest":…},…}}.
	Payload []byte
	// Signature is the annotation dev.cosignproject.cosign/signature (base64).
	Signature string
	// Certificate and Chain are the PEM annotations
	// dev.sigstore.cosign/certificate and …/chain of a keyless signature.
	Certificate, Chain string
	// RekorBundle is the annotation dev.sigstore.cosign/bundle: the Rekor
	// entry with its signed entry timestamp.
	RekorBundle string
	// Digest is the sha256 signed when there is no Payload (a cosign
	// blob bundle signs the blob, which is not in the bundle).
	Digest []byte
}

// rekorBundle is cosign's dev.sigstore.cosign/bundle annotation.
type rekorBundle struct {
	SignedEntryTimestamp string `json:"SignedEntryTimestamp"`
	Payload              struct {
		Body           string `json:"body"`
		IntegratedTime int64  `json:"integratedTime"`
		LogIndex       int64  `json:"logIndex"`
		LogID          string `json:"logID"`
	} `json:"Payload"`
}

// simpleSigning is the part of the payload that is checked.
type simpleSigning struct {
	Critical struct {
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
}

// Bundle turns a legacy signature into a Sigstore bundle (media type v0.1,
// which carries the Rekor entry with its signed entry timestamp and no
// inclusion proof, as cosign's annotation does) signing the payload.
func (l LegacySignature) Bundle() (*bundle.Bundle, error) {
	sig, err := base64.StdEncoding.DecodeString(l.Signature)
	if err != nil || len(sig) == 0 {
		return nil, fmt.Errorf("%w: legacy signature annotation is not base64", ErrMalformedBundle)
	}
	digest := sha256.Sum256(l.Payload)
	if l.Payload == nil && len(l.Digest) == sha256.Size {
		copy(digest[:], l.Digest)
	}
	pb, err := l.protoBundle()
	if err != nil {
		return nil, err
	}
	pb.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
		MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]}, Signature: sig}}
	b, err := newBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("%w: legacy signature: %v", ErrMalformedBundle, err)
	}
	return b, nil
}

// protoBundle is a v0.1 bundle with the verification material of the
// annotations: certificate chain (or a key) and Rekor entry.
func (l LegacySignature) protoBundle() (*protobundle.Bundle, error) {
	pb := &protobundle.Bundle{
		MediaType:            "application/vnd.dev.sigstore.bundle+json;version=0.1",
		VerificationMaterial: &protobundle.VerificationMaterial{},
	}
	if l.Certificate != "" {
		chain := &protocommon.X509CertificateChain{}
		rest := []byte(l.Certificate + "\n" + l.Chain)
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			chain.Certificates = append(chain.Certificates, &protocommon.X509Certificate{RawBytes: b.Bytes})
		}
		if len(chain.Certificates) == 0 {
			return nil, fmt.Errorf("%w: legacy certificate annotation is not PEM", ErrMalformedBundle)
		}
		pb.VerificationMaterial.Content = &protobundle.VerificationMaterial_X509CertificateChain{X509CertificateChain: chain}
	} else {
		pb.VerificationMaterial.Content = &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{}}
	}
	if l.RekorBundle != "" {
		e, err := legacyTlogEntry(l.RekorBundle)
		if err != nil {
			return nil, err
		}
		pb.VerificationMaterial.TlogEntries = []*protorekor.TransparencyLogEntry{e}
	}
	return pb, nil
}

func newBundle(pb *protobundle.Bundle) (b *bundle.Bundle, err error) {
	defer recoverAs(&err, ErrMalformedBundle)
	return bundle.NewBundle(pb)
}

func legacyTlogEntry(annotation string) (*protorekor.TransparencyLogEntry, error) {
	var rb rekorBundle
	if err := json.Unmarshal([]byte(annotation), &rb); err != nil {
		return nil, fmt.Errorf("%w: legacy Rekor bundle annotation: %v", ErrMalformedBundle, err)
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: legacy Rekor bundle body is not base64", ErrMalformedBundle)
	}
	set, err := base64.StdEncoding.DecodeString(rb.SignedEntryTimestamp)
	if err != nil {
		return nil, fmt.Errorf("%w: legacy Rekor signed entry timestamp is not base64", ErrMalformedBundle)
	}
	id, err := hex.DecodeString(rb.Payload.LogID)
	if err != nil {
		return nil, fmt.Errorf("%w: legacy Rekor log id is not hex", ErrMalformedBundle)
	}
	if err := checkRekorBody(body); err != nil {
		return nil, fmt.Errorf("%w: legacy Rekor bundle: %v", ErrMalformedBundle, err)
	}
	var kind struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
	}
	_ = json.Unmarshal(body, &kind) // checked above
	return &protorekor.TransparencyLogEntry{
		LogIndex: rb.Payload.LogIndex, LogId: &protocommon.LogId{KeyId: id},
		KindVersion:    &protorekor.KindVersion{Kind: kind.Kind, Version: kind.APIVersion},
		IntegratedTime: rb.Payload.IntegratedTime, InclusionPromise: &protorekor.InclusionPromise{SignedEntryTimestamp: set},
		CanonicalizedBody: body,
	}, nil
}

// VerifyLegacyImage verifies a cosign legacy signature of the image whose
// manifest has the given sha256 (hex): the signature over the payload
// (keyless identity or key, and the Rekor entry as for blobs), then that
// the payload names this manifest digest.
func (v *Verifier) VerifyLegacyImage(l LegacySignature, manifestHex string, id Identity) (*Signature, error) {
	b, err := l.Bundle()
	if err != nil {
		return nil, err
	}
	var ss simpleSigning
	if err := json.Unmarshal(l.Payload, &ss); err != nil {
		return nil, fmt.Errorf("%w: legacy signature payload is not simple-signing JSON: %v", ErrMalformedBundle, err)
	}
	sum := sha256.Sum256(l.Payload)
	sig, err := v.VerifyBlob(b, hex.EncodeToString(sum[:]), id)
	if err != nil {
		return nil, err
	}
	// Only a verified payload is believed.
	if got, want := ss.Critical.Image.DockerManifestDigest, "sha256:"+manifestHex; got != want {
		return nil, &MismatchError{Kind: ErrMismatchSubject, What: "signed image digest", Expected: want, Got: got,
			Hint: "the signature is for another image; it was copied onto this one"}
	}
	return sig, nil
}

// parseCosignBlobBundle reads the blob bundle `cosign sign-blob --bundle`
// wrote before the Sigstore bundle format ({"base64Signature", "cert",
// "rekorBundle"}). The signed digest is taken from the Rekor entry, which
// must therefore be there: it is a hashedrekord entry naming the blob's
// sha256, and verification checks that the entry binds this signature.
func parseCosignBlobBundle(data []byte) (*bundle.Bundle, error) {
	var lb struct {
		Base64Signature string          `json:"base64Signature"`
		Cert            string          `json:"cert"`
		RekorBundle     json.RawMessage `json:"rekorBundle"`
	}
	if err := json.Unmarshal(data, &lb); err != nil {
		return nil, fmt.Errorf("%w: cosign blob bundle: %v", ErrMalformedBundle, err)
	}
	if len(lb.RekorBundle) == 0 || string(lb.RekorBundle) == "null" {
		return nil, fmt.Errorf("%w: a cosign blob bundle without its Rekor entry (rekorBundle) cannot be verified offline; "+
			"sign with the transparency log, or with --new-bundle-format", ErrMalformedBundle)
	}
	var rb rekorBundle
	if err := json.Unmarshal(lb.RekorBundle, &rb); err != nil {
		return nil, fmt.Errorf("%w: cosign blob bundle rekorBundle: %v", ErrMalformedBundle, err)
	}
	body, err := base64.StdEncoding.DecodeString(rb.Payload.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: cosign blob bundle: Rekor entry body is not base64", ErrMalformedBundle)
	}
	var entry struct {
		Kind string `json:"kind"`
		Spec struct {
			Data struct {
				Hash struct {
					Algorithm string `json:"algorithm"`
					Value     string `json:"value"`
				} `json:"hash"`
			} `json:"data"`
		} `json:"spec"`
	}
	if err := json.Unmarshal(body, &entry); err != nil || entry.Kind != "hashedrekord" || entry.Spec.Data.Hash.Algorithm != "sha256" {
		return nil, fmt.Errorf("%w: cosign blob bundle: expected a hashedrekord Rekor entry with a sha256, got kind %q", ErrMalformedBundle, entry.Kind)
	}
	digest, err := hex.DecodeString(entry.Spec.Data.Hash.Value)
	if err != nil || len(digest) != sha256.Size {
		return nil, fmt.Errorf("%w: cosign blob bundle: Rekor entry hash %q is not a sha256", ErrMalformedBundle, entry.Spec.Data.Hash.Value)
	}
	cert := lb.Cert
	if cert != "" && !strings.HasPrefix(strings.TrimSpace(cert), "-----BEGIN") {
		pemBytes, err := base64.StdEncoding.DecodeString(cert)
		if err != nil {
			return nil, fmt.Errorf("%w: cosign blob bundle: cert is neither base64 nor PEM", ErrMalformedBundle)
		}
		cert = string(pemBytes)
	}
	return LegacySignature{Signature: lb.Base64Signature, Certificate: cert, RekorBundle: string(lb.RekorBundle), Digest: digest}.Bundle()
}

// AttestationBundle turns a legacy attestation (Payload is a DSSE envelope,
// signed inside; the annotations carry the certificate and the Rekor
// entry) into a Sigstore bundle v0.1 with that envelope.
func (l LegacySignature) AttestationBundle() (*bundle.Bundle, error) {
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
		Signatures  []struct {
			KeyID string `json:"keyid"`
			Sig   string `json:"sig"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal(l.Payload, &env); err != nil {
		return nil, fmt.Errorf("%w: legacy attestation is not a DSSE envelope: %v", ErrMalformedBundle, err)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil || len(env.Signatures) == 0 {
		return nil, fmt.Errorf("%w: legacy attestation: expected a base64 payload and a signature", ErrMalformedBundle)
	}
	denv := &protodsse.Envelope{Payload: payload, PayloadType: env.PayloadType}
	for _, sg := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(sg.Sig)
		if err != nil {
			return nil, fmt.Errorf("%w: legacy attestation signature is not base64", ErrMalformedBundle)
		}
		denv.Signatures = append(denv.Signatures, &protodsse.Signature{Sig: sig, Keyid: sg.KeyID})
	}
	pb, err := l.protoBundle()
	if err != nil {
		return nil, err
	}
	pb.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: denv}
	b, err := newBundle(pb)
	if err != nil {
		return nil, fmt.Errorf("%w: legacy attestation: %v", ErrMalformedBundle, err)
	}
	return b, nil
}
