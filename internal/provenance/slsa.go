package provenance

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Predicate types this package understands.
const (
	predicateSLSAv02 = "https://slsa.dev/provenance/v0.2"
	predicateSLSAv1  = "https://slsa.dev/provenance/v1"
)

// Subject is one artifact named by a statement.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// Statement is an in-toto statement carrying SLSA provenance, reduced to
// what the policy checks. Raw fields keep the predicate for callers.
type Statement struct {
	Type          string          `json:"_type"`
	PredicateType string          `json:"predicateType"`
	Subjects      []Subject       `json:"subject"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Provenance is the part of a SLSA predicate the policy judges, the same
// for SLSA v0.2 and v1.0.
type Provenance struct {
	// PredicateType is the statement's predicate type.
	PredicateType string
	// BuilderID is builder.id (v0.2) or runDetails.builder.id (v1).
	BuilderID string
	// BuildType is the predicate's build type.
	BuildType string
	// SourceURI is the source repository without scheme or ref,
	// e.g. github.com/owner/repo; empty when the predicate names none.
	SourceURI string
	// Ref is the git ref the build ran on, e.g. refs/tags/v1.2.3.
	Ref string
	// Commit is the source commit.
	Commit string
	// WorkflowPath is the workflow file that ran, as GitHub artifact
	// attestations record it (externalParameters.workflow.path).
	WorkflowPath string
	// Inputs are the workflow inputs (workflow_dispatch or reusable
	// workflow inputs), when the predicate records them.
	Inputs map[string]any
}

// ParseStatement decodes an in-toto statement with at least one subject
// that has a sha256 digest.
func ParseStatement(payload []byte) (*Statement, error) {
	var st Statement
	if err := json.Unmarshal(payload, &st); err != nil {
		return nil, fmt.Errorf("%w: statement is not JSON: %v", ErrMalformedBundle, err)
	}
	if !strings.HasPrefix(st.Type, "https://in-toto.io/Statement/") {
		return nil, fmt.Errorf("%w: statement _type %q, expected https://in-toto.io/Statement/v0.1 or v1", ErrMalformedBundle, st.Type)
	}
	if len(st.Subjects) == 0 {
		return nil, fmt.Errorf("%w: statement has no subjects; expected at least one artifact digest", ErrMalformedBundle)
	}
	for i, s := range st.Subjects {
		if len(s.Digest) == 0 {
			return nil, fmt.Errorf("%w: subject %d (%q) has no digest", ErrMalformedBundle, i, s.Name)
		}
	}
	return &st, nil
}

// HasSubject reports whether a subject carries the given sha256 digest
// (lowercase hex) and returns its name.
func (st *Statement) HasSubject(sha256 string) (string, bool) {
	return st.HasSubjectDigest("sha256", sha256)
}

// HasSubjectDigest reports whether a subject carries the digest (hex) for
// the algorithm ("sha256", "sha512") and returns its name.
func (st *Statement) HasSubjectDigest(alg, hexDigest string) (string, bool) {
	for _, s := range st.Subjects {
		if d := s.Digest[alg]; d != "" && strings.EqualFold(d, hexDigest) {
			return s.Name, true
		}
	}
	return "", false
}

// SLSA decodes the predicate as SLSA provenance v0.2 or v1.
func (st *Statement) SLSA() (*Provenance, error) {
	switch st.PredicateType {
	case predicateSLSAv02:
		return parseV02(st.Predicate)
	case predicateSLSAv1:
		return parseV1(st.Predicate)
	}
	return nil, fmt.Errorf("%w: predicate type %q, expected %s or %s", ErrMalformedBundle, st.PredicateType, predicateSLSAv02, predicateSLSAv1)
}

func parseV02(raw json.RawMessage) (*Provenance, error) {
	var p struct {
		Builder struct {
			ID string `json:"id"`
		} `json:"builder"`
		BuildType  string `json:"buildType"`
		Invocation struct {
			ConfigSource struct {
				URI    string            `json:"uri"`
				Digest map[string]string `json:"digest"`
			} `json:"configSource"`
			Parameters  json.RawMessage `json:"parameters"`
			Environment struct {
				Ref          string `json:"github_ref"`
				SHA1         string `json:"github_sha1"`
				EventPayload struct {
					Inputs map[string]any `json:"inputs"`
				} `json:"github_event_payload"`
			} `json:"environment"`
		} `json:"invocation"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%w: SLSA v0.2 predicate: %v", ErrMalformedBundle, err)
	}
	if p.Builder.ID == "" {
		return nil, fmt.Errorf("%w: SLSA v0.2 predicate has no builder.id", ErrMalformedBundle)
	}
	out := &Provenance{PredicateType: predicateSLSAv02, BuilderID: p.Builder.ID, BuildType: p.BuildType}
	out.SourceURI, out.Ref = splitSourceURI(p.Invocation.ConfigSource.URI)
	if p.Invocation.Environment.Ref != "" {
		out.Ref = p.Invocation.Environment.Ref
	}
	out.Commit = p.Invocation.ConfigSource.Digest["sha1"]
	if out.Commit == "" {
		out.Commit = p.Invocation.Environment.SHA1
	}
	out.Inputs = p.Invocation.Environment.EventPayload.Inputs
	var params struct {
		Inputs map[string]any `json:"inputs"`
	}
	if len(p.Invocation.Parameters) > 0 && json.Unmarshal(p.Invocation.Parameters, &params) == nil && params.Inputs != nil {
		out.Inputs = params.Inputs
	}
	return out, nil
}

