package evidence_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/maestro-conductor/releasegate/internal/evidence"
	"github.com/maestro-conductor/releasegate/internal/evidence/evidencetest"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/provenance"
)

const (
	signer = "release@acme.example"
	issuer = "https://accounts.acme.example"
)

// keyless creates evidence signed by a virtual Sigstore and returns it with
// that Sigstore's trusted root, read back from its trusted_root.json.
func keyless(t testing.TB, passing bool) (*evidence.Evidence, *evidencetest.VirtualSigner, root.TrustedMaterial) {
	t.Helper()
	vs, err := evidencetest.NewVirtualSigner(signer, issuer)
	if err != nil {
		t.Fatal(err)
	}
	o := evidence.TestOptions(t, passing)
	o.Signer = vs
	ev, err := evidence.Create(o)
	if err != nil {
		t.Fatal(err)
	}
	js, err := evidencetest.TrustedRootJSON(vs.Sigstore)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := root.NewTrustedRootFromJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	return ev, vs, tr
}

func TestKeylessRoundTrip(t *testing.T) {
	t.Parallel()
	ev, _, tr := keyless(t, true)
	if !ev.Bundle.VerificationMaterial.Keyless() || len(ev.Bundle.VerificationMaterial.TlogEntries) != 1 {
		t.Fatalf("bundle is not keyless with a log entry: %+v", ev.Bundle.VerificationMaterial)
	}
	for _, id := range []provenance.Identity{
		{Issuer: issuer, Identity: signer},
		{Issuer: issuer, IdentityRegexp: `^release@acme\.example$`},
		{IssuerRegexp: `^https://accounts\.acme\.example$`, Identity: signer},
	} {
		v, err := evidence.Verify(ev.TarGz, evidence.VerifyOptions{TrustedRoot: tr, Identity: id, SkipSCTUnsafe: true})
		if err != nil {
			t.Fatalf("identity %+v: %v\npassed: %q", id, err, v.Passed)
		}
		if v.Result != evidence.ResultPassed || !strings.Contains(strings.Join(v.Passed, "\n"), "keyless by "+signer+" (issuer "+issuer+")") {
			t.Fatalf("passed: %q", v.Passed)
		}
	}
}

func TestKeylessFailedReleaseVerifiesAsFailed(t *testing.T) {
	t.Parallel()
	ev, _, tr := keyless(t, false)
	_, err := evidence.Verify(ev.TarGz, evidence.VerifyOptions{TrustedRoot: tr, Identity: provenance.Identity{Issuer: issuer, Identity: signer}, SkipSCTUnsafe: true})
	if !errors.Is(err, evidence.ErrNotPassed) {
		t.Fatalf("err = %v; expected ErrNotPassed", err)
	}
}

