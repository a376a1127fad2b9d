package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// A keyless Sigstore signature of a checkpoint signs an in-toto statement
// whose one subject is the signed checkpoint file (the whole signed note,
// byte for byte) and whose predicate carries that note's text. An in-toto
// statement, not the bare note, because sigstore-go (v0.6.2) verifies only
// DSSE envelopes with in-toto payloads.
const (
	// CheckpointPayloadType is the DSSE payload type of the statement.
	CheckpointPayloadType = "application/vnd.in-toto+json"
	// CheckpointPredicateType names the predicate.
	CheckpointPredicateType = "https://releasegate.dev/ledger/checkpoint/v1"
	statementType           = "https://in-toto.io/Statement/v1"
)

type checkpointStatement struct {
	Type          string             `json:"_type"`
	Subject       []statementSubject `json:"subject"`
	PredicateType string             `json:"predicateType"`
	Predicate     struct {
		Checkpoint string `json:"checkpoint"`
	} `json:"predicate"`
}

type statementSubject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// CheckpointStatement returns the in-toto statement a keyless signature of
// the signed checkpoint signs; name is the checkpoint's file name.
func CheckpointStatement(signed []byte, name string) ([]byte, error) {
	sum := sha256.Sum256(signed)
	var st checkpointStatement
	st.Type, st.PredicateType = statementType, CheckpointPredicateType
	st.Subject = []statementSubject{{Name: name, Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}}}
	st.Predicate.Checkpoint = string(signed)
	return json.Marshal(st)
}

// CheckStatement checks that a keyless statement (the DSSE payload, not yet
// verified) is for exactly the signed checkpoint: its predicate type, its
// one subject's sha256 and its predicate text. Another checkpoint is
// ErrOtherCheckpoint, naming both; anything unreadable ErrBadCheckpoint.
func CheckStatement(payload, signed []byte) error {
	var st checkpointStatement
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return fmt.Errorf("%w: keyless statement: %v; expected an in-toto statement of type %s", ErrBadCheckpoint, err, CheckpointPredicateType)
	}
	if st.Type != statementType || st.PredicateType != CheckpointPredicateType {
		return fmt.Errorf("%w: statement type %q, predicate type %q; expected %s, %s", ErrOtherCheckpoint, st.Type, st.PredicateType, statementType, CheckpointPredicateType)
	}
	if len(st.Subject) != 1 {
		return fmt.Errorf("%w: keyless statement has %d subjects, expected one", ErrBadCheckpoint, len(st.Subject))
	}
	sum := sha256.Sum256(signed)
	want := hex.EncodeToString(sum[:])
	got := st.Subject[0].Digest["sha256"]
	if got != want || st.Predicate.Checkpoint != string(signed) {
		return fmt.Errorf("%w: expected %s (sha256:%.12s…), got %s (%s, sha256:%.12s…); pass the bundle written beside this checkpoint",
			ErrOtherCheckpoint, describe(signed), want, describe([]byte(st.Predicate.Checkpoint)), st.Subject[0].Name, got)
	}
	return nil
}

// describe names a signed checkpoint by tenant, day and size, for messages.
func describe(signed []byte) string {
	text, _, _ := strings.Cut(string(signed), "\n\n")
	c, err := ParseCheckpoint(text + "\n")
	if err != nil {
		return "an unreadable checkpoint"
	}
	return fmt.Sprintf("the checkpoint of %s %s (size %d)", c.Tenant, c.Day, c.Size)
}
