// Package sbomgate is the `sbom` gate kind: for each released artifact, an
// SBOM (CycloneDX or SPDX JSON, read with internal/sbom) is present,
// parses, names the artifact by digest — or is the predicate of a keyless
// in-toto attestation whose subject is the digest, verified offline with
// internal/provenance and the signer identity rules the provenance gate
// uses — and meets the policy: a minimum number of components, required
// fields, licence allow and deny lists.
//
// The result's inputs carry the SHA-256 of every SBOM and attestation.
package sbomgate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/provenance"
	"github.com/maestro-conductor/releasegate/internal/sbom"
)

// Kind is the gate kind name.
const Kind = "sbom"

func init() {
	gate.RegisterTyped(gate.Typed[Spec]{
		Name:    Kind,
		Group:   "provenance",
		Summary: "checks each released artifact's SBOM (CycloneDX or SPDX JSON, or an attested one): present, bound to the artifact's digest, components, required fields and licences",
		New:     func(m gate.Meta, s Spec, env gate.Env) (gate.Gate, error) { return New(m, s, env), nil },
	})
}

// Gate checks the SBOMs of its Spec.
type Gate struct {
	meta gate.Meta
	spec Spec
	env  gate.Env
}

// New builds a gate; relative paths resolve against env.PolicyDir.
func New(m gate.Meta, s Spec, env gate.Env) *Gate {
	if m.Kind == "" {
		m.Kind = Kind
	}
	return &Gate{meta: m, spec: s, env: env}
}

// Name is the gate id.
func (g *Gate) Name() string { return g.meta.ID }

// Describe says what the gate checks.
func (g *Gate) Describe() string {
	return fmt.Sprintf("check the SBOMs of %d artifact(s)", len(g.spec.Artifacts))
}

// Run checks every artifact.
func (g *Gate) Run(ctx context.Context) (*gate.Result, error) {
	s := g.spec
	if errs := s.Validate(); len(errs) > 0 {
		return nil, &gate.InputError{Input: Kind, Err: errors.Join(errs...)}
	}
	res := &gate.Result{Schema: gate.SchemaVersion, Gate: g.meta.ID, Kind: Kind, Group: g.meta.Group,
		Required: g.meta.Required, Location: g.meta.Location}
	var v *provenance.Verifier
	if s.TrustedRoot != "" {
		var in gate.Input
		var err error
		if v, in, err = g.loadVerifier(ctx); err != nil {
			return nil, &gate.InputError{Input: "trusted-root", Err: err}
		}
		res.Inputs = append(res.Inputs, in)
	}
	var details []map[string]any
	for _, a := range s.Artifacts {
		if err := ctx.Err(); err != nil {
			return nil, stopped(ctx, "artifact "+a.Name)
		}
		details = append(details, g.artifact(ctx, a, v, res))
	}
	if err := ctx.Err(); err != nil {
		return nil, stopped(ctx, "sbom")
	}
	res.Details = map[string]any{"artifacts": details}
	if gate.Folded(res.Checks) == gate.StatusPass {
		res.Summary = fmt.Sprintf("%d artifact(s): each SBOM is bound to its digest and meets the policy", len(details))
	} else {
		res.Summary = fmt.Sprintf("%d artifact(s): an SBOM is missing, unbound or falls short of the policy; see the failing checks", len(details))
	}
	return res, nil
}

func (g *Gate) loadVerifier(ctx context.Context) (*provenance.Verifier, gate.Input, error) {
	path := g.env.Path(g.spec.TrustedRoot)
	v, data, err := provenance.LoadVerifier(ctx, path)
	if err != nil {
		return nil, gate.Input{}, err
	}
	return v, gate.Input{Name: "trusted root", URI: path, Digest: gate.Digest(data)}, nil
}

// artifact adds the checks of one artifact and returns its details.
func (g *Gate) artifact(ctx context.Context, a Artifact, v *provenance.Verifier, res *gate.Result) map[string]any {
	if a.File != "" {
		path := g.env.Path(a.File)
		digest, err := fileDigest(ctx, path)
		if err != nil {
			res.Add(gate.Check{Name: a.Name + ": artifact file", Status: gate.StatusFail, Expected: "a readable released file to take the digest of",
				Message: fmt.Sprintf("%s: %v; build the artifact before this gate runs (needs:) or give its digest", path, err)})
			return map[string]any{"name": a.Name, "file": a.File}
		}
		a.Digest = digest
		res.Inputs = append(res.Inputs, gate.Input{Name: "artifact " + a.Name, URI: path, Digest: digest})
	}
	d := map[string]any{"name": a.Name, "digest": a.Digest}
	var doc *sbom.Document
	if a.Attestation != "" {
		doc = g.attested(ctx, a, v, res, d)
	} else {
		doc = g.file(ctx, a, res, d)
	}
	if doc == nil {
		return d
	}
	d["format"], d["spec_version"], d["components"] = string(doc.Format), doc.SpecVersion, len(doc.Components)
	g.judge(a, doc, res)
	return d
}

