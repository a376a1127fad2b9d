package provenance

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/maestro-conductor/releasegate/internal/fsx"
)

// intotoPayloadType is the DSSE payload type of in-toto statements.
const intotoPayloadType = "application/vnd.in-toto+json"

// Options configure a Verifier. Set TrustedRoot for keyless verification
// (and for the transparency log of key-signed bundles), Key for key-based.
type Options struct {
	// TrustedRoot is the pinned Sigstore trust material: Fulcio CAs, Rekor
	// and CT log keys, TSAs. Load it once per run with LoadTrustedRoot.
	TrustedRoot root.TrustedMaterial
	// Key, when set, verifies signatures made with this public key
	// instead of a Fulcio certificate.
	Key crypto.PublicKey
	// IgnoreTlogUnsafe skips the transparency-log check for key-signed
	// bundles without a trusted root (cosign's --insecure-ignore-tlog).
	// Results then carry a warning. Never allowed for keyless.
	IgnoreTlogUnsafe bool
	// SkipSCTUnsafe skips the certificate-transparency check of keyless
	// certificates. Only tests with a fake CA that issues no SCTs use it.
	SkipSCTUnsafe bool
}

// Verifier checks Sigstore bundles against one trust configuration. It is
// safe for concurrent use; build it once per run.
type Verifier struct {
	opts Options
	sev  *verify.SignedEntityVerifier
}

// LoadTrustedRoot reads a trusted_root.json.
func LoadTrustedRoot(path string) (*root.TrustedRoot, error) {
	data, err := fsx.ReadFile(context.Background(), path, fsx.MaxDocSize)
	if err != nil {
		return nil, fmt.Errorf("trusted root %s: %w", path, err)
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("trusted root %s: %w; expected a Sigstore trusted_root.json", path, err)
	}
	return tr, nil
}

// LoadPublicKey reads a PEM public key (ECDSA, RSA or Ed25519).
func LoadPublicKey(path string) (crypto.PublicKey, error) {
	data, err := fsx.ReadFile(context.Background(), path, fsx.MaxKeySize)
	if err != nil {
		return nil, err
	}
	k, err := cryptoutils.UnmarshalPEMToPublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w; expected a PEM \"PUBLIC KEY\" block", path, err)
	}
	return k, nil
}

// NewVerifier validates the options and prepares a verifier.
func NewVerifier(o Options) (*Verifier, error) {
	var material root.TrustedMaterialCollection
	if o.TrustedRoot != nil {
		material = append(material, o.TrustedRoot)
	}
	if o.Key != nil {
		kv, err := keyVerifier(o.Key)
		if err != nil {
			return nil, err
		}
		material = append(material, root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return kv, nil
		}))
	}
	var vo []verify.VerifierOption
	switch {
	case o.TrustedRoot == nil && o.Key == nil:
		return nil, errors.New("no trust configured: expected a trusted root (trusted_root.json) or a public key")
	case o.TrustedRoot == nil && !o.IgnoreTlogUnsafe:
		return nil, errors.New("a public key without a trusted root cannot check the transparency log: pass the trusted root, or accept the risk with insecure-ignore-tlog")
	case o.TrustedRoot == nil:
		vo = append(vo, verify.WithoutAnyObserverTimestampsUnsafe())
	default:
		// The certificate chain is checked at the time the transparency
		// log (or a timestamp authority) saw the signature, so bundles
		// stay verifiable after their short-lived certificates expire.
		vo = append(vo, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
		if o.Key == nil && !o.SkipSCTUnsafe {
			vo = append(vo, verify.WithSignedCertificateTimestamps(1))
		}
	}
	sev, err := verify.NewSignedEntityVerifier(material, vo...)
	if err != nil {
		return nil, err
	}
	return &Verifier{opts: o, sev: sev}, nil
}

func keyVerifier(k crypto.PublicKey) (root.TimeConstrainedVerifier, error) {
	h := crypto.SHA256
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 384:
			h = crypto.SHA384
		case 521:
			h = crypto.SHA512
		}
	case *rsa.PublicKey:
	case ed25519.PublicKey:
		h = crypto.Hash(0)
	default:
		return nil, fmt.Errorf("public key type %T: expected ECDSA, RSA or Ed25519", k)
	}
	sv, err := signature.LoadVerifier(k, h)
	if err != nil {
		return nil, err
	}
	return root.NewExpiringKey(sv, time.Time{}, time.Time{}), nil
}

// Warnings lists what this trust configuration does not check.
func (v *Verifier) Warnings() []string {
	if v.opts.TrustedRoot == nil {
		return []string{"transparency log not checked (insecure-ignore-tlog): a leaked key can sign without a public record"}
	}
	return nil
}

// LogEntry is the transparency-log record of a verified bundle.
type LogEntry struct {
	// Index is the Rekor log index.
	Index int64
	// IntegratedTime is when Rekor logged the entry.
	IntegratedTime time.Time
}

