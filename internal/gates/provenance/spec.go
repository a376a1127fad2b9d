package provenancegate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/policy"
	prov "github.com/maestro-conductor/releasegate/internal/provenance"
)

// Spec is the `with:` block of a provenance gate. It verifies SLSA
// provenance of artifacts (artifacts, checksums) and/or Sigstore signatures
// of blobs (blobs), offline against a pinned trusted root.
type Spec struct {
	// Artifacts are paths or globs of files whose SLSA provenance is checked.
	Artifacts []string `yaml:"artifacts" doc:"files or globs whose SLSA provenance is verified, relative to the policy file"`
	// Checksums are sha256sum-format files listing artifacts.
	Checksums []string `yaml:"checksums" doc:"sha256sum-format files; every file listed is an artifact and must hash to its line"`
	// Provenance is one provenance file for every artifact.
	Provenance string `yaml:"provenance" doc:"the provenance (Sigstore bundle, .intoto.jsonl, .build.slsa) for all artifacts; default: <artifact>.intoto.jsonl, .build.slsa or .sigstore.json beside each"`
	// TrustedRoot is the pinned trusted_root.json.
	TrustedRoot string `yaml:"trusted-root" doc:"Sigstore trusted_root.json to verify against, fully offline; required unless online"`
	// Online opts into the network path: a TUF refresh of the trusted
	// root (slsa-verifier's own online path is not implemented).
	Online bool `yaml:"online" doc:"verify online (TUF-refreshed trust root); without it no network call is ever made"`

	// TUFMirror is the TUF repository used online.
	TUFMirror string `yaml:"tuf-mirror" doc:"with online: the TUF repository to refresh the trusted root from (default: the Sigstore public-good one)"`

	// SourceURI is the expected source repository.
	SourceURI string `yaml:"source-uri" doc:"expected source repository of the artifacts, e.g. github.com/owner/repo; required with artifacts"`
	// SourceTag is the exact expected tag.
	SourceTag string `yaml:"source-tag" doc:"the exact tag the artifacts were built from, e.g. v1.4.2"`
	// SourceVersionedTag is a semver prefix the tag must match.
	SourceVersionedTag string `yaml:"source-versioned-tag" doc:"a semver prefix the build's tag must match: v1 matches v1.2.3, v1.2 matches v1.2.9"`
	// SourceBranch is the expected branch.
	SourceBranch string `yaml:"source-branch" doc:"the branch the artifacts were built from, e.g. main"`
	// BuilderIDs restricts the trusted builders.
	BuilderIDs []string `yaml:"builder-ids" doc:"trusted builder ids (with @ref: exact; without: any released tag); required for delegator (BYOB) builders; default: the slsa-github-generator builders and GitHub attest-build-provenance"`
	// Inputs are expected workflow inputs.
	Inputs map[string]string `yaml:"inputs" doc:"workflow inputs the provenance must record, compared as strings"`
	// SignerWorkflow is the workflow that must have signed.
	SignerWorkflow string `yaml:"signer-workflow" doc:"the workflow that signed the provenance, owner/repo/.github/workflows/file.yml, optionally @refs/tags/…, @refs/heads/… or @<commit> (gh attestation verify --signer-workflow); checked against the certificate's build signer and, for GitHub artifact attestations, runDetails.builder.id; patterns and a bare owner are refused; default for GitHub artifact attestations: a workflow of source-uri"`
	// RunnerEnvironment is the runner a GitHub attestation's build may
	// have run on.
	RunnerEnvironment string `yaml:"runner-environment" default:"github-hosted" enum:"github-hosted,self-hosted,any" doc:"the runner a GitHub artifact attestation's build ran on, from the certificate (gh attestation verify --deny-self-hosted-runners is github-hosted)"`
	// ProvenanceIssuer is the OIDC issuer of the provenance signer.
	ProvenanceIssuer string `yaml:"provenance-issuer" doc:"the OIDC issuer of the provenance signer; default https://token.actions.githubusercontent.com; a GitHub Enterprise Cloud issuer is https://token.actions.githubusercontent.com/<enterprise> (gh attestation verify --cert-oidc-issuer)"`
	// SigstoreInstance is the Sigstore instance trusted-root belongs to.
	SigstoreInstance string `yaml:"sigstore-instance" default:"public-good" enum:"public-good,github" doc:"the Sigstore instance of trusted-root: public-good (Rekor log entry and certificate SCTs required) or github, GitHub's own instance that signs private repositories' attestations (no log; its timestamp authority's signed time required); trusted-root may be the JSON lines gh attestation trusted-root prints, the instance's root is picked from them"`

	// Images are OCI image references whose attached Sigstore bundles
	// are verified.
	Images []string `yaml:"images" doc:"OCI images (registry/repo@sha256:… or :tag) whose Sigstore bundles (OCI referrers) and cosign tags (sha256-….att, .sig) are verified: as SLSA provenance when source-uri is set, else as signatures; a tag-only reference warns"`

	// Blobs are files with a Sigstore bundle each.
	Blobs []Blob `yaml:"blobs" doc:"files whose signature is verified from a Sigstore bundle, an older cosign blob bundle or (with key) a detached signature, keyless (certificate identity) or with key"`
	// CertificateOIDCIssuer is the keyless signer's issuer.
	CertificateOIDCIssuer string `yaml:"certificate-oidc-issuer" doc:"the keyless signer's OIDC issuer, e.g. https://token.actions.githubusercontent.com"`
	// CertificateOIDCIssuerRegexp is an anchored issuer pattern.
	CertificateOIDCIssuerRegexp string `yaml:"certificate-oidc-issuer-regexp" doc:"an anchored pattern for the OIDC issuer"`
	// CertificateIdentity is the exact signer identity.
	CertificateIdentity string `yaml:"certificate-identity" doc:"the keyless signer's exact identity (certificate SAN): a workflow URI or an e-mail"`
	// CertificateIdentityRegexp is an anchored identity pattern.
	CertificateIdentityRegexp string `yaml:"certificate-identity-regexp" doc:"an anchored pattern (^…$) for the signer identity; one that matches anything is refused"`
	// InsecureAnyIdentity accepts any signer identity, with a warning.
	InsecureAnyIdentity bool `yaml:"insecure-any-identity" doc:"accept a signer identity pattern that matches anyone; every result then warns"`
	// Key is a PEM public key for key-based signatures.
	Key string `yaml:"key" doc:"PEM public key file for key-based signatures, instead of a keyless identity"`
	// InsecureIgnoreTlog verifies key signatures without a trusted root.
	InsecureIgnoreTlog bool `yaml:"insecure-ignore-tlog" doc:"with key and no trusted-root: skip the transparency-log check (every result then warns)"`
}

