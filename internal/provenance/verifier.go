package provenance

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
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
	// Instance is the Sigstore instance TrustedRoot belongs to:
	// InstancePublicGood (the default) requires a transparency-log entry
	// and certificates with SCTs; InstanceGitHub (GitHub's own instance,
	// for private repositories) has no log and requires a signed
	// timestamp from its timestamp authority instead.
	Instance string
}

// Sigstore instances a trusted root can belong to.
const (
	InstancePublicGood = "public-good"
	InstanceGitHub     = "github"
)

// Verifier checks Sigstore bundles against one trust configuration. It is
// safe for concurrent use; build it once per run.
type Verifier struct {
	opts Options
	sev  *verify.Verifier
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

// LoadTrustedRootFor reads a trusted root for a Sigstore instance: a
// trusted_root.json, or the JSON lines `gh attestation trusted-root`
// prints (see ParseTrustedRoot).
func LoadTrustedRootFor(path, instance string) (*root.TrustedRoot, error) {
	data, err := fsx.ReadFile(context.Background(), path, fsx.MaxDocSize)
	if err != nil {
		return nil, err
	}
	tr, err := ParseTrustedRoot(data, instance)
	if err != nil {
		return nil, fmt.Errorf("trusted root %s: %w", path, err)
	}
	return tr, nil
}

// instanceFulcio is the host of each instance's Fulcio as trusted roots
// name it.
var instanceFulcio = map[string]string{InstancePublicGood: "fulcio.sigstore.dev", InstanceGitHub: "fulcio.githubapp.com"}

// ParseTrustedRoot reads one trusted_root.json, or JSON lines holding one
// root per line as `gh attestation trusted-root` prints them; of several
// it takes the one whose certificate authority is the instance's Fulcio
// (fulcio.sigstore.dev, fulcio.githubapp.com).
func ParseTrustedRoot(data []byte, instance string) (*root.TrustedRoot, error) {
	if instance == "" {
		instance = InstancePublicGood
	}
	var lines [][]byte
	for _, l := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		if l = bytes.TrimSpace(l); len(l) > 0 {
			lines = append(lines, l)
		}
	}
	if len(lines) <= 1 || !json.Valid(lines[0]) {
		tr, err := root.NewTrustedRootFromJSON(data)
		if err != nil {
			return nil, fmt.Errorf("%w; expected a Sigstore trusted_root.json", err)
		}
		return tr, nil
	}
	var seen []string
	for i, l := range lines {
		tr, err := root.NewTrustedRootFromJSON(l)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w; expected one Sigstore trusted root per line (gh attestation trusted-root)", i+1, err)
		}
		for _, ca := range tr.FulcioCertificateAuthorities() {
			f, ok := ca.(*root.FulcioCertificateAuthority)
			if !ok {
				continue
			}
			seen = append(seen, f.URI)
			if strings.Contains(f.URI, instanceFulcio[instance]) {
				return tr, nil
			}
		}
	}
	return nil, fmt.Errorf("no root of the %s instance (Fulcio %s) among %d roots (certificate authorities %s)", instance, instanceFulcio[instance], len(lines), strings.Join(seen, ", "))
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
		vo = append(vo, verify.WithNoObserverTimestamps())
	case o.Instance != "" && o.Instance != InstancePublicGood && o.Instance != InstanceGitHub:
		return nil, fmt.Errorf("sigstore instance %q: expected %s or %s", o.Instance, InstancePublicGood, InstanceGitHub)
	case o.Instance == InstanceGitHub && o.Key == nil:
		// GitHub's instance logs nothing: the certificate chain is checked
		// at the time its timestamp authority signed, and its Fulcio
		// issues no SCTs.
		vo = append(vo, verify.WithSignedTimestamps(1))
	default:
		// The certificate chain is checked at the time the transparency
		// log (or a timestamp authority) saw the signature, so bundles
		// stay verifiable after their short-lived certificates expire. A
		// Rekor v2 entry has no integrated time: its bundle must carry a
		// timestamp authority's signed timestamp, or it has no observed
		// time and is refused.
		vo = append(vo, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
		if o.Key == nil && !o.SkipSCTUnsafe {
			vo = append(vo, verify.WithSignedCertificateTimestamps(1))
		}
	}
	sev, err := verify.NewVerifier(material, vo...)
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
	// IntegratedTime is when Rekor v1 logged the entry; zero for Rekor v2,
	// whose entries carry no time (SignedTime is then the observed time).
	IntegratedTime time.Time
	// Rekor2 reports a Rekor v2 (tile-based) entry.
	Rekor2 bool
}

// Observed says where and when a verified bundle's signature was seen:
// the Rekor entry, the timestamp authority's time, or both.
func Observed(l *LogEntry, signed time.Time) string {
	var parts []string
	switch {
	case l != nil && l.Rekor2:
		parts = append(parts, fmt.Sprintf("rekor v2 log index %d", l.Index))
	case l != nil:
		parts = append(parts, fmt.Sprintf("rekor log index %d at %s", l.Index, l.IntegratedTime.Format(time.RFC3339)))
	}
	if !signed.IsZero() {
		parts = append(parts, "timestamp authority at "+signed.UTC().Format(time.RFC3339))
	}
	return strings.Join(parts, "; ")
}

