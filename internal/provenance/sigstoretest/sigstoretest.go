// Package sigstoretest is an in-process Sigstore for tests: a Fulcio-like
// CA whose short-lived code-signing certificates carry an embedded SCT
// from a test CT log, a Rekor-like log whose entries come with a signed
// entry timestamp and an inclusion proof under a signed checkpoint, and the
// timestamp authority of sigstore-go's virtual Sigstore
// (pkg/testing/ca). It writes what the real services produce: v0.3
// Sigstore bundles (JSON) and a trusted_root.json, so tests drive the
// file- and registry-based verification paths end to end, SCT and
// inclusion proof included.
//
// sigstore-go's ca.VirtualSigstore alone cannot do that: its entities
// cannot be serialised (the signed entry timestamp is private) and its
// certificates carry no SCT. Its exported CA generators and timestamp
// authority are used here.
//
// Only tests import this package.
package sigstoretest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	"github.com/go-openapi/runtime"
	ct "github.com/google/certificate-transparency-go"
	cttls "github.com/google/certificate-transparency-go/tls"
	"github.com/google/certificate-transparency-go/x509util"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/pki"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/rekor/pkg/types/hashedrekord"
	"github.com/sigstore/rekor/pkg/types/intoto"
	rekorutil "github.com/sigstore/rekor/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
	"google.golang.org/protobuf/encoding/protojson"

	// The Rekor entry types this log writes.
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
	_ "github.com/sigstore/rekor/pkg/types/intoto/v0.0.2"
)

// BundleMediaType is the media type of the bundles written.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

var (
	oidIssuerV1 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2 = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
	oidSCTList  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}
	oidSource   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 12}
	oidDigest   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 13}
	oidRef      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 14}
)

// Sigstore is one in-process Sigstore deployment. It is safe for
// concurrent use.
type Sigstore struct {
	root, inter       *x509.Certificate
	rootKey, interKey *ecdsa.PrivateKey
	rekorKey, ctKey   *ecdsa.PrivateKey
	tsa               *ca.VirtualSigstore
	created           time.Time

	mu     sync.Mutex
	leaves [][]byte // RFC 6962 leaf hashes of the log
	serial int64
}

// New starts a Sigstore: fresh keys for the CA, the log and the CT log.
func New() (*Sigstore, error) {
	s := &Sigstore{created: time.Now()}
	var err error
	if s.root, s.rootKey, err = ca.GenerateRootCa(); err != nil {
		return nil, err
	}
	if s.inter, s.interKey, err = ca.GenerateFulcioIntermediate(s.root, s.rootKey); err != nil {
		return nil, err
	}
	if s.rekorKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if s.ctKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if s.tsa, err = ca.NewVirtualSigstore(); err != nil {
		return nil, err
	}
	// Index 0 is someone else's entry: real log indexes are never 0.
	s.leaves = [][]byte{leafHash([]byte("genesis"))}
	return s, nil
}

func logID(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err)
	}
	h := sha256.Sum256(der)
	return h[:]
}

// TrustedRoot is the trust material as sigstore-go reads it.
func (s *Sigstore) TrustedRoot() (*root.TrustedRoot, error) {
	from := s.created.Add(-24 * time.Hour)
	fulcio := &root.FulcioCertificateAuthority{Root: s.root, Intermediates: []*x509.Certificate{s.inter}, URI: "https://fulcio.test", ValidityPeriodStart: from}
	tlogs := map[string]*root.TransparencyLog{hex.EncodeToString(logID(s.rekorKey.Public())): {
		BaseURL: "https://rekor.test", ID: logID(s.rekorKey.Public()), ValidityPeriodStart: from, HashFunc: crypto.SHA256,
		PublicKey: s.rekorKey.Public(), SignatureHashFunc: crypto.SHA256}}
	ctlogs := map[string]*root.TransparencyLog{hex.EncodeToString(logID(s.ctKey.Public())): {
		BaseURL: "https://ctfe.test", ID: logID(s.ctKey.Public()), ValidityPeriodStart: from, HashFunc: crypto.SHA256,
		PublicKey: s.ctKey.Public(), SignatureHashFunc: crypto.SHA256}}
	return root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{fulcio}, ctlogs, s.tsa.TimestampingAuthorities(), tlogs)
}

// TrustedRootJSON is the trusted_root.json of this deployment.
func (s *Sigstore) TrustedRootJSON() ([]byte, error) {
	tr, err := s.TrustedRoot()
	if err != nil {
		return nil, err
	}
	return tr.MarshalJSON()
}

