package ledger

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrNotCanonicalizable is wrapped by Canonicalize for input that is not
// I-JSON (RFC 7493) and so has no RFC 8785 canonical form: invalid JSON,
// invalid UTF-8, lone surrogates, duplicate object keys, or numbers that an
// IEEE 754 double cannot hold exactly (they would silently change).
var ErrNotCanonicalizable = errors.New("payload has no RFC 8785 canonical form")

// maxNumberLen bounds a number literal, which keeps the exactness check
// (big.Rat) cheap: no IEEE double needs more than ~770 significant digits.
const maxNumberLen = 1100

// maxDepth bounds nesting so hostile input cannot exhaust the stack.
const maxDepth = 512

// Canonicalize returns the RFC 8785 (JSON Canonicalization Scheme) form of
// the JSON text in: object members sorted by the UTF-16 code units of their
// names, no insignificant whitespace, strings with the minimal escaping, and
// numbers in the ECMAScript shortest round-trip form.
//
// It is stricter than encoding/json: a number whose shortest double form is
// not numerically equal to the literal (12345678901234567890, 1e400) is an
// error rather than a silent change, so a canonical payload always means
// what the writer wrote.
func Canonicalize(in []byte) ([]byte, error) {
	if !utf8.Valid(in) {
		return nil, fmt.Errorf("%w: invalid UTF-8", ErrNotCanonicalizable)
	}
	p := &jparser{s: in}
	p.ws()
	var out strings.Builder
	out.Grow(len(in))
	if err := p.value(&out, 0); err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.s) {
		return nil, p.errf("unexpected %q after the JSON value", p.s[p.i])
	}
	return []byte(out.String()), nil
}

type jparser struct {
	s []byte
	i int
}

func (p *jparser) errf(format string, args ...any) error {
	return fmt.Errorf("%w: at byte %d: %s", ErrNotCanonicalizable, p.i, fmt.Sprintf(format, args...))
}

func (p *jparser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jparser) value(out *strings.Builder, depth int) error {
	if depth > maxDepth {
		return p.errf("nesting deeper than %d", maxDepth)
	}
	if p.i >= len(p.s) {
		return p.errf("unexpected end of input")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.object(out, depth)
	case c == '[':
		return p.array(out, depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return err
		}
		writeString(out, s)
		return nil
	case c == 't':
		return p.lit(out, "true")
	case c == 'f':
		return p.lit(out, "false")
	case c == 'n':
		return p.lit(out, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(out)
	default:
		return p.errf("unexpected %q", c)
	}
}

func (p *jparser) lit(out *strings.Builder, w string) error {
	if !strings.HasPrefix(string(p.s[p.i:min(len(p.s), p.i+len(w))]), w) {
		return p.errf("invalid literal")
	}
	p.i += len(w)
	out.WriteString(w)
	return nil
}

type member struct {
	key  string
	k16  []uint16
	text string
}

func (p *jparser) object(out *strings.Builder, depth int) error {
	p.i++ // {
	p.ws()
	var ms []member
	seen := map[string]bool{}
	if p.i < len(p.s) && p.s[p.i] == '}' {
		p.i++
		out.WriteString("{}")
		return nil
	}
	for {
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != '"' {
			return p.errf("expected an object key")
		}
		k, err := p.str()
		if err != nil {
			return err
		}
		if seen[k] {
			return p.errf("duplicate object key %q", k)
		}
		seen[k] = true
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ':' {
			return p.errf("expected ':' after object key")
		}
		p.i++
		p.ws()
		var v strings.Builder
		if err := p.value(&v, depth+1); err != nil {
			return err
		}
		ms = append(ms, member{key: k, k16: utf16.Encode([]rune(k)), text: v.String()})
		p.ws()
		if p.i >= len(p.s) {
			return p.errf("unexpected end of input in object")
		}
		if p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.s[p.i] == '}' {
			p.i++
			break
		}
		return p.errf("expected ',' or '}' in object")
	}
	sort.Slice(ms, func(a, b int) bool { return less16(ms[a].k16, ms[b].k16) })
	out.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			out.WriteByte(',')
		}
		writeString(out, m.key)
		out.WriteByte(':')
		out.WriteString(m.text)
	}
	out.WriteByte('}')
	return nil
}

func less16(a, b []uint16) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

func (p *jparser) array(out *strings.Builder, depth int) error {
	p.i++ // [
	p.ws()
	out.WriteByte('[')
	if p.i < len(p.s) && p.s[p.i] == ']' {
		p.i++
		out.WriteByte(']')
		return nil
	}
	for n := 0; ; n++ {
		p.ws()
		if n > 0 {
			out.WriteByte(',')
		}
		if err := p.value(out, depth+1); err != nil {
			return err
		}
		p.ws()
		if p.i >= len(p.s) {
			return p.errf("unexpected end of input in array")
		}
		if p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.s[p.i] == ']' {
			p.i++
			out.WriteByte(']')
			return nil
		}
		return p.errf("expected ',' or ']' in array")
	}
}

