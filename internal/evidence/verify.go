package evidence

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/provenance"
)

// VerifyOptions say what to verify an evidence tarball against: a public
// key, or a trusted root and a keyless signer identity. Set one of Key and
// TrustedRoot.
type VerifyOptions struct {
	// Key is the public key that must have signed the statement.
	Key crypto.PublicKey
	// TrustedRoot is the pinned Sigstore trust material (Fulcio CAs, Rekor
	// and CT log keys, timestamp authorities) a keyless signature must
	// chain to; load it with LoadTrustedRoot. Verification stays offline.
	TrustedRoot root.TrustedMaterial
	// Identity is the keyless signer the certificate must name: an OIDC
	// issuer and an exact identity or an anchored regexp. An identity
	// pattern that matches anyone is refused.
	Identity provenance.Identity
	// SkipSCTUnsafe skips the certificate-transparency check of the
	// keyless certificate. Only tests with a virtual Sigstore whose CA
	// issues no SCTs use it.
	SkipSCTUnsafe bool
	// Artifacts, when given, must each be a subject of the statement.
	Artifacts []Input
	// ResourceURI, when set, must be the VSA's resourceUri exactly (as
	// slsa-verifier verify-vsa --resource-uri checks).
	ResourceURI string
	// VerifiedLevels, when set, must each be met by the VSA's
	// verifiedLevels, as verify-vsa --verified-level checks: a SLSA level
	// by a level of the same track at least as high, any other value
	// exactly.
	VerifiedLevels []string
	// Limits bound the tarball; zero means DefaultLimits.
	Limits Limits
}

// Verification is what Verify established.
type Verification struct {
	// Passed lists each fact that was verified, for people.
	Passed []string
	// Manifest and Statement are the verified documents (nil until
	// verified).
	Manifest  *Manifest
	Statement *Statement
	// Result is the VSA verification result (PASSED or FAILED).
	Result string
	// Digest is the SHA-256 of the tarball ("sha256:<hex>").
	Digest string
}

// isManifestName reports whether a member is the evidence manifest.
func isManifestName(name string) bool {
	return strings.HasPrefix(name, "evidence-manifest-") && strings.HasSuffix(name, ".yaml") && !strings.Contains(name, "/")
}

// Verify checks an evidence tarball offline: the tarball is canonical and
// holds only safe regular files; the statement's signature verifies with
// the key; the manifest is the one the statement names; every other file
// matches the manifest's digests and nothing is extra or missing; the
// subjects match the manifest's artifacts (and the given artifact files);
// the results in the bundle give the signed verdict; and that verdict is
// PASSED; then, when asked, that the VSA names the resource and meets the
// levels (as slsa-verifier verify-vsa does). The returned Verification
// lists what was verified even when err is set; err wraps ErrTampered,
// ErrSignature, ErrIdentity, ErrUnsafeEntry, ErrMalformed, ErrSubject,
// ErrNotPassed or ErrLevel.
func Verify(tgz []byte, o VerifyOptions) (*Verification, error) {
	return VerifyReader(bytes.NewReader(tgz), o)
}

