package evidence

import (
	"encoding/binary"
	"hash/crc32"
)

// The tarball's gzip stream uses deflate "stored" blocks only. That costs
// compression but makes the encoding canonical, bit for bit and
// independently of any compressor's version: every byte of the file is
// either a fixed header, a block header determined by the data length, the
// data itself, or the CRC-32 and length trailer. storedGzipReader (stream.go) accepts
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
