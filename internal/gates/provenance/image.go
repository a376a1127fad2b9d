package provenancegate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	prov "github.com/maestro-conductor/releasegate/internal/provenance"
	"github.com/maestro-conductor/releasegate/internal/provenance/oci"
)

// runImages verifies the bundles attached to each image: SLSA provenance
// when slsa, else signatures (keyless identity or key). The digest is what
// is verified and recorded; a tag-only reference adds a warning.
func (g *Gate) runImages(ctx context.Context, v *prov.Verifier, res *gate.Result, slsa bool) error {
	details := make([]map[string]any, 0, len(g.spec.Images))
	what := "signature"
	if slsa {
		what = "slsa"
	}
	for _, ref := range g.spec.Images {
		c := gate.Check{Name: what + " " + ref}
		d := map[string]any{"ref": ref}
		r, err := oci.Resolve(ctx, ref)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("image %s: %w", ref, gate.ErrTimeout)
			}
			return fmt.Errorf("image %s: %w: %v", ref, gate.ErrUnreachable, err)
		}
		d["digest"] = r.Digest.DigestStr()
		res.Inputs = append(res.Inputs, gate.Input{Name: ref, URI: r.Digest.String(), Digest: r.Digest.DigestStr()})
		if r.TagOnly {
			res.Add(gate.Check{Name: "pinned " + ref, Status: gate.StatusWarn, Observed: gate.Text(r.Digest.DigestStr()),
				Message: fmt.Sprintf("%s is a tag; verified the digest it points to now, %s; pin %s in the policy", ref, r.Digest.DigestStr(), r.Digest.String())})
		}
		bundles, err := oci.Bundles(ctx, r.Digest)
		if err != nil && !errors.Is(err, oci.ErrNoBundles) {
			return fmt.Errorf("image %s: %w: %v", ref, gate.ErrUnreachable, err)
		}
		// Signatures and attestations may also be in cosign's legacy
		// format, under the sha256-<hex>.sig or .att tag.
		// A registry error on the tag only matters when no bundle
		// verifies: then the verdict is "could not evaluate", never a fail
		// or a pass on half the signatures.
		var legacyErr error
		fetch := oci.LegacySignatures
		if slsa {
			fetch = oci.LegacyAttestations
		}
		legacy, lerr := fetch(ctx, r.Digest)
		switch {
		case lerr != nil && !errors.Is(lerr, oci.ErrNoLegacySignatures):
			legacyErr = lerr
		case err != nil && lerr != nil:
			err = fmt.Errorf("%w, and %v", err, lerr)
		}
		switch {
		case len(bundles) == 0 && len(legacy) == 0 && legacyErr == nil:
			c.Status, c.Message = gate.StatusFail, err.Error()
		default:
			c.Status, c.Message, c.Observed = g.verifyImageBundles(v, r, bundles, legacy, slsa, d)
			if c.Status != gate.StatusPass && legacyErr != nil {
				return fmt.Errorf("image %s: %w: %v", ref, gate.ErrUnreachable, legacyErr)
			}
		}
		if c.Status == gate.StatusFail {
			d["error"] = c.Message
		}
		res.Add(c)
		details = append(details, d)
	}
	res.Details["images"] = details
	return nil
}

// verifyImageBundles passes when one attached bundle verifies; otherwise
// it reports the first failure.
func (g *Gate) verifyImageBundles(v *prov.Verifier, r oci.Resolved, bundles [][]byte, legacy []prov.LegacySignature, slsa bool, d map[string]any) (gate.Status, string, gate.Value) {
	var firstErr error
	for _, data := range bundles {
		parsed, err := prov.ParseBundles(data)
		if err == nil {
			if slsa {
				var a *prov.Attestation
				if a, err = v.VerifyProvenance(parsed[0], r.Hex(), g.spec.SLSAPolicy()); err == nil {
					e := a.Evidence
					d["builder_id"], d["source"], d["ref"], d["commit"] = e.BuilderID, e.CertSource, e.CertRef, e.CertCommit
					msg := fmt.Sprintf("%s built by %s from %s@%s (commit %.12s)", r.Digest.String(), e.BuilderID, e.CertSource, e.CertRef, e.CertCommit)
					return gate.StatusPass, msg + logSuffix(a.Log, a.SignedTime, d), gate.Text(e.BuilderID)
				}
			} else {
				var s *prov.Signature
				if s, err = v.VerifyBlob(parsed[0], r.Hex(), g.spec.Identity()); err == nil {
					d["signer"], d["issuer"] = s.Signer, s.Issuer
					return gate.StatusPass, fmt.Sprintf("%s signed by %s", r.Digest.String(), s.Signer) + logSuffix(s.Log, s.SignedTime, d), gate.Text(s.Signer)
				}
			}
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	for _, l := range legacy {
		if slsa {
			a, err := verifyLegacyProvenance(v, l, r.Hex(), g.spec.SLSAPolicy())
			if err == nil {
				e := a.Evidence
				d["builder_id"], d["source"], d["ref"], d["commit"], d["format"] = e.BuilderID, e.CertSource, e.CertRef, e.CertCommit, "cosign attestation tag"
				msg := fmt.Sprintf("%s built by %s from %s@%s (commit %.12s; cosign attestation tag %s)", r.Digest.String(), e.BuilderID, e.CertSource, e.CertRef, e.CertCommit,
					oci.LegacyAttestationTag(r.Digest).TagStr())
				return gate.StatusPass, msg + logSuffix(a.Log, a.SignedTime, d), gate.Text(e.BuilderID)
			}
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		s, err := v.VerifyLegacyImage(l, r.Hex(), g.spec.Identity())
		if err == nil {
			d["signer"], d["issuer"], d["format"] = s.Signer, s.Issuer, "cosign signature tag"
			return gate.StatusPass, fmt.Sprintf("%s signed by %s (cosign signature tag %s)", r.Digest.String(), s.Signer, oci.LegacySignatureTag(r.Digest).TagStr()) + logSuffix(s.Log, s.SignedTime, d), gate.Text(s.Signer)
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	what := fmt.Sprintf("%d attached bundle(s)", len(bundles))
	if len(legacy) > 0 {
		what += fmt.Sprintf(" and %d cosign tag signature(s)", len(legacy))
		if slsa {
			what = fmt.Sprintf("%d attached bundle(s) and %d cosign tag attestation(s)", len(bundles), len(legacy))
		}
	}
	return gate.StatusFail, fmt.Sprintf("%s: none of %s verifies: %v", r.Digest.String(), what, firstErr), gate.Text(r.Digest.DigestStr())
}

func logSuffix(l *prov.LogEntry, signed time.Time, d map[string]any) string {
	var c gate.Check
	addObserved(&c, d, l, signed)
	return c.Message
}

func verifyLegacyProvenance(v *prov.Verifier, l prov.LegacySignature, hex string, p prov.Policy) (*prov.Attestation, error) {
	b, err := l.AttestationBundle()
	if err != nil {
		return nil, err
	}
	return v.VerifyProvenance(b, hex, p)
}
