package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrBadCopy is wrapped when a binary COPY stream cannot be decoded.
var ErrBadCopy = errors.New("malformed binary COPY stream")

// copySignature starts every PostgreSQL binary COPY stream.
const copySignature = "PGCOPY\n\xff\r\n\x00"

// pgEpochMicros is the zero of PostgreSQL's binary timestamptz
// (2000-01-01 UTC) in Unix microseconds.
const pgEpochMicros = 946684800000000

// maxPayload bounds one payload field of a COPY stream.
const maxPayload = 1 << 30

// DecodeCopy decodes a PostgreSQL binary COPY stream of ledger rows (seq
// bigint, ts timestamptz, kind text, payload text, prev_hash bytea, hash
// bytea) and calls fn for each row. The Entry passed to fn and its Payload
// are reused between calls: fn must copy what it keeps.
func DecodeCopy(r io.Reader, tenant string, fn func(*Entry) error) error {
	d := newCopyDecoder(tenant, fn)
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := d.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return d.Close()
		}
		if err != nil {
			return errors.Join(fmt.Errorf("%w: read: %v", ErrBadCopy, err), err)
		}
	}
}

// copyDecoder decodes a binary COPY stream written to it in pieces of any
// size. Rows that lie wholly inside one Write are decoded in place (no
// copy): PostgreSQL sends one row per CopyData message, so that is every
// row; only a row split across writes is carried over in a buffer.
type copyDecoder struct {
	fn     func(*Entry) error
	e      Entry
	header bool // the stream header has been read
	done   bool // the trailer has been read
	rows   int
	carry  []byte
}

func newCopyDecoder(tenant string, fn func(*Entry) error) *copyDecoder {
	return &copyDecoder{fn: fn, e: Entry{Tenant: tenant}}
}

// Write decodes the rows completed by p and keeps the rest for the next
// Write. It returns fn's error, or one wrapping ErrBadCopy.
func (d *copyDecoder) Write(p []byte) (int, error) {
	n := len(p)
	if len(d.carry) > 0 {
		d.carry = append(d.carry, p...)
		used, err := d.decode(d.carry)
		d.carry = d.carry[:copy(d.carry, d.carry[used:])]
		return n, err
	}
	used, err := d.decode(p)
	if err == nil && used < len(p) {
		d.carry = append(d.carry[:0], p[used:]...)
	}
	return n, err
}

// Close reports a stream that ended before its trailer.
func (d *copyDecoder) Close() error {
	switch {
	case !d.header:
		return fmt.Errorf("%w: short header (%d bytes)", ErrBadCopy, len(d.carry))
	case !d.done:
		return fmt.Errorf("%w: stream ended without a trailer after %d rows (%d bytes left over)", ErrBadCopy, d.rows, len(d.carry))
	}
	return nil
}

// decode decodes the complete rows at the start of p and returns how many
// bytes they took.
func (d *copyDecoder) decode(p []byte) (int, error) {
	off := 0
	if !d.header {
		if len(p) < 19 {
			if len(p) >= 11 && string(p[:11]) != copySignature {
				return 0, fmt.Errorf("%w: bad signature", ErrBadCopy)
			}
			return 0, nil
		}
		if string(p[:11]) != copySignature {
			return 0, fmt.Errorf("%w: bad signature", ErrBadCopy)
		}
		ext := binary.BigEndian.Uint32(p[15:19])
		if ext > 1<<20 {
			return 0, fmt.Errorf("%w: header extension of %d bytes", ErrBadCopy, ext)
		}
		if len(p) < 19+int(ext) {
			return 0, nil
		}
		off = 19 + int(ext)
		d.header = true
	}
	e := &d.e
	for off < len(p) {
		if d.done {
			return off, fmt.Errorf("%w: %d bytes after the trailer", ErrBadCopy, len(p)-off)
		}
		if len(p)-off < 2 {
			return off, nil
		}
		nf := int16(binary.BigEndian.Uint16(p[off:]))
		if nf == -1 {
			d.done = true
			off += 2
			continue
		}
		if nf != 6 {
			return off, fmt.Errorf("%w: row %d has %d fields, expected 6", ErrBadCopy, d.rows, nf)
		}
		// Find the six fields; stop (and wait for more) at the first
		// that is not complete yet.
		var f [6][]byte
		at := off + 2
		for i, max := range [6]int{8, 8, MaxKindLen, maxPayload, 32, 32} {
			if len(p)-at < 4 {
				return off, nil
			}
			n := int32(binary.BigEndian.Uint32(p[at:]))
			if n < 0 || int(n) > max {
				return off, fmt.Errorf("%w: row %d field %d: length %d outside 0..%d", ErrBadCopy, d.rows, i+1, n, max)
			}
			at += 4
			if len(p)-at < int(n) {
				return off, nil
			}
			f[i] = p[at : at+int(n)]
			at += int(n)
		}
		switch {
		case len(f[0]) != 8:
			return off, fmt.Errorf("%w: row %d: seq is not 8 bytes", ErrBadCopy, d.rows)
		case len(f[1]) != 8:
			return off, fmt.Errorf("%w: row %d: ts is not 8 bytes", ErrBadCopy, d.rows)
		case len(f[4]) != 32:
			return off, fmt.Errorf("%w: row %d: prev_hash is not 32 bytes", ErrBadCopy, d.rows)
		case len(f[5]) != 32:
			return off, fmt.Errorf("%w: row %d: hash is not 32 bytes", ErrBadCopy, d.rows)
		}
		e.Seq = int64(binary.BigEndian.Uint64(f[0]))
		e.Time = time.UnixMicro(int64(binary.BigEndian.Uint64(f[1])) + pgEpochMicros).UTC()
		if e.Kind != string(f[2]) {
			e.Kind = string(f[2])
		}
		e.Payload = f[3]
		copy(e.PrevHash[:], f[4])
		copy(e.Hash[:], f[5])
		off = at
		d.rows++
		if err := d.fn(e); err != nil {
			return off, err
		}
	}
	return off, nil
}