func parseV1(raw json.RawMessage) (*Provenance, error) {
	var p struct {
		BuildDefinition struct {
			BuildType          string `json:"buildType"`
			ExternalParameters struct {
				Inputs   map[string]any `json:"inputs"`
				Workflow struct {
					Repository string `json:"repository"`
					Ref        string `json:"ref"`
					Path       string `json:"path"`
				} `json:"workflow"`
			} `json:"externalParameters"`
			InternalParameters struct {
				Ref  string `json:"GITHUB_REF"`
				SHA  string `json:"GITHUB_SHA"`
				Repo string `json:"GITHUB_REPOSITORY"`
			} `json:"internalParameters"`
			ResolvedDependencies []struct {
				URI    string            `json:"uri"`
				Digest map[string]string `json:"digest"`
			} `json:"resolvedDependencies"`
		} `json:"buildDefinition"`
		RunDetails struct {
			Builder struct {
				ID string `json:"id"`
			} `json:"builder"`
		} `json:"runDetails"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("%w: SLSA v1 predicate: %v", ErrMalformedBundle, err)
	}
	if p.RunDetails.Builder.ID == "" {
		return nil, fmt.Errorf("%w: SLSA v1 predicate has no runDetails.builder.id", ErrMalformedBundle)
	}
	bd := p.BuildDefinition
	out := &Provenance{PredicateType: predicateSLSAv1, BuilderID: p.RunDetails.Builder.ID, BuildType: bd.BuildType, Inputs: bd.ExternalParameters.Inputs}
	if len(bd.ResolvedDependencies) > 0 {
		dep := bd.ResolvedDependencies[0]
		out.SourceURI, out.Ref = splitSourceURI(dep.URI)
		out.Commit = dep.Digest["gitCommit"]
		if out.Commit == "" {
			out.Commit = dep.Digest["sha1"]
		}
	}
	if w := bd.ExternalParameters.Workflow; w.Repository != "" {
		out.SourceURI = NormalizeSourceURI(w.Repository)
		out.WorkflowPath = w.Path
		if w.Ref != "" {
			out.Ref = w.Ref
		}
	}
	if out.SourceURI == "" && bd.InternalParameters.Repo != "" {
		out.SourceURI = "github.com/" + bd.InternalParameters.Repo
	}
	if bd.InternalParameters.Ref != "" {
		out.Ref = bd.InternalParameters.Ref
	}
	if out.Commit == "" {
		out.Commit = bd.InternalParameters.SHA
	}
	return out, nil
}

// splitSourceURI turns "git+https://github.com/o/r@refs/tags/v1" into
// ("github.com/o/r", "refs/tags/v1").
func splitSourceURI(uri string) (source, ref string) {
	if uri == "" {
		return "", ""
	}
	if i := strings.LastIndex(uri, "@"); i > 0 {
		uri, ref = uri[:i], uri[i+1:]
	}
	return NormalizeSourceURI(uri), ref
}

// NormalizeSourceURI strips a scheme ("git+https://", "https://") and a
// trailing ".git" or "/", so that the forms users and builders write
// compare equal: github.com/owner/repo.
func NormalizeSourceURI(uri string) string {
	uri = strings.TrimSpace(uri)
	if i := strings.Index(uri, "://"); i >= 0 {
		uri = uri[i+3:]
	}
	uri = strings.TrimSuffix(strings.TrimSuffix(uri, "/"), ".git")
	return uri
}