// VerifyReader is Verify reading the tarball from r as a stream, in two
// passes, so memory stays bounded by the largest member rather than the
// tarball: the first checks the encoding and hashes every member, keeping
// only the signature bundle and the manifest; the second, after the
// signature, the manifest and every digest were checked, reads the gate
// results one at a time (each checked against the manifest again) to
// recompute the verdict. A hostile tarball is refused at the first entry
// that breaks a rule (too many entries, an unsafe name, a non-canonical
// header), before the rest is read.
func VerifyReader(r io.ReadSeeker, o VerifyOptions) (*Verification, error) {
	v := &Verification{}
	lim := o.Limits
	if lim == (Limits{}) {
		lim = DefaultLimits
	}
	if err := checkVerifyOptions(&o); err != nil {
		return v, err
	}
	files, fileDigest, err := scanTarGz(r, lim, func(name string) bool { return name == BundleFile || isManifestName(name) })
	if err != nil {
		return v, err
	}
	v.Digest = fileDigest
	byName := map[string]member{}
	for _, f := range files {
		byName[f.Name] = f
	}
	v.pass("tarball is canonical: %d regular files, no links, devices, absolute or .. paths", len(files))

	// 1. The signature over the statement.
	st, err := v.verifySignature(byName, o)
	if err != nil {
		return v, err
	}
	// 2. The manifest named by the statement.
	m, mname, err := v.verifyManifest(files, byName, st)
	if err != nil {
		return v, err
	}
	// 3. Every other file against the manifest, nothing extra, nothing
	// missing.
	listed, err := v.verifyFiles(files, byName, m, mname)
	if err != nil {
		return v, err
	}
	// 4. Subjects.
	if err := v.verifySubjects(st, m, byName, o.Artifacts); err != nil {
		return v, err
	}
	// 5. The verdict: the signed one, recomputed from the included results,
	// read in a second pass, one file at a time.
	if err := v.verifyVerdict(r, lim, st, m, listed); err != nil {
		return v, err
	}
	// 6. What the caller asked of the VSA.
	if o.ResourceURI != "" {
		if st.Predicate.ResourceURI != o.ResourceURI {
			return v, fmt.Errorf("%w: the VSA is about %q; expected --resource-uri %q", ErrSubject, st.Predicate.ResourceURI, o.ResourceURI)
		}
		v.pass("resource: %s", o.ResourceURI)
	}
	if len(o.VerifiedLevels) > 0 {
		if err := meetsLevels(st.Predicate.VerifiedLevels, o.VerifiedLevels); err != nil {
			return v, err
		}
		v.pass("levels: %s meet %s", strings.Join(st.Predicate.VerifiedLevels, ", "), strings.Join(o.VerifiedLevels, ", "))
	}
	return v, nil
}

// checkVerifyOptions refuses options that cannot verify anything: a
// malformed --verified-level, no key and no trusted root, both, or a
// keyless identity that is missing or matches anyone.
func checkVerifyOptions(o *VerifyOptions) error {
	keyless := o.TrustedRoot != nil
	for _, l := range o.VerifiedLevels {
		if _, _, err := parseLevel(l); strings.HasPrefix(l, levelPrefix) && err != nil {
			return &gate.InputError{Input: "--verified-level", Err: err}
		}
	}
	switch {
	case o.Key == nil && !keyless:
		return &gate.InputError{Input: "--key", Err: fmt.Errorf("no verification key; pass --key cosign.pub, or --trusted-root with --certificate-identity and --certificate-oidc-issuer for keyless evidence")}
	case o.Key != nil && keyless:
		return &gate.InputError{Input: "--key", Err: fmt.Errorf("both a key and a trusted root; pass --key for key-signed evidence or --trusted-root for keyless evidence, not both")}
	case keyless:
		o.Identity.InsecureAnyIdentity = false
		if errs := o.Identity.Validate(); len(errs) > 0 {
			return &gate.InputError{Input: "keyless identity", Err: errors.Join(errs...)}
		}
	}
	return nil
}

