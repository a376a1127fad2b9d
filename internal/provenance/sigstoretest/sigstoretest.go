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
// It also issues Rekor v2 entries (Signer.RekorV2: hashedrekord 0.0.2 in a
// tile-based log whose checkpoints are signed notes, no SET, no integrated
// time: the bundle's signed timestamp is the only time), and NewGitHub
// starts a copy of GitHub's own instance (private repositories): no log at
// all, certificates without SCTs, the timestamp authority's time only.
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
	rekortilespb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	rekornote "github.com/sigstore/rekor-tiles/v2/pkg/note"
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
	flog "github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
	"google.golang.org/protobuf/encoding/protojson"

	// The Rekor entry types this log writes.
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1"
	_ "github.com/sigstore/rekor/pkg/types/intoto/v0.0.2"
)

// BundleMediaType is the media type of the bundles written.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

var (
	oidIssuerV1     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}
	oidIssuerV2     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 8}
	oidSCTList      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 11129, 2, 4, 2}
	oidGitHubRepo   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 5}
	oidGitHubRef    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 6}
	oidBuildSigner  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 9}
	oidSignerDigest = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 10}
	oidRunnerEnv    = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 11}
	oidSource       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 12}
	oidDigest       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 13}
	oidRef          = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 14}
	oidBuildConfig  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 18}
	oidTrigger      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 20}
)

// Rekor2Origin is the origin (and host) of the Rekor v2 log.
const Rekor2Origin = "log2025-1.rekor.test"

// Sigstore is one in-process Sigstore deployment. It is safe for
// concurrent use.
type Sigstore struct {
	root, inter       *x509.Certificate
	rootKey, interKey *ecdsa.PrivateKey
	rekorKey, ctKey   *ecdsa.PrivateKey
	rekor2Key         *ecdsa.PrivateKey
	tsa               *ca.VirtualSigstore
	created           time.Time
	github            bool

	mu      sync.Mutex
	leaves  [][]byte // RFC 6962 leaf hashes of the log
	leaves2 [][]byte // and of the Rekor v2 log
	serial  int64
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
	if s.rekor2Key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		return nil, err
	}
	if s.tsa, err = ca.NewVirtualSigstore(); err != nil {
		return nil, err
	}
	// Index 0 is someone else's entry: real log indexes are never 0.
	s.leaves = [][]byte{leafHash([]byte("genesis"))}
	s.leaves2 = [][]byte{leafHash([]byte("genesis v2"))}
	return s, nil
}

