package provenance

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// GitHub artifact attestations (actions/attest-build-provenance, gh
// attestation verify): the signing workflow is named by the Fulcio
// certificate (build signer URI, OID 1.3.6.1.4.1.57264.1.9) and, in the
// current format, by the predicate's runDetails.builder.id; the workflow
// that ran (the build config, 1.3.6.1.4.1.57264.1.18) by the predicate's
// buildDefinition.externalParameters.workflow. Both sides are checked
// against each other and against the policy.

// selfHostedRunner is the builder id older GitHub attestations record for
// self-hosted runners.
const selfHostedRunner = "https://github.com/actions/runner/self-hosted"

// legacyGitHubBuildType is the build type of GitHub attestations made
// before actions.github.io/buildtypes/workflow/v1 (npm provenance,
// attest-build-provenance v1): the builder is the runner, not the signer.
const legacyGitHubBuildType = "https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1"

// Runner environments a policy may require (the certificate's runner
// environment extension, 1.3.6.1.4.1.57264.1.11).
const (
	RunnerGitHubHosted = "github-hosted"
	RunnerSelfHosted   = "self-hosted"
	RunnerAny          = "any"
)

// isGitHubAttestation reports whether provenance has the build type of a
// GitHub artifact attestation.
func isGitHubAttestation(p Provenance) bool {
	return p.BuildType == githubAttestationBuildType || p.BuildType == legacyGitHubBuildType
}

// SignerWorkflow is a parsed signer-workflow setting: the workflow file
// (host/owner/repo/.github/workflows/file.yml, no scheme) and an optional
// ref (refs/tags/…, refs/heads/…) or commit (40 hex digits).
type SignerWorkflow struct {
	Workflow string
	Ref      string
}

// String is the setting in canonical form.
func (s SignerWorkflow) String() string {
	if s.Ref == "" {
		return s.Workflow
	}
	return s.Workflow + "@" + s.Ref
}

