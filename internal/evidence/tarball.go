package evidence

import (
	"archive/tar"
	"bytes"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

// File is one member of the evidence tarball.
type File struct {
	// Name is a clean relative slash path, e.g. "results/slo.json".
	Name string
	// Data is the file's content.
	Data []byte
}

// Limits bound what ReadTarGz accepts, so a hostile tarball cannot exhaust
// memory or disk.
type Limits struct {
	// MaxFiles is the most entries the tarball may hold.
	MaxFiles int
	// MaxFileSize is the largest single file in bytes.
	MaxFileSize int64
	// MaxTotalSize bounds the uncompressed tar stream in bytes.
	MaxTotalSize int64
	// MaxNameLen bounds an entry's path.
	MaxNameLen int
}

// DefaultLimits are generous for evidence (results, reports, attestations)
// and far below anything that hurts a CI runner.
var DefaultLimits = Limits{MaxFiles: 4096, MaxFileSize: 64 << 20, MaxTotalSize: 256 << 20, MaxNameLen: 255}

// epoch is the fixed modification time of every entry: tarball bytes depend
// on the content only, never on when or where it was made.
var epoch = time.Unix(0, 0).UTC()

// gzipHeader is the exact 10-byte header WriteTarGz produces: deflate, no
// name, no mtime, no extra fields, OS unknown.
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// WriteTarGz writes files as a reproducible tar.gz: entries sorted by name,
// regular files with mode 0644, uid/gid 0, no user or group names, mtime
// 1970-01-01, USTAR format, in a gzip of stored deflate blocks with a header
// without name or time (see gzip.go). The same files always give the same
// bytes.
func WriteTarGz(files []File) ([]byte, error) {
	tb, err := writeTar(files)
	if err != nil {
		return nil, err
	}
	return writeStoredGzip(tb), nil
}

func writeTar(files []File) ([]byte, error) {
	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, f := range sorted {
		if err := checkName(f.Name, DefaultLimits.MaxNameLen); err != nil {
			return nil, err
		}
		if i > 0 && sorted[i-1].Name == f.Name {
			return nil, fmt.Errorf("%w: %q appears twice", ErrUnsafeEntry, f.Name)
		}
		hdr := &tar.Header{
			Typeflag: tar.TypeReg, Name: f.Name, Mode: 0o644, Size: int64(len(f.Data)),
			ModTime: epoch, Format: tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("tar %s: %w", f.Name, err)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// checkName accepts only clean, relative slash paths without "..".
func checkName(name string, maxLen int) error {
	switch {
	case name == "" || name == ".":
		return fmt.Errorf("%w: empty name", ErrUnsafeEntry)
	case len(name) > maxLen:
		return fmt.Errorf("%w: name of %d bytes; at most %d are accepted", ErrUnsafeEntry, len(name), maxLen)
	case strings.HasPrefix(name, "/") || (len(name) > 1 && name[1] == ':'):
		return fmt.Errorf("%w: %q is absolute", ErrUnsafeEntry, name)
	case strings.ContainsAny(name, "\\\x00"):
		return fmt.Errorf("%w: %q contains a backslash or NUL", ErrUnsafeEntry, name)
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			//lint:ignore ST1005 the message ends with the path element "..", not with punctuation
			return fmt.Errorf("%w: %q climbs out with ..", ErrUnsafeEntry, name)
		}
	}
	if path.Clean(name) != name {
		return fmt.Errorf("%w: %q is not a clean path", ErrUnsafeEntry, name)
	}
	return nil
}

// ReadTarGz reads an evidence tarball. It accepts only what WriteTarGz
// writes: regular files with clean relative names, each at most once, within
// lim; links, devices, directories, absolute paths and ".." are rejected
// with ErrUnsafeEntry. The gzip and tar bytes must be exactly the canonical
// encoding of the files read, so an altered header, padding or trailing byte
// is rejected with ErrTampered even where a tar reader would ignore it. It
// holds every file in memory; Verify streams instead (scanTarGz).
func ReadTarGz(b []byte, lim Limits) ([]File, error) {
	ms, _, err := scanTarGz(bytes.NewReader(b), lim, func(string) bool { return true })
	if err != nil {
		return nil, err
	}
	files := make([]File, len(ms))
	for i, m := range ms {
		files[i] = File{Name: m.Name, Data: m.Data}
	}
	return files, nil
}
