package ledger

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/maestro-conductor/releasegate/internal/fsx"
)

// Errors of checkpoints and proofs, matched with errors.Is.
var (
	// ErrBrokenChain means a root or proof was asked of a chain that does
	// not verify: it is never signed.
	ErrBrokenChain = errors.New("ledger chain is broken")
	// ErrRootMismatch means the ledger no longer has the root a signed
	// checkpoint commits to: it was rewritten.
	ErrRootMismatch = errors.New("ledger does not match the signed checkpoint")
	// ErrBadSignature means a checkpoint's signature does not verify with
	// the given key.
	ErrBadSignature = errors.New("checkpoint signature does not verify")
	// ErrBadProof means an inclusion or consistency proof does not verify.
	ErrBadProof = errors.New("proof does not verify")
	// ErrBadCheckpoint means a checkpoint's text is malformed.
	ErrBadCheckpoint = errors.New("malformed checkpoint")
	// ErrOtherCheckpoint means a keyless checkpoint statement is for
	// another checkpoint than the one being verified.
	ErrOtherCheckpoint = errors.New("keyless signature is for another checkpoint")
)

// OriginPrefix starts the origin line of every ledger checkpoint; the
// tenant follows.
const OriginPrefix = "releasegate.ledger/"

// CheckpointFile names the signed checkpoint of a tenant's day.
func CheckpointFile(tenant, day string) string {
	return url.PathEscape(tenant) + "-" + day + ".checkpoint"
}

// BundleFile names the keyless Sigstore bundle of a checkpoint file.
func BundleFile(checkpointFile string) string { return checkpointFile + ".sigstore.json" }

// DayLayout is the form of a UTC day.
const DayLayout = "2006-01-02"

// Checkpoint commits to a tenant's chain at the end of one UTC day. Its
// text is a C2SP tlog-checkpoint: origin, tree size, base64 root, then one
// extension line for the day's own tree:
//
//	releasegate.ledger/acme
//	1234
//	<base64 RFC 6962 root over the entry hashes of seq 1..1234>
//	day 2026-11-28 1001 1234 <base64 RFC 6962 root over seq 1001..1234>
//	head 1234 <base64 hash of entry 1234>
//	frontier <base64> <base64> …
//
// The main tree covers the whole chain up to the day's last entry, so two
// days' checkpoints are related by an RFC 6962 consistency proof; the day
// line is the daily Merkle root over that day's entries alone. The head and
// frontier lines (see frontier.go) make the checkpoint a starting point for
// `ledger verify --since` and the next day's `ledger root`: the chain's
// last entry and the compact range of the tree, which must hash to the
// root. Checkpoints signed before they existed have four lines and parse
// with a nil Frontier.
type Checkpoint struct {
	Tenant string
	// Size is the number of entries covered: seq 1..Size.
	Size int64
	Root Hash
	// Day is the UTC day, DayFirst..DayLast its entries, DayRoot their root.
	Day               string
	DayFirst, DayLast int64
	DayRoot           Hash
	// Head is the hash of entry Size, and Frontier the compact range of the
	// tree of Size leaves (nil in a checkpoint without them).
	Head     Hash
	Frontier []Hash
}

// Same reports whether c and o commit to the same trees and head.
func (c Checkpoint) Same(o Checkpoint) bool {
	return c.Tenant == o.Tenant && c.Size == o.Size && c.Root == o.Root && c.Day == o.Day &&
		c.DayFirst == o.DayFirst && c.DayLast == o.DayLast && c.DayRoot == o.DayRoot &&
		(c.Frontier == nil || o.Frontier == nil || c.Head == o.Head)
}

// Text returns the checkpoint body that gets signed.
func (c Checkpoint) Text() string {
	b64 := base64.StdEncoding.EncodeToString
	t := fmt.Sprintf("%s%s\n%d\n%s\nday %s %d %d %s\n", OriginPrefix, c.Tenant, c.Size, b64(c.Root[:]),
		c.Day, c.DayFirst, c.DayLast, b64(c.DayRoot[:]))
	if c.Frontier != nil {
		t += frontierLines(c.Size, c.Head, c.Frontier)
	}
	return t
}

