package provenance

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"golang.org/x/mod/semver"
)

// GitHubActionsIssuer is the OIDC issuer of GitHub Actions workload tokens.
const GitHubActionsIssuer = "https://token.actions.githubusercontent.com"

// GitHubHostedRunner is the builder id GitHub artifact attestations
// (actions/attest-build-provenance) record for GitHub-hosted runners.
const GitHubHostedRunner = "https://github.com/actions/runner/github-hosted"

const generatorRepo = "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/"

// GeneratorBuilders are the slsa-github-generator workflows trusted by
// default: each signs provenance naming itself as the builder.
var GeneratorBuilders = []string{
	generatorRepo + "generator_generic_slsa3.yml",
	generatorRepo + "generator_container_slsa3.yml",
	generatorRepo + "builder_go_slsa3.yml",
	generatorRepo + "builder_nodejs_slsa3.yml",
	generatorRepo + "builder_container-based_slsa3.yml",
	generatorRepo + "builder_maven_slsa3.yml",
	generatorRepo + "builder_gradle_slsa3.yml",
}

// delegatorBuilders are the slsa-github-generator delegator workflows that
// sign on behalf of a "bring your own builder" (BYOB) tool. The provenance
// names the BYOB builder, which must be trusted explicitly.
var delegatorBuilders = []string{
	generatorRepo + "delegator_generic_slsa3.yml",
	generatorRepo + "delegator_lowperms-generic_slsa3.yml",
}

// githubAttestationBuildType is the build type of GitHub artifact
// attestations.
const githubAttestationBuildType = "https://actions.github.io/buildtypes/workflow/v1"

// Policy is what SLSA provenance must say for an artifact to pass.
type Policy struct {
	// SourceURI is the expected source repository, e.g.
	// github.com/owner/repo (a scheme is ignored). Required.
	SourceURI string
	// SourceTag, when set, is the exact tag the build ran on ("v1.2.3").
	SourceTag string
	// SourceVersionedTag, when set, is a semver prefix the tag must match:
	// "v1" matches v1.2.3, "v1.2" matches v1.2.9.
	SourceVersionedTag string
	// SourceBranch, when set, is the branch the build ran on ("main").
	SourceBranch string
	// BuilderIDs, when set, restricts the builder: an entry with "@" must
	// equal the builder id; without, it matches any tagged version. A BYOB
	// builder behind the delegator must be listed here.
	BuilderIDs []string
	// Inputs are expected workflow inputs, compared as strings.
	Inputs map[string]string
	// SignerWorkflow, when set, is the workflow that must have signed:
	// "[github.com/]owner/repo/.github/workflows/file.yml[@ref]" (gh
	// attestation verify --signer-workflow). Unset, a GitHub artifact
	// attestation must be signed by a workflow of the source repository.
	SignerWorkflow string
	// RunnerEnvironment is the runner a GitHub artifact attestation's
	// build may have run on: github-hosted (default), self-hosted or any.
	RunnerEnvironment string
	// Issuer is the expected OIDC issuer; default GitHubActionsIssuer
	// (GitHub Enterprise Cloud: GitHubActionsIssuer + "/<enterprise>").
	Issuer string
}

// Validate reports every problem with the policy, as bad input.
func (p Policy) Validate() []error {
	var errs []error
	if strings.TrimSpace(p.SourceURI) == "" {
		errs = append(errs, errors.New("source-uri: required; expected the source repository, e.g. github.com/owner/repo"))
	}
	if p.SourceTag != "" && p.SourceVersionedTag != "" {
		errs = append(errs, errors.New("source-tag and source-versioned-tag: set one, not both"))
	}
	if p.SourceVersionedTag != "" && !semver.IsValid(p.SourceVersionedTag) {
		errs = append(errs, fmt.Errorf("source-versioned-tag %q: expected a semver prefix such as v1, v1.2 or v1.2.3", p.SourceVersionedTag))
	}
	if (p.SourceTag != "" || p.SourceVersionedTag != "") && p.SourceBranch != "" {
		errs = append(errs, errors.New("source-branch and a tag: set one; a tag build does not run on a branch ref"))
	}
	for i, b := range p.BuilderIDs {
		if !strings.HasPrefix(b, "https://") {
			errs = append(errs, fmt.Errorf("builder-ids[%d] %q: expected an https:// builder id", i, b))
		}
	}
	return append(errs, validateGitHub(p)...)
}