// Signer says who signs and when.
type Signer struct {
	// Identity is the certificate's subject alternative name: a URI
	// (a workflow, "https://github.com/…@refs/tags/v1") or an e-mail.
	Identity string
	// Issuer is the OIDC issuer recorded in the certificate.
	Issuer string
	// IssuedAt is the certificate's NotBefore (valid 10 minutes); default
	// a minute ago.
	IssuedAt time.Time
	// LoggedAt is the log's integrated time; default IssuedAt + 1 minute.
	LoggedAt time.Time
	// NoTimestamp leaves out the timestamp authority's signed timestamp,
	// so the log's integrated time is the only time observed.
	NoTimestamp bool
	// NoSCT issues a certificate without an embedded SCT.
	NoSCT bool
	// SourceRepository, SourceRef and SourceDigest are the Fulcio
	// extensions GitHub Actions certificates carry: the repository URI
	// ("https://github.com/acme/api"), the ref ("refs/tags/v1.4.2") and
	// the commit.
	SourceRepository, SourceRef, SourceDigest string
}

func (sg *Signer) defaults() {
	if sg.IssuedAt.IsZero() {
		sg.IssuedAt = time.Now().Add(-time.Minute)
	}
	if sg.LoggedAt.IsZero() {
		sg.LoggedAt = sg.IssuedAt.Add(time.Minute)
	}
}

// SignBlob signs blob keylessly, like `cosign sign-blob --bundle`: a
// message signature logged as a hashedrekord entry. It returns the bundle.
func (s *Sigstore) SignBlob(sg Signer, blob []byte) ([]byte, error) {
	sg.defaults()
	cert, key, err := s.leaf(sg)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(blob)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return nil, err
	}
	entry, err := s.log(hashedrekord.KIND, hashedrekord.New().DefaultVersion(), blob, cert, sig, sg.LoggedAt)
	if err != nil {
		return nil, err
	}
	b := s.bundle(cert, entry)
	b.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
		MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest[:]}, Signature: sig}}
	return s.finish(b, sig, sg)
}

// SignDigest signs a precomputed sha256 (an image manifest digest, hex),
// like cosign signing an image with --new-bundle-format.
func (s *Sigstore) SignDigest(sg Signer, sha256Hex string) ([]byte, error) {
	sg.defaults()
	digest, err := hex.DecodeString(sha256Hex)
	if err != nil || len(digest) != sha256.Size {
		return nil, fmt.Errorf("sha256 %q: expected 64 hex digits", sha256Hex)
	}
	cert, key, err := s.leaf(sg)
	if err != nil {
		return nil, err
	}
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest)
	if err != nil {
		return nil, err
	}
	entry, err := s.logHashed(sha256Hex, cert, sig, sg.LoggedAt)
	if err != nil {
		return nil, err
	}
	b := s.bundle(cert, entry)
	b.Content = &protobundle.Bundle_MessageSignature{MessageSignature: &protocommon.MessageSignature{
		MessageDigest: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest}, Signature: sig}}
	return s.finish(b, sig, sg)
}

// Attest signs an in-toto statement in a DSSE envelope, like `cosign
// attest --new-bundle-format`, logged as an intoto entry.
func (s *Sigstore) Attest(sg Signer, statement []byte) ([]byte, error) {
	sg.defaults()
	cert, key, err := s.leaf(sg)
	if err != nil {
		return nil, err
	}
	sv, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	es, err := dsse.NewEnvelopeSigner(&sigdsse.SignerAdapter{SignatureSigner: sv, Pub: &key.PublicKey})
	if err != nil {
		return nil, err
	}
	env, err := es.SignPayload(context.Background(), "application/vnd.in-toto+json", statement)
	if err != nil {
		return nil, err
	}
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		return nil, err
	}
	envJSON, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	entry, err := s.log(intoto.KIND, intoto.New().DefaultVersion(), envJSON, cert, sig, sg.LoggedAt)
	if err != nil {
		return nil, err
	}
	b := s.bundle(cert, entry)
	b.Content = &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
		Payload: statement, PayloadType: env.PayloadType,
		Signatures: []*protodsse.Signature{{Sig: sig, Keyid: env.Signatures[0].KeyID}}}}
	return s.finish(b, sig, sg)
}

