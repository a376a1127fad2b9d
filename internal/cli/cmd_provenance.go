package cli

import (
	"context"
	"errors"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/gates/provenance"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

const verifyProvenanceUsage = `Usage:
  releasegate verify-provenance --trusted-root FILE --artifact FILE|GLOB [--provenance FILE]
      --source-uri github.com/OWNER/REPO [--source-tag TAG | --source-versioned-tag vN | --source-branch B]
      [--builder-id ID]... [--input NAME=VALUE]...
  releasegate verify-provenance --trusted-root FILE --blob FILE [--bundle FILE]
      (--certificate-identity ID | --certificate-identity-regexp '^…$') --certificate-oidc-issuer URL
  releasegate verify-provenance --blob FILE --bundle FILE --key cosign.pub [--trusted-root FILE]
  releasegate verify-provenance --blob FILE --signature FILE.sig --key cosign.pub --insecure-ignore-tlog
  releasegate verify-provenance --trusted-root FILE --image REGISTRY/REPO@sha256:… (identity or --key,
      or --source-uri … for SLSA provenance)

Verifies SLSA provenance (Sigstore bundles from slsa-github-generator, its delegator/BYOB
builders and GitHub artifact attestations: .intoto.jsonl, .build.slsa, .sigstore.json) and
keyless or key-based signatures of blobs and OCI images (Sigstore bundles attached as
referrers, or cosign's legacy sha256-<digest>.sig tags), offline against a pinned Sigstore
trusted_root.json: no call to Sigstore is ever made (images are read from their registry).
A tag-only image reference is resolved to a digest, which is verified and recorded, and warns.
Exit codes: 0 verified, 1 a verification failed, 2 bad input, 3 could not evaluate.

An identity pattern that matches anyone (".*", "^.*$", empty) is refused unless
--insecure-any-identity is given, which then warns in every result.

Example:
  releasegate verify-provenance --trusted-root trusted_root.json \
    --artifact 'dist/*.tar.gz' --provenance dist/multiple.intoto.jsonl \
    --source-uri github.com/acme/api --source-versioned-tag v1
`

func verifyProvenanceCmd(ctx context.Context, o *IO, args []string) error {
	f, err := parseVerifyProvenance(o, args)
	if err != nil {
		return err
	}
	s, err := f.spec()
	if err != nil {
		return err
	}
	m := gate.Meta{ID: f.id, Kind: provenancegate.Kind, Group: "provenance", Required: true}
	g := provenancegate.New(m, s, gate.Env{Getenv: o.Getenv})
	if err := f.out.check(o); err != nil { // results must be writable before any gate runs
		return err
	}
	// The runner judges, as for a policy run; what could not be evaluated
	// is the command's error, with its exit code (bad input is 2).
	res, err := (&gate.Runner{}).RunOne(ctx, gate.Planned{Meta: m, Gate: g})
	if err != nil {
		return err
	}
	return emit(ctx, o, f.out, []gate.Result{res})
}

// provenanceFlags are verify-provenance's flags: the spec they fill
// directly, and those that become parts of it.
type provenanceFlags struct {
	s                                              provenancegate.Spec
	artifacts, checksums, builders, inputs, images stringList
	blob, bundle, signature, id                    string
	out                                            OutputOptions
}

// spec is the provenance gate's settings the flags say, validated; its
// errors name the flags.
func (f *provenanceFlags) spec() (provenancegate.Spec, error) {
	s := f.s
	s.Artifacts, s.Checksums, s.BuilderIDs, s.Images = f.artifacts, f.checksums, f.builders, f.images
	if len(f.inputs) > 0 {
		s.Inputs = map[string]string{}
		for _, kv := range f.inputs {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return s, inputf("--input %q: expected NAME=VALUE", kv)
			}
			s.Inputs[k] = v
		}
	}
	if f.blob != "" {
		s.Blobs = []provenancegate.Blob{{Path: f.blob, Bundle: f.bundle, Signature: f.signature}}
	} else if f.bundle != "" || f.signature != "" {
		return s, inputf("--bundle or --signature without --blob; for artifacts use --provenance")
	}
	if errs := s.Validate(); len(errs) > 0 {
		msgs := make([]error, len(errs))
		for i, err := range errs {
			msgs[i] = errors.New(flagMessage(err))
		}
		return s, asInput(errors.Join(msgs...))
	}
	return s, nil
}

