package cli

import (
	"bytes"
	"io"
	"strings"
)

// redactor replaces secrets with *** in everything written through it. It
// buffers up to the last newline so that a secret split across two writes is
// still caught; Flush writes the rest.
type redactor struct {
	w       io.Writer
	secrets []string
	buf     []byte
}

func (r *redactor) Write(p []byte) (int, error) {
	r.buf = append(r.buf, p...)
	i := bytes.LastIndexByte(r.buf, '\n')
	if i < 0 {
		if len(r.buf) < 64<<10 {
			return len(p), nil
		}
		i = len(r.buf) - 1
	}
	out := r.redact(string(r.buf[:i+1]))
	r.buf = append(r.buf[:0], r.buf[i+1:]...)
	if _, err := io.WriteString(r.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes whatever is buffered.
func (r *redactor) Flush() {
	if len(r.buf) > 0 {
		io.WriteString(r.w, r.redact(string(r.buf)))
		r.buf = r.buf[:0]
	}
}

func (r *redactor) redact(s string) string {
	for _, sec := range r.secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	return s
}
