package evidence

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// Streaming reading of an evidence tarball: the stored-deflate gzip is
// de-framed block by block and the tar stream is checked entry by entry
// against its canonical encoding, so memory does not grow with the
// tarball: only the members a caller asks to keep are held.

// storedGzipReader reads the data of a gzip file written by
// writeStoredGzip, refusing any other encoding (like readStoredGzip) and
// more than max bytes, as it goes. It returns io.EOF only after the
// trailer was checked and nothing follows it.
type storedGzipReader struct {
	r      io.Reader
	max    int64
	read   int64 // data bytes returned so far
	off    int64 // file offset, for messages
	left   int   // data bytes left in the current block
	final  bool  // the current block is the last one
	short  bool  // the previous block was shorter than storedBlockMax
	crc    hash.Hash32
	done   bool
	header bool
}

func newStoredGzipReader(r io.Reader, max int64) *storedGzipReader {
	return &storedGzipReader{r: r, max: max, crc: crc32.NewIEEE()}
}

func (g *storedGzipReader) readFull(b []byte) error {
	n, err := io.ReadFull(g.r, b)
	g.off += int64(n)
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: gzip stream cut short", ErrTampered)
	}
	return err
}

func (g *storedGzipReader) Read(p []byte) (int, error) {
	if !g.header {
		var h [10]byte
		if err := g.readFull(h[:]); err != nil {
			return 0, fmt.Errorf("%w: gzip header differs from the one releasegate writes", ErrTampered)
		}
		if !bytes.Equal(h[:], gzipHeader) {
			return 0, fmt.Errorf("%w: gzip header differs from the one releasegate writes", ErrTampered)
		}
		g.header = true
	}
	for g.left == 0 {
		if g.done {
			return 0, io.EOF
		}
		if g.final {
			if err := g.trailer(); err != nil {
				return 0, err
			}
			g.done = true
			return 0, io.EOF
		}
		if g.short {
			return 0, fmt.Errorf("%w: short stored block that is not the last one", ErrTampered)
		}
		at := g.off
		var h [5]byte
		if err := g.readFull(h[:]); err != nil {
			return 0, err
		}
		n, nn := binary.LittleEndian.Uint16(h[1:]), binary.LittleEndian.Uint16(h[3:])
		if h[0] > 1 || nn != ^n {
			return 0, fmt.Errorf("%w: not a canonical stored deflate block at offset %d", ErrTampered, at)
		}
		if g.read+int64(n) > g.max {
			return 0, fmt.Errorf("%w: more than %d bytes uncompressed", ErrUnsafeEntry, g.max)
		}
		g.left, g.final, g.short = int(n), h[0] == 1, n != storedBlockMax
	}
	if len(p) > g.left {
		p = p[:g.left]
	}
	n, err := io.ReadFull(g.r, p)
	g.off += int64(n)
	g.left -= n
	g.read += int64(n)
	g.crc.Write(p[:n])
	if err != nil {
		return n, fmt.Errorf("%w: gzip stream cut short", ErrTampered)
	}
	return n, nil
}

// trailer checks the CRC-32 and length and that the file ends there.
func (g *storedGzipReader) trailer() error {
	var t [8]byte
	if err := g.readFull(t[:]); err != nil {
		return fmt.Errorf("%w: the 8-byte gzip trailer is cut short", ErrTampered)
	}
	var one [1]byte
	if n, _ := io.ReadFull(g.r, one[:]); n != 0 {
		return fmt.Errorf("%w: bytes after the gzip trailer", ErrTampered)
	}
	if g.crc.Sum32() != binary.LittleEndian.Uint32(t[:]) || uint32(g.read) != binary.LittleEndian.Uint32(t[4:]) {
		return fmt.Errorf("%w: gzip checksum or length does not match the content", ErrTampered)
	}
	return nil
}

// member is one tar entry as scanTarGz saw it.
type member struct {
	Name   string
	Size   int64
	Digest string // "sha256:<hex>"
	// Data is the content, when the keep function asked for it.
	Data []byte
}