func parseVerifyProvenance(o *IO, args []string) (*provenanceFlags, error) {
	c, _ := lookup("verify-provenance")
	fs := o.NewFlagSet(c)
	f := &provenanceFlags{}
	s := &f.s
	fs.Var(&f.artifacts, "artifact", "artifact file or glob whose SLSA provenance is verified (repeatable)")
	fs.Var(&f.checksums, "checksums", "sha256sum-format file listing artifacts (repeatable)")
	fs.StringVar(&s.Provenance, "provenance", "", "provenance bundle for all artifacts (default: <artifact>.intoto.jsonl, .build.slsa or .sigstore.json beside each)")
	fs.StringVar(&s.TrustedRoot, "trusted-root", "", "Sigstore trusted_root.json to verify against, offline")
	fs.BoolVar(&s.Online, "online", false, "refresh the trusted root over TUF instead of --trusted-root (opt-in; the only network call to Sigstore)")
	fs.StringVar(&s.TUFMirror, "tuf-mirror", "", "with --online: TUF repository (default: Sigstore public good)")
	fs.StringVar(&s.SourceURI, "source-uri", "", "expected source repository, e.g. github.com/owner/repo")
	fs.StringVar(&s.SourceTag, "source-tag", "", "exact tag the artifacts were built from")
	fs.StringVar(&s.SourceVersionedTag, "source-versioned-tag", "", "semver prefix the tag must match (v1 matches v1.2.3)")
	fs.StringVar(&s.SourceBranch, "source-branch", "", "branch the artifacts were built from")
	fs.Var(&f.builders, "builder-id", "trusted builder id (repeatable; required for delegator/BYOB builders)")
	fs.Var(&f.inputs, "input", "expected workflow input NAME=VALUE (repeatable)")
	fs.StringVar(&s.SignerWorkflow, "signer-workflow", "", "workflow that signed the provenance, owner/repo/.github/workflows/file.yml[@ref] (default for GitHub artifact attestations: a workflow of --source-uri)")
	fs.StringVar(&s.RunnerEnvironment, "runner-environment", "", "runner a GitHub artifact attestation's build ran on: github-hosted (default), self-hosted or any")
	fs.StringVar(&s.ProvenanceIssuer, "provenance-issuer", "", "OIDC issuer of the provenance signer (default https://token.actions.githubusercontent.com)")
	fs.StringVar(&s.SigstoreInstance, "sigstore-instance", "", "Sigstore instance of --trusted-root: public-good (default) or github (GitHub's instance for private repositories)")
	fs.StringVar(&f.blob, "blob", "", "file whose Sigstore bundle signature is verified")
	fs.StringVar(&f.bundle, "bundle", "", "the blob's Sigstore bundle (default: <blob>.sigstore.json or .bundle)")
	fs.StringVar(&f.signature, "signature", "", "the blob's detached base64 signature, with --key (instead of --bundle)")
	fs.Var(&f.images, "image", "OCI image (registry/repo@sha256:… or :tag) whose Sigstore bundles and cosign .att/.sig tags are verified: SLSA provenance with --source-uri, else a signature (repeatable)")
	fs.StringVar(&s.CertificateOIDCIssuer, "certificate-oidc-issuer", "", "keyless signer's OIDC issuer")
	fs.StringVar(&s.CertificateOIDCIssuerRegexp, "certificate-oidc-issuer-regexp", "", "anchored pattern for the OIDC issuer")
	fs.StringVar(&s.CertificateIdentity, "certificate-identity", "", "keyless signer's exact identity")
	fs.StringVar(&s.CertificateIdentityRegexp, "certificate-identity-regexp", "", "anchored pattern (^…$) for the signer identity")
	fs.BoolVar(&s.InsecureAnyIdentity, "insecure-any-identity", false, "accept an identity pattern that matches anyone (warns)")
	fs.StringVar(&s.Key, "key", "", "PEM public key for key-based signatures")
	fs.BoolVar(&s.InsecureIgnoreTlog, "insecure-ignore-tlog", false, "with --key and no --trusted-root: skip the transparency log (warns)")
	fs.StringVar(&f.id, "id", "verify-provenance", "gate id in the results")
	addOutputFlags(fs, &f.out)
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if err := noArgs(fs, "name files with --artifact or --blob"); err != nil {
		return nil, err
	}
	return f, nil
}

// flagMessage prints a settings error with its key as a flag:
// "--source-uri: required; …".
func flagMessage(err error) string {
	var fe *policy.FieldError
	if !errors.As(err, &fe) || fe.Field == "" {
		return err.Error()
	}
	msg := fe.Err.Error()
	if !strings.HasPrefix(msg, fe.Field) {
		msg = fe.Field + ": " + msg
	}
	return "--" + msg
}