// verifySignature checks the bundle's one signature over the statement,
// with the key or keyless against the trusted root and identity, and
// returns the verified statement.
func (v *Verification) verifySignature(byName map[string]member, o VerifyOptions) (*Statement, error) {
	keyless := o.TrustedRoot != nil
	bm, ok := byName[BundleFile]
	bb := bm.Data
	if !ok {
		return nil, fmt.Errorf("%w: no %s in the tarball; expected the signed statement", ErrMalformed, BundleFile)
	}
	b, err := ParseBundle(bb)
	if err != nil {
		return nil, err
	}
	// Nothing in the bundle file may go unchecked: one signature, and its
	// key id and the key hint (which the signature does not cover) must
	// name the verification key, or be empty for keyless.
	if n := len(b.DSSEEnvelope.Signatures); n != 1 {
		return nil, fmt.Errorf("%w: the envelope has %d signatures; releasegate writes exactly one (and cosign and sigstore-go refuse more in a bundle)", ErrTampered, n)
	}
	kid := b.DSSEEnvelope.Signatures[0].KeyID
	if vm := b.VerificationMaterial; !vm.Keyless() && !keyless {
		id := KeyID(o.Key)
		if vm.PublicKey.Hint != id {
			return nil, fmt.Errorf("%w: the bundle names key %s, not the verification key %s; check that --key is the public half of the signing key",
				ErrSignature, shortID(vm.PublicKey.Hint), shortID(id))
		}
		// Evidence from this release has no key id (the standard clients
		// skip a signature whose key id differs from theirs); earlier
		// releases wrote the key's hex SHA-256, which is still accepted
		// when it names the verification key.
		if kid != "" && kid != id {
			return nil, fmt.Errorf("%w: the signature's key id %q names another key; expected none, or %s (the hex SHA-256 of --key, as earlier releases wrote); check that --key is the public half of the signing key",
				ErrSignature, kid, id)
		}
	} else if vm.Keyless() && kid != "" {
		return nil, fmt.Errorf("%w: a keyless signature with key id %q; keyless signatures have none", ErrTampered, kid)
	}
	var payload []byte
	var signedBy string
	switch vm := b.VerificationMaterial; {
	case vm.Keyless() && !keyless:
		return nil, fmt.Errorf("%w: the evidence is signed keyless (a Fulcio certificate), not with a key; verify it with --trusted-root, --certificate-identity and --certificate-oidc-issuer instead of --key", ErrSignature)
	case !vm.Keyless() && keyless:
		return nil, fmt.Errorf("%w: the evidence is signed with key %s, not keyless; verify it with --key and the public key instead of --trusted-root", ErrSignature, shortID(vm.PublicKey.Hint))
	case keyless:
		// The statement's first subject is what sigstore-go binds the
		// signature to; everything else is checked on the verified payload.
		unverified, err := decodePayload(b.DSSEEnvelope)
		if err != nil {
			return nil, err
		}
		st0, err := parseStatement(unverified)
		if err != nil {
			return nil, err
		}
		kr, err := verifyKeyless(bb, b, st0.Subject[0].Digest["sha256"], o)
		if err != nil {
			return nil, err
		}
		payload = kr.payload
		signedBy = fmt.Sprintf("keyless by %s (issuer %s), certificate chains to the trusted root", kr.signer, kr.issuer)
		if kr.log != nil {
			signedBy += fmt.Sprintf(", Rekor entry %d logged %s", kr.log.Index, kr.log.IntegratedTime.Format(time.RFC3339))
		}
	default:
		if payload, err = VerifyEnvelope(b.DSSEEnvelope, o.Key); err != nil {
			return nil, err
		}
		signedBy = "by key " + shortID(KeyID(o.Key))
	}
	st, err := parseStatement(payload)
	if err != nil {
		return nil, err
	}
	v.Statement, v.Result = st, st.Predicate.VerificationResult
	v.pass("signature: DSSE envelope signed %s over an in-toto statement (%s)", signedBy, st.PredicateType)
	v.pass("VSA: resourceUri %s, verifiedLevels %s, policy %s", st.Predicate.ResourceURI, strings.Join(st.Predicate.VerifiedLevels, ","), st.Predicate.Policy.URI)

	return st, nil
}