func (s *Sigstore) bundle(cert *x509.Certificate, entry *protorekor.TransparencyLogEntry) *protobundle.Bundle {
	return &protobundle.Bundle{
		MediaType: BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: cert.Raw}},
			TlogEntries: []*protorekor.TransparencyLogEntry{entry},
		},
	}
}

func (s *Sigstore) finish(b *protobundle.Bundle, sig []byte, sg Signer) ([]byte, error) {
	if !sg.NoTimestamp {
		tsr, err := s.tsa.TimestampResponse(sig)
		if err != nil {
			return nil, err
		}
		b.VerificationMaterial.TimestampVerificationData = &protobundle.TimestampVerificationData{
			Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: tsr}}}
	}
	return protojson.Marshal(b)
}

// leaf issues a code-signing certificate for sg with an embedded SCT.
func (s *Sigstore) leaf(sg Signer) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	issuerV2, err := asn1.MarshalWithParams(sg.Issuer, "utf8")
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	s.serial++
	serial := s.serial
	s.mu.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		NotBefore:    sg.IssuedAt,
		NotAfter:     sg.IssuedAt.Add(10 * time.Minute),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{
			{Id: oidIssuerV1, Value: []byte(sg.Issuer)},
			{Id: oidIssuerV2, Value: issuerV2},
		},
	}
	for _, e := range []struct {
		id    asn1.ObjectIdentifier
		value string
	}{{oidSource, sg.SourceRepository}, {oidDigest, sg.SourceDigest}, {oidRef, sg.SourceRef}} {
		if e.value == "" {
			continue
		}
		v, err := asn1.MarshalWithParams(e.value, "utf8")
		if err != nil {
			return nil, nil, err
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: e.id, Value: v})
	}
	if strings.Contains(sg.Identity, "://") {
		u, err := url.Parse(sg.Identity)
		if err != nil {
			return nil, nil, err
		}
		tmpl.URIs = []*url.URL{u}
	} else {
		tmpl.EmailAddresses = []string{sg.Identity}
	}
	precert, err := s.issue(tmpl, &key.PublicKey)
	if err != nil || sg.NoSCT {
		return precert, key, err
	}
	// The SCT signs the certificate as it is without the SCT list (RFC
	// 6962 §3.3); the final certificate adds the list as its last
	// extension, so removing it gives back exactly that TBS.
	sct, err := s.sct(precert.RawTBSCertificate, sg.IssuedAt)
	if err != nil {
		return nil, nil, err
	}
	tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: oidSCTList, Value: sct})
	cert, err := s.issue(tmpl, &key.PublicKey)
	return cert, key, err
}

func (s *Sigstore) issue(tmpl *x509.Certificate, pub crypto.PublicKey) (*x509.Certificate, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, s.inter, pub, s.interKey)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// sct returns the SCT list extension value for a precertificate TBS.
func (s *Sigstore) sct(tbs []byte, at time.Time) ([]byte, error) {
	var id ct.LogID
	copy(id.KeyID[:], logID(s.ctKey.Public()))
	issuerKeyHash := sha256.Sum256(s.inter.RawSubjectPublicKeyInfo)
	ts := uint64(at.UnixMilli())
	sct := ct.SignedCertificateTimestamp{SCTVersion: ct.V1, LogID: id, Timestamp: ts}
	leaf := ct.MerkleTreeLeaf{Version: ct.V1, LeafType: ct.TimestampedEntryLeafType, TimestampedEntry: &ct.TimestampedEntry{
		Timestamp: ts, EntryType: ct.PrecertLogEntryType, PrecertEntry: &ct.PreCert{IssuerKeyHash: issuerKeyHash, TBSCertificate: tbs}}}
	input, err := ct.SerializeSCTSignatureInput(sct, ct.LogEntry{Leaf: leaf})
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(input)
	sig, err := ecdsa.SignASN1(rand.Reader, s.ctKey, h[:])
	if err != nil {
		return nil, err
	}
	sct.Signature = ct.DigitallySigned{Algorithm: cttls.SignatureAndHashAlgorithm{Hash: cttls.SHA256, Signature: cttls.ECDSA}, Signature: sig}
	list, err := x509util.MarshalSCTsIntoSCTList([]*ct.SignedCertificateTimestamp{&sct})
	if err != nil {
		return nil, err
	}
	raw, err := cttls.Marshal(*list)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(raw)
}