// TestKeylessRejections changes one thing of a good keyless verification.
func TestKeylessRejections(t *testing.T) {
	t.Parallel()
	ev, _, tr := keyless(t, true)
	foreign, err := evidencetest.NewVirtualSigner(signer, issuer)
	if err != nil {
		t.Fatal(err)
	}
	good := provenance.Identity{Issuer: issuer, Identity: signer}
	key, _ := evidence.GenerateKey(evidence.AlgECDSAP256)
	tests := []struct {
		name string
		o    evidence.VerifyOptions
		tgz  []byte
		want error
		msg  string
	}{
		{"another signer identity", evidence.VerifyOptions{TrustedRoot: tr, Identity: provenance.Identity{Issuer: issuer, Identity: "mallory@acme.example"}}, nil,
			evidence.ErrIdentity, `expected mallory@acme.example, got "release@acme.example"`},
		{"another identity pattern", evidence.VerifyOptions{TrustedRoot: tr, Identity: provenance.Identity{Issuer: issuer, IdentityRegexp: `^ci@acme\.example$`}}, nil,
			evidence.ErrIdentity, `expected /^ci@acme\.example$/, got "release@acme.example"`},
		{"another OIDC issuer", evidence.VerifyOptions{TrustedRoot: tr, Identity: provenance.Identity{Issuer: "https://token.actions.githubusercontent.com", Identity: signer}}, nil,
			evidence.ErrIdentity, `expected https://token.actions.githubusercontent.com, got "https://accounts.acme.example"`},
		{"a foreign trusted root", evidence.VerifyOptions{TrustedRoot: foreign.Sigstore, Identity: good}, nil,
			evidence.ErrSignature, "--trusted-root is the Sigstore instance that issued the certificate"},
		{"a key instead of a trusted root", evidence.VerifyOptions{Key: key.Public()}, nil,
			evidence.ErrSignature, "signed keyless"},
		{"an identity regexp matching anyone", evidence.VerifyOptions{TrustedRoot: tr, Identity: provenance.Identity{Issuer: issuer, IdentityRegexp: ".*"}}, nil,
			gate.ErrBadInput, "matches any signer"},
		{"no identity", evidence.VerifyOptions{TrustedRoot: tr, Identity: provenance.Identity{Issuer: issuer}}, nil,
			gate.ErrBadInput, "certificate-identity: required"},
		{"an unanchored identity regexp", evidence.VerifyOptions{TrustedRoot: tr, Identity: provenance.Identity{Issuer: issuer, IdentityRegexp: `release@acme\.example`}}, nil,
			gate.ErrBadInput, "expected an anchored pattern"},
		{"no issuer", evidence.VerifyOptions{TrustedRoot: tr, Identity: provenance.Identity{Identity: signer}}, nil,
			gate.ErrBadInput, "certificate-oidc-issuer: required"},
		{"the insecure opt-out is ignored", evidence.VerifyOptions{TrustedRoot: tr, Identity: provenance.Identity{Issuer: issuer, IdentityRegexp: "^.*$", InsecureAnyIdentity: true}}, nil,
			gate.ErrBadInput, "matches any signer"},
		{"a key and a trusted root", evidence.VerifyOptions{Key: key.Public(), TrustedRoot: tr, Identity: good}, nil,
			gate.ErrBadInput, "not both"},
		{"a changed signature", evidence.VerifyOptions{TrustedRoot: tr, Identity: good}, repack(t, ev, func(b *evidence.Bundle) {
			raw, _ := base64.StdEncoding.DecodeString(b.DSSEEnvelope.Signatures[0].Sig)
			raw[10] ^= 0x01
			b.DSSEEnvelope.Signatures[0].Sig = base64.StdEncoding.EncodeToString(raw)
		}), evidence.ErrSignature, ""},
		{"a changed log time", evidence.VerifyOptions{TrustedRoot: tr, Identity: good}, repack(t, ev, func(b *evidence.Bundle) {
			b.VerificationMaterial.TlogEntries[0].IntegratedTime++
		}), evidence.ErrSignature, ""},
		{"a key id on a keyless signature", evidence.VerifyOptions{TrustedRoot: tr, Identity: good}, repack(t, ev, func(b *evidence.Bundle) {
			b.DSSEEnvelope.Signatures[0].KeyID = "abc"
		}), evidence.ErrTampered, "keyless signatures have none"},
		{"a second signature", evidence.VerifyOptions{TrustedRoot: tr, Identity: good}, repack(t, ev, func(b *evidence.Bundle) {
			b.DSSEEnvelope.Signatures = append(b.DSSEEnvelope.Signatures, b.DSSEEnvelope.Signatures[0])
		}), evidence.ErrTampered, "2 signatures"},
		{"no log entry", evidence.VerifyOptions{TrustedRoot: tr, Identity: good}, repack(t, ev, func(b *evidence.Bundle) {
			b.VerificationMaterial.TlogEntries = nil
		}), evidence.ErrSignature, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tgz := tc.tgz
			if tgz == nil {
				tgz = ev.TarGz
			}
			tc.o.SkipSCTUnsafe = true
			_, err := evidence.Verify(tgz, tc.o)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v; expected %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v; expected it to say %q", err, tc.msg)
			}
		})
	}
}

// TestKeylessSignatureBase64MustBeCanonical changes only the spare bits
// before the "=" padding of the signature's base64, which a lenient decoder
// (sigstore-go's, through protojson) ignores: the same signature in other
// text must not verify. ECDSA signatures are 70 to 72 bytes; one whose
// length is a multiple of 3 has no spare bits, so sign again until one has.
func TestKeylessSignatureBase64MustBeCanonical(t *testing.T) {
	t.Parallel()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for range 20 {
		ev, _, tr := keyless(t, true)
		sig := ev.Bundle.DSSEEnvelope.Signatures[0].Sig
		raw, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw)%3 == 0 {
			continue
		}
		b := []byte(sig)
		i := strings.IndexByte(sig, '=') - 1
		b[i] = alphabet[strings.IndexByte(alphabet, b[i])^1]
		if lenient, err := base64.StdEncoding.DecodeString(string(b)); err != nil || !bytes.Equal(lenient, raw) {
			t.Fatalf("the change is not invisible to a lenient decoder: %v", err)
		}
		tgz := repack(t, ev, func(bu *evidence.Bundle) { bu.DSSEEnvelope.Signatures[0].Sig = string(b) })
		_, err = evidence.Verify(tgz, evidence.VerifyOptions{TrustedRoot: tr, Identity: provenance.Identity{Issuer: issuer, Identity: signer}, SkipSCTUnsafe: true})
		if !errors.Is(err, evidence.ErrTampered) || !strings.Contains(err.Error(), "signature 0 is not canonical base64") {
			t.Fatalf("err = %v; expected ErrTampered for a non-canonical signature", err)
		}
		return
	}
	t.Fatal("20 signatures without spare bits")
}

// repack changes the signature bundle and packs a canonical tarball again,
// so only the signature checks can catch the change.
func repack(t *testing.T, ev *evidence.Evidence, change func(*evidence.Bundle)) []byte {
	t.Helper()
	files, err := evidence.ReadTarGz(ev.TarGz, evidence.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		if f.Name != evidence.BundleFile {
			continue
		}
		b, err := evidence.ParseBundle(f.Data)
		if err != nil {
			t.Fatal(err)
		}
		change(b)
		if files[i].Data, err = evidence.MarshalBundle(b); err != nil {
			t.Fatal(err)
		}
	}
	tgz, err := evidence.WriteTarGz(files)
	if err != nil {
		t.Fatal(err)
	}
	return tgz
}

