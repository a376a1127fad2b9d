//go:build unix

package fsx

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFileRefusesHostileInputs feeds every kind of path that is not a
// small regular file and checks the error: promptly, typed, never data.
func TestReadFileRefusesHostileInputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	devLink := filepath.Join(dir, "policy.yml")
	if err := os.Symlink("/dev/zero", devLink); err != nil {
		t.Fatal(err)
	}
	fifoLink := filepath.Join(dir, "fifo-link.yml")
	if err := os.Symlink(fifo, fifoLink); err != nil {
		t.Fatal(err)
	}
	const limit = 1024
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("x"), limit+1), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       error
		says       string
	}{
		{"/dev/zero is a device, refused before reading", "/dev/zero", ErrNotRegular, "character device"},
		{"a FIFO is refused without blocking", fifo, ErrNotRegular, "named pipe (FIFO)"},
		{"a symlink to a device is followed and refused", devLink, ErrNotRegular, "character device"},
		{"a symlink to a FIFO is followed and refused", fifoLink, ErrNotRegular, "named pipe (FIFO)"},
		{"a directory is refused", dir, ErrNotRegular, "a directory"},
		{"a socket is refused", sock, ErrNotRegular, "a socket"},
		{"a file one byte over the limit is too large", big, ErrTooLarge, "larger than 1024 bytes"},
		{"a missing file is an fs error", filepath.Join(dir, "missing"), fs.ErrNotExist, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			done := make(chan struct{})
			var b []byte
			var err error
			go func() {
				defer close(done)
				b, err = ReadFile(context.Background(), tt.path, limit)
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatalf("ReadFile(%s) still blocked after 5s", tt.path)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if b != nil {
				t.Errorf("got %d bytes with the error, want none", len(b))
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Errorf("message %q does not say %q", err, tt.says)
			}
		})
	}
}