// log appends an entry built from artifact (the blob, or the DSSE
// envelope) and returns it with its SET and inclusion proof.
func (s *Sigstore) log(kind, version string, artifact []byte, cert *x509.Certificate, sig []byte, at time.Time) (*protorekor.TransparencyLogEntry, error) {
	certPEM, err := cryptoutils.MarshalCertificateToPEM(cert)
	if err != nil {
		return nil, err
	}
	props := types.ArtifactProperties{PublicKeyBytes: [][]byte{certPEM}, PKIFormat: string(pki.X509), SignatureBytes: sig}
	if kind == hashedrekord.KIND {
		h := sha256.Sum256(artifact)
		props.ArtifactHash = hex.EncodeToString(h[:])
	} else {
		props.ArtifactBytes = artifact
	}
	return s.append(kind, version, props, at)
}

func (s *Sigstore) logHashed(sha256Hex string, cert *x509.Certificate, sig []byte, at time.Time) (*protorekor.TransparencyLogEntry, error) {
	certPEM, err := cryptoutils.MarshalCertificateToPEM(cert)
	if err != nil {
		return nil, err
	}
	return s.append(hashedrekord.KIND, hashedrekord.New().DefaultVersion(), types.ArtifactProperties{
		PublicKeyBytes: [][]byte{certPEM}, PKIFormat: string(pki.X509), SignatureBytes: sig, ArtifactHash: sha256Hex}, at)
}

// LogKeySigned logs a signature made with a public key (PEM) over a
// sha256 digest as a hashedrekord entry, as cosign does for key-based
// signatures; it returns the entry.
func (s *Sigstore) LogKeySigned(pubPEM []byte, sha256Hex string, sig []byte, at time.Time) (*protorekor.TransparencyLogEntry, error) {
	return s.append(hashedrekord.KIND, hashedrekord.New().DefaultVersion(), types.ArtifactProperties{
		PublicKeyBytes: [][]byte{pubPEM}, PKIFormat: string(pki.X509), SignatureBytes: sig, ArtifactHash: sha256Hex}, at)
}

func (s *Sigstore) append(kind, version string, props types.ArtifactProperties, at time.Time) (*protorekor.TransparencyLogEntry, error) {
	ctx := context.Background()
	pe, err := types.NewProposedEntry(ctx, kind, version, props)
	if err != nil {
		return nil, err
	}
	impl, err := types.CreateVersionedEntry(pe)
	if err != nil {
		return nil, err
	}
	body, err := types.CanonicalizeEntry(ctx, impl)
	if err != nil {
		return nil, err
	}
	// Round-trip to be sure the body parses the way verifiers parse it.
	if _, err := models.UnmarshalProposedEntry(bytes.NewReader(body), runtime.JSONConsumer()); err != nil {
		return nil, err
	}
	id := logID(s.rekorKey.Public())

	s.mu.Lock()
	index := int64(len(s.leaves))
	s.leaves = append(s.leaves, leafHash(body))
	leaves := append([][]byte(nil), s.leaves...)
	s.mu.Unlock()

	set, err := s.signJSON(tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(body), IntegratedTime: at.Unix(), LogIndex: index, LogID: hex.EncodeToString(id)})
	if err != nil {
		return nil, err
	}
	rootHash := mth(leaves)
	sv, err := signature.LoadECDSASignerVerifier(s.rekorKey, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	cp, err := rekorutil.CreateAndSignCheckpoint(ctx, "rekor.test", 1, uint64(len(leaves)), rootHash, sv)
	if err != nil {
		return nil, err
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          index,
		LogId:             &protocommon.LogId{KeyId: id},
		KindVersion:       &protorekor.KindVersion{Kind: kind, Version: version},
		IntegratedTime:    at.Unix(),
		InclusionPromise:  &protorekor.InclusionPromise{SignedEntryTimestamp: set},
		InclusionProof:    &protorekor.InclusionProof{LogIndex: index, RootHash: rootHash, TreeSize: int64(len(leaves)), Hashes: path(int(index), leaves), Checkpoint: &protorekor.Checkpoint{Envelope: string(cp)}},
		CanonicalizedBody: body,
	}, nil
}

func (s *Sigstore) signJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	canon, err := jsoncanonicalizer.Transform(raw)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(canon)
	return ecdsa.SignASN1(rand.Reader, s.rekorKey, h[:])
}

// RFC 6962 Merkle tree over leaf hashes.

func leafHash(data []byte) []byte {
	h := sha256.Sum256(append([]byte{0}, data...))
	return h[:]
}

func nodeHash(l, r []byte) []byte {
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(l)
	h.Write(r)
	return h.Sum(nil)
}