// Blob is one signed file.
type Blob struct {
	// Path is the signed file.
	Path string `yaml:"path" required:"true" doc:"the signed file, relative to the policy file"`
	// Bundle is its Sigstore bundle.
	Bundle string `yaml:"bundle" doc:"its Sigstore bundle (cosign sign-blob --bundle); default: <path>.sigstore.json or <path>.bundle"`
	// Signature is a detached key signature instead of a bundle.
	Signature string `yaml:"signature" doc:"a detached base64 signature (cosign sign-blob --key … --output-signature) instead of a bundle; only with key, and, having no Rekor entry, only with insecure-ignore-tlog"`
}

// Identity returns the keyless identity policy.
func (s Spec) Identity() prov.Identity {
	return prov.Identity{Issuer: s.CertificateOIDCIssuer, IssuerRegexp: s.CertificateOIDCIssuerRegexp,
		Identity: s.CertificateIdentity, IdentityRegexp: s.CertificateIdentityRegexp, InsecureAnyIdentity: s.InsecureAnyIdentity}
}

// SLSAPolicy returns the SLSA policy.
func (s Spec) SLSAPolicy() prov.Policy {
	return prov.Policy{SourceURI: s.SourceURI, SourceTag: s.SourceTag, SourceVersionedTag: s.SourceVersionedTag,
		SourceBranch: s.SourceBranch, BuilderIDs: s.BuilderIDs, Inputs: s.Inputs,
		SignerWorkflow: s.SignerWorkflow, RunnerEnvironment: s.RunnerEnvironment, Issuer: s.ProvenanceIssuer}
}