// Evidence is what a verified bundle says about the build; it is reported
// per artifact.
type Evidence struct {
	Provenance
	// Signer is the certificate's subject (the signing workflow).
	Signer string
	// Issuer is the certificate's OIDC issuer.
	Issuer string
	// CertSource, CertRef and CertCommit come from the Fulcio certificate
	// extensions, bound to the OIDC token of the build.
	CertSource, CertRef, CertCommit string
	// CertBuildSigner and CertBuildSignerDigest are the workflow that
	// signed and its commit; CertBuildConfig is the workflow that ran
	// (both "https://github.com/owner/repo/.github/workflows/f.yml@ref").
	CertBuildSigner, CertBuildSignerDigest, CertBuildConfig string
	// CertRunnerEnvironment is github-hosted or self-hosted; CertTrigger
	// the event that started the build.
	CertRunnerEnvironment, CertTrigger string
}

func evidenceFrom(p *Provenance, c *certificate.Summary) Evidence {
	e := Evidence{Provenance: *p}
	if c != nil {
		e.Signer = c.SubjectAlternativeName
		e.Issuer = c.Issuer
		e.CertSource = NormalizeSourceURI(c.SourceRepositoryURI)
		e.CertRef = c.SourceRepositoryRef
		e.CertCommit = c.SourceRepositoryDigest
		e.CertBuildSigner, e.CertBuildSignerDigest, e.CertBuildConfig = c.BuildSignerURI, c.BuildSignerDigest, c.BuildConfigURI
		e.CertRunnerEnvironment, e.CertTrigger = c.RunnerEnvironment, c.BuildTrigger
	}
	return e
}

// Check applies the policy to the evidence of a verified bundle. It returns
// the first mismatch, a *MismatchError.
func (p Policy) Check(e Evidence) error {
	if e.Issuer != p.issuer() {
		return &MismatchError{Kind: ErrUntrustedBuilder, What: "certificate issuer", Expected: p.issuer(), Got: e.Issuer,
			Hint: "SLSA provenance must be signed by a GitHub Actions workflow identity; a GitHub Enterprise Cloud issuer is set with certificate-oidc-issuer"}
	}
	if err := p.checkSignerWorkflow(e); err != nil {
		return err
	}
	if err := p.checkBuilder(e); err != nil {
		return err
	}
	want := NormalizeSourceURI(p.SourceURI)
	for _, got := range []string{e.CertSource, e.SourceURI} {
		if got != "" && got != want {
			return &MismatchError{Kind: ErrMismatchSource, What: "source", Expected: want, Got: got,
				Hint: "the artifact was built from another repository; check --source-uri"}
		}
	}
	if e.CertSource == "" && e.SourceURI == "" {
		return &MismatchError{Kind: ErrMismatchSource, What: "source", Expected: want, Got: "",
			Hint: "neither the certificate nor the provenance names a source repository"}
	}
	ref := e.CertRef
	if ref == "" {
		ref = e.Ref
	} else if e.Ref != "" && e.Ref != ref {
		return &MismatchError{Kind: ErrMismatchRef, What: "ref", Expected: "the certificate's ref " + ref, Got: e.Ref,
			Hint: "the provenance and its signing certificate disagree; do not trust this artifact"}
	}
	if err := p.checkRef(ref); err != nil {
		return err
	}
	if err := p.checkGitHubSigner(e); err != nil {
		return err
	}
	return p.checkInputs(e.Inputs)
}

func (p Policy) checkRef(ref string) error {
	tag, isTag := strings.CutPrefix(ref, "refs/tags/")
	switch {
	case p.SourceTag != "":
		if !isTag || tag != p.SourceTag {
			return &MismatchError{Kind: ErrMismatchRef, What: "tag", Expected: "refs/tags/" + p.SourceTag, Got: ref,
				Hint: "the artifact was built from another tag; check --source-tag"}
		}
	case p.SourceVersionedTag != "":
		if !isTag || !semver.IsValid(tag) || !versionMatches(p.SourceVersionedTag, tag) {
			return &MismatchError{Kind: ErrMismatchRef, What: "versioned tag", Expected: "a tag matching " + p.SourceVersionedTag, Got: ref,
				Hint: "the artifact was built from a tag of another version; check --source-versioned-tag"}
		}
	case p.SourceBranch != "":
		if ref != "refs/heads/"+p.SourceBranch {
			return &MismatchError{Kind: ErrMismatchRef, What: "branch", Expected: "refs/heads/" + p.SourceBranch, Got: ref,
				Hint: "the artifact was built from another branch; check --source-branch"}
		}
	}
	return nil
}