// Attestation is a verified SLSA provenance for one artifact.
type Attestation struct {
	// Subject is the matching subject's name in the statement.
	Subject string
	// Evidence is what the provenance and its certificate say.
	Evidence Evidence
	// Log is the transparency-log entry, when the bundle has one.
	Log *LogEntry
}

// VerifyProvenance verifies a bundle carrying SLSA provenance for the
// artifact with the given sha256 digest (hex) and applies the policy. The
// error wraps ErrSignature, ErrMalformedBundle or a *MismatchError.
func (v *Verifier) VerifyProvenance(entity verify.SignedEntity, sha256Hex string, p Policy) (_ *Attestation, err error) {
	defer recoverAs(&err, ErrSignature)
	if v.opts.Key != nil {
		return nil, errors.New("SLSA provenance is verified against trusted builders, not a key: drop the public key")
	}
	payload, err := statementPayload(entity)
	if err != nil {
		return nil, err
	}
	// The subject is matched first, on the statement as sent, to name a
	// mismatch precisely; a failure here is a failure whoever signed it.
	// sigstore-go then checks the signature, the chain and the log entry,
	// and matches the digest against the signed statement again.
	st, err := ParseStatement(payload)
	if err != nil {
		return nil, err
	}
	name, ok := st.HasSubject(sha256Hex)
	if !ok {
		return nil, &MismatchError{Kind: ErrMismatchSubject, What: "artifact digest", Expected: "one of the provenance subjects " + subjectList(st),
			Got: "sha256:" + sha256Hex, Hint: "the artifact differs from what was built, or the provenance is for another artifact"}
	}
	digest, err := hex.DecodeString(sha256Hex)
	if err != nil {
		return nil, fmt.Errorf("sha256 digest %q: expected 64 hex digits", sha256Hex)
	}
	if err := v.needLogEntry(entity); err != nil {
		return nil, err
	}
	res, err := v.sev.Verify(entity, verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithoutIdentitiesUnsafe()))
	if err != nil {
		return nil, signatureError(err)
	}
	prov, err := st.SLSA()
	if err != nil {
		return nil, err
	}
	var cert *certificate.Summary
	if res.Signature != nil {
		cert = res.Signature.Certificate
	}
	if cert == nil {
		return nil, &MismatchError{Kind: ErrUntrustedBuilder, What: "signer", Expected: "a keyless certificate of a trusted builder", Got: "a key signature"}
	}
	ev := evidenceFrom(prov, cert)
	if err := p.Check(ev); err != nil {
		return nil, err
	}
	return &Attestation{Subject: name, Evidence: ev, Log: logEntry(entity)}, nil
}

// Signature is a verified blob signature.
type Signature struct {
	// Signer is the certificate identity, or "public key".
	Signer string
	// Issuer is the OIDC issuer of a keyless signer.
	Issuer string
	// Log is the transparency-log entry, when checked.
	Log *LogEntry
}

// VerifyBlob verifies a bundle signing the blob with the given sha256
// digest: a message signature, or a DSSE attestation with the blob as a
// subject. Keyless bundles must match id; with a key, id is ignored.
func (v *Verifier) VerifyBlob(entity verify.SignedEntity, sha256Hex string, id Identity) (_ *Signature, err error) {
	defer recoverAs(&err, ErrSignature)
	digest, err := hex.DecodeString(sha256Hex)
	if err != nil || len(digest) != 32 {
		return nil, fmt.Errorf("sha256 digest %q: expected 64 hex digits", sha256Hex)
	}
	if err := v.needLogEntry(entity); err != nil {
		return nil, err
	}
	// A DSSE attestation signs a statement: name a missing subject before
	// the cryptography does, with the subjects it has.
	if sc, err := entity.SignatureContent(); err == nil && sc.EnvelopeContent() != nil {
		payload, err := statementPayload(entity)
		if err != nil {
			return nil, err
		}
		st, err := ParseStatement(payload)
		if err != nil {
			return nil, err
		}
		if _, ok := st.HasSubject(sha256Hex); !ok {
			return nil, &MismatchError{Kind: ErrMismatchSubject, What: "blob digest", Expected: "one of the attestation subjects " + subjectList(st),
				Got: "sha256:" + sha256Hex, Hint: "the attestation is for another file"}
		}
	}
	var pol verify.PolicyBuilder
	if v.opts.Key != nil {
		pol = verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithKey())
	} else {
		pol = verify.NewPolicy(verify.WithArtifactDigest("sha256", digest), verify.WithoutIdentitiesUnsafe())
	}
	res, err := v.sev.Verify(entity, pol)
	if err != nil {
		return nil, signatureError(err)
	}
	sig := &Signature{Signer: "public key", Log: logEntry(entity)}
	if v.opts.Key == nil {
		var cert *certificate.Summary
		if res.Signature != nil {
			cert = res.Signature.Certificate
		}
		if err := id.checkSummary(cert); err != nil {
			return nil, err
		}
		sig.Signer, sig.Issuer = cert.SubjectAlternativeName, cert.Issuer
	}
	return sig, nil
}

