package ledger

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// The functions between the auditor markers are what docs/ledger.md tells
// an auditor to run: golang.org/x/mod alone, no releasegate code. The
// tests below use them as the oracle for releasegate's proofs, and
// TestAuditorSnippetIsInTheDocs keeps the docs' copy identical.

// auditor:begin
// checkpoint opens a signed checkpoint with the ledger's public key and
// returns its origin, tree size and root.
func checkpoint(signed []byte, publicKey string) (origin string, size int64, root tlog.Hash, err error) {
	v, err := note.NewVerifier(publicKey)
	if err != nil {
		return "", 0, root, err
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return "", 0, root, err
	}
	lines := strings.SplitN(n.Text, "\n", 4) // origin, size, root, extensions
	if len(lines) < 4 {
		return "", 0, root, fmt.Errorf("checkpoint has %d lines, expected 4", len(lines))
	}
	if size, err = strconv.ParseInt(lines[1], 10, 64); err != nil {
		return "", 0, root, err
	}
	root, err = tlog.ParseHash(lines[2])
	return lines[0], size, root, err
}

// verifyConsistency checks `releasegate ledger prove --consistency` output:
// the older checkpoint's tree is a prefix of the newer one's.
func verifyConsistency(oldCP, newCP, proofJSON []byte, publicKey string) error {
	oldOrigin, oldSize, oldRoot, err := checkpoint(oldCP, publicKey)
	if err != nil {
		return err
	}
	newOrigin, newSize, newRoot, err := checkpoint(newCP, publicKey)
	if err != nil {
		return err
	}
	if oldOrigin != newOrigin {
		return fmt.Errorf("checkpoints of different logs: %q and %q", oldOrigin, newOrigin)
	}
	var p struct {
		Proof tlog.TreeProof `json:"proof"`
	}
	if err := json.Unmarshal(proofJSON, &p); err != nil {
		return err
	}
	return tlog.CheckTree(p.Proof, newSize, newRoot, oldSize, oldRoot)
}

// verifyInclusion checks `releasegate ledger prove --inclusion` output: the
// entry is in the checkpoint's tree.
func verifyInclusion(cp, proofJSON []byte, publicKey string) error {
	_, size, root, err := checkpoint(cp, publicKey)
	if err != nil {
		return err
	}
	var p struct {
		Seq       int64            `json:"seq"`
		EntryHash string           `json:"entry_hash"`
		Path      tlog.RecordProof `json:"path"`
	}
	if err := json.Unmarshal(proofJSON, &p); err != nil {
		return err
	}
	entry, err := hex.DecodeString(p.EntryHash)
	if err != nil {
		return err
	}
	return tlog.CheckRecord(p.Path, size, root, p.Seq-1, tlog.RecordHash(entry))
}

// auditor:end

// auditorSnippet returns the code between the auditor markers of this file.
func auditorSnippet(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("auditor_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok1 := strings.Cut(string(src), "// auditor:begin\n")
	snippet, _, ok2 := strings.Cut(rest, "\n// auditor:end")
	if !ok1 || !ok2 {
		t.Fatal("auditor_test.go lost its auditor markers")
	}
	return snippet
}

// TestAuditorSnippetIsInTheDocs: docs/ledger.md shows the auditor's Go
// exactly as it is compiled and run by these tests.
func TestAuditorSnippetIsInTheDocs(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/ledger.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```go\n"+auditorSnippet(t)+"\n```") {
		t.Errorf("docs/ledger.md does not show the auditor's Go of internal/ledger/auditor_test.go (between the auditor markers) as one ```go block; copy it there")
	}
}