func split(n int) int {
	k := 1
	for k*2 < n {
		k *= 2
	}
	return k
}

func mth(leaves [][]byte) []byte {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := split(len(leaves))
	return nodeHash(mth(leaves[:k]), mth(leaves[k:]))
}

func path(m int, leaves [][]byte) [][]byte {
	if len(leaves) <= 1 {
		return nil
	}
	k := split(len(leaves))
	if m < k {
		return append(path(m, leaves[:k]), mth(leaves[k:]))
	}
	return append(path(m-k, leaves[k:]), mth(leaves[:k]))
}

// LegacyRekorBundle is the dev.sigstore.cosign/bundle annotation cosign
// writes for an entry: the body, integrated time, index and log id with
// the signed entry timestamp.
func LegacyRekorBundle(e *protorekor.TransparencyLogEntry) (string, error) {
	v := map[string]any{
		"SignedEntryTimestamp": base64.StdEncoding.EncodeToString(e.GetInclusionPromise().GetSignedEntryTimestamp()),
		"Payload": map[string]any{
			"body":           base64.StdEncoding.EncodeToString(e.GetCanonicalizedBody()),
			"integratedTime": e.GetIntegratedTime(),
			"logIndex":       e.GetLogIndex(),
			"logID":          hex.EncodeToString(e.GetLogId().GetKeyId()),
		},
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// Legacy is a keyless signature in cosign's legacy image format: the
// annotations of one simple-signing layer.
type Legacy struct {
	// Signature is base64, Certificate and Chain are PEM, RekorBundle is
	// the JSON annotation.
	Signature, Certificate, Chain, RekorBundle string
}

// SignLegacy signs a simple-signing payload keylessly as cosign did before
// bundles: a hashedrekord entry over the payload.
func (s *Sigstore) SignLegacy(sg Signer, payload []byte) (*Legacy, error) {
	sg.defaults()
	cert, key, err := s.leaf(sg)
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(payload)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return nil, err
	}
	entry, err := s.log(hashedrekord.KIND, hashedrekord.New().DefaultVersion(), payload, cert, sig, sg.LoggedAt)
	if err != nil {
		return nil, err
	}
	rb, err := LegacyRekorBundle(entry)
	if err != nil {
		return nil, err
	}
	certPEM, err := cryptoutils.MarshalCertificateToPEM(cert)
	if err != nil {
		return nil, err
	}
	chainPEM, err := cryptoutils.MarshalCertificatesToPEM([]*x509.Certificate{s.inter, s.root})
	if err != nil {
		return nil, err
	}
	return &Legacy{Signature: base64.StdEncoding.EncodeToString(sig), Certificate: string(certPEM), Chain: string(chainPEM), RekorBundle: rb}, nil
}

// AttestLegacy signs an in-toto statement as `cosign attest` did before
// bundles: it returns the DSSE envelope (the layer of the sha256-….att
// tag) and the annotations (certificate, chain, Rekor entry).
func (s *Sigstore) AttestLegacy(sg Signer, statement []byte) ([]byte, *Legacy, error) {
	data, err := s.Attest(sg, statement)
	if err != nil {
		return nil, nil, err
	}
	var b protobundle.Bundle
	if err := protojson.Unmarshal(data, &b); err != nil {
		return nil, nil, err
	}
	env := b.GetDsseEnvelope()
	envJSON, err := json.Marshal(map[string]any{
		"payloadType": env.GetPayloadType(),
		"payload":     base64.StdEncoding.EncodeToString(env.GetPayload()),
		"signatures":  []map[string]string{{"keyid": env.GetSignatures()[0].GetKeyid(), "sig": base64.StdEncoding.EncodeToString(env.GetSignatures()[0].GetSig())}},
	})
	if err != nil {
		return nil, nil, err
	}
	rb, err := LegacyRekorBundle(b.GetVerificationMaterial().GetTlogEntries()[0])
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(b.GetVerificationMaterial().GetCertificate().GetRawBytes())
	if err != nil {
		return nil, nil, err
	}
	certPEM, err := cryptoutils.MarshalCertificateToPEM(cert)
	if err != nil {
		return nil, nil, err
	}
	chainPEM, err := cryptoutils.MarshalCertificatesToPEM([]*x509.Certificate{s.inter, s.root})
	if err != nil {
		return nil, nil, err
	}
	return envJSON, &Legacy{Certificate: string(certPEM), Chain: string(chainPEM), RekorBundle: rb}, nil
}
