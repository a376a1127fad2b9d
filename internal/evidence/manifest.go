package evidence

import (
	"bytes"
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// ManifestSchema identifies the manifest format.
const ManifestSchema = "releasegate.evidence/v1"

// Manifest is evidence-manifest-<version>.yaml: the release checklist's
// evidence record. Its digest is signed (it is an input attestation of the
// VSA), and it lists the digest of every other file in the bundle.
type Manifest struct {
	Schema    string    `yaml:"schema"`
	Version   string    `yaml:"version"`
	Release   string    `yaml:"release"`
	Timestamp time.Time `yaml:"timestamp"`
	// Result is PASSED or FAILED, as in the VSA; Reasons say why it failed.
	Result  string   `yaml:"result"`
	Reasons []string `yaml:"reasons,omitempty"`
	Tool    string   `yaml:"tool"`
	// GitHub is the workflow run that made the evidence, when there was one.
	GitHub    *GitHubContext `yaml:"github,omitempty"`
	Policy    PolicyRef      `yaml:"policy"`
	Artifacts []Artifact     `yaml:"artifacts"`
	// Checks maps each gate id to whether it passed, and the keys
	// sbom_scan_passed, security_scan_passed and tests_passed to whether
	// every gate of kind sbom, vulnerabilities and tests has status pass
	// (false when no gate of the kind ran: "not run" is never a pass; false
	// on a warning).
	Checks map[string]bool `yaml:"checks"`
	// Tests are the test totals of the gates of kind tests; absent when
	// no such gate ran.
	Tests *TestTotals `yaml:"tests,omitempty"`
	// Required lists the gates that must pass for the release to pass.
	Required []string     `yaml:"required"`
	Gates    []GateRecord `yaml:"gates"`
	Inputs   []InputRef   `yaml:"inputs,omitempty"`
	// ReleaseMetrics are the checklist's release metrics (deploy time, SLO
	// violations, error-budget burn, cost delta), derived once from the
	// results by ReleaseMetrics; the HTML report and the checklist print
	// these rows and never recompute them.
	ReleaseMetrics []MetricRow `yaml:"release_metrics"`
	Files          []FileRef   `yaml:"files"`
}

// GitHubContext is the workflow run that produced the evidence.
type GitHubContext struct {
	Repository string `yaml:"repository,omitempty"`
	RunID      string `yaml:"run_id,omitempty"`
	RunAttempt string `yaml:"run_attempt,omitempty"`
	SHA        string `yaml:"sha,omitempty"`
	Ref        string `yaml:"ref,omitempty"`
	Actor      string `yaml:"actor,omitempty"`
	ServerURL  string `yaml:"server_url,omitempty"`
}

// GitHubFromEnv reads the GitHub Actions context variables; it returns nil
// outside a workflow (no GITHUB_REPOSITORY and no GITHUB_RUN_ID).
func GitHubFromEnv(getenv func(string) string) *GitHubContext {
	g := &GitHubContext{
		Repository: getenv("GITHUB_REPOSITORY"), RunID: getenv("GITHUB_RUN_ID"),
		RunAttempt: getenv("GITHUB_RUN_ATTEMPT"), SHA: getenv("GITHUB_SHA"),
		Ref: getenv("GITHUB_REF"), Actor: getenv("GITHUB_ACTOR"), ServerURL: getenv("GITHUB_SERVER_URL"),
	}
	if g.Repository == "" && g.RunID == "" {
		return nil
	}
	return g
}

// PolicyRef is the policy file that was evaluated.
type PolicyRef struct {
	Path   string `yaml:"path"`
	Digest string `yaml:"digest"`
	// File is the copy inside the bundle, when the policy was included.
	File string `yaml:"file,omitempty"`
}

// Artifact is a released artifact: a subject of the VSA.
type Artifact struct {
	Name   string `yaml:"name"`
	Digest string `yaml:"digest"`
	// Attestations are bundle files whose in-toto subjects include this
	// artifact's digest.
	Attestations []string `yaml:"attestations,omitempty"`
}

// GateRecord summarises one gate's result.
type GateRecord struct {
	ID       string `yaml:"id"`
	Kind     string `yaml:"kind"`
	Group    string `yaml:"group,omitempty"`
	Required bool   `yaml:"required"`
	Status   string `yaml:"status"`
	Checks   int    `yaml:"checks"`
	Passed   int    `yaml:"passed"`
	Summary  string `yaml:"summary,omitempty"`
	File     string `yaml:"file"`
}

// InputRef is something a gate judged, with its digest.
type InputRef struct {
	Gate   string `yaml:"gate"`
	Name   string `yaml:"name"`
	URI    string `yaml:"uri,omitempty"`
	Digest string `yaml:"digest,omitempty"`
	// File is the input's copy in the bundle (SBOMs, VEX documents, scan
	// and test reports: the judged kinds), when it was included.
	File string `yaml:"file,omitempty"`
}

// FileRef is a file in the bundle and its digest.
type FileRef struct {
	Path   string `yaml:"path"`
	Digest string `yaml:"digest"`
	Size   int64  `yaml:"size"`
}

// MarshalManifest encodes m as YAML.
func MarshalManifest(m *Manifest) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ParseManifest decodes a manifest strictly: unknown keys are errors.
func ParseManifest(b []byte) (*Manifest, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrMalformed, err)
	}
	if m.Schema != ManifestSchema {
		return nil, fmt.Errorf("%w: manifest schema %q; expected %q", ErrMalformed, m.Schema, ManifestSchema)
	}
	return &m, nil
}
