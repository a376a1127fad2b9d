package ledger

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/stdlib"
)

// copyScan streams rows with `COPY (SELECT …) TO STDOUT (FORMAT binary)`.
//
// It speaks the COPY part of the wire protocol itself on the pooled
// connection's socket rather than through pgx's CopyTo: pgx reads the socket
// 8 KiB at a time and hands over one message per row, and that costs about
// as much CPU as hashing the row. Here the socket is read into a 64 KiB
// buffer and the whole messages of each read are decoded in place and
// passed to fn before the next read, in one goroutine: a second one
// reading the socket while the first hashes used 10 % more CPU for the
// same wall time at 10M rows (docs/benchmarks.md).
func (s *Store) copyScan(ctx context.Context, tenant string, from, to int64, fn func(*Entry) error) error {
	// COPY takes no parameters: the tenant goes in as a string constant.
	// A constant, not an expression: with convert_from(decode(hex)) the
	// planner could not estimate the tenant's rows and chose a parallel
	// sequential scan and a sort of the whole table over the primary key
	// (10.2–11.4 s of server CPU for 10M rows instead of 7.4 s).
	lit, err := sqlString(tenant)
	if err != nil {
		return err
	}
	query := fmt.Sprintf(`COPY (SELECT seq, ts, kind, payload, prev_hash, hash FROM ledger_chain
		WHERE tenant = %s AND seq >= %d`, lit, from)
	if to > 0 {
		query += fmt.Sprintf(` AND seq <= %d`, to)
	}
	query += ` ORDER BY seq) TO STDOUT (FORMAT binary)`

	conn, err := s.db.Conn(ctx)
	if err != nil {
		return s.dbErr("connect", err)
	}
	defer conn.Close()
	var cerr error
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected driver connection %T", dc)
		}
		pc := sc.Conn().PgConn()
		if err := pc.SyncConn(ctx); err != nil {
			cerr = err
			return nil
		}
		dec := newCopyDecoder(tenant, fn)
		idle, err := copyOut(ctx, pc.Conn(), query, dec, s.copyOpt)
		if !idle {
			// The connection is mid-protocol (fn stopped the scan, the
			// stream broke, ctx ended): close it, so that the pool drops
			// it and the server ends the COPY.
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			pc.Close(cctx)
			cancel()
		}
		if err != nil {
			return err
		}
		return dec.Close()
	})
	if cerr != nil {
		return s.dbErr("read the chain", cerr)
	}
	var pe *pgconn.PgError
	var ne net.Error
	if errors.As(err, &pe) || errors.As(err, &ne) {
		return s.dbErr("read the chain", err)
	}
	return err
}

// sqlString quotes s as an escape string constant (E'…'), whose meaning
// does not depend on standard_conforming_strings: backslashes and quotes
// are doubled. A NUL byte cannot be in PostgreSQL text, so no tenant
// holds one.
func sqlString(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", fmt.Errorf("%w: tenant %q holds a NUL byte", ErrBadRecord, s)
	}
	return "E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'", nil
}

// Frontend protocol message types copyOut handles.
const (
	msgCopyData        = 'd'
	msgCopyDone        = 'c'
	msgCopyOutResponse = 'H'
	msgCommandComplete = 'C'
	msgReadyForQuery   = 'Z'
	msgErrorResponse   = 'E'
)

// copyOptions tune copyOut; the zero value is the default.
type copyOptions struct {
	// buf is the size of the read buffer (default 64 KiB); it grows to
	// hold a message longer than that. Tests make it tiny, to cut messages
	// and rows everywhere.
	buf int
}

// defaultCopyBuf is small on purpose: each read is decoded and hashed
// before the next, and a 512 KiB read kept the client busy for about a
// millisecond while the server's socket buffer filled and it stalled; with
// 64 KiB reads the two interleave (docs/benchmarks.md).
const defaultCopyBuf = 64 << 10

// copyOut sends a COPY … TO STDOUT query on an idle connection and writes
// the CopyData payloads to w until ReadyForQuery. A server error is
// returned as *pgconn.PgError. idle reports whether the connection is idle
// again and fit for reuse.
func copyOut(ctx context.Context, nc net.Conn, query string, w *copyDecoder, opt copyOptions) (idle bool, err error) {
	size := opt.buf
	if size <= 0 {
		size = defaultCopyBuf
	}
	q := make([]byte, 5, 6+len(query))
	q[0] = 'Q'
	q = append(append(q, query...), 0)
	binary.BigEndian.PutUint32(q[1:], uint32(len(q)-1))

	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	defer func() {
		if !stop() {
			// The deadline is set, or about to be: the connection
			// cannot be reused.
			idle = false
			if err == nil {
				err = ctxErr(ctx, context.Canceled)
			}
		}
	}()
	if _, err := nc.Write(q); err != nil {
		return false, ctxErr(ctx, err)
	}

	var pgErr error
	buf := make([]byte, size)
	n, scan := 0, 0 // bytes in buf; end of the whole messages in buf[:n]
	for {
		k, rerr := nc.Read(buf[n:])
		n += k
		end, need := false, 0
		for {
			if n-scan < 5 {
				need = 5
				break
			}
			l := int(binary.BigEndian.Uint32(buf[scan+1:]))
			if l < 4 || l > maxPayload+1<<20 {
				return false, fmt.Errorf("%w: protocol message %q of %d bytes", ErrBadCopy, buf[scan], l)
			}
			if n-scan < 1+l {
				need = 1 + l
				break
			}
			t := buf[scan]
			scan += 1 + l
			if t == msgReadyForQuery {
				end = true
				break
			}
		}
		if end && n > scan {
			return false, fmt.Errorf("%w: %d bytes after ReadyForQuery", ErrBadCopy, n-scan)
		}
		if end || scan > 0 || len(buf)-scan < need {
			if err := decodeMessages(buf[:scan], w, &pgErr); err != nil {
				return false, err
			}
			if end {
				return true, pgErr
			}
			n = copy(buf, buf[scan:n])
			scan = 0
			if need > len(buf) {
				// One message longer than the buffer: grow it, with
				// the data already received only.
				bigger := make([]byte, need+size)
				copy(bigger, buf[:n])
				buf = bigger
			}
		}
		if rerr != nil {
			return false, ctxErr(ctx, rerr)
		}
	}
}

// decodeMessages handles whole protocol messages: CopyData goes to w, an
// ErrorResponse is kept in pgErr (the server still ends with
// ReadyForQuery), the rest is skipped (notices, parameter changes).
func decodeMessages(b []byte, w *copyDecoder, pgErr *error) error {
	for len(b) > 0 {
		t, l := b[0], int(binary.BigEndian.Uint32(b[1:]))
		body := b[5 : 1+l]
		b = b[1+l:]
		switch t {
		case msgCopyData:
			if *pgErr == nil {
				if _, err := w.Write(body); err != nil {
					return err
				}
			}
		case msgErrorResponse:
			var er pgproto3.ErrorResponse
			if err := er.Decode(body); err != nil {
				return fmt.Errorf("%w: undecodable error response: %v", ErrBadCopy, err)
			}
			*pgErr = pgconn.ErrorResponseToPgError(&er)
		}
	}
	return nil
}

// ctxErr prefers the context's error to the one a cancelled read returns.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}
