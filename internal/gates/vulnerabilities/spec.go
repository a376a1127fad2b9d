package vulngate

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/provenance"
	"github.com/maestro-conductor/releasegate/internal/vuln"
)

// Spec is the `with:` block of a vulnerabilities gate.
type Spec struct {
	// FailOn is the least severity that fails.
	FailOn string `yaml:"fail-on" default:"high" enum:"low,medium,high,critical" doc:"the least severity that fails the release: a finding at or above it counts unless a VEX statement or an allow-list entry waives it; a finding whose report gives no severity (govulncheck, some OSV entries) always counts"`
	// SeverityFrom says which severity is judged.
	SeverityFrom string `yaml:"severity-from" default:"scanner" enum:"scanner,cvss" doc:"scanner: the severity the scanner gives (SARIF: security-severity, else the level); cvss: the CVSS base score's band (NVD: 7.0–8.9 high) when the report carries one, else the scanner's"`
	// MaxAge is the oldest a report may be.
	MaxAge policy.Duration `yaml:"max-age" doc:"the oldest a report may be, by the time it carries (SARIF invocation end, Grype descriptor.timestamp, Trivy CreatedAt, govulncheck's database time); a report that carries none then fails (OSV-Scanner JSON carries none); 0 checks no age"`
	// Artifacts are the released artifacts and their reports.
	Artifacts []Artifact `yaml:"artifacts" required:"true" doc:"each released artifact or image with the reports, and the VEX documents, that judge it"`
	// Allow is the allow-list.
	Allow []Allow `yaml:"allow" doc:"findings accepted until a date; an expired entry fails the gate"`
	// RequireSignedVEX refuses unsigned VEX documents.
	RequireSignedVEX bool `yaml:"require-signed-vex" doc:"every VEX document must be signed: a keyless Sigstore bundle (cosign sign-blob --bundle) or an attestation, verified against trusted-root and the certificate identity"`
	// TrustedRoot is the Sigstore trust material for VEX bundles.
	TrustedRoot string `yaml:"trusted-root" doc:"Sigstore trusted_root.json that VEX bundles must chain to, read offline; required when a VEX document has a bundle"`
	// CertificateIdentity is the exact VEX signer identity.
	CertificateIdentity string `yaml:"certificate-identity" doc:"the VEX signer's exact identity (certificate SAN), e.g. a workflow URI or an e-mail"`
	// CertificateIdentityRegexp is an anchored pattern for it.
	CertificateIdentityRegexp string `yaml:"certificate-identity-regexp" doc:"an anchored pattern (^…$) for the VEX signer identity; one that matches anything is refused"`
	// CertificateOIDCIssuer is the exact OIDC issuer.
	CertificateOIDCIssuer string `yaml:"certificate-oidc-issuer" doc:"the VEX signer's OIDC issuer, e.g. https://token.actions.githubusercontent.com"`
	// CertificateOIDCIssuerRegexp is an anchored pattern for it.
	CertificateOIDCIssuerRegexp string `yaml:"certificate-oidc-issuer-regexp" doc:"an anchored pattern for the VEX signer's OIDC issuer"`
}

// Artifact is one released artifact.
type Artifact struct {
	// Name names it in checks.
	Name string `yaml:"name" required:"true" doc:"the artifact's name in checks, e.g. the image or file name"`
	// Digest is its sha256 digest.
	Digest string `yaml:"digest" doc:"the artifact's digest, sha256:<64 hex>: every report must name it (Trivy and Grype image scans do); without it the reports are judged as scans of source, whatever they name"`
	// Products are its VEX product identifiers.
	Products []string `yaml:"products" doc:"what VEX statements call the artifact, e.g. pkg:oci/app?repository_url=ghcr.io/o/app; a product whose purl version or sha-256 hash is the digest matches without it"`
	// Reports are the scanner reports.
	Reports []string `yaml:"reports" required:"true" doc:"scanner reports of the artifact, relative to the policy file: SARIF 2.1 (CodeQL, Trivy, Grype), Grype JSON, Trivy JSON, OSV-Scanner JSON, govulncheck JSON; the format is told from the top-level keys"`
	// VEX are OpenVEX documents for it.
	VEX []VEXFile `yaml:"vex" doc:"OpenVEX documents whose not_affected (with a justification) and fixed statements for this artifact waive findings"`
}

