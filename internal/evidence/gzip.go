package evidence

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// The tarball's gzip stream uses deflate "stored" blocks only. That costs
// compression but makes the encoding canonical, bit for bit and
// independently of any compressor's version: every byte of the file is
// either a fixed header, a block header determined by the data length, the
// data itself, or the CRC-32 and length trailer. readStoredGzip accepts
// exactly that encoding, so flipping any bit anywhere in the file is
// detected, which a deflate decoder alone cannot promise (some bits of a
// compressed stream do not change its output).

const storedBlockMax = 65535

// writeStoredGzip wraps data in a gzip member made of stored blocks.
func writeStoredGzip(data []byte) []byte {
	out := make([]byte, 0, len(gzipHeader)+len(data)+5*(len(data)/storedBlockMax+1)+8)
	out = append(out, gzipHeader...)
	rest := data
	for {
		n := min(len(rest), storedBlockMax)
		final := byte(0)
		if n == len(rest) {
			final = 1
		}
		out = append(out, final)
		out = binary.LittleEndian.AppendUint16(out, uint16(n))
		out = binary.LittleEndian.AppendUint16(out, ^uint16(n))
		out = append(out, rest[:n]...)
		rest = rest[n:]
		if final == 1 {
			break
		}
	}
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(data))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(data)))
	return out
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