// scanTarGz reads an evidence tarball from r as a stream and checks, entry
// by entry, that it is exactly what WriteTarGz writes: regular files with
// clean relative names in ascending order, each at most once, within lim,
// canonical headers, zero padding, the two zero blocks and nothing after.
// It returns every member's name, size and SHA-256, with the data of those
// keep selects, and the SHA-256 of the whole file. With visit, each member
// is handed to it as soon as it is read and its data is not retained, so
// only one kept member is in memory at a time. Errors wrap ErrUnsafeEntry,
// ErrTampered or ErrMalformed as ReadTarGz's do; visit's errors pass
// through.
func scanTarGz(r io.Reader, lim Limits, keep func(name string) bool, visit ...func(member) error) ([]member, string, error) {
	file := sha256.New()
	g := newStoredGzipReader(io.TeeReader(r, file), lim.MaxTotalSize)
	var out []member
	var block [512]byte
	buf := make([]byte, 32<<10)
	prev := ""
	for {
		if _, err := io.ReadFull(g, block[:]); err != nil {
			return nil, "", tarErr(err)
		}
		if block == [512]byte{} {
			// The end: a second zero block, then the end of the stream.
			if _, err := io.ReadFull(g, block[:]); err != nil || block != [512]byte{} {
				return nil, "", fmt.Errorf("%w: tar headers, order or padding differ from the canonical encoding", ErrTampered)
			}
			if n, err := io.ReadFull(g, buf[:1]); n != 0 || !errors.Is(err, io.EOF) {
				if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
					return nil, "", err
				}
				return nil, "", fmt.Errorf("%w: tar headers, order or padding differ from the canonical encoding", ErrTampered)
			}
			return out, fmt.Sprintf("sha256:%x", file.Sum(nil)), nil
		}
		h, err := tar.NewReader(bytes.NewReader(block[:])).Next()
		if err != nil {
			return nil, "", fmt.Errorf("%w: tar: %v", ErrMalformed, err)
		}
		if len(out) >= lim.MaxFiles {
			return nil, "", fmt.Errorf("%w: more than %d entries", ErrUnsafeEntry, lim.MaxFiles)
		}
		if err := checkEntry(h, lim); err != nil {
			return nil, "", err
		}
		if h.Name == prev {
			return nil, "", fmt.Errorf("%w: %q appears twice", ErrUnsafeEntry, h.Name)
		}
		canon, err := canonicalHeader(h.Name, h.Size)
		if err != nil {
			return nil, "", err
		}
		if h.Name < prev || !bytes.Equal(canon, block[:]) {
			return nil, "", fmt.Errorf("%w: tar headers, order or padding differ from the canonical encoding", ErrTampered)
		}
		prev = h.Name
		m := member{Name: h.Name, Size: h.Size}
		sum := sha256.New()
		var w io.Writer = sum
		var data *bytes.Buffer
		if keep != nil && keep(h.Name) {
			data = bytes.NewBuffer(make([]byte, 0, h.Size))
			w = io.MultiWriter(sum, data)
		}
		if _, err := io.CopyBuffer(w, io.LimitReader(g, h.Size), buf); err != nil {
			return nil, "", tarErr(err)
		}
		// Padding to the 512-byte block: zeros only.
		if pad := (512 - h.Size%512) % 512; pad > 0 {
			if _, err := io.ReadFull(g, block[:pad]); err != nil {
				return nil, "", tarErr(err)
			}
			for _, c := range block[:pad] {
				if c != 0 {
					return nil, "", fmt.Errorf("%w: tar headers, order or padding differ from the canonical encoding", ErrTampered)
				}
			}
		}
		m.Digest = fmt.Sprintf("sha256:%x", sum.Sum(nil))
		if data != nil {
			if int64(data.Len()) != h.Size {
				return nil, "", fmt.Errorf("%w: tar %s cut short", ErrMalformed, h.Name)
			}
			m.Data = data.Bytes()
		}
		if len(visit) > 0 {
			if err := visit[0](m); err != nil {
				return nil, "", err
			}
			m.Data = nil
		}
		out = append(out, m)
	}
}

// tarErr maps a read error inside the tar stream: the gzip reader's own
// errors pass through; the stream ending early is a truncated tarball.
func tarErr(err error) error {
	if errors.Is(err, ErrTampered) || errors.Is(err, ErrUnsafeEntry) || errors.Is(err, ErrMalformed) {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: tar: the stream ends inside an entry or before the end blocks", ErrMalformed)
	}
	return err
}

// checkEntry applies readTar's rules to one header.
func checkEntry(h *tar.Header, lim Limits) error {
	switch h.Typeflag {
	case tar.TypeReg:
	case tar.TypeSymlink, tar.TypeLink:
		return fmt.Errorf("%w: %q is a link to %q", ErrUnsafeEntry, h.Name, h.Linkname)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return fmt.Errorf("%w: %q is a device or fifo", ErrUnsafeEntry, h.Name)
	case tar.TypeDir:
		return fmt.Errorf("%w: %q is a directory; evidence holds regular files only", ErrUnsafeEntry, h.Name)
	default:
		return fmt.Errorf("%w: %q has tar type %q; evidence holds regular files only", ErrUnsafeEntry, h.Name, h.Typeflag)
	}
	if err := checkName(h.Name, lim.MaxNameLen); err != nil {
		return err
	}
	if h.Size < 0 || h.Size > lim.MaxFileSize {
		return fmt.Errorf("%w: %q is %d bytes; at most %d are accepted", ErrUnsafeEntry, h.Name, h.Size, lim.MaxFileSize)
	}
	return nil
}

// canonicalHeader is the 512-byte header writeTar writes for a file.
func canonicalHeader(name string, size int64) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: size, ModTime: epoch, Format: tar.FormatUSTAR}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, fmt.Errorf("%w: tar %s: %v", ErrTampered, name, err)
	}
	if buf.Len() != 512 {
		return nil, fmt.Errorf("%w: tar %s needs extended headers", ErrTampered, name)
	}
	return buf.Bytes(), nil
}