func statementPayload(entity verify.SignedEntity) ([]byte, error) {
	payloadType, payload64, err := dsseContent(entity, "a DSSE envelope with an in-toto statement")
	if err != nil {
		return nil, err
	}
	if payloadType != intotoPayloadType {
		return nil, fmt.Errorf("%w: DSSE payload type %q, expected %s", ErrMalformedBundle, payloadType, intotoPayloadType)
	}
	return decodePayload(payload64)
}

// dsseContent returns the payload type and the base64 payload of entity's
// DSSE envelope; a bundle with a plain signature is ErrMalformedBundle,
// saying it expected what.
func dsseContent(entity verify.SignedEntity, what string) (payloadType, payload64 string, err error) {
	sc, err := entity.SignatureContent()
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrMalformedBundle, err)
	}
	env := sc.EnvelopeContent()
	if env == nil || env.RawEnvelope() == nil {
		return "", "", fmt.Errorf("%w: the bundle holds a plain signature, expected %s", ErrMalformedBundle, what)
	}
	raw := env.RawEnvelope()
	return raw.PayloadType, raw.Payload, nil
}

func decodePayload(payload64 string) ([]byte, error) {
	payload, err := base64.StdEncoding.DecodeString(payload64)
	if err != nil {
		return nil, fmt.Errorf("%w: DSSE payload is not base64: %v", ErrMalformedBundle, err)
	}
	return payload, nil
}

// needLogEntry says plainly that a bundle without a transparency-log entry
// cannot verify against a trusted root (sigstore-go's message is a count).
func (v *Verifier) needLogEntry(entity verify.SignedEntity) error {
	if v.opts.TrustedRoot == nil {
		return nil
	}
	entries, err := entity.TlogEntries()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedBundle, err)
	}
	if len(entries) == 0 {
		return fmt.Errorf("%w: the bundle has no transparency-log entry; expected a Rekor entry (sign with the transparency log on), or verify a key signature with insecure-ignore-tlog", ErrSignature)
	}
	return nil
}

func signatureError(err error) error {
	return fmt.Errorf("%w: %v", ErrSignature, err)
}

func logEntry(entity verify.SignedEntity) *LogEntry {
	entries, err := entity.TlogEntries()
	if err != nil || len(entries) == 0 {
		return nil
	}
	e := entries[0]
	return &LogEntry{Index: e.LogIndex(), IntegratedTime: e.IntegratedTime().UTC()}
}

func subjectList(st *Statement) string {
	s := ""
	for i, sub := range st.Subjects {
		if i == 3 {
			s += fmt.Sprintf(", … (%d in all)", len(st.Subjects))
			break
		}
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s (sha256:%.12s…)", sub.Name, sub.Digest["sha256"])
	}
	return "[" + s + "]"
}

// VerifyEnvelope verifies a keyless bundle holding a DSSE envelope of
// payloadType whose payload the caller checks with checkPayload (before any
// cryptography, so that a bundle for another document is named precisely):
// then the envelope signature, the certificate chaining to the trusted root
// at the time the transparency log saw the signature, and its identity
// matching id. Errors from checkPayload are returned as they are; the
// others wrap ErrSignature, ErrMalformedBundle or a *MismatchError
// (ErrMismatchSubject for another payload type, ErrMismatchIdentity).
func (v *Verifier) VerifyEnvelope(entity verify.SignedEntity, payloadType string, checkPayload func([]byte) error, id Identity) (_ *Signature, err error) {
	defer recoverAs(&err, ErrSignature)
	if v.opts.Key != nil || v.opts.TrustedRoot == nil {
		return nil, errors.New("an envelope is verified keyless: pass a trusted root, not a public key")
	}
	got, payload64, err := dsseContent(entity, "a DSSE envelope")
	if err != nil {
		return nil, err
	}
	if got != payloadType {
		return nil, &MismatchError{Kind: ErrMismatchSubject, What: "DSSE payload type", Expected: payloadType, Got: got,
			Hint: "the bundle signs another kind of document"}
	}
	payload, err := decodePayload(payload64)
	if err != nil {
		return nil, err
	}
	if err := checkPayload(payload); err != nil {
		return nil, err
	}
	if err := v.needLogEntry(entity); err != nil {
		return nil, err
	}
	res, err := v.sev.Verify(entity, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithoutIdentitiesUnsafe()))
	if err != nil {
		return nil, signatureError(err)
	}
	var cert *certificate.Summary
	if res.Signature != nil {
		cert = res.Signature.Certificate
	}
	if err := id.checkSummary(cert); err != nil {
		return nil, err
	}
	return &Signature{Signer: cert.SubjectAlternativeName, Issuer: cert.Issuer, Log: logEntry(entity)}, nil
}
