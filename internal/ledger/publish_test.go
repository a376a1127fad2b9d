package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

func TestVerifierKeyMatchesGenerateKey(t *testing.T) {
	t.Parallel()
	for range 20 { // base64 key data often holds "+"
		signer, verifier, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		if got, err := VerifierKey(signer); err != nil || got != verifier {
			t.Fatalf("VerifierKey = %q, %v; want %q", got, err, verifier)
		}
	}
	for _, bad := range []string{"", "PRIVATE+KEY+x", "releasegate-ledger+01234567+AQ=="} {
		if _, err := VerifierKey(bad); !errors.Is(err, ErrBadRecord) {
			t.Errorf("VerifierKey(%q) = %v, want ErrBadRecord", bad, err)
		}
	}
}

// TestPublishRootsDayByDay publishes four days with anchoring: the first
// from the whole chain, the others from the day before's checkpoint file,
// each with a consistency proof that tlog.CheckTree accepts and that equals
// the one `ledger prove --consistency` computes from the whole chain.
func TestPublishRootsDayByDay(t *testing.T) {
	t.Parallel()
	signer, verifier, _ := GenerateKey()
	for _, db := range testDBs(t) {
		t.Run(db.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := migrated(t, db)
			dir := t.TempDir()
			// Days after today: anchoring appends at the latest entry's time
			// or now, whichever is later.
			start := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 2)
			day := func(d int) string { return start.AddDate(0, 0, d).Format(DayLayout) }
			var prev *Checkpoint
			for d := range 4 {
				var recs []Record
				for i := range 5 + d {
					for _, tn := range []string{"acme", "beta"} {
						recs = append(recs, Record{Tenant: tn, Time: start.AddDate(0, 0, d).Add(time.Duration(i) * time.Hour), Payload: json.RawMessage(fmt.Sprintf(`{"d":%d,"i":%d}`, d, i))})
					}
				}
				if _, err := s.Append(ctx, recs, AppendOptions{}); err != nil {
					t.Fatal(err)
				}
				full, err := s.DailyCheckpoint(ctx, "acme", day(d)) // before its anchor lands on the same day
				if err != nil {
					t.Fatal(err)
				}
				pub, err := s.PublishRoots(ctx, PublishOptions{Day: day(d), SignerKey: signer, OutDir: dir, Anchor: true})
				if err != nil || len(pub) != 2 {
					t.Fatalf("day %d: PublishRoots = %d, %v", d, len(pub), err)
				}
				p := pub[0]
				if (d == 0) != (p.Previous == nil) {
					t.Fatalf("day %d: extended from %v, want the day before's checkpoint from day 1 on", d, p.Previous)
				}
				if full.Text() != p.Checkpoint.Text() {
					t.Fatalf("day %d: published\n%s\nfull\n%s", d, p.Checkpoint.Text(), full.Text())
				}
				if p.Previous != nil {
					var proof Consistency
					b, _ := os.ReadFile(p.ProofPath)
					if err := json.Unmarshal(b, &proof); err != nil {
						t.Fatal(err)
					}
					oldSigned, _ := os.ReadFile(filepath.Join(dir, CheckpointFile("acme", day(d-1))))
					newSigned, _ := os.ReadFile(p.Path)
					if _, _, err := VerifyConsistency(proof, oldSigned, newSigned, verifier); err != nil {
						t.Fatalf("day %d: consistency file: %v", d, err)
					}
					want, err := s.ProveConsistency(ctx, "acme", prev.Size, p.Checkpoint.Size)
					if err != nil || fmt.Sprint(want) != fmt.Sprint(proof) {
						t.Errorf("day %d: proof %v, from the whole chain %v (%v)", d, proof, want, err)
					}
					hashes := make(tlog.TreeProof, len(proof.Proof))
					for i, h := range proof.Proof {
						x, _ := parseB64Hash(h)
						hashes[i] = tlog.Hash(x)
					}
					if err := tlog.CheckTree(hashes, p.Checkpoint.Size, tlog.Hash(p.Checkpoint.Root), prev.Size, tlog.Hash(prev.Root)); err != nil {
						t.Errorf("day %d: tlog.CheckTree: %v", d, err)
					}
				}
				c := p.Checkpoint
				prev = &c
			}
			// From the anchored checkpoint when the file is gone.
			os.Remove(filepath.Join(dir, CheckpointFile("acme", day(2))))
			pub, err := s.PublishRoots(ctx, PublishOptions{Day: day(3), Tenants: []string{"acme"}, SignerKey: signer, OutDir: dir})
			if err != nil || pub[0].Previous == nil || pub[0].PreviousFrom != "anchored in the chain for "+day(2) {
				t.Fatalf("from the anchor: %+v, %v", pub, err)
			}
			// Never over a previous checkpoint of another key.
			other, _, _ := GenerateKey()
			if _, err := s.PublishRoots(ctx, PublishOptions{Day: day(3), Tenants: []string{"beta"}, SignerKey: other, OutDir: dir}); !errors.Is(err, ErrBadSignature) {
				t.Errorf("previous checkpoint of another key: %v, want ErrBadSignature", err)
			}
		})
	}
}