// NewGitHub starts a copy of GitHub's own Sigstore instance, which signs
// the attestations of private repositories: its Fulcio (organization
// "GitHub, Inc.") issues certificates without SCTs, nothing is logged, and
// every bundle carries the timestamp authority's signed timestamp only.
func NewGitHub() (*Sigstore, error) {
	s, err := New()
	if err != nil {
		return nil, err
	}
	s.github = true
	name := func(cn string) pkix.Name { return pkix.Name{CommonName: cn, Organization: []string{"GitHub, Inc."}} }
	rootKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	interKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: name("Internal Services Root"), NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(48 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	if s.root, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	interTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: name("Fulcio Intermediate l2"), NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(48 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, BasicConstraintsValid: true, IsCA: true}
	if der, err = x509.CreateCertificate(rand.Reader, interTmpl, s.root, &interKey.PublicKey, rootKey); err != nil {
		return nil, err
	}
	if s.inter, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	s.rootKey, s.interKey = rootKey, interKey
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
	if s.github {
		fulcio := &root.FulcioCertificateAuthority{Root: s.root, Intermediates: []*x509.Certificate{s.inter}, URI: "https://fulcio.githubapp.com", ValidityPeriodStart: from}
		return root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{fulcio}, nil, s.tsa.TimestampingAuthorities(), nil)
	}
	fulcio := &root.FulcioCertificateAuthority{Root: s.root, Intermediates: []*x509.Certificate{s.inter}, URI: "https://fulcio.test", ValidityPeriodStart: from}
	tlogs := map[string]*root.TransparencyLog{hex.EncodeToString(logID(s.rekorKey.Public())): {
		BaseURL: "https://rekor.test", ID: logID(s.rekorKey.Public()), ValidityPeriodStart: from, HashFunc: crypto.SHA256,
		PublicKey: s.rekorKey.Public(), SignatureHashFunc: crypto.SHA256},
		hex.EncodeToString(logID(s.rekor2Key.Public())): {
			BaseURL: "https://" + Rekor2Origin, ID: logID(s.rekor2Key.Public()), ValidityPeriodStart: from, HashFunc: crypto.SHA256,
			PublicKey: s.rekor2Key.Public(), SignatureHashFunc: crypto.SHA256}}
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
	// BuildSigner and BuildSignerDigest are the workflow that signed
	// ("https://github.com/o/r/.github/workflows/f.yml@ref") and its
	// commit; BuildConfig the workflow that ran; RunnerEnvironment
	// github-hosted or self-hosted; Trigger the event.
	BuildSigner, BuildSignerDigest, BuildConfig, RunnerEnvironment, Trigger string
	// RekorV2 logs the signature in the Rekor v2 log: a hashedrekord
	// 0.0.2 entry with a checkpoint-signed inclusion proof and no time.
	RekorV2 bool
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
	var entry *protorekor.TransparencyLogEntry
	if sg.RekorV2 {
		entry, err = s.appendV2(digest[:], cert, sig)
	} else {
		entry, err = s.log(hashedrekord.KIND, hashedrekord.New().DefaultVersion(), blob, cert, sig, sg.LoggedAt)
	}
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
	var entry *protorekor.TransparencyLogEntry
	if sg.RekorV2 {
		entry, err = s.appendV2(digest, cert, sig)
	} else {
		entry, err = s.logHashed(sha256Hex, cert, sig, sg.LoggedAt)
	}
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
	var entry *protorekor.TransparencyLogEntry
	if sg.RekorV2 {
		// Rekor v2 logs a DSSE envelope as a hashedrekord over the DSSE
		// pre-authentication encoding, which is what was signed.
		pae := sha256.Sum256(dsse.PAE(env.PayloadType, statement))
		entry, err = s.appendV2(pae[:], cert, sig)
	} else {
		entry, err = s.log(intoto.KIND, intoto.New().DefaultVersion(), envJSON, cert, sig, sg.LoggedAt)
	}
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
	if s.github {
		// GitHub's instance logs nothing.
		return &protobundle.Bundle{MediaType: BundleMediaType, VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: cert.Raw}}}}
	}
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
	}{{oidSource, sg.SourceRepository}, {oidDigest, sg.SourceDigest}, {oidRef, sg.SourceRef},
		{oidBuildSigner, sg.BuildSigner}, {oidSignerDigest, sg.BuildSignerDigest}, {oidRunnerEnv, sg.RunnerEnvironment},
		{oidBuildConfig, sg.BuildConfig}, {oidTrigger, sg.Trigger}} {
		if e.value == "" {
			continue
		}
		v, err := asn1.MarshalWithParams(e.value, "utf8")
		if err != nil {
			return nil, nil, err
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: e.id, Value: v})
	}
	// The deprecated GitHub extensions (raw strings, not DER) that
	// cosign's --certificate-github-workflow-* flags read.
	if sg.SourceRepository != "" {
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions,
			pkix.Extension{Id: oidGitHubRepo, Value: []byte(strings.TrimPrefix(sg.SourceRepository, "https://github.com/"))},
			pkix.Extension{Id: oidGitHubRef, Value: []byte(sg.SourceRef)})
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
	if err != nil || sg.NoSCT || s.github {
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

// appendV2 logs a signature over digest (sha256) as a Rekor v2
// hashedrekord 0.0.2 entry: canonical JSON body, RFC 6962 leaf, an
// inclusion proof under a checkpoint signed as a note by the v2 log, no
// signed entry timestamp and no integrated time.
func (s *Sigstore) appendV2(digest []byte, cert *x509.Certificate, sig []byte) (*protorekor.TransparencyLogEntry, error) {
	entry := &rekortilespb.Entry{ApiVersion: "0.0.2", Kind: "hashedrekord", Spec: &rekortilespb.Spec{Spec: &rekortilespb.Spec_HashedRekordV002{
		HashedRekordV002: &rekortilespb.HashedRekordLogEntryV002{
			Data: &protocommon.HashOutput{Algorithm: protocommon.HashAlgorithm_SHA2_256, Digest: digest},
			Signature: &rekortilespb.Signature{Content: sig, Verifier: &rekortilespb.Verifier{
				KeyDetails: protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
				Verifier:   &rekortilespb.Verifier_X509Certificate{X509Certificate: &protocommon.X509Certificate{RawBytes: cert.Raw}}}},
		}}}}
	raw, err := protojson.Marshal(entry)
	if err != nil {
		return nil, err
	}
	body, err := jsoncanonicalizer.Transform(raw)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	index := int64(len(s.leaves2))
	s.leaves2 = append(s.leaves2, leafHash(body))
	leaves := append([][]byte(nil), s.leaves2...)
	s.mu.Unlock()
	rootHash := mth(leaves)
	sv, err := signature.LoadECDSASignerVerifier(s.rekor2Key, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	ns, err := rekornote.NewNoteSigner(context.Background(), Rekor2Origin, sv)
	if err != nil {
		return nil, err
	}
	cp := flog.Checkpoint{Origin: Rekor2Origin, Size: uint64(len(leaves)), Hash: rootHash}.Marshal()
	signed, err := note.Sign(&note.Note{Text: string(cp)}, ns)
	if err != nil {
		return nil, err
	}
	return &protorekor.TransparencyLogEntry{
		LogIndex:          index,
		LogId:             &protocommon.LogId{KeyId: logID(s.rekor2Key.Public())},
		KindVersion:       &protorekor.KindVersion{Kind: "hashedrekord", Version: "0.0.2"},
		InclusionProof:    &protorekor.InclusionProof{LogIndex: index, RootHash: rootHash, TreeSize: int64(len(leaves)), Hashes: path(int(index), leaves), Checkpoint: &protorekor.Checkpoint{Envelope: string(signed)}},
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