// verifyManifest finds the one manifest and checks it is the one the
// statement signs; it returns the manifest and its name.
func (v *Verification) verifyManifest(files []member, byName map[string]member, st *Statement) (*Manifest, string, error) {
	var mname string
	for _, f := range files {
		if isManifestName(f.Name) {
			if mname != "" {
				return nil, "", fmt.Errorf("%w: two manifests, %s and %s", ErrMalformed, mname, f.Name)
			}
			mname = f.Name
		}
	}
	if mname == "" {
		return nil, "", fmt.Errorf("%w: no evidence-manifest-<version>.yaml in the tarball", ErrMalformed)
	}
	mb := byName[mname].Data
	// The manifest's digest is signed in the ManifestField extension, or,
	// in evidence made before it, among the input attestations.
	named := false
	refs := slices.Clone(st.Predicate.InputAttestations)
	if mf := st.Predicate.Manifest; mf != nil {
		if mf.Name != mname {
			return nil, "", fmt.Errorf("%w: the signed statement names manifest %q; the tarball holds %s", ErrTampered, mf.Name, mname)
		}
		refs = []ResourceDescriptor{{URI: mf.Name, Digest: mf.Digest}}
	}
	for _, in := range refs {
		if in.URI == mname {
			if "sha256:"+in.Digest["sha256"] != Digest(mb) {
				return nil, "", fmt.Errorf("%w: %s has digest %s; the signed statement says sha256:%s", ErrTampered, mname, Digest(mb), in.Digest["sha256"])
			}
			named = true
		}
	}
	if !named {
		return nil, "", fmt.Errorf("%w: the signed statement does not name %s (expected in %s, or among the input attestations of earlier evidence)", ErrTampered, mname, ManifestField)
	}
	m, err := ParseManifest(mb)
	if err != nil {
		return nil, "", err
	}
	if ManifestName(m.Version) != mname {
		return nil, "", fmt.Errorf("%w: manifest %s is for version %q", ErrTampered, mname, m.Version)
	}
	v.Manifest = m
	v.pass("manifest: %s matches the signed digest %s", mname, shortDigest(Digest(mb)))

	return m, mname, nil
}

// verifyFiles checks every other file against the manifest's digests and
// sizes: nothing extra, nothing missing, nothing listed twice. It returns
// the listed paths.
func (v *Verification) verifyFiles(files []member, byName map[string]member, m *Manifest, mname string) (map[string]bool, error) {
	listed := map[string]bool{}
	for _, f := range m.Files {
		got, ok := byName[f.Path]
		if !ok {
			return nil, fmt.Errorf("%w: %s is listed in the manifest but missing from the tarball", ErrTampered, f.Path)
		}
		if listed[f.Path] {
			return nil, fmt.Errorf("%w: %s is listed twice in the manifest", ErrTampered, f.Path)
		}
		listed[f.Path] = true
		if got.Digest != f.Digest || got.Size != f.Size {
			return nil, fmt.Errorf("%w: %s has digest %s (%d bytes); the manifest says %s (%d bytes)", ErrTampered, f.Path, got.Digest, got.Size, f.Digest, f.Size)
		}
	}
	for _, f := range files {
		if f.Name != mname && f.Name != BundleFile && !listed[f.Name] {
			return nil, fmt.Errorf("%w: %s is in the tarball but not in the manifest", ErrTampered, f.Name)
		}
	}
	v.pass("files: %d files match the manifest's SHA-256 digests", len(m.Files))

	return listed, nil
}

// verifySubjects checks the statement's subjects against the manifest's
// artifacts (or the report) and the artifacts given.
func (v *Verification) verifySubjects(st *Statement, m *Manifest, byName map[string]member, artifacts []Input) error {
	if err := checkSubjects(st, m, byName[ReportFile].Digest, artifacts); err != nil {
		return err
	}
	names := make([]string, len(st.Subject))
	for i, s := range st.Subject {
		names[i] = s.Name
	}
	v.pass("subjects: %s", strings.Join(names, ", "))
	for _, a := range artifacts {
		v.pass("artifact %s (%s) is a subject", a.Name, shortDigest(Digest(a.Data)))
	}

	return nil
}

