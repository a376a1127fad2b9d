package cli

import (
	"context"
	"errors"
	"fmt"
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

func verifyProvenanceCmd(ctx context.Context, o *IO, args []string) int {
	c, _ := lookup("verify-provenance")
	fs := o.NewFlagSet(c)
	var s provenance.Spec
	var artifacts, checksums, builders, inputs, images stringList
	var blob, bundle, signature, id string
	var out OutputOptions
	fs.Var(&artifacts, "artifact", "artifact file or glob whose SLSA provenance is verified (repeatable)")
	fs.Var(&checksums, "checksums", "sha256sum-format file listing artifacts (repeatable)")
	fs.StringVar(&s.Provenance, "provenance", "", "provenance bundle for all artifacts (default: <artifact>.intoto.jsonl, .build.slsa or .sigstore.json beside each)")
	fs.StringVar(&s.TrustedRoot, "trusted-root", "", "Sigstore trusted_root.json to verify against, offline")
	fs.BoolVar(&s.Online, "online", false, "refresh the trusted root over TUF instead of --trusted-root (opt-in; the only network call to Sigstore)")
	fs.StringVar(&s.TUFMirror, "tuf-mirror", "", "with --online: TUF repository (default: Sigstore public good)")
	fs.StringVar(&s.SourceURI, "source-uri", "", "expected source repository, e.g. github.com/owner/repo")
	fs.StringVar(&s.SourceTag, "source-tag", "", "exact tag the artifacts were built from")
	fs.StringVar(&s.SourceVersionedTag, "source-versioned-tag", "", "semver prefix the tag must match (v1 matches v1.2.3)")
	fs.StringVar(&s.SourceBranch, "source-branch", "", "branch the artifacts were built from")
	fs.Var(&builders, "builder-id", "trusted builder id (repeatable; required for delegator/BYOB builders)")
	fs.Var(&inputs, "input", "expected workflow input NAME=VALUE (repeatable)")
	fs.StringVar(&s.SignerWorkflow, "signer-workflow", "", "workflow that signed the provenance, owner/repo/.github/workflows/file.yml[@ref] (default for GitHub artifact attestations: a workflow of --source-uri)")
	fs.StringVar(&s.RunnerEnvironment, "runner-environment", "", "runner a GitHub artifact attestation's build ran on: github-hosted (default), self-hosted or any")
	fs.StringVar(&s.ProvenanceIssuer, "provenance-issuer", "", "OIDC issuer of the provenance signer (default https://token.actions.githubusercontent.com)")
	fs.StringVar(&s.SigstoreInstance, "sigstore-instance", "", "Sigstore instance of --trusted-root: public-good (default) or github (GitHub's instance for private repositories)")
	fs.StringVar(&blob, "blob", "", "file whose Sigstore bundle signature is verified")
	fs.StringVar(&bundle, "bundle", "", "the blob's Sigstore bundle (default: <blob>.sigstore.json or .bundle)")
	fs.StringVar(&signature, "signature", "", "the blob's detached base64 signature, with --key (instead of --bundle)")
	fs.Var(&images, "image", "OCI image (registry/repo@sha256:… or :tag) whose Sigstore bundles and cosign .att/.sig tags are verified: SLSA provenance with --source-uri, else a signature (repeatable)")
	fs.StringVar(&s.CertificateOIDCIssuer, "certificate-oidc-issuer", "", "keyless signer's OIDC issuer")
	fs.StringVar(&s.CertificateOIDCIssuerRegexp, "certificate-oidc-issuer-regexp", "", "anchored pattern for the OIDC issuer")
	fs.StringVar(&s.CertificateIdentity, "certificate-identity", "", "keyless signer's exact identity")
	fs.StringVar(&s.CertificateIdentityRegexp, "certificate-identity-regexp", "", "anchored pattern (^…$) for the signer identity")
	fs.BoolVar(&s.InsecureAnyIdentity, "insecure-any-identity", false, "accept an identity pattern that matches anyone (warns)")
	fs.StringVar(&s.Key, "key", "", "PEM public key for key-based signatures")
	fs.BoolVar(&s.InsecureIgnoreTlog, "insecure-ignore-tlog", false, "with --key and no --trusted-root: skip the transparency log (warns)")
	fs.StringVar(&id, "id", "verify-provenance", "gate id in the results")
	addOutputFlags(fs, &out)
	if code, ok := Parse(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(o.Stderr, "releasegate verify-provenance: unexpected arguments %q; name files with --artifact or --blob\n", fs.Args())
		return ExitBadInput
	}
	s.Artifacts, s.Checksums, s.BuilderIDs, s.Images = artifacts, checksums, builders, images
	if len(inputs) > 0 {
		s.Inputs = map[string]string{}
		for _, kv := range inputs {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				fmt.Fprintf(o.Stderr, "releasegate verify-provenance: --input %q: expected NAME=VALUE\n", kv)
				return ExitBadInput
			}
			s.Inputs[k] = v
		}
	}
	if blob != "" {
		s.Blobs = []provenance.Blob{{Path: blob, Bundle: bundle, Signature: signature}}
	} else if bundle != "" || signature != "" {
		fmt.Fprintln(o.Stderr, "releasegate verify-provenance: --bundle or --signature without --blob; for artifacts use --provenance")
		return ExitBadInput
	}
	if errs := s.Validate(); len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintf(o.Stderr, "releasegate verify-provenance: %s\n", flagMessage(err))
		}
		return ExitBadInput
	}
	m := gate.Meta{ID: id, Kind: provenance.Kind, Group: "provenance", Required: true}
	g := provenance.New(m, s, gate.Env{Getenv: o.Getenv})
	if code := out.prepare(o); code != ExitOK { // results must be writable before any gate runs
		return code
	}
	// The runner judges, as for a policy run; what could not be evaluated
	// is reported on stderr with its exit code (bad input is 2).
	res, err := (&gate.Runner{}).RunOne(ctx, gate.Planned{Meta: m, Gate: g})
	if err != nil {
		fmt.Fprintf(o.Stderr, "releasegate verify-provenance: %v\n", err)
		return ExitFor(err)
	}
	return Emit(ctx, o, out, []gate.Result{res})
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
