package evidence

// The in-memory tarball reader releasegate used before streaming
// verification (scanTarGz), kept as the reference that FuzzStreamMatchesReference
// compares the streaming reader with: both must accept exactly the same
// tarballs and return the same files.

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

func referenceReadTarGz(b []byte, lim Limits) ([]File, error) {
	tb, err := readStoredGzip(b, lim.MaxTotalSize)
	if err != nil {
		return nil, err
	}
	files, err := readTar(tb, lim)
	if err != nil {
		return nil, err
	}
	canon, err := writeTar(files)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, tb) {
		return nil, fmt.Errorf("%w: tar headers, order or padding differ from the canonical encoding", ErrTampered)
	}
	return files, nil
}

func readTar(tb []byte, lim Limits) ([]File, error) {
	tr := tar.NewReader(bytes.NewReader(tb))
	seen := map[string]bool{}
	var files []File
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: tar: %v", ErrMalformed, err)
		}
		if len(files) >= lim.MaxFiles {
			return nil, fmt.Errorf("%w: more than %d entries", ErrUnsafeEntry, lim.MaxFiles)
		}
		switch h.Typeflag {
		case tar.TypeReg:
		case tar.TypeSymlink, tar.TypeLink:
			return nil, fmt.Errorf("%w: %q is a link to %q", ErrUnsafeEntry, h.Name, h.Linkname)
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			return nil, fmt.Errorf("%w: %q is a device or fifo", ErrUnsafeEntry, h.Name)
		case tar.TypeDir:
			return nil, fmt.Errorf("%w: %q is a directory; evidence holds regular files only", ErrUnsafeEntry, h.Name)
		default:
			return nil, fmt.Errorf("%w: %q has tar type %q; evidence holds regular files only", ErrUnsafeEntry, h.Name, h.Typeflag)
		}
		if err := checkName(h.Name, lim.MaxNameLen); err != nil {
			return nil, err
		}
		if seen[h.Name] {
			return nil, fmt.Errorf("%w: %q appears twice", ErrUnsafeEntry, h.Name)
		}
		seen[h.Name] = true
		if h.Size > lim.MaxFileSize {
			return nil, fmt.Errorf("%w: %q is %d bytes; at most %d are accepted", ErrUnsafeEntry, h.Name, h.Size, lim.MaxFileSize)
		}
		data, err := io.ReadAll(io.LimitReader(tr, lim.MaxFileSize+1))
		if err != nil {
			return nil, fmt.Errorf("%w: tar %s: %v", ErrMalformed, h.Name, err)
		}
		files = append(files, File{Name: h.Name, Data: data})
	}
	return files, nil
}

// readStoredGzip returns the data of a gzip file written by
// writeStoredGzip, refusing any other encoding and more than max bytes.
func readStoredGzip(b []byte, max int64) ([]byte, error) {
	if len(b) < len(gzipHeader) || string(b[:len(gzipHeader)]) != string(gzipHeader) {
		return nil, fmt.Errorf("%w: gzip header differs from the one releasegate writes", ErrTampered)
	}
	p := b[len(gzipHeader):]
	var data []byte
	for {
		if len(p) < 5 {
			return nil, fmt.Errorf("%w: gzip stream cut short", ErrTampered)
		}
		hdr, n, nn := p[0], binary.LittleEndian.Uint16(p[1:]), binary.LittleEndian.Uint16(p[3:])
		if hdr > 1 || nn != ^n {
			return nil, fmt.Errorf("%w: not a canonical stored deflate block at offset %d", ErrTampered, len(b)-len(p))
		}
		p = p[5:]
		if len(p) < int(n) {
			return nil, fmt.Errorf("%w: gzip stream cut short", ErrTampered)
		}
		if int64(len(data))+int64(n) > max {
			return nil, fmt.Errorf("%w: more than %d bytes uncompressed", ErrUnsafeEntry, max)
		}
		data = append(data, p[:n]...)
		p = p[n:]
		if hdr == 1 {
			break
		}
		if n != storedBlockMax {
			return nil, fmt.Errorf("%w: short stored block that is not the last one", ErrTampered)
		}
	}
	if len(p) != 8 {
		return nil, fmt.Errorf("%w: %d bytes where the 8-byte gzip trailer should end the file", ErrTampered, len(p))
	}
	if crc32.ChecksumIEEE(data) != binary.LittleEndian.Uint32(p) || uint32(len(data)) != binary.LittleEndian.Uint32(p[4:]) {
		return nil, fmt.Errorf("%w: gzip checksum or length does not match the content", ErrTampered)
	}
	return data, nil
}
