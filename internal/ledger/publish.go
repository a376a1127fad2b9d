package ledger

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// ConsistencyFile names the consistency proof written beside a day's
// checkpoint: from the previous day's checkpoint to this one.
func ConsistencyFile(tenant, day string) string {
	return strings.TrimSuffix(CheckpointFile(tenant, day), ".checkpoint") + ".consistency.json"
}

// KeylessSign signs a signed checkpoint keyless and returns the Sigstore
// bundle; name is the checkpoint file's base name.
type KeylessSign func(ctx context.Context, signed []byte, name string) ([]byte, error)

// PublishOptions say what PublishRoots signs and where it writes.
type PublishOptions struct {
	// Day is the UTC day, YYYY-MM-DD.
	Day string
	// Tenants to sign; empty means every tenant with entries that day.
	Tenants []string
	// SignerKey is the ledger's signed-note private key.
	SignerKey string
	// OutDir receives TENANT-DAY.checkpoint files (and .sigstore.json and
	// .consistency.json files beside them); the previous day's checkpoints
	// are looked for there first.
	OutDir string
	// Anchor appends each signed checkpoint to its tenant's chain.
	Anchor bool
	// Keyless, when set, also signs each checkpoint keyless, before
	// anything of that tenant's day is written.
	Keyless KeylessSign
}

// Published is one tenant's published day.
type Published struct {
	Checkpoint Checkpoint
	// Path is the checkpoint file; BundlePath the keyless bundle (when
	// signed keyless); ProofPath the consistency proof from Previous.
	Path, BundlePath, ProofPath string
	// Previous is the previous day's checkpoint the day was extended from
	// (nil: signed from the whole chain), PreviousFrom where it was found.
	Previous     *Checkpoint
	PreviousFrom string
	// AnchorSeq is the seq of the anchoring entry (0: not anchored).
	AnchorSeq int64
}

