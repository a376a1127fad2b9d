package ledger

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
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
// as much CPU as hashing the row. Here one goroutine reads the socket into
// 512 KiB buffers and hands over whole protocol messages as soon as 16 KiB
// of them have arrived, and a second decodes the rows in place and runs fn,
// so reading, decoding and hashing overlap with each other and with the
// server. (Collecting more before a hand-over made the server wait: its
// socket buffer filled while the decoder was still idle.)
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
	// chunk is half the size of a read buffer (default 256 KiB);
	// copyBuffers buffers are in flight at most. Tests make it tiny to cut
	// messages everywhere.
	chunk int
	// batch is how many bytes of whole messages the reader collects before
	// it hands a buffer to the decoder (default min(chunk, 16 KiB)).
	batch int
	// inline decodes in the reading goroutine instead of a second one.
	inline bool
}

const (
	defaultCopyChunk = 256 << 10
	defaultCopyBatch = 16 << 10
	copyBuffers      = 4
)

// copyOut sends a COPY … TO STDOUT query on an idle connection and writes
// the CopyData payloads to w until ReadyForQuery. A server error is
// returned as *pgconn.PgError. idle reports whether the connection is idle
// again and fit for reuse.
func copyOut(ctx context.Context, nc net.Conn, query string, w *copyDecoder, opt copyOptions) (idle bool, err error) {
	chunk := opt.chunk
	if chunk <= 0 {
		chunk = defaultCopyChunk
	}
	batch := opt.batch
	if batch <= 0 {
		batch = min(chunk, defaultCopyBatch)
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
	decode := func(chunk []byte) error { return decodeMessages(chunk, w, &pgErr) }
	if opt.inline {
		buf := make([]byte, 2*chunk)
		err := readMessages(nc, chunk, batch,
			func() []byte { return buf },
			func(chunk []byte) error { return decode(chunk) })
		if err != nil {
			return false, ctxErr(ctx, err)
		}
		return true, pgErr
	}

	full := make(chan []byte, copyBuffers)
	free := make(chan []byte, copyBuffers)
	for range copyBuffers {
		free <- make([]byte, 2*chunk)
	}
	quit := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		defer close(full)
		readErr <- readMessages(nc, chunk, batch,
			func() []byte {
				select {
				case b := <-free:
					return b
				case <-quit:
					return nil
				}
			},
			func(chunk []byte) error {
				select {
				case full <- chunk:
					return nil
				case <-quit:
					return errQuit
				}
			})
	}()

	// Decode: every chunk holds whole messages.
	var derr error
	for chunk := range full {
		if derr == nil {
			if derr = decode(chunk); derr != nil {
				close(quit)
				nc.SetReadDeadline(time.Unix(1, 0)) // unblock the reader
			}
		}
		select {
		case free <- chunk[:cap(chunk)]:
		default: // an outsized buffer the pool has no room for
		}
	}
	rerr := <-readErr
	switch {
	case derr != nil:
		return false, derr
	case rerr != nil:
		return false, ctxErr(ctx, rerr)
	}
	return true, pgErr
}

// errQuit stops the reader when the decoder has failed.
var errQuit = errors.New("decoder stopped")

// readMessages reads the socket into buffers from get and passes each to
// put once it holds at least batch bytes of whole messages, or the
// last message (ReadyForQuery). A message longer than a buffer gets a
// buffer of its own. put must be done with a buffer before get returns it
// again.
func readMessages(nc net.Conn, chunk, batch int, get func() []byte, put func([]byte) error) error {
	buf := get()
	w, scan := 0, 0 // bytes in buf; end of the whole messages in buf[:w]
	for {
		n, err := nc.Read(buf[w:])
		w += n
		end, need := false, 0
		for {
			if w-scan < 5 {
				need = 5
				break
			}
			l := int(binary.BigEndian.Uint32(buf[scan+1:]))
			if l < 4 || l > maxPayload+1<<20 {
				return fmt.Errorf("%w: protocol message %q of %d bytes", ErrBadCopy, buf[scan], l)
			}
			if w-scan < 1+l {
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
		if end && w > scan {
			return fmt.Errorf("%w: %d bytes after ReadyForQuery", ErrBadCopy, w-scan)
		}
		if end || scan >= batch || len(buf)-scan < need {
			var next []byte
			switch {
			case end:
			case scan == 0:
				// One message longer than buf: a bigger buffer takes
				// buf's place.
				next = make([]byte, need+chunk)
			default:
				if next = get(); next == nil {
					return nil
				}
				if len(next) < need {
					next = make([]byte, need+chunk)
				}
			}
			if scan > 0 {
				if err := put(buf[:scan]); err != nil {
					return err
				}
			}
			if end {
				return nil
			}
			w = copy(next, buf[scan:w])
			buf, scan = next, 0
		}
		if err != nil {
			return err
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
