package ledger

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"
)

// FuzzVerifyConsistency feeds arbitrary proof JSON for two signed
// checkpoints (sizes 5 and 13 of one log) to VerifyConsistency: it never
// panics, and it accepts only the one genuine proof.
func FuzzVerifyConsistency(f *testing.F) {
	signer, verifier, err := GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	leaves := testLeaves(13)
	sign := func(size int) []byte {
		root := RootOf(leaves[:size])
		b, err := Sign(Checkpoint{Tenant: "acme", Size: int64(size), Root: root, Day: "2026-11-28", DayFirst: 1, DayLast: int64(size), DayRoot: root}, signer)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	older, newer := sign(5), sign(13)
	b64 := base64.StdEncoding.EncodeToString
	oldRoot, newRoot := RootOf(leaves[:5]), RootOf(leaves)
	genuine := Consistency{Origin: "releasegate.ledger/acme", OldSize: 5, OldRoot: b64(oldRoot[:]), NewSize: 13, NewRoot: b64(newRoot[:])}
	for _, h := range ConsistencyProof(leaves, 5) {
		genuine.Proof = append(genuine.Proof, b64(h[:]))
	}
	if _, _, err := VerifyConsistency(genuine, older, newer, verifier); err != nil {
		f.Fatalf("the genuine proof: %v", err)
	}
	seed, _ := json.Marshal(genuine)
	f.Add(seed)
	short := genuine
	short.Proof = short.Proof[1:]
	seed, _ = json.Marshal(short)
	f.Add(seed)
	f.Add([]byte(`{"origin":"releasegate.ledger/acme","old_size":5,"new_size":13,"proof":[]}`))
	f.Add([]byte(`{"proof":["AAAA"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Consistency
		if json.Unmarshal(data, &p) != nil {
			return
		}
		if _, _, err := VerifyConsistency(p, older, newer, verifier); err == nil && !slices.Equal(p.Proof, genuine.Proof) {
			t.Fatalf("accepted a proof that is not the genuine one: %s", data)
		}
	})
}
