package ledger

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// IsCanonical reports whether b is exactly the RFC 8785 canonical form of
// itself, i.e. Canonicalize(b) == b. It decides the common cases (ASCII
// keys, integers up to 15 digits) without allocating and falls back to
// Canonicalize for the rest; the verifier calls it for every entry.
func IsCanonical(b []byte) bool {
	if ok, sure := fastCanonical(b); sure {
		return ok
	}
	c, err := Canonicalize(b)
	return err == nil && bytes.Equal(c, b)
}

// fastCanonical returns (canonical, decided).
func fastCanonical(b []byte) (ok, sure bool) {
	if !utf8.Valid(b) {
		return false, true
	}
	f := fastChecker{s: b}
	r := f.value(0)
	if r == fcYes && f.i != len(b) {
		return false, true
	}
	switch r {
	case fcYes:
		return true, true
	case fcNo:
		return false, true
	}
	return false, false
}

type fcResult int

const (
	fcYes fcResult = iota
	fcNo
	fcUnsure
)

type fastChecker struct {
	s []byte
	i int
}

func (f *fastChecker) value(depth int) fcResult {
	if depth > maxDepth || f.i >= len(f.s) {
		return fcNo
	}
	switch c := f.s[f.i]; {
	case c == '{':
		return f.object(depth)
	case c == '[':
		f.i++
		if f.i < len(f.s) && f.s[f.i] == ']' {
			f.i++
			return fcYes
		}
		for {
			if r := f.value(depth + 1); r != fcYes {
				return r
			}
			if f.i >= len(f.s) {
				return fcNo
			}
			switch f.s[f.i] {
			case ',':
				f.i++
			case ']':
				f.i++
				return fcYes
			default:
				return fcNo
			}
		}
	case c == '"':
		_, r := f.str()
		return r
	case c == 't':
		return f.lit("true")
	case c == 'f':
		return f.lit("false")
	case c == 'n':
		return f.lit("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return f.number()
	}
	return fcNo
}

func (f *fastChecker) lit(w string) fcResult {
	if len(f.s)-f.i < len(w) || string(f.s[f.i:f.i+len(w)]) != w {
		return fcNo
	}
	f.i += len(w)
	return fcYes
}

func (f *fastChecker) object(depth int) fcResult {
	f.i++ // {
	if f.i < len(f.s) && f.s[f.i] == '}' {
		f.i++
		return fcYes
	}
	var prev []byte
	for n := 0; ; n++ {
		if f.i >= len(f.s) || f.s[f.i] != '"' {
			return fcNo
		}
		key, r := f.str()
		if r != fcYes {
			return r
		}
		// Byte order equals UTF-16 order for ASCII keys without escapes.
		for _, c := range key {
			if c >= 0x80 || c == '\\' {
				return fcUnsure
			}
		}
		if n > 0 && bytes.Compare(prev, key) >= 0 {
			return fcNo // unsorted or duplicate
		}
		prev = key
		if f.i >= len(f.s) || f.s[f.i] != ':' {
			return fcNo
		}
		f.i++
		if r := f.value(depth + 1); r != fcYes {
			return r
		}
		if f.i >= len(f.s) {
			return fcNo
		}
		switch f.s[f.i] {
		case ',':
			f.i++
		case '}':
			f.i++
			return fcYes
		default:
			return fcNo
		}
	}
}

// str checks a string is minimally escaped and returns its raw content.
func (f *fastChecker) str() ([]byte, fcResult) {
	f.i++ // "
	start := f.i
	for f.i < len(f.s) {
		f.i = skipPlain(f.s, f.i)
		if f.i >= len(f.s) {
			break
		}
		c := f.s[f.i]
		switch {
		case c == '"':
			f.i++
			return f.s[start : f.i-1], fcYes
		case c < 0x20:
			return nil, fcNo
		case c == '\\':
			if f.i+1 >= len(f.s) {
				return nil, fcNo
			}
			switch f.s[f.i+1] {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
				f.i += 2
			case 'u':
				// Canonical only for control characters without a short form.
				if f.i+6 > len(f.s) || f.s[f.i+2] != '0' || f.s[f.i+3] != '0' || f.s[f.i+4] > '1' || f.s[f.i+4] < '0' {
					return nil, fcNo
				}
				h := f.s[f.i+5]
				var v byte
				switch {
				case h >= '0' && h <= '9':
					v = h - '0'
				case h >= 'a' && h <= 'f':
					v = h - 'a' + 10
				default:
					return nil, fcNo
				}
				v += (f.s[f.i+4] - '0') << 4
				switch v {
				case '\b', '\f', '\n', '\r', '\t':
					return nil, fcNo
				}
				f.i += 6
			default:
				return nil, fcNo
			}
		default:
			f.i++
		}
	}
	return nil, fcNo
}

// number decides integers of up to 15 digits (exact in a double, printed
// the same by ECMAScript); anything else is left to Canonicalize.
func (f *fastChecker) number() fcResult {
	start := f.i
	if f.s[f.i] == '-' {
		f.i++
	}
	d := f.i
	for f.i < len(f.s) && f.s[f.i] >= '0' && f.s[f.i] <= '9' {
		f.i++
	}
	nd := f.i - d
	if f.i < len(f.s) && (f.s[f.i] == '.' || f.s[f.i] == 'e' || f.s[f.i] == 'E') {
		return fcUnsure
	}
	switch {
	case nd == 0:
		return fcNo
	case f.s[d] == '0' && nd > 1:
		return fcNo // leading zero: not JSON
	case f.s[d] == '0' && d > start:
		return fcNo // -0 canonicalizes to 0
	case nd > 15:
		return fcUnsure
	}
	return fcYes
}

// skipPlain returns the index of the first byte at or after i that ends a
// run of plain string content (a quote, a backslash or a control
// character), or len(s). It tests eight bytes at a time.
func skipPlain(s []byte, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		// A byte is flagged when it is below 0x20 or equal to '"' or
		// '\\' (the classic "has a zero byte" test on x^c, and "has a
		// byte less than n" on x); bytes >= 0x80 never are.
		q := x ^ (ones * '"')
		bs := x ^ (ones * '\\')
		m := ((q - ones) &^ q) | ((bs - ones) &^ bs) | ((x - ones*0x20) &^ x)
		if m &= highs; m != 0 {
			// The lowest flagged byte is exact (a borrow only spills
			// into bytes above a flagged one).
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for i < len(s) && !strSpecial[s[i]] {
		i++
	}
	return i
}

// strSpecial marks the bytes that end a run of plain string content.
var strSpecial = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()