// str parses a JSON string starting at '"' and returns its value. Lone
// surrogates (escaped) are rejected: they have no UTF-8 form.
func (p *jparser) str() (string, error) {
	p.i++ // "
	var b strings.Builder
	for {
		if p.i >= len(p.s) {
			return "", p.errf("unterminated string")
		}
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c < 0x20:
			return "", p.errf("unescaped control character 0x%02x in string", c)
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return "", p.errf("unterminated escape")
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r, err := p.hex4()
				if err != nil {
					return "", err
				}
				if utf16.IsSurrogate(r) {
					if r >= 0xDC00 || p.i+1 >= len(p.s) || p.s[p.i] != '\\' || p.s[p.i+1] != 'u' {
						return "", p.errf("lone surrogate \\u%04x", r)
					}
					p.i += 2
					r2, err := p.hex4()
					if err != nil {
						return "", err
					}
					d := utf16.DecodeRune(r, r2)
					if d == utf8.RuneError {
						return "", p.errf("invalid surrogate pair \\u%04x\\u%04x", r, r2)
					}
					r = d
				}
				b.WriteRune(r)
			default:
				return "", p.errf("invalid escape \\%c", e)
			}
		default:
			r, size := utf8.DecodeRune(p.s[p.i:])
			b.WriteRune(r)
			p.i += size
		}
	}
}

func (p *jparser) hex4() (rune, error) {
	if p.i+4 > len(p.s) {
		return 0, p.errf("short \\u escape")
	}
	v, err := strconv.ParseUint(string(p.s[p.i:p.i+4]), 16, 32)
	if err != nil {
		return 0, p.errf("invalid \\u escape %q", p.s[p.i:p.i+4])
	}
	p.i += 4
	return rune(v), nil
}

func (p *jparser) number(out *strings.Builder) error {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	digits := func() int {
		n := 0
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	intStart := p.i
	if n := digits(); n == 0 {
		return p.errf("invalid number")
	} else if n > 1 && p.s[intStart] == '0' {
		return p.errf("number with a leading zero")
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return p.errf("invalid number: no digits after '.'")
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return p.errf("invalid number: no exponent digits")
		}
	}
	lit := string(p.s[start:p.i])
	if len(lit) > maxNumberLen {
		return p.errf("number literal of %d bytes; at most %d are accepted, store it as a string", len(lit), maxNumberLen)
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) {
		return p.errf("number %s does not fit an IEEE 754 double; store it as a string", trunc(lit))
	}
	if f == 0 {
		// Decide zero without big.Rat, whose cost grows with the exponent.
		mant, _, _ := strings.Cut(strings.ToLower(lit), "e")
		if strings.Trim(mant, "-0.") != "" {
			return p.errf("number %s underflows to 0 in a double; store it as a string", trunc(lit))
		}
		out.WriteString("0")
		return nil
	}
	s := FormatNumber(f)
	if !sameDecimal(lit, s) {
		return p.errf("number %s would change to %s in canonical form; store it as a string", trunc(lit), s)
	}
	out.WriteString(s)
	return nil
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// sameDecimal reports whether two decimal literals denote the same number.
func sameDecimal(a, b string) bool {
	if a == b {
		return true
	}
	ra, ok1 := new(big.Rat).SetString(a)
	rb, ok2 := new(big.Rat).SetString(b)
	return ok1 && ok2 && ra.Cmp(rb) == 0
}

// FormatNumber formats f as ECMAScript's Number.prototype.toString does,
// which is the number form RFC 8785 prescribes. -0 is "0". It must not be
// called with NaN or ±Inf, which JSON cannot carry.
func FormatNumber(f float64) string {
	if f == 0 {
		return "0"
	}
	var sb strings.Builder
	if f < 0 {
		sb.WriteByte('-')
		f = -f
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, exp, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	k, n := len(digits), x+1
	switch {
	case k <= n && n <= 21:
		sb.WriteString(digits)
		sb.WriteString(strings.Repeat("0", n-k))
	case 0 < n && n <= 21:
		sb.WriteString(digits[:n])
		sb.WriteByte('.')
		sb.WriteString(digits[n:])
	case -6 < n && n <= 0:
		sb.WriteString("0.")
		sb.WriteString(strings.Repeat("0", -n))
		sb.WriteString(digits)
	default:
		sb.WriteByte(digits[0])
		if k > 1 {
			sb.WriteByte('.')
			sb.WriteString(digits[1:])
		}
		sb.WriteByte('e')
		if n-1 >= 0 {
			sb.WriteByte('+')
		}
		sb.WriteString(strconv.Itoa(n - 1))
	}
	return sb.String()
}

func writeString(out *strings.Builder, s string) {
	out.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			out.WriteString(`\"`)
		case '\\':
			out.WriteString(`\\`)
		case '\b':
			out.WriteString(`\b`)
		case '\f':
			out.WriteString(`\f`)
		case '\n':
			out.WriteString(`\n`)
		case '\r':
			out.WriteString(`\r`)
		case '\t':
			out.WriteString(`\t`)
		default:
			if r < 0x20 {
				fmt.Fprintf(out, `\u%04x`, r)
			} else {
				out.WriteRune(r)
			}
		}
	}
	out.WriteByte('"')
}
