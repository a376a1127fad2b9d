// Package provenance verifies SLSA provenance and Sigstore signatures of
// release artifacts and blobs, offline by default.
//
// A Verifier is built once per run over a pinned trusted root
// (trusted_root.json) or a public key; it then checks each artifact
// against its Sigstore bundle: the certificate chain at the time the
// transparency log (or a timestamp authority) observed the signature, the
// Rekor entry binding the signature, the signature itself, and then the
// policy: subject digest, trusted builder, source repository, tag or branch,
// workflow inputs, or a keyless signer identity. Nothing here makes a network
// call; online verification is an explicit opt-in elsewhere.
package provenance

import (
	"errors"
	"fmt"
)

// Sentinel errors that a failed verification wraps; match them with
// errors.Is. Each names the part of the policy that did not hold.
var (
	// ErrMalformedBundle means the provenance or bundle file could not be
	// read as a Sigstore bundle or an in-toto statement.
	ErrMalformedBundle = errors.New("malformed bundle")
	// ErrSignature means the cryptographic verification failed: the
	// certificate does not chain to the trusted root, the transparency log
	// entry does not bind the signature, or the signature is wrong.
	ErrSignature = errors.New("signature verification failed")
	// ErrMismatchSubject means the artifact's digest is not a subject of
	// the provenance.
	ErrMismatchSubject = errors.New("artifact digest not in provenance subjects")
	// ErrUntrustedBuilder means the provenance was produced by a builder
	// outside the trusted set.
	ErrUntrustedBuilder = errors.New("untrusted builder")
	// ErrMismatchSource means the source repository differs.
	ErrMismatchSource = errors.New("source repository mismatch")
	// ErrMismatchRef means the tag or branch differs.
	ErrMismatchRef = errors.New("source ref mismatch")
	// ErrMismatchInputs means a workflow input differs or is missing.
	ErrMismatchInputs = errors.New("workflow input mismatch")
	// ErrMismatchIdentity means a keyless signer identity or issuer differs.
	ErrMismatchIdentity = errors.New("signer identity mismatch")
	// ErrMismatchSigner means the workflow that signed an attestation (the
	// certificate's build signer) is not the one the policy names.
	ErrMismatchSigner = errors.New("signer workflow mismatch")
	// ErrMismatchRunner means the build ran on another runner environment
	// (github-hosted, self-hosted) than the policy allows.
	ErrMismatchRunner = errors.New("runner environment mismatch")
	// ErrWrongInstance means the bundle was made by another Sigstore
	// instance (public-good, GitHub's) than the trusted root is for.
	ErrWrongInstance = errors.New("bundle from another sigstore instance")
)

// MismatchError says what a policy expected and what the provenance had.
// It matches the sentinel it carries with errors.Is.
type MismatchError struct {
	// Kind is one of the sentinel errors above.
	Kind error
	// What names the field: "source", "tag", "builder id", ...
	What string
	// Expected and Got are the compared values.
	Expected, Got string
	// Hint says what to do.
	Hint string
}

func (e *MismatchError) Error() string {
	s := fmt.Sprintf("%s: expected %s, got %q", e.What, e.Expected, e.Got)
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// Unwrap returns the sentinel.
func (e *MismatchError) Unwrap() error { return e.Kind }

// InclusionError says how a transparency-log entry's inclusion proof
// failed: the root it leads to differs from the root it states, or from
// the one the log signed in its checkpoint. It wraps ErrSignature.
type InclusionError struct {
	// Entry is the entry's position in the bundle; Index and TreeSize
	// are the proof's log index and tree size.
	Entry           int
	Index, TreeSize int64
	// What names the compared root: "the proof's root hash" or "the
	// checkpoint's root hash"; Computed and Stated are hex.
	What, Computed, Stated string
	// Reason is set when no root could be computed.
	Reason string
}

func (e *InclusionError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("transparency-log entry %d: inclusion proof of log index %d in a tree of %d: %s; the bundle was altered or is not from this log", e.Entry, e.Index, e.TreeSize, e.Reason)
	}
	return fmt.Sprintf("transparency-log entry %d: inclusion proof of log index %d in a tree of %d leads to root %s, but %s is %s; the bundle was altered or is not from this log",
		e.Entry, e.Index, e.TreeSize, e.Computed, e.What, e.Stated)
}

// Unwrap returns ErrSignature.
func (e *InclusionError) Unwrap() error { return ErrSignature }