// Validate reports every problem at once, each at its key.
func (s Spec) Validate() []error {
	var errs []error
	field := func(name string, err error) { errs = append(errs, &policy.FieldError{Field: name, Err: err}) }
	slsa := len(s.Artifacts) > 0 || len(s.Checksums) > 0 || (len(s.Images) > 0 && s.SourceURI != "")
	signatures := len(s.Blobs) > 0 || (len(s.Images) > 0 && s.SourceURI == "")
	if !slsa && !signatures {
		field("artifacts", errors.New("nothing to verify: expected artifacts, checksums, images or blobs"))
	}
	if s.TrustedRoot == "" && !s.Online && !(s.Key != "" && s.InsecureIgnoreTlog) {
		field("trusted-root", errors.New("required for offline verification: pin a Sigstore trusted_root.json (or set online: true to fetch it with TUF)"))
	}
	if slsa {
		for _, err := range s.SLSAPolicy().Validate() {
			field(fieldOf(err), err)
		}
	} else if s.Provenance != "" || len(s.BuilderIDs) > 0 || s.SignerWorkflow != "" || s.RunnerEnvironment != "" || s.ProvenanceIssuer != "" {
		field("artifacts", errors.New("provenance settings without artifacts: expected artifacts or checksums to verify"))
	}
	switch {
	case s.SigstoreInstance != "" && s.SigstoreInstance != prov.InstancePublicGood && s.SigstoreInstance != prov.InstanceGitHub:
		field("sigstore-instance", fmt.Errorf("%q: expected %s or %s", s.SigstoreInstance, prov.InstancePublicGood, prov.InstanceGitHub))
	case s.SigstoreInstance == prov.InstanceGitHub && s.Online:
		field("sigstore-instance", errors.New("github with online: the TUF refresh fetches the public-good root only; pin GitHub's root with trusted-root (gh attestation trusted-root > trusted_root.jsonl)"))
	case s.SigstoreInstance == prov.InstanceGitHub && s.Key != "":
		field("sigstore-instance", errors.New("github with key: GitHub's instance signs keyless; a key signature is checked against the key and the public-good log"))
	}
	if signatures {
		switch {
		case s.Key != "" && (s.CertificateIdentity != "" || s.CertificateIdentityRegexp != ""):
			field("key", errors.New("key and certificate-identity: set one; a key signature has no identity"))
		case s.Key == "":
			for _, err := range s.Identity().Validate() {
				field(fieldOf(err), err)
			}
		}
	}
	if s.Online && s.TrustedRoot != "" {
		field("online", errors.New("online and trusted-root: set one; a pinned trusted root is verified offline"))
	}
	if s.TUFMirror != "" && !s.Online {
		field("tuf-mirror", errors.New("only used with online: true"))
	}
	if s.InsecureIgnoreTlog && s.Key == "" {
		field("insecure-ignore-tlog", errors.New("only applies to key-based verification; keyless signatures always need the transparency log"))
	}
	for i, ref := range s.Images {
		if strings.TrimSpace(ref) == "" {
			field(fmt.Sprintf("images[%d]", i), errors.New("empty image reference"))
		}
	}
	for i, b := range s.Blobs {
		if strings.TrimSpace(b.Path) == "" {
			field(fmt.Sprintf("blobs[%d].path", i), errors.New("required"))
		}
		switch {
		case b.Signature == "":
		case b.Bundle != "":
			field(fmt.Sprintf("blobs[%d].signature", i), errors.New("signature and bundle: set one"))
		case s.Key == "":
			field(fmt.Sprintf("blobs[%d].signature", i), errors.New("a detached signature needs key; a keyless signature is only verifiable offline from its bundle (cosign sign-blob --bundle), which carries the certificate and the Rekor entry"))
		}
	}
	return errs
}

// fieldOf takes the key name a domain error starts with ("source-uri: …").
func fieldOf(err error) string {
	msg := err.Error()
	if i := strings.IndexAny(msg, " :"); i > 0 {
		return msg[:i]
	}
	return ""
}