// VEXFile is one OpenVEX document, as a file or attested.
type VEXFile struct {
	// Path is the document.
	Path string `yaml:"path" doc:"the OpenVEX JSON document, relative to the policy file"`
	// Bundle is its Sigstore bundle.
	Bundle string `yaml:"bundle" doc:"with path: its keyless Sigstore bundle (cosign sign-blob --bundle); the signer is recorded in the result"`
	// Attestation is a Sigstore bundle carrying the document.
	Attestation string `yaml:"attestation" doc:"instead of path: a keyless Sigstore bundle of an in-toto statement whose predicate is the OpenVEX document (vexctl attest, cosign attest --type openvex --new-bundle-format) and whose subject is the artifact's digest"`
}

// Allow is one allow-list entry.
type Allow struct {
	// ID is the vulnerability or rule id.
	ID string `yaml:"id" required:"true" doc:"the vulnerability id (CVE-…, GHSA-…, GO-…) or code-scanning rule id; aliases match too"`
	// Package limits it to one package.
	Package string `yaml:"package" doc:"only this package (name or purl)"`
	// Artifacts limits it to some artifacts.
	Artifacts []string `yaml:"artifacts" doc:"only these artifacts (their names); every artifact when empty"`
	// Expires is when it ends.
	Expires string `yaml:"expires" required:"true" doc:"the date the acceptance ends, YYYY-MM-DD (end of that day, UTC) or RFC 3339; required: a waiver without an expiry is refused"`
	// Reason says why.
	Reason string `yaml:"reason" required:"true" doc:"why the finding is accepted, shown in the result"`
}

var digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// severity returns the threshold.
func (s Spec) severity() vuln.Severity {
	sev, err := vuln.ParseSeverity(s.FailOn)
	if err != nil || s.FailOn == "" {
		return vuln.SeverityHigh
	}
	return sev
}

// Identity is the VEX signer identity.
func (s Spec) Identity() provenance.Identity {
	return provenance.Identity{Issuer: s.CertificateOIDCIssuer, IssuerRegexp: s.CertificateOIDCIssuerRegexp,
		Identity: s.CertificateIdentity, IdentityRegexp: s.CertificateIdentityRegexp}
}

// expiry reads an allow-list expiry: a date means the end of that day, UTC.
func expiry(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.Add(24 * time.Hour), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: expected a date, YYYY-MM-DD, or an RFC 3339 time", s)
	}
	return t, nil
}

