// Package fsx reads the input files users name — policies, keys, bundles,
// trusted roots, usage reports, metrics, rule files, dashboards, evidence
// inputs — safely: only regular files, refused up front when they are
// devices, FIFOs, sockets or directories (so `--policy /dev/zero` cannot
// exhaust memory and a FIFO cannot block forever), read through a hard
// byte limit that does not trust stat, and stopping when the context ends.
package fsx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Limits for the kinds of input files. A file larger than its limit is
// refused as bad input.
const (
	// MaxKeySize bounds keys, certificates, OIDC tokens, detached
	// signatures and signed checkpoints.
	MaxKeySize = 1 << 20
	// MaxDocSize bounds documents: Sigstore bundles, trusted roots, rule
	// files, dashboards, checksum lists, results and evidence inputs.
	MaxDocSize = 64 << 20
	// MaxDataSize bounds data exports: usage reports and metrics files.
	MaxDataSize = 512 << 20
)

var (
	// ErrNotRegular means the path is not a regular file: a directory, a
	// device, a FIFO (named pipe) or a socket.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge means the file holds more bytes than the reader accepts.
	ErrTooLarge = errors.New("file too large")
)

// notRegularError says what a path is instead of a regular file. It
// matches ErrNotRegular.
type notRegularError struct {
	// Mode is the file's type.
	Mode fs.FileMode
}

func (e *notRegularError) Error() string {
	return fmt.Sprintf("is %s, not a regular file; pass the path of a regular file", describe(e.Mode))
}

// Is makes a NotRegularError match ErrNotRegular.
func (e *notRegularError) Is(target error) bool { return target == ErrNotRegular }

// TooLargeError says the file is larger than the limit. It matches
// ErrTooLarge.
type TooLargeError struct {
	// Limit is the most bytes accepted.
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("larger than %d bytes, the most accepted", e.Limit)
}

// Is makes a TooLargeError match ErrTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

func describe(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeIrregular != 0:
		return "an irregular file"
	}
	return "not a regular file (" + m.Type().String() + ")"
}

// Open opens the regular file at path for reading. It follows symbolic
// links and refuses anything that is not a regular file before opening it,
// and again after opening it (the path may have changed in between); the
// open itself never blocks, even on a FIFO.
func Open(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &notRegularError{Mode: st.Mode()}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	if st, err = f.Stat(); err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, &notRegularError{Mode: st.Mode()}
	}
	return f, nil
}

// ReadFile reads the regular file at path, at most limit bytes: a file
// with more fails with a *TooLargeError, whatever stat says of its size.
// It stops with ctx's error when ctx ends.
func ReadFile(ctx context.Context, path string, limit int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := int64(512)
	if st, err := f.Stat(); err == nil && st.Size() < limit {
		size += st.Size()
	}
	return readAll(NewReader(ctx, f), limit, size)
}

// ReadAll reads r to its end, at most limit bytes: more fails with a
// *TooLargeError. It stops with ctx's error when ctx ends.
func ReadAll(ctx context.Context, r io.Reader, limit int64) ([]byte, error) {
	return readAll(NewReader(ctx, r), limit, 512)
}

func readAll(r io.Reader, limit, size int64) ([]byte, error) {
	if size > limit+1 {
		size = limit + 1
	}
	b := make([]byte, 0, size)
	lr := io.LimitReader(r, limit+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := lr.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > limit {
			return nil, &TooLargeError{Limit: limit}
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// NewReader returns a reader of r that fails with ctx's error once ctx
// ends, checked before every read.
func NewReader(ctx context.Context, r io.Reader) io.Reader {
	if ctx.Done() == nil {
		return r
	}
	return &ctxReader{ctx: ctx, r: r}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if len(p) > 1<<20 { // bound how long one read runs past a cancel
		p = p[:1<<20]
	}
	return c.r.Read(p)
}