// ParseCheckpoint parses a checkpoint body (see Checkpoint).
func ParseCheckpoint(text string) (Checkpoint, error) {
	var c Checkpoint
	lines := strings.Split(text, "\n")
	if (len(lines) != 5 && len(lines) != 7) || lines[len(lines)-1] != "" {
		return c, fmt.Errorf("%w: expected 4 lines (6 with head and frontier) ending in a newline, got %d", ErrBadCheckpoint, len(lines)-1)
	}
	var ok bool
	if c.Tenant, ok = strings.CutPrefix(lines[0], OriginPrefix); !ok || c.Tenant == "" {
		return c, fmt.Errorf("%w: origin %q does not start with %s", ErrBadCheckpoint, lines[0], OriginPrefix)
	}
	var err error
	if c.Size, err = strconv.ParseInt(lines[1], 10, 64); err != nil || c.Size < 1 || lines[1] != strconv.FormatInt(c.Size, 10) {
		return c, fmt.Errorf("%w: tree size %q", ErrBadCheckpoint, lines[1])
	}
	if c.Root, err = parseB64Hash(lines[2]); err != nil {
		return c, err
	}
	f := strings.Split(lines[3], " ")
	if len(f) != 5 || f[0] != "day" {
		return c, fmt.Errorf("%w: day line %q, expected \"day YYYY-MM-DD FIRST LAST ROOT\"", ErrBadCheckpoint, lines[3])
	}
	if _, err := time.Parse(DayLayout, f[1]); err != nil {
		return c, fmt.Errorf("%w: day %q", ErrBadCheckpoint, f[1])
	}
	c.Day = f[1]
	c.DayFirst, err = strconv.ParseInt(f[2], 10, 64)
	if err == nil {
		c.DayLast, err = strconv.ParseInt(f[3], 10, 64)
	}
	if err != nil || c.DayFirst < 1 || c.DayLast < c.DayFirst || c.DayLast != c.Size {
		return c, fmt.Errorf("%w: day range %q..%q for tree size %d", ErrBadCheckpoint, f[2], f[3], c.Size)
	}
	if c.DayRoot, err = parseB64Hash(f[4]); err != nil {
		return c, err
	}
	if len(lines) == 7 {
		if c.Head, c.Frontier, err = parseFrontier(lines[4], lines[5], c.Size, c.Root); err != nil {
			return c, err
		}
	}
	return c, nil
}

func parseB64Hash(s string) (Hash, error) {
	var h Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		return h, fmt.Errorf("%w: %q is not a base64 SHA-256 hash", ErrBadCheckpoint, s)
	}
	copy(h[:], b)
	return h, nil
}

// KeyName is the signer name in generated keys.
const KeyName = "releasegate-ledger"

// GenerateKey returns a new Ed25519 signed-note key pair in the
// golang.org/x/mod/sumdb/note text forms ("PRIVATE+KEY+name+…" and
// "name+hash+…").
func GenerateKey() (signer, verifier string, err error) {
	return note.GenerateKey(rand.Reader, KeyName)
}

