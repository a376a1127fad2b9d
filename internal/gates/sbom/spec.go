package sbomgate

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/provenance"
	"github.com/maestro-conductor/releasegate/internal/sbom"
)

// Spec is the `with:` block of an sbom gate.
type Spec struct {
	// Artifacts are the released artifacts and their SBOMs.
	Artifacts []Artifact `yaml:"artifacts" required:"true" doc:"each released artifact or image, by digest, with its SBOM or the attestation carrying it"`
	// MinComponents is the least number of components.
	MinComponents int `yaml:"min-components" default:"1" doc:"the least number of components each SBOM must list (its subject not counted); at least 1 whatever is set: an empty SBOM never passes"`
	// RequireFields are fields every component must have.
	RequireFields []string `yaml:"require-fields" doc:"fields every component must carry: supplier, version, purl, license"`
	// LicensesAllow lists the only licences allowed.
	LicensesAllow []string `yaml:"licenses-allow" doc:"SPDX licence ids (or names) components may carry; with it, a component whose licence is outside the list, or that has none, fails; an expression's ids are judged one by one"`
	// LicensesDeny lists licences refused.
	LicensesDeny []string `yaml:"licenses-deny" doc:"SPDX licence ids (or names) no component may carry, e.g. AGPL-3.0-only"`
	// TrustedRoot is the Sigstore trust material for attestations.
	TrustedRoot string `yaml:"trusted-root" doc:"Sigstore trusted_root.json that SBOM attestations must chain to, read offline; required with attestation"`
	// CertificateIdentity is the exact attestation signer identity.
	CertificateIdentity string `yaml:"certificate-identity" doc:"with attestation: the signer's exact identity (certificate SAN), e.g. https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1.2.3"`
	// CertificateIdentityRegexp is an anchored pattern for it.
	CertificateIdentityRegexp string `yaml:"certificate-identity-regexp" doc:"with attestation: an anchored pattern (^…$) for the signer identity; one that matches anything is refused"`
	// CertificateOIDCIssuer is the exact OIDC issuer.
	CertificateOIDCIssuer string `yaml:"certificate-oidc-issuer" doc:"with attestation: the signer's OIDC issuer, e.g. https://token.actions.githubusercontent.com"`
	// CertificateOIDCIssuerRegexp is an anchored pattern for it.
	CertificateOIDCIssuerRegexp string `yaml:"certificate-oidc-issuer-regexp" doc:"with attestation: an anchored pattern for the OIDC issuer"`
}

// Artifact is one released artifact and its SBOM.
type Artifact struct {
	// Name names it in checks.
	Name string `yaml:"name" required:"true" doc:"the artifact's name in checks"`
	// Digest is its sha256 digest.
	Digest string `yaml:"digest" doc:"the artifact's digest, sha256:<64 hex>, that the SBOM must name (CycloneDX metadata.component hashes, purl or Trivy's ImageID/RepoDigest; SPDX described package checksum, purl or version) or that the attestation's subject must carry"`
	// File is the artifact itself, whose SHA-256 is its digest.
	File string `yaml:"file" doc:"instead of digest: the released file itself, relative to the policy file; its SHA-256 is the digest (for a binary built in the same job)"`
	// SBOM is the SBOM file.
	SBOM string `yaml:"sbom" doc:"the SBOM, CycloneDX JSON 1.4–1.7 or SPDX 2.3 JSON, relative to the policy file; it must name the digest itself"`
	// Attestation is a Sigstore bundle carrying the SBOM.
	Attestation string `yaml:"attestation" doc:"instead of sbom: a keyless Sigstore bundle of an in-toto statement with the CycloneDX or SPDX predicate type (cosign attest --type cyclonedx|spdxjson --new-bundle-format, GitHub attest-sbom) whose subject is the digest; the SBOM is its predicate"`
}

var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// Identity is the attestation signer identity.
func (s Spec) Identity() provenance.Identity {
	return provenance.Identity{Issuer: s.CertificateOIDCIssuer, IssuerRegexp: s.CertificateOIDCIssuerRegexp,
		Identity: s.CertificateIdentity, IdentityRegexp: s.CertificateIdentityRegexp}
}

func (s Spec) policy() sbom.Policy {
	return sbom.Policy{MinComponents: s.MinComponents, Require: s.RequireFields, Allow: s.LicensesAllow, Deny: s.LicensesDeny}
}

// Validate reports every problem at once, each at its key.
func (s Spec) Validate() []error {
	var errs []error
	field := func(name string, err error) { errs = append(errs, &policy.FieldError{Field: name, Err: err}) }
	if len(s.Artifacts) == 0 {
		field("artifacts", errors.New("nothing to judge: expected at least one artifact with its SBOM"))
	}
	if s.MinComponents < 0 {
		field("min-components", fmt.Errorf("%d is negative", s.MinComponents))
	}
	for i, f := range s.RequireFields {
		if err := sbom.ValidateField(f); err != nil {
			field(fmt.Sprintf("require-fields[%d]", i), err)
		}
	}
	for i, l := range s.LicensesAllow {
		for _, d := range s.LicensesDeny {
			if strings.EqualFold(l, d) {
				field(fmt.Sprintf("licenses-allow[%d]", i), fmt.Errorf("%q is allowed and denied; keep it in one list", l))
			}
		}
	}
	attested := false
	names := map[string]bool{}
	for i, a := range s.Artifacts {
		at := fmt.Sprintf("artifacts[%d]", i)
		if strings.TrimSpace(a.Name) == "" {
			field(at+".name", errors.New("required"))
		} else if names[a.Name] {
			field(at+".name", fmt.Errorf("%q names two artifacts; expected unique names", a.Name))
		}
		names[a.Name] = true
		switch {
		case a.Digest == "" && a.File == "":
			field(at+".digest", errors.New("required: the artifact's sha256:<64 hex>, or file: the artifact itself"))
		case a.Digest != "" && a.File != "":
			field(at+".file", errors.New("digest and file: set one; the file's SHA-256 is its digest"))
		case a.File == "" && !digestPattern.MatchString(a.Digest):
			field(at+".digest", fmt.Errorf("%q: expected sha256:<64 lowercase hex>", a.Digest))
		}
		switch {
		case a.SBOM == "" && a.Attestation == "":
			field(at+".sbom", errors.New("required: the SBOM file, or attestation: the Sigstore bundle carrying it"))
		case a.SBOM != "" && a.Attestation != "":
			field(at+".attestation", errors.New("sbom and attestation: set one; an attestation carries its SBOM as its predicate"))
		}
		attested = attested || a.Attestation != ""
	}
	if attested {
		if s.TrustedRoot == "" {
			field("trusted-root", errors.New("required to verify SBOM attestations offline: pin a Sigstore trusted_root.json"))
		}
		for _, err := range s.Identity().Validate() {
			field(fieldOf(err), err)
		}
	} else if s.TrustedRoot != "" || s.CertificateIdentity != "" || s.CertificateIdentityRegexp != "" {
		field("trusted-root", errors.New("signer settings without an attestation: name each artifact's attestation or drop them"))
	}
	return errs
}

// fieldOf takes the key name a domain error starts with.
func fieldOf(err error) string {
	msg := err.Error()
	if i := strings.IndexAny(msg, " :"); i > 0 {
		return msg[:i]
	}
	return ""
}