// Attestation is a verified SLSA provenance for one artifact.
type Attestation struct {
	// Subject is the matching subject's name in the statement.
	Subject string
	// Evidence is what the provenance and its certificate say.
	Evidence Evidence
	// Log is the transparency-log entry, when the bundle has one.
	Log *LogEntry
	// SignedTime is the earliest time a trusted timestamp authority
	// signed for the signature; zero without one.
	SignedTime time.Time
}

// VerifyProvenance verifies a bundle carrying SLSA provenance for the
// artifact with the given sha256 digest (hex) and applies the policy. The
// error wraps ErrSignature, ErrMalformedBundle or a *MismatchError.
func (v *Verifier) VerifyProvenance(entity verify.SignedEntity, sha256Hex string, p Policy) (*Attestation, error) {
	return v.VerifyProvenanceDigest(entity, "sha256", sha256Hex, p)
}

// VerifyProvenanceDigest is VerifyProvenance for an artifact digest of
// another algorithm ("sha512" for npm packages; gh attestation verify
// --digest-alg).
func (v *Verifier) VerifyProvenanceDigest(entity verify.SignedEntity, alg, digestHex string, p Policy) (_ *Attestation, err error) {
	defer recoverAs(&err, ErrSignature)
	size := map[string]int{"sha256": 32, "sha512": 64}[alg]
	if size == 0 {
		return nil, fmt.Errorf("digest algorithm %q: expected sha256 or sha512", alg)
	}
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
	name, ok := st.HasSubjectDigest(alg, digestHex)
	if !ok {
		return nil, &MismatchError{Kind: ErrMismatchSubject, What: "artifact digest", Expected: "one of the provenance subjects " + subjectList(st),
			Got: alg + ":" + digestHex, Hint: "the artifact differs from what was built, or the provenance is for another artifact"}
	}
	digest, err := hex.DecodeString(digestHex)
	if err != nil || len(digest) != size {
		return nil, fmt.Errorf("%s digest %q: expected %d hex digits", alg, digestHex, 2*size)
	}
	if err := v.needLogEntry(entity); err != nil {
		return nil, err
	}
	res, err := v.sev.Verify(entity, verify.NewPolicy(verify.WithArtifactDigest(alg, digest), verify.WithoutIdentitiesUnsafe()))
	if err != nil {
		return nil, v.signatureError(entity, err)
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
	return &Attestation{Subject: name, Evidence: ev, Log: logEntry(entity), SignedTime: signedTime(res)}, nil
}

// Signature is a verified blob signature.
type Signature struct {
	// Signer is the certificate identity, or "public key".
	Signer string
	// Issuer is the OIDC issuer of a keyless signer.
	Issuer string
	// Log is the transparency-log entry, when checked.
	Log *LogEntry
	// SignedTime is the earliest trusted timestamp-authority time.
	SignedTime time.Time
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
		return nil, v.signatureError(entity, err)
	}
	sig := &Signature{Signer: "public key", Log: logEntry(entity), SignedTime: signedTime(res)}
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
	if v.opts.Instance == InstanceGitHub && v.opts.Key == nil {
		ts, err := entity.Timestamps()
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformedBundle, err)
		}
		if len(ts) == 0 {
			if err := v.instanceMismatch(entity); err != nil {
				return err
			}
			return fmt.Errorf("%w: the bundle has no signed timestamp; GitHub's Sigstore instance vouches for the signing time with its timestamp authority, expected an RFC 3161 timestamp in the bundle", ErrSignature)
		}
		return checkKindVersions(entity)
	}
	if len(entries) == 0 {
		if err := v.instanceMismatch(entity); err != nil {
			return err
		}
		return fmt.Errorf("%w: the bundle has no transparency-log entry; expected a Rekor entry (sign with the transparency log on), or verify a key signature with insecure-ignore-tlog", ErrSignature)
	}
	if v.opts.Key == nil {
		if err := needSignedTime(entity, entries); err != nil {
			return err
		}
	}
	return checkKindVersions(entity)
}

// needSignedTime refuses a keyless bundle whose only log entries are Rekor
// v2 ones and that has no signed timestamp: a Rekor v2 entry records no
// time (no integrated time, no SET), so nothing would say when the
// short-lived certificate was used.
func needSignedTime(entity verify.SignedEntity, entries []*tlog.Entry) error {
	for _, e := range entries {
		if !e.IsRekorV2() {
			return nil
		}
	}
	ts, err := entity.Timestamps()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedBundle, err)
	}
	if len(ts) == 0 {
		return fmt.Errorf("%w: the bundle's Rekor v2 entry carries no time and the bundle has no signed timestamp; expected an RFC 3161 timestamp from a timestamp authority in timestampVerificationData (cosign sign with --timestamp-server-url, or the signing config's TSA)", ErrSignature)
	}
	return nil
}

