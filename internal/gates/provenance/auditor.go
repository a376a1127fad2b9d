package provenancegate

import (
	"maps"
	"regexp"
	"slices"
	"strings"

	prov "github.com/maestro-conductor/releasegate/internal/provenance"
)

// outsideFlag maps one policy setting of a GitHub artifact attestation
// check to the flags of the standard verifiers an auditor runs instead:
// gh attestation verify, slsa-verifier verify-github-attestation and
// cosign verify-blob-attestation. An empty flag means that tool has no
// equivalent; Note says what differs. docs/provenance.md shows this
// table, and a test keeps it and OutsideCommands in step.
type outsideFlag struct {
	Key, GH, SLSAVerifier, Cosign, Note string
}

// outsideFlags is the policy ↔ flag mapping.
var outsideFlags = []outsideFlag{
	{Key: "artifacts", GH: "ARTIFACT (argument)", SLSAVerifier: "ARTIFACT (argument)", Cosign: "ARTIFACT (argument)",
		Note: "the file whose digest must be a subject"},
	{Key: "provenance", GH: "--bundle", SLSAVerifier: "--attestation-path", Cosign: "--bundle, --new-bundle-format, --type slsaprovenance1",
		Note: "the Sigstore bundle (JSON or JSON lines)"},
	{Key: "trusted-root", GH: "--custom-trusted-root", Cosign: "--trusted-root",
		Note: "slsa-verifier takes no trust root: it refreshes Sigstore's TUF root online"},
	{Key: "source-uri", GH: "--repo", SLSAVerifier: "--source-uri", Cosign: "--certificate-github-workflow-repository",
		Note: "the certificate's source repository"},
	{Key: "signer-workflow", GH: "--signer-workflow, --signer-digest", SLSAVerifier: "--builder-id", Cosign: "--certificate-identity / --certificate-identity-regexp",
		Note: "the certificate's build signer (SAN); a commit ref goes to --signer-digest; unset: a workflow of the source repository"},
	{Key: "source-tag", GH: "--source-ref", Cosign: "--certificate-github-workflow-ref",
		Note: "refs/tags/TAG; slsa-verifier verify-github-attestation has no ref check"},
	{Key: "source-branch", GH: "--source-ref", Cosign: "--certificate-github-workflow-ref",
		Note: "refs/heads/BRANCH"},
	{Key: "runner-environment", GH: "--deny-self-hosted-runners",
		Note: "github-hosted only; neither slsa-verifier nor cosign checks the runner"},
	{Key: "provenance-issuer", GH: "--cert-oidc-issuer", Cosign: "--certificate-oidc-issuer",
		Note: "default https://token.actions.githubusercontent.com"},
	{Key: "sigstore-instance", GH: "--custom-trusted-root", Cosign: "--trusted-root, --use-signed-timestamps, --insecure-ignore-tlog, --insecure-ignore-sct",
		Note: "github: GitHub's root from gh attestation trusted-root; its bundles have a signed timestamp, no log entry and no SCT (cosign calls skipping those insecure; the signed timestamp takes their place)"},
	{Key: "inputs", SLSAVerifier: "--build-workflow-input",
		Note: "NAME=VALUE, repeated"},
}

// outsideCommands returns the commands (argv) an auditor runs to check
// one artifact and its bundle the way the policy s does, one per tool:
// gh, slsa-verifier, cosign. Only the settings of a GitHub artifact
// attestation are mapped (OutsideFlags).
func outsideCommands(s Spec, artifact, bundle string) [][]string {
	repo := strings.TrimPrefix(prov.NormalizeSourceURI(s.SourceURI), "github.com/")
	ref := ""
	switch {
	case s.SourceTag != "":
		ref = "refs/tags/" + s.SourceTag
	case s.SourceBranch != "":
		ref = "refs/heads/" + s.SourceBranch
	}
	issuer := s.ProvenanceIssuer
	if issuer == "" {
		issuer = prov.GitHubActionsIssuer
	}
	signer, signerErr := prov.ParseSignerWorkflow(s.SignerWorkflow)
	if s.SignerWorkflow == "" || signerErr != nil {
		signer = prov.SignerWorkflow{}
	}

	gh := []string{"gh", "attestation", "verify", artifact, "--bundle", bundle, "--custom-trusted-root", s.TrustedRoot, "--repo", repo}
	if signer.Workflow != "" {
		gh = append(gh, "--signer-workflow", signer.Workflow)
		if signer.Ref != "" && !strings.HasPrefix(signer.Ref, "refs/") {
			gh = append(gh, "--signer-digest", signer.Ref)
		}
	}
	if ref != "" {
		gh = append(gh, "--source-ref", ref)
	}
	if s.RunnerEnvironment == "" || s.RunnerEnvironment == prov.RunnerGitHubHosted {
		gh = append(gh, "--deny-self-hosted-runners")
	}
	if s.ProvenanceIssuer != "" {
		gh = append(gh, "--cert-oidc-issuer", issuer)
	}

	sv := []string{"slsa-verifier", "verify-github-attestation", "--attestation-path", bundle, "--source-uri", "github.com/" + repo}
	if signer.Workflow != "" {
		id := "https://" + signer.Workflow
		if strings.HasPrefix(signer.Ref, "refs/") {
			id += "@" + signer.Ref
		}
		sv = append(sv, "--builder-id", id)
	}
	for _, k := range sortedKeys(s.Inputs) {
		sv = append(sv, "--build-workflow-input", k+"="+s.Inputs[k])
	}
	sv = append(sv, artifact)

	co := []string{"cosign", "verify-blob-attestation", "--new-bundle-format", "--bundle", bundle, "--trusted-root", s.TrustedRoot,
		"--type", "slsaprovenance1", "--certificate-oidc-issuer", issuer}
	switch {
	case signer.Workflow != "" && signer.Ref != "" && strings.HasPrefix(signer.Ref, "refs/"):
		co = append(co, "--certificate-identity", "https://"+signer.Workflow+"@"+signer.Ref)
	case signer.Workflow != "":
		co = append(co, "--certificate-identity-regexp", "^"+regexp.QuoteMeta("https://"+signer.Workflow+"@"))
	default:
		co = append(co, "--certificate-identity-regexp", "^"+regexp.QuoteMeta("https://github.com/"+repo+"/.github/workflows/"))
	}
	co = append(co, "--certificate-github-workflow-repository", repo)
	if ref != "" {
		co = append(co, "--certificate-github-workflow-ref", ref)
	}
	if s.SigstoreInstance == prov.InstanceGitHub {
		co = append(co, "--use-signed-timestamps", "--insecure-ignore-tlog", "--insecure-ignore-sct")
	}
	co = append(co, artifact)
	return [][]string{gh, sv, co}
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// shellLine quotes argv for a POSIX shell, one line.
func shellLine(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`*?[]()|&;<>^{}!#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