// file reads and parses an SBOM file and checks it names the digest.
func (g *Gate) file(ctx context.Context, a Artifact, res *gate.Result, d map[string]any) *sbom.Document {
	d["sbom"] = a.SBOM
	data, err := fsx.ReadFile(ctx, g.env.Path(a.SBOM), fsx.MaxDocSize)
	if err != nil {
		res.Add(gate.Check{Name: a.Name + ": sbom", Status: gate.StatusFail, Expected: "an SBOM file",
			Message: fmt.Sprintf("%s: %s", a.SBOM, readProblem(err))})
		return nil
	}
	sum := gate.Digest(data)
	d["sha256"] = sum[len("sha256:"):]
	res.Inputs = append(res.Inputs, gate.Input{Name: "sbom " + a.SBOM, URI: g.env.Path(a.SBOM), Digest: sum})
	doc, err := sbom.Parse(data)
	if err != nil {
		res.Add(gate.Check{Name: a.Name + ": sbom", Status: gate.StatusFail, Expected: "CycloneDX JSON 1.4–1.7 or SPDX 2.3 JSON",
			Message: fmt.Sprintf("%s: %v", a.SBOM, err)})
		return nil
	}
	c := gate.Check{Name: a.Name + ": sbom names the artifact", Expected: a.Digest}
	switch {
	case doc.NamesDigest(a.Digest):
		c.Status, c.Observed = gate.StatusPass, gate.Text(a.Digest)
		c.Message = fmt.Sprintf("%s (%s %s) describes %s", a.SBOM, doc.Format, doc.SpecVersion, a.Digest)
		d["bound_by"] = "digest"
	case len(doc.Digests) == 0:
		c.Status = gate.StatusFail
		c.Message = fmt.Sprintf("%s names no digest of what it describes (%q), so it cannot be tied to %s; generate it from the image by digest, or attest it (attestation)", a.SBOM, doc.Subject, a.Digest)
	default:
		c.Status, c.Observed = gate.StatusFail, gate.Text(strings.Join(doc.Digests, ", "))
		c.Message = fmt.Sprintf("%s is the SBOM of another artifact (%s), expected %s; generate it from the released artifact", a.SBOM, strings.Join(doc.Digests, ", "), a.Digest)
	}
	res.Add(c)
	if c.Status != gate.StatusPass {
		return nil
	}
	return doc
}

// attested verifies an attestation and reads the SBOM it carries.
func (g *Gate) attested(ctx context.Context, a Artifact, v *provenance.Verifier, res *gate.Result, d map[string]any) *sbom.Document {
	d["attestation"] = a.Attestation
	name := a.Name + ": sbom attestation"
	fail := func(msg string) {
		res.Add(gate.Check{Name: name, Status: gate.StatusFail, Expected: "a signed SBOM attestation for " + a.Digest, Message: a.Attestation + ": " + msg})
	}
	data, err := fsx.ReadFile(ctx, g.env.Path(a.Attestation), fsx.MaxDocSize)
	if err != nil {
		fail(readProblem(err))
		return nil
	}
	res.Inputs = append(res.Inputs, gate.Input{Name: "sbom attestation " + a.Attestation, URI: g.env.Path(a.Attestation), Digest: gate.Digest(data)})
	bundles, err := provenance.ParseBundles(data)
	if err != nil || len(bundles) != 1 {
		if err == nil {
			err = fmt.Errorf("%d bundles, expected one", len(bundles))
		}
		fail(err.Error())
		return nil
	}
	hexDigest := strings.TrimPrefix(a.Digest, "sha256:")
	var doc *sbom.Document
	check := func(payload []byte) error {
		st, err := provenance.ParseStatement(payload)
		if err != nil {
			return err
		}
		if !sbom.IsPredicate(st.PredicateType) {
			return &provenance.MismatchError{Kind: provenance.ErrMismatchSubject, What: "predicate type", Expected: sbom.PredicateCycloneDX + " or " + sbom.PredicateSPDX,
				Got: st.PredicateType, Hint: "the attestation carries something other than an SBOM"}
		}
		if _, ok := st.HasSubject(hexDigest); !ok {
			return &provenance.MismatchError{Kind: provenance.ErrMismatchSubject, What: "subject", Expected: a.Digest,
				Got: subjects(st), Hint: "the attestation is for another artifact"}
		}
		doc, err = sbom.Parse(st.Predicate)
		return err
	}
	sig, err := v.VerifyEnvelope(bundles[0], "application/vnd.in-toto+json", check, g.spec.Identity())
	if err != nil {
		fail(err.Error())
		return nil
	}
	d["bound_by"], d["signer"] = "attestation", sig.Signer
	res.Add(gate.Check{Name: name, Status: gate.StatusPass, Observed: gate.Text(sig.Signer), Expected: a.Digest,
		Message: fmt.Sprintf("%s: a %s %s SBOM attested for %s, signed by %s (issuer %s)", a.Attestation, doc.Format, doc.SpecVersion, a.Digest, sig.Signer, sig.Issuer)})
	return doc
}