// verifyVerdict recomputes the verdict from the included results, read
// again from r one file at a time (each checked against the manifest), and
// checks it is the signed one and PASSED.
func (v *Verification) verifyVerdict(r io.ReadSeeker, lim Limits, st *Statement, m *Manifest, listed map[string]bool) error {
	want := map[string]string{}
	for _, g := range m.Gates {
		if !listed[g.File] {
			return fmt.Errorf("%w: result file %s of gate %s is not in the manifest", ErrTampered, g.File, g.ID)
		}
		for _, f := range m.Files {
			if f.Path == g.File {
				want[g.File] = f.Digest
			}
		}
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("evidence: rewind for the results: %w", err)
	}
	// Each result file is parsed as it streams past and only what Verdict
	// reads is kept, so memory does not add up over the results.
	parsed := map[string]gate.Result{}
	_, _, err := scanTarGz(r, lim, func(name string) bool { _, ok := want[name]; return ok }, func(f member) error {
		d, ok := want[f.Name]
		if !ok {
			return nil
		}
		if f.Digest != d {
			return fmt.Errorf("%w: %s changed while it was read: digest %s; the manifest says %s", ErrTampered, f.Name, f.Digest, d)
		}
		doc, err := parseDoc(f.Name, f.Data)
		if err != nil || doc.isReport() {
			return fmt.Errorf("%w: %s is not a gate result", ErrMalformed, f.Name)
		}
		parsed[f.Name] = gate.Result{Gate: doc.Gate, Required: doc.Required, Status: doc.Status, Summary: doc.Summary, Error: doc.Error}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTampered) {
			return err
		}
		return fmt.Errorf("%w: reading the results again: %w", ErrTampered, err)
	}
	var results []gate.Result
	for _, g := range m.Gates {
		res, ok := parsed[g.File]
		if !ok || res.Gate != g.ID {
			return fmt.Errorf("%w: %s is not the result of gate %s", ErrMalformed, g.File, g.ID)
		}
		results = append(results, res)
	}
	got, reasons, _ := Verdict(results, m.Required)
	if got != st.Predicate.VerificationResult || got != m.Result {
		return fmt.Errorf("%w: the results give %s but the statement says %s and the manifest %s", ErrTampered, got, st.Predicate.VerificationResult, m.Result)
	}
	if got != ResultPassed {
		return fmt.Errorf("%w: verificationResult %s: %s", ErrNotPassed, got, strings.Join(reasons, "; "))
	}
	v.pass("verdict: %s; all %d required gates passed (%s)", got, len(m.Required), strings.Join(m.Required, ", "))
	return nil
}

func (v *Verification) pass(format string, args ...any) {
	v.Passed = append(v.Passed, fmt.Sprintf(format, args...))
}

func parseStatement(payload []byte) (*Statement, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	var st Statement
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("%w: statement: %v", ErrMalformed, err)
	}
	if st.Type != StatementType || st.PredicateType != VSAType {
		return nil, fmt.Errorf("%w: statement type %q with predicate %q; expected %q with %q", ErrMalformed, st.Type, st.PredicateType, StatementType, VSAType)
	}
	if len(st.Subject) == 0 {
		return nil, fmt.Errorf("%w: statement has no subject", ErrMalformed)
	}
	if st.Predicate.Verifier.ID != VerifierID {
		return nil, fmt.Errorf("%w: the VSA names verifier %q; expected %q (releasegate), as slsa-verifier verify-vsa --verifier-id would", ErrMalformed, st.Predicate.Verifier.ID, VerifierID)
	}
	switch st.Predicate.VerificationResult {
	case ResultPassed, ResultFailed:
	default:
		return nil, fmt.Errorf("%w: verificationResult %q; expected PASSED or FAILED", ErrMalformed, st.Predicate.VerificationResult)
	}
	return &st, nil
}

func checkSubjects(st *Statement, m *Manifest, reportDigest string, artifacts []Input) error {
	subj := map[string]bool{}
	var got []string
	for _, s := range st.Subject {
		d := "sha256:" + s.Digest["sha256"]
		subj[d] = true
		got = append(got, s.Name+"@"+d)
	}
	var want []string
	for _, a := range m.Artifacts {
		want = append(want, a.Name+"@"+a.Digest)
	}
	if len(want) == 0 {
		want = []string{ReportFile + "@" + reportDigest}
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("%w: statement subjects %v; the manifest's artifacts are %v", ErrSubject, got, want)
	}
	for _, a := range artifacts {
		if d := Digest(a.Data); !subj[d] {
			return fmt.Errorf("%w: artifact %s has digest %s, which is not a subject of the statement; it is not the released file", ErrSubject, a.Name, d)
		}
	}
	return nil
}