// PublishRoots signs each tenant's daily checkpoint (docs/ledger.md). A
// tenant whose previous day has a signed checkpoint with a frontier — in
// OutDir, else anchored in its chain — is extended from it: only the
// entries since are read, and the consistency proof between the two is
// written beside the new checkpoint. Without one the whole chain is read.
// A previous checkpoint that does not verify with the key, or whose head no
// longer matches the ledger, stops the publication: nothing is signed over
// a rewritten history. It returns what was published before any error.
func (s *Store) PublishRoots(ctx context.Context, opt PublishOptions) ([]Published, error) {
	if _, err := time.Parse(DayLayout, opt.Day); err != nil {
		return nil, fmt.Errorf("%w: day %q, expected YYYY-MM-DD", ErrBadRecord, opt.Day)
	}
	verifier, err := VerifierKey(opt.SignerKey)
	if err != nil {
		return nil, err
	}
	tenants, all := opt.Tenants, len(opt.Tenants) == 0
	if all {
		if tenants, err = s.Tenants(ctx); err != nil {
			return nil, err
		}
	}
	var out []Published
	for _, t := range tenants {
		p, err := s.publishDay(ctx, t, verifier, opt)
		if all && errors.Is(err, ErrEmpty) {
			continue // this tenant had no entries that day
		}
		if err != nil {
			return out, fmt.Errorf("tenant %s %s: %w", t, opt.Day, err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no tenant has entries on %s", ErrEmpty, opt.Day)
	}
	return out, nil
}

// publishDay computes, signs, writes and anchors one tenant's day.
func (s *Store) publishDay(ctx context.Context, tenant, verifier string, opt PublishOptions) (Published, error) {
	p := Published{Path: filepath.Join(opt.OutDir, CheckpointFile(tenant, opt.Day))}
	prev, from, err := s.previousCheckpoint(ctx, tenant, opt.Day, opt.OutDir, verifier)
	if err != nil {
		return p, err
	}
	var proof *Consistency
	if prev != nil {
		ext, err := s.ExtendCheckpoint(ctx, *prev, opt.Day)
		if err != nil {
			return p, fmt.Errorf("from the previous checkpoint %s: %w", from, err)
		}
		p.Checkpoint, p.Previous, p.PreviousFrom, proof = ext.Checkpoint, prev, from, &ext.Proof
	} else if p.Checkpoint, err = s.DailyCheckpoint(ctx, tenant, opt.Day); err != nil {
		return p, err
	}
	signed, err := Sign(p.Checkpoint, opt.SignerKey)
	if err != nil {
		return p, err
	}
	// The keyless signature is made first: when Fulcio or Rekor fails,
	// nothing of this tenant's day is written or anchored.
	var bundle []byte
	if opt.Keyless != nil {
		if bundle, err = opt.Keyless(ctx, signed, filepath.Base(p.Path)); err != nil {
			return p, fmt.Errorf("keyless signature: %w; nothing written for this tenant", err)
		}
	}
	if err := os.WriteFile(p.Path, signed, 0o644); err != nil {
		return p, err
	}
	if bundle != nil {
		p.BundlePath = BundleFile(p.Path)
		if err := os.WriteFile(p.BundlePath, bundle, 0o644); err != nil {
			return p, err
		}
	}
	if proof != nil {
		b, _ := json.MarshalIndent(proof, "", "  ")
		p.ProofPath = filepath.Join(opt.OutDir, ConsistencyFile(tenant, opt.Day))
		if err := os.WriteFile(p.ProofPath, append(b, '\n'), 0o644); err != nil {
			return p, err
		}
	}
	if opt.Anchor {
		e, err := s.Anchor(ctx, signed, p.Checkpoint)
		if err != nil {
			return p, err
		}
		p.AnchorSeq = e.Seq
	}
	return p, nil
}

// previousCheckpoint returns the previous day's checkpoint with a frontier
// (from dir, else anchored in the chain), verified with the key, or nil.
func (s *Store) previousCheckpoint(ctx context.Context, tenant, day, dir, verifier string) (*Checkpoint, string, error) {
	d, _ := time.Parse(DayLayout, day)
	prevDay := d.AddDate(0, 0, -1).Format(DayLayout)
	path := filepath.Join(dir, CheckpointFile(tenant, prevDay))
	signed, err := os.ReadFile(path)
	from := path
	if errors.Is(err, fs.ErrNotExist) {
		var ok bool
		if signed, ok, err = s.AnchoredCheckpoint(ctx, tenant, prevDay); err != nil || !ok {
			return nil, "", err
		}
		from = "anchored in the chain for " + prevDay
	} else if err != nil {
		return nil, "", err
	}
	c, err := OpenCheckpoint(signed, verifier)
	if err != nil {
		return nil, "", fmt.Errorf("previous checkpoint %s: %w; move it away to sign from the whole chain", from, err)
	}
	if c.Tenant != tenant || c.Day != prevDay {
		return nil, "", fmt.Errorf("%w: previous checkpoint %s is of %s %s, expected %s %s", ErrBadCheckpoint, from, c.Tenant, c.Day, tenant, prevDay)
	}
	if c.Frontier == nil {
		return nil, "", nil // signed before frontiers: start from the whole chain
	}
	return &c, from, nil
}

// VerifierKey returns the signed-note verifier key of an Ed25519 signer key
// ("PRIVATE+KEY+name+hash+data", as GenerateKey writes it).
func VerifierKey(signerKey string) (string, error) {
	s, err := note.NewSigner(signerKey)
	if err != nil {
		return "", fmt.Errorf("%w: signing key: %v", ErrBadRecord, err)
	}
	// PRIVATE+KEY+name+hash+data: data (base64, which may hold "+") is
	// what follows the fourth "+".
	f := strings.SplitN(signerKey, "+", 5)
	raw, err := base64.StdEncoding.DecodeString(f[len(f)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", fmt.Errorf("%w: signing key is not an Ed25519 signed-note key", ErrBadRecord)
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	v := fmt.Sprintf("%s+%08x+%s", s.Name(), s.KeyHash(), base64.StdEncoding.EncodeToString(append([]byte{1}, pub...)))
	if _, err := note.NewVerifier(v); err != nil {
		return "", fmt.Errorf("%w: derive the verifier key: %v", ErrBadRecord, err)
	}
	return v, nil
}