// instanceMismatch names a bundle whose certificate comes from the other
// Sigstore instance than the trusted root's: it cannot verify, and the
// fix is the other root, not another bundle. Nil when it cannot tell.
func (v *Verifier) instanceMismatch(entity verify.SignedEntity) error {
	if v.opts.Key != nil {
		return nil
	}
	vc, err := entity.VerificationContent()
	if err != nil || vc.Certificate() == nil {
		return nil
	}
	c := vc.Certificate()
	got := ""
	for _, o := range c.Issuer.Organization {
		switch o {
		case "GitHub, Inc.":
			got = InstanceGitHub
		case "sigstore.dev":
			got = InstancePublicGood
		}
	}
	want := v.opts.Instance
	if want == "" {
		want = InstancePublicGood
	}
	if got == "" || got == want {
		return nil
	}
	hint := "verify it against GitHub's trusted root (sigstore-instance: github; gh attestation trusted-root prints it)"
	if got == InstancePublicGood {
		hint = "verify it against the public-good trusted root (sigstore-instance: public-good)"
	}
	return fmt.Errorf("%w: %w: the certificate was issued by %q of the %s instance, but the trusted root is for the %s instance; %s",
		ErrSignature, ErrWrongInstance, c.Issuer.String(), got, want, hint)
}

// checkKindVersions refuses a log entry whose declared kind and version
// differ from those of the body the log signed. sigstore-go reads the
// body and no longer compares the two (since v1); the declared pair is
// unsigned, so a bundle that lies about it has been altered.
func checkKindVersions(entity verify.SignedEntity) error {
	b, ok := entity.(*bundle.Bundle)
	if !ok || b.Bundle == nil {
		return nil
	}
	for i, e := range b.GetVerificationMaterial().GetTlogEntries() {
		var body struct {
			Kind       string `json:"kind"`
			APIVersion string `json:"apiVersion"`
		}
		if err := json.Unmarshal(e.GetCanonicalizedBody(), &body); err != nil {
			return fmt.Errorf("%w: transparency-log entry %d: body is not JSON (%v); expected a Rekor entry", ErrMalformedBundle, i, err)
		}
		kv := e.GetKindVersion()
		if kv.GetKind() != body.Kind || kv.GetVersion() != body.APIVersion {
			return fmt.Errorf("%w: transparency-log entry %d declares %s %s but its logged body is %s %s; the bundle was altered",
				ErrSignature, i, kv.GetKind(), kv.GetVersion(), body.Kind, body.APIVersion)
		}
		if err := checkInclusion(i, e); err != nil {
			return err
		}
	}
	return nil
}

func (v *Verifier) signatureError(entity verify.SignedEntity, err error) error {
	if ierr := v.instanceMismatch(entity); ierr != nil {
		return fmt.Errorf("%w (%v)", ierr, err)
	}
	return fmt.Errorf("%w: %v", ErrSignature, err)
}

func logEntry(entity verify.SignedEntity) *LogEntry {
	entries, err := entity.TlogEntries()
	if err != nil || len(entries) == 0 {
		return nil
	}
	e := entries[0]
	if e.IsRekorV2() {
		return &LogEntry{Index: e.LogIndex(), Rekor2: true}
	}
	return &LogEntry{Index: e.LogIndex(), IntegratedTime: e.IntegratedTime().UTC()}
}

// signedTime is the earliest timestamp-authority time sigstore-go
// verified.
func signedTime(res *verify.VerificationResult) time.Time {
	var t time.Time
	for _, ts := range res.VerifiedTimestamps {
		if ts.Type == "TimestampAuthority" && (t.IsZero() || ts.Timestamp.Before(t)) {
			t = ts.Timestamp.UTC()
		}
	}
	return t
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
		alg := "sha256"
		if sub.Digest[alg] == "" {
			alg = "sha512"
		}
		s += fmt.Sprintf("%s (%s:%.12s…)", sub.Name, alg, sub.Digest[alg])
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
		return nil, v.signatureError(entity, err)
	}
	var cert *certificate.Summary
	if res.Signature != nil {
		cert = res.Signature.Certificate
	}
	if err := id.checkSummary(cert); err != nil {
		return nil, err
	}
	return &Signature{Signer: cert.SubjectAlternativeName, Issuer: cert.Issuer, Log: logEntry(entity), SignedTime: signedTime(res)}, nil
}

// LoadVerifier reads a trusted_root.json of the public-good instance (an
// input file the user names, read within fsx's document limit) and builds
// a Verifier on it; it returns the file's bytes too, so the caller can
// record their digest as an input of its Result.
func LoadVerifier(ctx context.Context, path string) (*Verifier, []byte, error) {
	data, err := fsx.ReadFile(ctx, path, fsx.MaxDocSize)
	if err != nil {
		return nil, nil, err
	}
	tr, err := ParseTrustedRoot(data, InstancePublicGood)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	v, err := NewVerifier(Options{TrustedRoot: tr})
	if err != nil {
		return nil, nil, err
	}
	return v, data, nil
}
