package evidence

import "time"

// In-toto and SLSA identifiers written into the statement.
const (
	StatementType = "https://in-toto.io/Statement/v1"
	VSAType       = "https://slsa.dev/verification_summary/v1"
	// VerifierID names releasegate as the VSA verifier.
	VerifierID = "https://github.com/maestro-conductor/releasegate"
)

// VSA verification results.
const (
	ResultPassed = "PASSED"
	ResultFailed = "FAILED"
)

// Statement is an in-toto Statement v1 carrying a VSA predicate.
type Statement struct {
	Type          string    `json:"_type"`
	Subject       []Subject `json:"subject"`
	PredicateType string    `json:"predicateType"`
	Predicate     VSA       `json:"predicate"`
}

// Subject is an artifact the statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// ResourceDescriptor points at a policy or an input attestation (in-toto
// ResourceDescriptor: at least one of uri and digest; name for a file that
// has no URI anyone else could fetch).
type ResourceDescriptor struct {
	Name   string            `json:"name,omitempty"`
	URI    string            `json:"uri,omitempty"`
	Digest map[string]string `json:"digest,omitempty"`
}

// Verifier names the tool that judged the release.
type Verifier struct {
	ID      string            `json:"id"`
	Version map[string]string `json:"version,omitempty"`
}

// VSA is the SLSA Verification Summary Attestation v1.0 predicate.
type VSA struct {
	Verifier           Verifier             `json:"verifier"`
	TimeVerified       time.Time            `json:"timeVerified"`
	ResourceURI        string               `json:"resourceUri"`
	Policy             ResourceDescriptor   `json:"policy"`
	InputAttestations  []ResourceDescriptor `json:"inputAttestations"`
	VerificationResult string               `json:"verificationResult"`
	VerifiedLevels     []string             `json:"verifiedLevels"`
	SLSAVersion        string               `json:"slsaVersion"`
	// Manifest is the ManifestField extension: the evidence manifest's name
	// and digest (nil in evidence made before it, which listed the manifest
	// among InputAttestations).
	Manifest *ResourceDescriptor `json:"https://github.com/maestro-conductor/releasegate/evidence-manifest/v1,omitempty"`
}

// digestMap turns "sha256:<hex>" into {"sha256": "<hex>"}.
func digestMap(d string) map[string]string {
	alg, hex, ok := cut(d, ':')
	if !ok {
		return nil
	}
	return map[string]string{alg: hex}
}

func cut(s string, sep byte) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