// ReadKey reads a key file and trims surrounding space.
func ReadKey(path string) (string, error) {
	b, err := fsx.ReadFile(context.Background(), path, fsx.MaxKeySize)
	if err != nil {
		return "", fmt.Errorf("read key: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Sign returns c as a signed note.
func Sign(c Checkpoint, signerKey string) ([]byte, error) {
	return signNoteText(c.Text(), signerKey)
}

func signNoteText(text, signerKey string) ([]byte, error) {
	s, err := note.NewSigner(signerKey)
	if err != nil {
		return nil, fmt.Errorf("signing key: %w", err)
	}
	return note.Sign(&note.Note{Text: text}, s)
}

// OpenCheckpoint verifies a signed checkpoint with the verifier key and
// parses it.
func OpenCheckpoint(signed []byte, verifierKey string) (Checkpoint, error) {
	v, err := note.NewVerifier(verifierKey)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: public key: %v", ErrBadSignature, err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %v; check that the checkpoint was signed by %s", ErrBadSignature, err, v.Name())
	}
	return ParseCheckpoint(n.Text)
}

// dayBounds returns the start and end of a UTC day.
func dayBounds(day string) (time.Time, time.Time, error) {
	d, err := time.Parse(DayLayout, day)
	if err != nil {
		return d, d, fmt.Errorf("%w: date %q, expected YYYY-MM-DD", ErrBadRecord, day)
	}
	return d, d.AddDate(0, 0, 1), nil
}

// DailyCheckpoint computes (does not sign) the checkpoint of a tenant's
// chain for a UTC day, verifying the whole chain up to the day's last entry
// on the way: a broken chain is ErrBrokenChain, a day without entries
// ErrEmpty.
func (s *Store) DailyCheckpoint(ctx context.Context, tenant, day string) (Checkpoint, error) {
	c := Checkpoint{Tenant: tenant, Day: day}
	from, to, err := dayBounds(day)
	if err != nil {
		return c, err
	}
	first, last, ok, err := s.SeqRange(ctx, tenant, from, to)
	if err != nil {
		return c, err
	}
	if !ok {
		return c, fmt.Errorf("%w: tenant %s has no entries on %s", ErrEmpty, tenant, day)
	}
	return s.checkpointAt(ctx, tenant, day, first, last)
}

// checkpointAt computes the checkpoint over seq 1..size whose day starts at
// seq first, verifying the chain on the way.
func (s *Store) checkpointAt(ctx context.Context, tenant, day string, first, size int64) (Checkpoint, error) {
	c := Checkpoint{Tenant: tenant, Day: day, DayFirst: first, DayLast: size, Size: size}
	var all, daily TreeBuilder
	if err := s.scanVerified(ctx, tenant, size, func(e *Entry) {
		c.Head = e.Hash
		l := LeafHash(e.Hash)
		all.Add(l)
		if e.Seq >= first {
			daily.Add(l)
		}
	}); err != nil {
		return c, err
	}
	c.Root, c.DayRoot, c.Frontier = all.Root(), daily.Root(), all.Frontier()
	return c, nil
}

// scanVerified streams seq 1..to through the chain checker and fn.
func (s *Store) scanVerified(ctx context.Context, tenant string, to int64, fn func(*Entry)) error {
	rep := Report{Tenant: tenant}
	c := NewChecker(&rep, 1)
	err := s.Scan(ctx, tenant, 1, to, func(e *Entry) error {
		if b := c.Check(e); b != nil {
			return errStop
		}
		fn(e)
		return nil
	})
	if rep.Break != nil {
		return fmt.Errorf("%w: tenant %s seq %d: %s (%s); run `releasegate ledger verify` and restore from a backup",
			ErrBrokenChain, tenant, rep.Break.Seq, rep.Break.Kind, rep.Break.Detail)
	}
	if err != nil {
		return err
	}
	if rep.To != to {
		return fmt.Errorf("%w: tenant %s: read up to seq %d, expected %d", ErrBrokenChain, tenant, rep.To, to)
	}
	return nil
}

// leaves returns the leaf hashes of seq 1..to after verifying the chain.
// It holds 32 bytes per entry in memory.
func (s *Store) leaves(ctx context.Context, tenant string, to int64) ([]Hash, error) {
	out := make([]Hash, 0, to)
	err := s.scanVerified(ctx, tenant, to, func(e *Entry) { out = append(out, LeafHash(e.Hash)) })
	return out, err
}

// AnchorPayload is the payload of a "checkpoint" entry.
type AnchorPayload struct {
	Day        string `json:"day"`
	Size       int64  `json:"size"`
	Root       string `json:"root"`
	Checkpoint string `json:"checkpoint"`
}

// Anchor appends a signed checkpoint to its tenant's chain as an entry of
// kind "checkpoint", so the chain itself records what was published.
func (s *Store) Anchor(ctx context.Context, signed []byte, c Checkpoint) (Entry, error) {
	p, err := json.Marshal(AnchorPayload{Day: c.Day, Size: c.Size, Root: base64.StdEncoding.EncodeToString(c.Root[:]), Checkpoint: string(signed)})
	if err != nil {
		return Entry{}, err
	}
	es, err := s.Append(ctx, []Record{{Tenant: c.Tenant, Kind: KindCheckpoint, Payload: p}}, AppendOptions{})
	if err != nil {
		return Entry{}, err
	}
	return es[0], nil
}

// AnchoredCheckpoint returns the latest signed checkpoint anchored in a
// tenant's chain for a day, or ok=false when there is none.
func (s *Store) AnchoredCheckpoint(ctx context.Context, tenant, day string) (signed []byte, ok bool, err error) {
	if err := s.requireSchema(ctx); err != nil {
		return nil, false, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT payload FROM ledger_chain WHERE tenant = $1 AND kind = 'checkpoint' ORDER BY seq DESC`), tenant)
	if err != nil {
		return nil, false, s.dbErr("find anchored checkpoints", err)
	}
	defer rows.Close()
	for rows.Next() {
		var payload string
		if err := rows.Scan(&payload); err != nil {
			return nil, false, s.dbErr("find anchored checkpoints", err)
		}
		var a AnchorPayload
		if json.Unmarshal([]byte(payload), &a) == nil && a.Day == day && a.Checkpoint != "" {
			return []byte(a.Checkpoint), true, nil
		}
	}
	return nil, false, rows.Err()
}

// RootCheck is the outcome of VerifyCheckpoint.
type RootCheck struct {
	Checkpoint Checkpoint
	// Previous is the previous day's anchored checkpoint, when found.
	Previous *Checkpoint
	// Consistent is true when Previous was found and its tree is a prefix
	// of this one (RFC 6962 consistency proof checked with sumdb/tlog).
	Consistent bool
}

// VerifyCheckpoint checks a signed checkpoint against the ledger: the
// signature, the recomputed roots (ErrRootMismatch when the chain was
// rewritten), and consistency with the previous day's anchored checkpoint,
// when there is one.
func (s *Store) VerifyCheckpoint(ctx context.Context, signed []byte, verifierKey string) (RootCheck, error) {
	var rc RootCheck
	c, err := OpenCheckpoint(signed, verifierKey)
	if err != nil {
		return rc, err
	}
	rc.Checkpoint = c
	// Entries appended after signing (later that day, or the anchoring
	// entry itself) are allowed: the checkpoint covers a prefix. Its day
	// must still start where it says, and its entries must all be there.
	from, to, err := dayBounds(c.Day)
	if err != nil {
		return rc, err
	}
	first, last, ok, err := s.SeqRange(ctx, c.Tenant, from, to)
	if err != nil {
		return rc, err
	}
	if !ok || first != c.DayFirst || last < c.Size {
		return rc, fmt.Errorf("%w: tenant %s day %s: signed entries %d..%d, ledger has %d..%d on that day (present: %t); the chain was rewritten after signing",
			ErrRootMismatch, c.Tenant, c.Day, c.DayFirst, c.Size, first, last, ok)
	}
	got, err := s.checkpointAt(ctx, c.Tenant, c.Day, c.DayFirst, c.Size)
	if err != nil {
		return rc, err
	}
	if !got.Same(c) {
		return rc, fmt.Errorf("%w: tenant %s day %s: signed size %d root %s, ledger has size %d root %s; the chain was rewritten after signing",
			ErrRootMismatch, c.Tenant, c.Day, c.Size, c.Root, got.Size, got.Root)
	}
	d, _ := time.Parse(DayLayout, c.Day)
	prevSigned, ok, err := s.AnchoredCheckpoint(ctx, c.Tenant, d.AddDate(0, 0, -1).Format(DayLayout))
	if err != nil || !ok {
		return rc, err
	}
	prev, err := OpenCheckpoint(prevSigned, verifierKey)
	if err != nil {
		return rc, fmt.Errorf("previous day's checkpoint: %w", err)
	}
	rc.Previous = &prev
	if prev.Size > c.Size {
		return rc, fmt.Errorf("%w: previous checkpoint has size %d > %d", ErrBadProof, prev.Size, c.Size)
	}
	leaves, err := s.leaves(ctx, c.Tenant, c.Size)
	if err != nil {
		return rc, err
	}
	proof := ConsistencyProof(leaves, int(prev.Size))
	if err := tlog.CheckTree(toTlogHashes(proof), c.Size, tlog.Hash(c.Root), prev.Size, tlog.Hash(prev.Root)); err != nil {
		return rc, fmt.Errorf("%w: day %s (size %d) is not an extension of day %s (size %d): %v", ErrBadProof, c.Day, c.Size, prev.Day, prev.Size, err)
	}
	rc.Consistent = true
	return rc, nil
}

func toTlogHashes(p []Hash) []tlog.Hash {
	out := make([]tlog.Hash, len(p))
	for i, h := range p {
		out[i] = tlog.Hash(h)
	}
	return out
}

// Proof is an inclusion proof of one entry in a checkpoint's tree, in the
// JSON form `ledger prove` prints and `ledger verify-proof` reads.
type Proof struct {
	Tenant    string   `json:"tenant"`
	Seq       int64    `json:"seq"`
	EntryHash string   `json:"entry_hash"`
	TreeSize  int64    `json:"tree_size"`
	Root      string   `json:"root"`
	Path      []string `json:"path"`
}

// Prove returns the inclusion proof of a tenant's entry seq in the tree of
// size treeSize (the tenant's whole chain when treeSize <= 0).
func (s *Store) Prove(ctx context.Context, tenant string, seq, treeSize int64) (Proof, error) {
	p := Proof{Tenant: tenant, Seq: seq}
	if treeSize <= 0 {
		h, ok, err := s.Head(ctx, tenant)
		if err != nil {
			return p, err
		}
		if !ok {
			return p, fmt.Errorf("%w: tenant %s has no entries", ErrEmpty, tenant)
		}
		treeSize = h.Seq
	}
	if seq < 1 || seq > treeSize {
		return p, fmt.Errorf("%w: seq %d outside the tree 1..%d", ErrBadRecord, seq, treeSize)
	}
	leaves, err := s.leaves(ctx, tenant, treeSize)
	if err != nil {
		return p, err
	}
	e, _, err := s.Get(ctx, tenant, seq)
	if err != nil {
		return p, err
	}
	b64 := base64.StdEncoding.EncodeToString
	root := RootOf(leaves)
	p.EntryHash, p.TreeSize, p.Root = e.Hash.String(), treeSize, b64(root[:])
	for _, h := range InclusionProof(leaves, int(seq-1)) {
		p.Path = append(p.Path, b64(h[:]))
	}
	return p, nil
}

// VerifyProof checks an inclusion proof against a signed checkpoint: the
// signature, that the proof is for the checkpoint's tenant and tree, and the
// RFC 6962 audit path (with sumdb/tlog). It needs no database.
func VerifyProof(p Proof, signed []byte, verifierKey string) (Checkpoint, error) {
	c, err := OpenCheckpoint(signed, verifierKey)
	if err != nil {
		return c, err
	}
	if p.Tenant != c.Tenant || p.TreeSize != c.Size {
		return c, fmt.Errorf("%w: proof is for tenant %s size %d, checkpoint for tenant %s size %d", ErrBadProof, p.Tenant, p.TreeSize, c.Tenant, c.Size)
	}
	var eh Hash
	if b, err := hex.DecodeString(p.EntryHash); err != nil || len(b) != 32 {
		return c, fmt.Errorf("%w: entry_hash %q is not 64 hex digits", ErrBadProof, p.EntryHash)
	} else {
		copy(eh[:], b)
	}
	path := make([]tlog.Hash, len(p.Path))
	for i, s := range p.Path {
		h, err := parseB64Hash(s)
		if err != nil {
			return c, fmt.Errorf("%w: path[%d]: %v", ErrBadProof, i, err)
		}
		path[i] = tlog.Hash(h)
	}
	if err := tlog.CheckRecord(path, c.Size, tlog.Hash(c.Root), p.Seq-1, tlog.Hash(LeafHash(eh))); err != nil {
		return c, fmt.Errorf("%w: seq %d is not in the signed tree of size %d: %v", ErrBadProof, p.Seq, c.Size, err)
	}
	return c, nil
}