func subjects(st *provenance.Statement) string {
	var out []string
	for _, s := range st.Subjects {
		out = append(out, s.Name+" sha256:"+s.Digest["sha256"])
	}
	return strings.Join(out, ", ")
}

// judge adds the policy checks of one parsed SBOM.
func (g *Gate) judge(a Artifact, doc *sbom.Document, res *gate.Result) {
	s := g.spec
	v := s.policy().Judge(doc)
	min := max(s.MinComponents, 1)
	c := gate.Check{Name: a.Name + ": components", Observed: gate.Int(int64(v.Components)), Expected: fmt.Sprintf(">= %d", min), Status: gate.StatusPass,
		Message: fmt.Sprintf("%s lists %d component(s)", a.Name, v.Components)}
	if v.Components < min {
		c.Status = gate.StatusFail
		c.Message = fmt.Sprintf("%s's SBOM lists %d component(s), expected at least %d; generate it from the built artifact, not an empty directory", a.Name, v.Components, min)
	}
	res.Add(c)
	for _, f := range s.RequireFields {
		missing := v.Missing[f]
		c := gate.Check{Name: a.Name + ": components without " + f, Observed: gate.Int(int64(len(missing))), Expected: "0", Status: gate.StatusPass,
			Message: fmt.Sprintf("every component of %s has a %s", a.Name, f)}
		if len(missing) > 0 {
			c.Status = gate.StatusFail
			c.Message = fmt.Sprintf("%d of %d components of %s have no %s: %s; fill it in the SBOM generator's configuration", len(missing), v.Components, a.Name, f, trim(missing, 10))
		}
		res.Add(c)
	}
	if len(s.LicensesDeny) > 0 {
		res.Add(licenceCheck(a.Name+": denied licences", v.Denied, "carry a denied licence", "remove or replace them"))
	}
	if len(s.LicensesAllow) > 0 {
		res.Add(licenceCheck(a.Name+": licences outside the allow list", v.NotAllowed, "carry a licence outside the allow list (or none)", "review them and extend licenses-allow, or replace them"))
	}
}

func licenceCheck(name string, vs []sbom.Violation, what, todo string) gate.Check {
	c := gate.Check{Name: name, Observed: gate.Int(int64(len(vs))), Expected: "0", Status: gate.StatusPass, Message: "no component " + strings.TrimPrefix(what, "carry ")}
	if len(vs) > 0 {
		var list []string
		for _, v := range vs {
			list = append(list, v.Component+" ("+v.Detail+")")
		}
		c.Status = gate.StatusFail
		c.Message = fmt.Sprintf("%d component(s) %s: %s; %s", len(vs), what, trim(list, 10), todo)
	}
	return c
}

// stopped says why the gate stopped early, naming what it was doing.
func stopped(ctx context.Context, what string) error {
	return fmt.Errorf("%s: %w", what, gate.Stopped(ctx))
}

func readProblem(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "not found: expected the SBOM the build produced; check the path and that the SBOM step ran"
	}
	return err.Error()
}

func trim(list []string, n int) string {
	if len(list) <= n {
		return strings.Join(list, ", ")
	}
	return strings.Join(list[:n], ", ") + fmt.Sprintf(" and %d more", len(list)-n)
}

// fileDigest is the sha256:<hex> digest of a released file, read as a
// stream (a binary or an archive may be large).
func fileDigest(ctx context.Context, path string) (string, error) {
	f, err := fsx.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, fsx.NewReader(ctx, f)); err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
