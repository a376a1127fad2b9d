// Package ledger is releasegate's provenance ledger: a per-tenant,
// hash-chained, append-only log of JSON entries stored in PostgreSQL or
// SQLite, with schema migrations (v1 → v2 and back), a streaming chain
// verifier, daily RFC 6962 Merkle roots published as signed checkpoints
// (C2SP signed-note format), and inclusion and consistency proofs. Each
// checkpoint carries the chain's head and the tree's compact range (its
// frontier), so VerifySince and the next day's root (ExtendCheckpoint,
// PublishRoots) read only the entries after it; on PostgreSQL the chain can
// be laid out in hash partitions by tenant (Partition).
//
// The entry hash is defined in docs/ledger.md so that anyone can
// re-implement it; EntryHash is the reference implementation and the SQL
// function ledger_entry_hash in migrations/ledger_v2.sql a second one (used
// by validate_hash_chain in migrations/ledger_v2_audit.sql).
package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// HashDomain is the first line of every entry hash input; it versions the
// hash definition.
const HashDomain = "releasegate-ledger/v2"

// TimeLayout is how an entry's time enters its hash: UTC, always six
// fractional digits (entries are stored with microsecond precision).
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// KindEntry is the default kind of an appended entry; KindCheckpoint is the
// kind of an anchored, signed daily checkpoint.
const (
	KindEntry      = "entry"
	KindCheckpoint = "checkpoint"
)

// Hash is a SHA-256 digest.
type Hash [32]byte

// String returns the lowercase hex form of h.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// ZeroHash is the previous hash of a tenant's first entry (seq 1).
var ZeroHash Hash

// Entry is one record of a tenant's chain.
type Entry struct {
	Tenant string
	// Seq counts a tenant's entries from 1 without gaps.
	Seq int64
	// Time is when the entry was appended, UTC, microsecond precision; it
	// never goes back within a tenant.
	Time time.Time
	// Kind says what the payload is: "entry", "checkpoint", ...
	Kind string
	// Payload is the RFC 8785 canonical JSON of the entry's content.
	Payload []byte
	// PrevHash is the Hash of the entry before (ZeroHash for seq 1).
	PrevHash Hash
	// Hash is EntryHash over the fields above.
	Hash Hash
}

// EntryHash computes an entry's hash as docs/ledger.md defines it:
//
//	SHA-256( "releasegate-ledger/v2" LF tenant LF seq LF time LF kind LF hex(prev) LF payload )
//
// with seq in decimal, time in TimeLayout, prev as 64 lowercase hex digits
// and payload the RFC 8785 canonical JSON bytes.
func EntryHash(tenant string, seq int64, t time.Time, kind string, prev Hash, payload []byte) Hash {
	var buf [512]byte
	return sha256.Sum256(appendHashInput(buf[:0], tenant, seq, t, kind, prev, payload))
}

// appendHashInput appends EntryHash's input to b. Hashing it whole with
// sha256.Sum256 is faster than writing its parts to a hash.Hash.
func appendHashInput(b []byte, tenant string, seq int64, t time.Time, kind string, prev Hash, payload []byte) []byte {
	b = append(b, HashDomain...)
	b = append(b, '\n')
	b = append(b, tenant...)
	b = append(b, '\n')
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, '\n')
	b = appendTime(b, t)
	b = append(b, '\n')
	b = append(b, kind...)
	b = append(b, '\n')
	b = appendHex(b, prev)
	b = append(b, '\n')
	return append(b, payload...)
}

// hexPairs holds the two lowercase hex digits of every byte value.
var hexPairs = func() (t [512]byte) {
	const digits = "0123456789abcdef"
	for i := range 256 {
		t[2*i], t[2*i+1] = digits[i>>4], digits[i&15]
	}
	return t
}()

// appendHex appends h as 64 lowercase hex digits, a table lookup per byte
// (about twice as fast as hex.AppendEncode).
func appendHex(b []byte, h Hash) []byte {
	n := len(b)
	b = append(b, make([]byte, 64)...)
	d := b[n : n+64]
	for i, c := range h {
		d[2*i], d[2*i+1] = hexPairs[2*int(c)], hexPairs[2*int(c)+1]
	}
	return b
}

// ComputeHash returns EntryHash over e's fields.
func (e *Entry) ComputeHash() Hash {
	return EntryHash(e.Tenant, e.Seq, e.Time, e.Kind, e.PrevHash, e.Payload)
}

// Errors callers match with errors.Is.
var (
	// ErrBadRecord is wrapped for a record that cannot be appended: a bad
	// tenant or kind, a payload that is not canonicalizable JSON, a time
	// before the tenant's latest entry.
	ErrBadRecord = errors.New("bad ledger record")
	// ErrEmpty means a ledger, tenant or day has no entries to judge.
	ErrEmpty = errors.New("no ledger entries")
	// ErrNoSchema means the database has no ledger schema (run migrate).
	ErrNoSchema = errors.New("no ledger schema")
	// ErrUnreachable means the database could not be reached.
	ErrUnreachable = errors.New("ledger database unreachable")
	// ErrBadDSN means the --db value is not a supported data source.
	ErrBadDSN = errors.New("bad ledger data source")
	// ErrConflict means an append lost a race with another writer of the
	// same tenant (a serialization failure, a deadlock, a seq taken by a
	// writer that does not lock, a busy SQLite database): nothing was
	// appended and the same records can be appended again. It is never
	// bad input.
	ErrConflict = errors.New("ledger append lost a race with another writer; retry")
)

// ValidateName checks a tenant or kind: 1 to max bytes of valid UTF-8 with
// no control characters (a line feed would make the hash input ambiguous).
func ValidateName(what, s string, max int) error {
	if s == "" || len(s) > max {
		return fmt.Errorf("%w: %s must be 1 to %d bytes, got %d", ErrBadRecord, what, max, len(s))
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: %s %q is not valid UTF-8", ErrBadRecord, what, s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %s %q contains a control character", ErrBadRecord, what, s)
		}
	}
	return nil
}

// Limits on names, also enforced by CHECK constraints in the schema.
const (
	MaxTenantLen = 200
	MaxKindLen   = 64
)

// minTime and maxTime bound entry times (the hash's time field has a
// four-digit year).
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// appendTime appends t in TimeLayout; it is EntryHash's hot path, about
// five times faster than time.Time.AppendFormat.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	if year < 0 || year > 9999 {
		return t.AppendFormat(b, TimeLayout)
	}
	us := t.Nanosecond() / 1000
	b = append(b, byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-',
		byte('0'+int(month)/10), byte('0'+int(month)%10), '-', byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':', byte('0'+min/10), byte('0'+min%10), ':',
		byte('0'+sec/10), byte('0'+sec%10), '.')
	return append(b, byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10),
		byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10), 'Z')
}