// Validate reports every problem at once, each at its key.
func (s Spec) Validate() []error {
	var errs []error
	field := func(name string, err error) { errs = append(errs, &policy.FieldError{Field: name, Err: err}) }
	if s.FailOn != "" {
		if sev, err := vuln.ParseSeverity(s.FailOn); err != nil || sev == vuln.SeverityNone || sev == vuln.SeverityUnknown {
			field("fail-on", fmt.Errorf("%q: expected low, medium, high or critical", s.FailOn))
		}
	}
	if s.SeverityFrom != "" && s.SeverityFrom != "scanner" && s.SeverityFrom != "cvss" {
		field("severity-from", fmt.Errorf("%q: expected scanner or cvss", s.SeverityFrom))
	}
	if s.MaxAge < 0 {
		field("max-age", errors.New("negative; expected a duration such as 7d, or 0 for no age check"))
	}
	if len(s.Artifacts) == 0 {
		field("artifacts", errors.New("nothing to judge: expected at least one artifact with its reports"))
	}
	names := map[string]bool{}
	signed := false
	for i, a := range s.Artifacts {
		at := fmt.Sprintf("artifacts[%d]", i)
		if strings.TrimSpace(a.Name) == "" {
			field(at+".name", errors.New("required"))
		} else if names[a.Name] {
			field(at+".name", fmt.Errorf("%q names two artifacts; expected unique names", a.Name))
		}
		names[a.Name] = true
		if a.Digest != "" && !digestPattern.MatchString(a.Digest) {
			field(at+".digest", fmt.Errorf("%q: expected sha256:<64 lowercase hex>", a.Digest))
		}
		if len(a.Reports) == 0 {
			field(at+".reports", errors.New("no reports: expected at least one scanner report of the artifact"))
		}
		seen := map[string]int{}
		for j, r := range a.Reports {
			if strings.TrimSpace(r) == "" {
				field(fmt.Sprintf("%s.reports[%d]", at, j), errors.New("empty path"))
			} else if k, dup := seen[r]; dup {
				field(fmt.Sprintf("%s.reports[%d]", at, j), fmt.Errorf("%q is listed twice (reports[%d]); list each report once", r, k))
			}
			seen[r] = j
		}
		for j, v := range a.VEX {
			vat := fmt.Sprintf("%s.vex[%d]", at, j)
			switch {
			case strings.TrimSpace(v.Path) == "" && v.Attestation == "":
				field(vat+".path", errors.New("required: the OpenVEX document, or attestation: the Sigstore bundle carrying it"))
			case v.Path != "" && v.Attestation != "":
				field(vat+".attestation", errors.New("path and attestation: set one; an attestation carries its document as its predicate"))
			case v.Attestation != "" && v.Bundle != "":
				field(vat+".bundle", errors.New("only with path: an attestation is its own signature"))
			case v.Attestation != "" && a.Digest == "":
				field(vat+".attestation", errors.New("needs the artifact's digest: the attestation's subject must be it"))
			}
			signed = signed || v.Bundle != "" || v.Attestation != ""
			if s.RequireSignedVEX && v.Bundle == "" && v.Attestation == "" {
				field(vat+".bundle", errors.New("required by require-signed-vex: sign the document (cosign sign-blob --bundle) and name the bundle, or attest it"))
			}
		}
	}
	for i, a := range s.Allow {
		at := fmt.Sprintf("allow[%d]", i)
		if strings.TrimSpace(a.ID) == "" {
			field(at+".id", errors.New("required"))
		}
		if strings.TrimSpace(a.Expires) == "" {
			field(at+".expires", errors.New("a waiver without an expiry: expected the date the acceptance ends, e.g. 2026-03-31"))
		} else if _, err := expiry(a.Expires); err != nil {
			field(at+".expires", err)
		}
		if strings.TrimSpace(a.Reason) == "" {
			field(at+".reason", errors.New("required: say why the finding is accepted"))
		}
		for j, n := range a.Artifacts {
			if !names[n] {
				field(fmt.Sprintf("%s.artifacts[%d]", at, j), fmt.Errorf("%q is not the name of an artifact of this gate", n))
			}
		}
	}
	if signed || s.RequireSignedVEX {
		if s.TrustedRoot == "" {
			field("trusted-root", errors.New("required to verify VEX bundles and attestations offline: pin a Sigstore trusted_root.json"))
		}
		for _, err := range s.Identity().Validate() {
			field(fieldOf(err), err)
		}
	} else if s.TrustedRoot != "" || s.CertificateIdentity != "" || s.CertificateIdentityRegexp != "" {
		field("trusted-root", errors.New("signer settings without a VEX bundle: name each VEX document's bundle or drop them"))
	}
	return errs
}

// fieldOf takes the key name a domain error starts with ("certificate-identity: …").
func fieldOf(err error) string {
	msg := err.Error()
	if i := strings.IndexAny(msg, " :"); i > 0 {
		return msg[:i]
	}
	return ""
}