// versionMatches reports whether tag (valid semver) matches the prefix want:
// v1 ≙ same major, v1.2 ≙ same major.minor, v1.2.3 ≙ equal version
// (build metadata ignored).
func versionMatches(want, tag string) bool {
	parts := strings.Count(strings.SplitN(strings.SplitN(want, "-", 2)[0], "+", 2)[0], ".") + 1
	switch parts {
	case 1:
		return semver.Major(tag) == semver.Major(want) && semver.Prerelease(want) == ""
	case 2:
		return semver.MajorMinor(tag) == semver.MajorMinor(want) && semver.Prerelease(want) == ""
	}
	return semver.Compare(tag, want) == 0
}

var taggedRef = regexp.MustCompile(`^refs/tags/v\d+\.\d+\.\d+$`)

// splitBuilderID splits "https://…/x.yml@refs/tags/v2.1.0".
func splitBuilderID(id string) (name, ref string) {
	if i := strings.LastIndex(id, "@"); i > 0 {
		return id[:i], id[i+1:]
	}
	return id, ""
}

func (p Policy) checkBuilder(e Evidence) error {
	signer, signerRef := splitBuilderID(e.Signer)
	builder := e.BuilderID
	switch {
	case slices.Contains(GeneratorBuilders, signer) || slices.Contains(delegatorBuilders, signer):
		if !taggedRef.MatchString(signerRef) {
			return &MismatchError{Kind: ErrUntrustedBuilder, What: "signing workflow ref", Expected: "refs/tags/vX.Y.Z", Got: e.Signer,
				Hint: "slsa-github-generator must be called at a released tag"}
		}
		if slices.Contains(GeneratorBuilders, signer) && builder != e.Signer {
			return &MismatchError{Kind: ErrUntrustedBuilder, What: "builder id", Expected: "the signing workflow " + e.Signer, Got: builder,
				Hint: "the provenance claims a builder that did not sign it"}
		}
		if slices.Contains(delegatorBuilders, signer) && len(p.BuilderIDs) == 0 {
			return &MismatchError{Kind: ErrUntrustedBuilder, What: "builder id", Expected: "a BYOB builder listed in builder-ids", Got: builder,
				Hint: "the delegator signed for a bring-your-own builder; trust it explicitly with --builder-id " + builder}
		}
	case isGitHubAttestation(e.Provenance):
		if err := p.checkGitHub(e); err != nil {
			return err
		}
	default:
		return &MismatchError{Kind: ErrUntrustedBuilder, What: "builder", Expected: "a slsa-github-generator builder, a delegator (BYOB) builder or GitHub's attest-build-provenance",
			Got: builder + " signed by " + e.Signer, Hint: "verify only provenance from a trusted builder"}
	}
	if len(p.BuilderIDs) > 0 && !builderListed(p.BuilderIDs, builder) {
		return &MismatchError{Kind: ErrUntrustedBuilder, What: "builder id", Expected: "one of " + strings.Join(p.BuilderIDs, ", "), Got: builder,
			Hint: "add the builder to builder-ids only if you trust it"}
	}
	return nil
}

func builderListed(list []string, builder string) bool {
	name, ref := splitBuilderID(builder)
	for _, want := range list {
		if strings.Contains(want, "@") {
			if want == builder {
				return true
			}
			continue
		}
		if want == name && (ref == "" || taggedRef.MatchString(ref)) {
			return true
		}
	}
	return false
}

// checkInputs compares expected workflow inputs with the recorded ones.
func (p Policy) checkInputs(got map[string]any) error {
	keys := make([]string, 0, len(p.Inputs))
	for k := range p.Inputs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v, ok := got[k]
		if !ok {
			return &MismatchError{Kind: ErrMismatchInputs, What: "workflow input " + k, Expected: fmt.Sprintf("%q", p.Inputs[k]), Got: "",
				Hint: "the provenance records no such input"}
		}
		if s := fmt.Sprint(v); s != p.Inputs[k] {
			return &MismatchError{Kind: ErrMismatchInputs, What: "workflow input " + k, Expected: fmt.Sprintf("%q", p.Inputs[k]), Got: s}
		}
	}
	return nil
}
