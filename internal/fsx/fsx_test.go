package fsx

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const limit = 1024
	for _, n := range []int{0, 1, 511, 512, 513, limit} {
		p := filepath.Join(dir, "f")
		want := bytes.Repeat([]byte("y"), n)
		if err := os.WriteFile(p, want, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(context.Background(), p, limit)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: got %d bytes, err %v; want the file back", n, len(got), err)
		}
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	// symlinks to regular files are followed
	p := filepath.Join(dir, "target")
	if err := os.WriteFile(p, []byte("ok"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(p, link); err != nil {
		t.Skip(err)
	}
	if got, err := ReadFile(context.Background(), link, limit); err != nil || string(got) != "ok" {
		t.Errorf("via a symlink: %q, %v", got, err)
	}
}

// TestReadFileDoesNotTrustStat: a /proc file has size 0 in stat and more
// bytes than that; the limit holds anyway.
func TestReadFileDoesNotTrustStat(t *testing.T) {
	t.Parallel()
	const p = "/proc/self/maps"
	st, err := os.Stat(p)
	if err != nil || st.Size() != 0 {
		t.Skipf("%s: no size-0 procfs file here", p)
	}
	if _, err := ReadFile(context.Background(), p, 16); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	b, err := ReadFile(context.Background(), p, 1<<20)
	if err != nil || len(b) == 0 {
		t.Fatalf("%d bytes, err %v; want the whole file", len(b), err)
	}
}

func TestReadFileHonoursContext(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("data"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadFile(ctx, p, 1024); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := ReadAll(ctx, strings.NewReader("data"), 1024); !errors.Is(err, context.Canceled) {
		t.Fatalf("ReadAll err = %v, want context.Canceled", err)
	}
	if _, err := ReadAll(context.Background(), strings.NewReader("12345"), 4); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("ReadAll err = %v, want ErrTooLarge", err)
	}
}