var (
	workflowPath = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+/\.github/workflows/[A-Za-z0-9_.-]+\.ya?ml$`)
	commitRef    = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// ParseSignerWorkflow reads "[https://][github.com/]owner/repo/.github/workflows/file.yml[@ref]",
// the form `gh attestation verify --signer-workflow` takes (plus an
// optional ref). A pattern, an owner alone or a workflow outside
// .github/workflows is refused: it would accept signers nobody named. The
// error wraps ErrAnyIdentity for wildcards and empty values.
func ParseSignerWorkflow(s string) (SignerWorkflow, error) {
	raw := strings.TrimSpace(s)
	if raw == "" {
		return SignerWorkflow{}, fmt.Errorf("signer-workflow %q: empty; %w; expected owner/repo/.github/workflows/file.yml", s, ErrAnyIdentity)
	}
	if strings.ContainsAny(raw, "*?[]()|^$\\+{} ") {
		return SignerWorkflow{}, fmt.Errorf("signer-workflow %q: a pattern, %w; expected one workflow file, e.g. owner/repo/.github/workflows/release.yml", s, ErrAnyIdentity)
	}
	name, ref, _ := strings.Cut(raw, "@")
	name = strings.TrimSuffix(NormalizeSourceURI(name), "/")
	host := "github.com"
	if first, rest, ok := strings.Cut(name, "/"); ok && strings.Contains(first, ".") {
		host, name = first, rest
	}
	if !workflowPath.MatchString(name) {
		if strings.Count(name, "/") < 2 {
			return SignerWorkflow{}, fmt.Errorf("signer-workflow %q: names only an owner or a repository, %w; expected owner/repo/.github/workflows/file.yml", s, ErrAnyIdentity)
		}
		return SignerWorkflow{}, fmt.Errorf("signer-workflow %q: expected owner/repo/.github/workflows/file.yml (a workflow file of one repository)", s)
	}
	if ref != "" && !strings.HasPrefix(ref, "refs/tags/") && !strings.HasPrefix(ref, "refs/heads/") && !commitRef.MatchString(ref) {
		return SignerWorkflow{}, fmt.Errorf("signer-workflow %q: ref %q: expected refs/tags/…, refs/heads/… or a 40-digit commit", s, ref)
	}
	return SignerWorkflow{Workflow: host + "/" + name, Ref: ref}, nil
}

func validateGitHub(p Policy) []error {
	var errs []error
	if p.SignerWorkflow != "" || strings.TrimSpace(p.SignerWorkflow) != p.SignerWorkflow {
		if _, err := ParseSignerWorkflow(p.SignerWorkflow); err != nil {
			errs = append(errs, err)
		}
	}
	switch p.RunnerEnvironment {
	case "", RunnerGitHubHosted, RunnerSelfHosted, RunnerAny:
	default:
		errs = append(errs, fmt.Errorf("runner-environment %q: expected %s, %s or %s", p.RunnerEnvironment, RunnerGitHubHosted, RunnerSelfHosted, RunnerAny))
	}
	if p.Issuer != "" && p.Issuer != GitHubActionsIssuer && !strings.HasPrefix(p.Issuer, GitHubActionsIssuer+"/") {
		errs = append(errs, fmt.Errorf("provenance-issuer %q: expected %s or, for a GitHub Enterprise Cloud custom issuer, %s/<enterprise>", p.Issuer, GitHubActionsIssuer, GitHubActionsIssuer))
	}
	return errs
}

func (p Policy) issuer() string {
	if p.Issuer != "" {
		return p.Issuer
	}
	return GitHubActionsIssuer
}

func (p Policy) runnerEnvironment() string {
	if p.RunnerEnvironment == "" {
		return RunnerGitHubHosted
	}
	return p.RunnerEnvironment
}

// signer is the workflow that signed: the certificate's build signer URI,
// else its subject.
func (e Evidence) signer() string {
	if e.CertBuildSigner != "" {
		return e.CertBuildSigner
	}
	return e.Signer
}

// checkSignerWorkflow applies signer-workflow (any kind of provenance).
func (p Policy) checkSignerWorkflow(e Evidence) error {
	if p.SignerWorkflow == "" {
		return nil
	}
	want, err := ParseSignerWorkflow(p.SignerWorkflow)
	if err != nil {
		return err
	}
	name, ref := splitBuilderID(e.signer())
	if NormalizeSourceURI(name) != want.Workflow {
		return &MismatchError{Kind: ErrMismatchSigner, What: "signer workflow", Expected: want.Workflow, Got: e.signer(),
			Hint: "another workflow signed this attestation; check --signer-workflow"}
	}
	if want.Ref != "" && ref != want.Ref && !(commitRef.MatchString(want.Ref) && e.CertBuildSignerDigest == want.Ref) {
		return &MismatchError{Kind: ErrMismatchSigner, What: "signer workflow ref", Expected: want.String(), Got: e.signer(),
			Hint: "the signing workflow ran at another ref or commit; check the @ref of --signer-workflow"}
	}
	return nil
}

// checkGitHubSigner: without a named signer workflow, only the source
// repository's own workflows are trusted to sign a GitHub artifact
// attestation (gh attestation verify --repo). It runs after the source
// check, so that a wrong repository is named as such.
func (p Policy) checkGitHubSigner(e Evidence) error {
	if p.SignerWorkflow != "" || !isGitHubAttestation(e.Provenance) || generatorSigned(e) {
		return nil
	}
	signer := e.signer()
	if len(p.BuilderIDs) > 0 && e.BuilderID == signer {
		// slsa-verifier verify-github-attestation --builder-id: the
		// builder, which checkBuilder found listed, is the signer.
		return nil
	}
	name, _ := splitBuilderID(signer)
	repo := NormalizeSourceURI(p.SourceURI)
	if !strings.HasPrefix(NormalizeSourceURI(name), repo+"/.github/workflows/") {
		return &MismatchError{Kind: ErrMismatchSigner, What: "signer workflow", Expected: "a workflow of " + repo, Got: signer,
			Hint: "a workflow of another repository signed (a reusable workflow): trust it explicitly with signer-workflow OWNER/REPO/.github/workflows/FILE"}
	}
	return nil
}

// generatorSigned reports whether slsa-github-generator signed: its SLSA v1
// provenance shares the legacy GitHub build type, but its own rules apply.
func generatorSigned(e Evidence) bool {
	name, _ := splitBuilderID(e.Signer)
	return slices.Contains(GeneratorBuilders, name) || slices.Contains(delegatorBuilders, name)
}

// checkGitHub applies the policy to a GitHub artifact attestation.
func (p Policy) checkGitHub(e Evidence) error {
	signer := e.signer()
	runner := e.CertRunnerEnvironment
	switch e.BuilderID {
	case GitHubHostedRunner, selfHostedRunner:
		// Older format: the builder is the runner; it must be the one the
		// certificate names.
		want := RunnerGitHubHosted
		if e.BuilderID == selfHostedRunner {
			want = RunnerSelfHosted
		}
		if runner != "" && runner != want {
			return &MismatchError{Kind: ErrUntrustedBuilder, What: "builder id", Expected: "the runner environment of the certificate, " + runner, Got: e.BuilderID,
				Hint: "the provenance and its signing certificate disagree; do not trust this artifact"}
		}
	default:
		if e.BuilderID != signer {
			return &MismatchError{Kind: ErrUntrustedBuilder, What: "builder id", Expected: "the signing workflow " + signer, Got: e.BuilderID,
				Hint: "the provenance claims a builder that did not sign it"}
		}
	}
	if want := p.runnerEnvironment(); want != RunnerAny && runner != want {
		hint := "the build ran on another kind of runner; set runner-environment to what you trust"
		if runner == RunnerSelfHosted {
			hint = "a self-hosted runner is not isolated by GitHub; accept it only with runner-environment: self-hosted (or any)"
		} else if runner == "" {
			hint = "the certificate names no runner environment (the predicate, which the workflow writes, does not count); accept it only with runner-environment: any"
		}
		return &MismatchError{Kind: ErrMismatchRunner, What: "runner environment", Expected: want, Got: runner, Hint: hint}
	}
	// The workflow that ran, as the predicate states it, must be the
	// one the certificate names (build config URI).
	if e.WorkflowPath == "" || e.CertBuildConfig == "" {
		return &MismatchError{Kind: ErrMismatchSource, What: "workflow", Expected: "buildDefinition.externalParameters.workflow.path and the certificate's build config URI",
			Got: fmt.Sprintf("path %q, build config %q", e.WorkflowPath, e.CertBuildConfig), Hint: "not a complete GitHub artifact attestation"}
	}
	ran := e.SourceURI + "/" + strings.TrimPrefix(e.WorkflowPath, "/") + "@" + e.Ref
	if got := NormalizeSourceURI(e.CertBuildConfig); got != ran {
		return &MismatchError{Kind: ErrMismatchSource, What: "workflow", Expected: "the certificate's build config " + got, Got: ran,
			Hint: "the provenance and its signing certificate disagree; do not trust this artifact"}
	}
	return nil
}