// TestKeylessEveryAlteredBundleByteIsRejected flips each byte of the
// keyless signature bundle (certificate, log entry, envelope) inside a
// re-packed, canonical tarball.
func TestKeylessEveryAlteredBundleByteIsRejected(t *testing.T) {
	t.Parallel()
	ev, _, tr := keyless(t, true)
	var bb []byte
	for _, f := range ev.Files {
		if f.Name == evidence.BundleFile {
			bb = f.Data
		}
	}
	step := 1
	if testing.Short() {
		step = 17
	}
	o := evidence.VerifyOptions{TrustedRoot: tr, Identity: provenance.Identity{Issuer: issuer, Identity: signer}, SkipSCTUnsafe: true}
	for i := 0; i < len(bb); i += step {
		files := make([]evidence.File, len(ev.Files))
		copy(files, ev.Files)
		for j := range files {
			if files[j].Name == evidence.BundleFile {
				files[j].Data = bytes.Clone(bb)
				files[j].Data[i] ^= 0x01
			}
		}
		tgz, err := evidence.WriteTarGz(files)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := evidence.Verify(tgz, o); err == nil {
			t.Fatalf("flipping byte %d of %d of %s was not detected (%q)", i, len(bb), evidence.BundleFile, bb[max(0, i-20):min(len(bb), i+20)])
		}
	}
}

// FuzzVerifyKeylessBundle verifies evidence whose keyless signature bundle
// is replaced by the fuzz input: it must never panic (sigstore-go's rekor
// types did on a log entry without apiVersion) and never verify a bundle
// other than the one signed.
func FuzzVerifyKeylessBundle(f *testing.F) {
	ev, _, tr := keyless(f, true)
	var orig []byte
	for _, fl := range ev.Files {
		if fl.Name == evidence.BundleFile {
			orig = fl.Data
		}
	}
	f.Add(orig)
	o := evidence.VerifyOptions{TrustedRoot: tr, Identity: provenance.Identity{Issuer: issuer, Identity: signer}, SkipSCTUnsafe: true}
	f.Fuzz(func(t *testing.T, bb []byte) {
		files := make([]evidence.File, len(ev.Files))
		copy(files, ev.Files)
		for j := range files {
			if files[j].Name == evidence.BundleFile {
				files[j].Data = bb
			}
		}
		tgz, err := evidence.WriteTarGz(files)
		if err != nil {
			return
		}
		if _, err := evidence.Verify(tgz, o); err == nil && !bytes.Equal(bb, orig) {
			t.Fatalf("a different bundle verified:\n%s", bb)
		}
	})
}

// TestBundleFromProtobufRoundTrip: a bundle as sigstore-go's signer makes
// it (v0.3: certificate, a Rekor entry with inclusion promise and proof, an
// RFC 3161 timestamp) survives conversion to Bundle and its canonical JSON
// without losing or changing a field.
func TestBundleFromProtobufRoundTrip(t *testing.T) {
	t.Parallel()
	pb := &protobundle.Bundle{
		MediaType: evidence.BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{Certificate: &protocommon.X509Certificate{RawBytes: []byte("cert der")}},
			TlogEntries: []*protorekor.TransparencyLogEntry{{
				LogIndex: 123456789, LogId: &protocommon.LogId{KeyId: []byte{1, 2, 3}},
				KindVersion:      &protorekor.KindVersion{Kind: "dsse", Version: "0.0.1"},
				IntegratedTime:   1764000000,
				InclusionPromise: &protorekor.InclusionPromise{SignedEntryTimestamp: []byte("set")},
				InclusionProof: &protorekor.InclusionProof{LogIndex: 42, RootHash: []byte{9, 9}, TreeSize: 99, Hashes: [][]byte{{1}, {2}},
					Checkpoint: &protorekor.Checkpoint{Envelope: "rekor.sigstore.dev - 1\n99\nAAA=\n"}},
				CanonicalizedBody: []byte(`{"kind":"dsse"}`),
			}},
			TimestampVerificationData: &protobundle.TimestampVerificationData{Rfc3161Timestamps: []*protocommon.RFC3161SignedTimestamp{{SignedTimestamp: []byte("tsr")}}},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: []byte(`{"_type":"x"}`), PayloadType: evidence.PayloadType, Signatures: []*protodsse.Signature{{Sig: []byte("sig")}},
		}},
	}
	b, err := evidence.BundleFromProtobuf(pb)
	if err != nil {
		t.Fatal(err)
	}
	js, err := evidence.MarshalBundle(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evidence.ParseBundle(js); err != nil {
		t.Fatalf("the canonical form does not parse: %v", err)
	}
	var back protobundle.Bundle
	if err := protojson.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(pb, &back) {
		t.Fatalf("round trip changed the bundle:\n%s", js)
	}
}
