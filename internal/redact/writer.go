package redact

import (
	"bytes"
	"io"
	"sync"
)

// Writer masks every secret of its Set in what is written through it. It
// holds back the text after the last newline (of a line longer than 64 KiB,
// as much as the longest secret) so that a secret split across two writes
// is still caught; Flush writes the rest.
// It is safe for concurrent use.
type Writer struct {
	mu  sync.Mutex
	w   io.Writer
	set *Set
	buf []byte
}

// NewWriter returns a Writer that masks set's secrets — those known now
// and those added later — in everything written to w.
func NewWriter(w io.Writer, set *Set) *Writer { return &Writer{w: w, set: set} }

// Raw writes s unmasked, between masked writes: only for the commands
// that must carry a secret verbatim (GitHub Actions' ::add-mask::).
func (r *Writer) Raw(s string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, err := io.WriteString(r.w, s)
	return err
}

// Write buffers p and writes every complete line, masked.
func (r *Writer) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, p...)
	i := bytes.LastIndexByte(r.buf, '\n')
	if i < 0 {
		if len(r.buf) < 64<<10 {
			return len(p), nil
		}
		// a long line: write all but what could be the start of a secret
		if i = len(r.buf) - r.set.maxLen(); i < 0 {
			return len(p), nil
		}
	}
	out := r.set.String(string(r.buf[:i+1]))
	r.buf = append(r.buf[:0], r.buf[i+1:]...)
	if _, err := io.WriteString(r.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes whatever is buffered, masked.
func (r *Writer) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) == 0 {
		return nil
	}
	out := r.set.String(string(r.buf))
	r.buf = r.buf[:0]
	_, err := io.WriteString(r.w, out)
	return err
}