// signedDays seeds two days of acme (and one of beta) and returns the
// signed checkpoints of acme's two days (sizes 6 and 11) and beta's day.
func signedDays(t *testing.T, s *Store, signer string) (day1, day2, beta []byte, c1, c2 Checkpoint) {
	t.Helper()
	ctx := context.Background()
	seedDays(t, s)
	if _, err := s.Append(ctx, []Record{{Tenant: "beta", Time: time.Date(2026, 11, 28, 1, 0, 0, 0, time.UTC), Payload: json.RawMessage(`{"b":1}`)}}, AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	sign := func(tenant, day string) ([]byte, Checkpoint) {
		c, err := s.DailyCheckpoint(ctx, tenant, day)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := Sign(c, signer)
		if err != nil {
			t.Fatal(err)
		}
		return signed, c
	}
	day1, c1 = sign("acme", "2026-11-27")
	day2, c2 = sign("acme", "2026-11-28")
	beta, _ = sign("beta", "2026-11-28")
	return day1, day2, beta, c1, c2
}

// TestConsistencyProofsVerifyWithTlog: every consistency proof releasegate
// makes between two trees of a chain verifies with x/mod's tlog.CheckTree
// (the auditor's code) and with VerifyConsistency; a flipped proof hash, a
// proof between checkpoints of different tenants and a proof against
// another key are refused by both.
func TestConsistencyProofsVerifyWithTlog(t *testing.T) {
	t.Parallel()
	signer, verifier, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, otherVerifier, _ := GenerateKey()
	for _, db := range testDBs(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := migrated(t, db)
			day1, day2, beta, c1, c2 := signedDays(t, s, signer)

			// Every pair of sizes, checked against roots tlog recomputes.
			leaves, err := s.leaves(ctx, "acme", c2.Size)
			if err != nil {
				t.Fatal(err)
			}
			for n := int64(1); n <= c2.Size; n++ {
				for m := int64(1); m <= n; m++ {
					p, err := s.ProveConsistency(ctx, "acme", m, n)
					if err != nil {
						t.Fatalf("ProveConsistency(%d, %d): %v", m, n, err)
					}
					var proof tlog.TreeProof
					for _, h := range p.Proof {
						x, err := tlog.ParseHash(h)
						if err != nil {
							t.Fatal(err)
						}
						proof = append(proof, x)
					}
					newRoot, oldRoot := RootOf(leaves[:n]), RootOf(leaves[:m])
					if err := tlog.CheckTree(proof, n, tlog.Hash(newRoot), m, tlog.Hash(oldRoot)); err != nil {
						t.Errorf("tlog.CheckTree of the proof %d → %d: %v", m, n, err)
					}
				}
			}

			// Between the two signed days, as `ledger prove --consistency
			// --old-checkpoint --checkpoint` prints it.
			p, err := s.ProveBetween(ctx, c1, c2)
			if err != nil {
				t.Fatalf("ProveBetween: %v", err)
			}
			proofJSON, _ := json.Marshal(p)
			if err := verifyConsistency(day1, day2, proofJSON, verifier); err != nil {
				t.Errorf("the auditor's check (tlog.CheckTree) refuses a valid proof: %v\n%s", err, proofJSON)
			}
			if _, _, err := VerifyConsistency(p, day1, day2, verifier); err != nil {
				t.Errorf("VerifyConsistency refuses a valid proof: %v", err)
			}

			// A flipped bit in any proof hash: tlog and releasegate refuse.
			for i := range p.Proof {
				bad := p
				bad.Proof = append([]string(nil), p.Proof...)
				h, _ := parseB64Hash(bad.Proof[i])
				h[7] ^= 1
				bad.Proof[i] = b64Hash(h)
				badJSON, _ := json.Marshal(bad)
				if err := verifyConsistency(day1, day2, badJSON, verifier); err == nil {
					t.Errorf("tlog.CheckTree accepts a proof with hash %d flipped", i)
				}
				if _, _, err := VerifyConsistency(bad, day1, day2, verifier); !errors.Is(err, ErrBadProof) {
					t.Errorf("VerifyConsistency with proof hash %d flipped = %v, want ErrBadProof", i, err)
				}
			}

			// Checkpoints of different origins: the prover refuses them as
			// bad input, the verifiers refuse them too.
			cBeta, err := ReadCheckpointFile(beta)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.ProveBetween(ctx, cBeta, c2)
			if !errors.Is(err, ErrOtherOrigin) || !errors.Is(err, ErrBadCheckpoint) {
				t.Errorf("ProveBetween(beta, acme) = %v, want ErrOtherOrigin (bad input)", err)
			}
			if _, _, err := VerifyConsistency(p, beta, day2, verifier); !errors.Is(err, ErrOtherOrigin) || !errors.Is(err, ErrBadProof) {
				t.Errorf("VerifyConsistency(beta, acme) = %v, want ErrOtherOrigin", err)
			}
			if err := verifyConsistency(beta, day2, proofJSON, verifier); err == nil {
				t.Error("the auditor's check accepts checkpoints of different origins")
			}
			// Another key, and checkpoints given newest first.
			if _, _, err := VerifyConsistency(p, day1, day2, otherVerifier); !errors.Is(err, ErrBadSignature) {
				t.Errorf("VerifyConsistency with another key = %v, want ErrBadSignature", err)
			}
			if err := verifyConsistency(day1, day2, proofJSON, otherVerifier); err == nil {
				t.Error("the auditor's check accepts checkpoints under another key")
			}
			if _, err := s.ProveBetween(ctx, c2, c1); !errors.Is(err, ErrBadCheckpoint) {
				t.Errorf("ProveBetween(newer, older) = %v, want ErrBadCheckpoint", err)
			}
			if _, _, err := VerifyConsistency(p, day2, day1, verifier); !errors.Is(err, ErrBadProof) {
				t.Errorf("VerifyConsistency(newer, older) = %v, want ErrBadProof", err)
			}

			// Inclusion proofs verify with tlog.CheckRecord too.
			for seq := int64(1); seq <= c2.Size; seq++ {
				ip, err := s.Prove(ctx, "acme", seq, c2.Size)
				if err != nil {
					t.Fatal(err)
				}
				ipJSON, _ := json.Marshal(ip)
				if err := verifyInclusion(day2, ipJSON, verifier); err != nil {
					t.Errorf("the auditor's check (tlog.CheckRecord) refuses seq %d: %v", seq, err)
				}
				ip.Seq = seq%c2.Size + 1
				ipJSON, _ = json.Marshal(ip)
				if err := verifyInclusion(day2, ipJSON, verifier); err == nil {
					t.Errorf("tlog.CheckRecord accepts seq %d's proof as seq %d", seq, ip.Seq)
				}
			}

			// A chain rewritten after signing: the prover refuses to prove
			// between the signed checkpoints.
			rewriteFrom(t, db, s, "acme", 3)
			if _, err := s.ProveBetween(ctx, c1, c2); !errors.Is(err, ErrRootMismatch) {
				t.Errorf("ProveBetween after a rewrite = %v, want ErrRootMismatch", err)
			}
		})
	}
}

func b64Hash(h Hash) string { return tlog.Hash(h).String() }
