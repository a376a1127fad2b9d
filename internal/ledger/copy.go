package ledger

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// ErrBadCopy is wrapped when a binary COPY stream cannot be decoded.
var ErrBadCopy = errors.New("malformed binary COPY stream")

// copySignature starts every PostgreSQL binary COPY stream.
const copySignature = "PGCOPY\n\xff\r\n\x00"

// pgEpochMicros is the zero of PostgreSQL's binary timestamptz
// (2000-01-01 UTC) in Unix microseconds.
const pgEpochMicros = 946684800000000

// copyScan streams rows with `COPY (SELECT …) TO STDOUT (FORMAT binary)`
// and decodes them in a second goroutine as they arrive, so hashing overlaps
// with the server's sending.
func (s *Store) copyScan(ctx context.Context, tenant string, from, to int64, fn func(*Entry) error) error {
	// COPY takes no parameters: the tenant goes in as hex, which cannot
	// break out of the literal.
	query := fmt.Sprintf(`COPY (SELECT seq, ts, kind, payload, prev_hash, hash FROM ledger_chain
		WHERE tenant = convert_from(decode('%s', 'hex'), 'UTF8') AND seq >= %d`, hex.EncodeToString([]byte(tenant)), from)
	if to > 0 {
		query += fmt.Sprintf(` AND seq <= %d`, to)
	}
	query += ` ORDER BY seq) TO STDOUT (FORMAT binary)`

	conn, err := s.db.Conn(ctx)
	if err != nil {
		return s.dbErr("connect", err)
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			err := DecodeCopy(pr, tenant, fn)
			pr.CloseWithError(errors.Join(err, io.ErrClosedPipe))
			done <- err
		}()
		// pgx writes one CopyData message (one row) per Write: batch them
		// so the pipe hands over large chunks, not one row per switch.
		bw := bufio.NewWriterSize(pw, 256<<10)
		_, cerr := sc.Conn().PgConn().CopyTo(ctx, bw, query)
		if cerr == nil {
			cerr = bw.Flush()
		}
		pw.CloseWithError(cerr)
		derr := <-done
		if derr != nil {
			return derr
		}
		if cerr != nil {
			return s.dbErr("read the chain", cerr)
		}
		return nil
	})
}

// DecodeCopy decodes a PostgreSQL binary COPY stream of ledger rows (seq
// bigint, ts timestamptz, kind text, payload text, prev_hash bytea, hash
// bytea) and calls fn for each row. The Entry passed to fn and its Payload
// are reused between calls: fn must copy what it keeps.
func DecodeCopy(r io.Reader, tenant string, fn func(*Entry) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var hdr [19]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return fmt.Errorf("%w: short header: %v", ErrBadCopy, err)
	}
	if string(hdr[:11]) != copySignature {
		return fmt.Errorf("%w: bad signature", ErrBadCopy)
	}
	if ext := binary.BigEndian.Uint32(hdr[15:19]); ext > 0 {
		if ext > 1<<20 {
			return fmt.Errorf("%w: header extension of %d bytes", ErrBadCopy, ext)
		}
		if _, err := br.Discard(int(ext)); err != nil {
			return fmt.Errorf("%w: short header extension: %v", ErrBadCopy, err)
		}
	}
	e := Entry{Tenant: tenant}
	var payload []byte
	var kind []byte
	var u2 [2]byte
	var u4 [4]byte
	field := func(buf []byte, max int) ([]byte, error) {
		if _, err := io.ReadFull(br, u4[:]); err != nil {
			return nil, fmt.Errorf("%w: short field length: %v", ErrBadCopy, err)
		}
		n := int32(binary.BigEndian.Uint32(u4[:]))
		if n < 0 || int(n) > max {
			return nil, fmt.Errorf("%w: field length %d outside 0..%d", ErrBadCopy, n, max)
		}
		if cap(buf) >= int(n) {
			buf = buf[:n]
			if _, err := io.ReadFull(br, buf); err != nil {
				return nil, fmt.Errorf("%w: short field: %v", ErrBadCopy, err)
			}
			return buf, nil
		}
		// Grow with the data actually received, so a lying length cannot
		// make us allocate it up front.
		buf = buf[:0]
		for remaining := int(n); remaining > 0; {
			chunk := min(remaining, 1<<16)
			start := len(buf)
			buf = append(buf, make([]byte, chunk)...)
			if _, err := io.ReadFull(br, buf[start:]); err != nil {
				return nil, fmt.Errorf("%w: short field: %v", ErrBadCopy, err)
			}
			remaining -= chunk
		}
		return buf, nil
	}
	var fix [8]byte
	for row := 0; ; row++ {
		if _, err := io.ReadFull(br, u2[:]); err != nil {
			return fmt.Errorf("%w: stream ended without a trailer after %d rows: %v", ErrBadCopy, row, err)
		}
		nf := int16(binary.BigEndian.Uint16(u2[:]))
		if nf == -1 {
			return nil
		}
		if nf != 6 {
			return fmt.Errorf("%w: row %d has %d fields, expected 6", ErrBadCopy, row, nf)
		}
		b, err := field(fix[:], 8)
		if err != nil || len(b) != 8 {
			return errors.Join(err, fmt.Errorf("%w: row %d: seq is not 8 bytes", ErrBadCopy, row))
		}
		e.Seq = int64(binary.BigEndian.Uint64(b))
		if b, err = field(fix[:], 8); err != nil || len(b) != 8 {
			return errors.Join(err, fmt.Errorf("%w: row %d: ts is not 8 bytes", ErrBadCopy, row))
		}
		e.Time = time.UnixMicro(int64(binary.BigEndian.Uint64(b)) + pgEpochMicros).UTC()
		if kind, err = field(kind, MaxKindLen); err != nil {
			return err
		}
		if e.Kind != string(kind) {
			e.Kind = string(kind)
		}
		if payload, err = field(payload, 1<<30); err != nil {
			return err
		}
		e.Payload = payload
		if b, err = field(e.PrevHash[:0], 32); err != nil || len(b) != 32 {
			return errors.Join(err, fmt.Errorf("%w: row %d: prev_hash is not 32 bytes", ErrBadCopy, row))
		}
		if b, err = field(e.Hash[:0], 32); err != nil || len(b) != 32 {
			return errors.Join(err, fmt.Errorf("%w: row %d: hash is not 32 bytes", ErrBadCopy, row))
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
}
