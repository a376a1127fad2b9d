// Package evidencetest signs evidence keyless without a network, for tests:
// sigstore-go's in-process VirtualSigstore (a Fulcio CA and a Rekor log)
// behind evidence.BundleSigner, and its trust material written out as a
// trusted_root.json for the offline verifier.
package evidencetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"

	"github.com/maestro-conductor/releasegate/internal/evidence"
)

// VirtualSigner signs like SigstoreSigner would, against a VirtualSigstore:
// a fresh key and a short-lived certificate for Identity from Issuer, and
// an intoto entry with a signed entry timestamp in the virtual Rekor.
type VirtualSigner struct {
	Sigstore         *ca.VirtualSigstore
	Identity, Issuer string
	// index numbers the log entries from 1 (see SignBundle).
	index atomic.Int64
}

// NewVirtualSigner starts a new virtual Sigstore and returns a signer for
// identity and issuer.
func NewVirtualSigner(identity, issuer string) (*VirtualSigner, error) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		return nil, err
	}
	return &VirtualSigner{Sigstore: vs, Identity: identity, Issuer: issuer}, nil
}

// SignBundle implements evidence.BundleSigner. The bundle is a v0.1 bundle
// (certificate chain, inclusion promise): the virtual Rekor gives no
// inclusion proofs, which v0.2 and later require.
func (v *VirtualSigner) SignBundle(_ context.Context, payloadType string, payload []byte) (*evidence.Bundle, error) {
	leaf, key, err := v.Sigstore.GenerateLeafCert(v.Identity, v.Issuer)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256(evidence.PAE(payloadType, payload))
	ek, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("virtual sigstore: leaf key is %T, expected *ecdsa.PrivateKey", key)
	}
	sig, err := ecdsa.SignASN1(rand.Reader, ek, h[:])
	if err != nil {
		return nil, err
	}
	p64, s64 := base64.StdEncoding.EncodeToString(payload), base64.StdEncoding.EncodeToString(sig)
	// The certificate is valid from now for ten minutes; log the entry a
	// minute in, as the virtual Sigstore's own Attest does (with five).
	entry, err := v.Sigstore.GenerateTlogEntry(leaf, &dsse.Envelope{PayloadType: payloadType, Payload: p64, Signatures: []dsse.Signature{{Sig: s64}}}, sig, time.Now().Add(time.Minute).Unix(), false)
	if err != nil {
		return nil, err
	}
	te, err := tlogEntry(entry)
	if err != nil {
		return nil, err
	}
	// The virtual Rekor gives every dsse entry log index 0, which
	// sigstore-go v0.6.2 (under cosign v2.4.1, an oracle of the tests)
	// refuses as a missing value; number the entries from 1 instead and
	// sign the entry timestamp over that index.
	te.LogIndex = v.index.Add(1)
	set, err := v.Sigstore.RekorSignPayload(tlog.RekorPayload{Body: base64.StdEncoding.EncodeToString(te.CanonicalizedBody),
		IntegratedTime: te.IntegratedTime, LogIndex: te.LogIndex, LogID: hex.EncodeToString(te.LogID.KeyID)})
	if err != nil {
		return nil, err
	}
	te.InclusionPromise = &evidence.InclusionPromise{SignedEntryTimestamp: set}
	return &evidence.Bundle{
		MediaType: evidence.BundleMediaTypeV01,
		VerificationMaterial: evidence.VerificationMaterial{
			X509CertificateChain: &evidence.CertChain{Certificates: []evidence.RawBytes{{RawBytes: leaf.Raw}}},
			TlogEntries:          []evidence.TlogEntry{te},
		},
		DSSEEnvelope: &evidence.Envelope{Payload: p64, PayloadType: payloadType, Signatures: []evidence.Signature{{Sig: s64}}},
	}, nil
}

// tlogEntry converts the virtual Rekor's entry to the bundle form. tlog.Entry
// keeps its signed entry timestamp, kind and version unexported; they are
// read with reflection (reading, never writing), which is fine for a test
// helper pinned to sigstore-go v0.6.2.
func tlogEntry(e *tlog.Entry) (evidence.TlogEntry, error) {
	body, ok := e.Body().(string)
	if !ok {
		return evidence.TlogEntry{}, fmt.Errorf("virtual rekor entry body is %T; expected base64 text", e.Body())
	}
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return evidence.TlogEntry{}, err
	}
	f := reflect.ValueOf(e).Elem()
	set := f.FieldByName("signedEntryTimestamp")
	kind, version := f.FieldByName("kind"), f.FieldByName("version")
	if !set.IsValid() || !kind.IsValid() || !version.IsValid() {
		return evidence.TlogEntry{}, fmt.Errorf("tlog.Entry has no signedEntryTimestamp, kind or version field; update evidencetest for this sigstore-go version")
	}
	return evidence.TlogEntry{
		LogIndex:          e.LogIndex(),
		LogID:             evidence.LogID{KeyID: []byte(e.LogKeyID())},
		KindVersion:       evidence.KindVersion{Kind: kind.String(), Version: version.String()},
		IntegratedTime:    e.IntegratedTime().Unix(),
		InclusionPromise:  &evidence.InclusionPromise{SignedEntryTimestamp: append([]byte(nil), set.Bytes()...)},
		CanonicalizedBody: raw,
	}, nil
}

// TrustedRootJSON writes the virtual Sigstore's trust material (Fulcio CA,
// Rekor and CT log keys, timestamp authority) as a trusted_root.json that
// root.NewTrustedRootFromJSON reads back.
func TrustedRootJSON(vs *ca.VirtualSigstore) ([]byte, error) {
	// The virtual Sigstore names its logs by the hex of the key id and
	// keeps that hex text as the id; a trusted root file holds the raw id.
	rawIDs := func(m map[string]*root.TransparencyLog) (map[string]*root.TransparencyLog, error) {
		out := map[string]*root.TransparencyLog{}
		for id, tl := range m {
			raw, err := hex.DecodeString(id)
			if err != nil {
				return nil, err
			}
			c := *tl
			c.ID = raw
			out[id] = &c
		}
		return out, nil
	}
	ct, err := rawIDs(vs.CTLogs())
	if err != nil {
		return nil, err
	}
	rekor, err := rawIDs(vs.RekorLogs())
	if err != nil {
		return nil, err
	}
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, vs.FulcioCertificateAuthorities(), ct, vs.TimestampingAuthorities(), rekor)
	if err != nil {
		return nil, err
	}
	return tr.MarshalJSON()
}
