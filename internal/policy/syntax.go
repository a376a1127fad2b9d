package policy

import (
	"bytes"
	"errors"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// yaml.v3 prefixes its syntax errors with "yaml: line N: ", where N is
// the line the enclosing construct began on (counted from 0 for parser
// errors, from 1 for scanner errors) and never has a column. Only the
// message after it is kept; the position is found again by locate.
var lineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// locateBudget bounds the bytes locate parses again beyond its first
// pass: about twice the file and a megabyte, so that a syntax error in a
// small policy is located exactly and one in a file near MaxFileSize is
// still reported quickly (at its line, and the line's first token once
// the budget is spent).
func locateBudget(size int) int { return 2*size + 1<<20 }

// syntaxHints say what to do about yaml.v3's commonest syntax errors.
var syntaxHints = map[string]string{
	"did not find expected key":                       "; check the indentation: the keys of one mapping start in the same column",
	"did not find expected '-' indicator":             "; check the indentation: the items of one list start in the same column",
	"found a tab character that violates indentation": "; indent with spaces, not tabs",
	"mapping values are not allowed in this context":  "; quote a value that contains \": \", or start a nested mapping on its own line",
	"found unexpected end of stream":                  "; a quoted value is not closed",
	"could not find expected ':'":                     "; a key needs a colon after it",
	"found character that cannot start any token":     "; quote a value that starts with @, ` or %",
	"did not find expected ',' or ']'":                "; a [list] is not closed",
	"did not find expected ',' or '}'":                "; a {mapping} is not closed",
}

// syntaxError turns a yaml.v3 error for b into an Error at the line and
// column of the problem.
func syntaxError(file string, b []byte, err error) *Error {
	msg := err.Error()
	text := strings.TrimPrefix(msg, "yaml: ")
	var yamlLine int
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		text = m[2]
		yamlLine, _ = strconv.Atoi(m[1])
	}
	e := &Error{Location: gate.Location{File: file}, Kind: KindSyntax, Message: text + syntaxHints[text]}
	l := &e.Location
	// yaml.v3's reader reports a character it cannot take (these are its
	// messages) as soon as it reads the chunk that holds it, before the
	// parser gets there: the character itself is the position.
	if strings.Contains(text, "control characters") || strings.Contains(text, "UTF-8") || strings.Contains(text, "Unicode") {
		l.Line, l.Column = badChar(b)
	}
	if l.Line == 0 {
		l.Line, l.Column = locate(b, msg)
	}
	if l.Line == 0 {
		l.Line, l.Column = min(max(yamlLine, 1), bytes.Count(b, []byte("\n"))+1), 1
	}
	return e
}

// parseAll parses every YAML document in b and returns the first error.
// With count set, the input is handed over one byte per Read and *count
// is how many bytes the parser had asked for when it stopped.
func parseAll(b []byte, count *int) error {
	var r io.Reader = bytes.NewReader(b)
	if count != nil {
		r = &byteReader{b: b, n: count}
	}
	dec := yaml.NewDecoder(r)
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// byteReader reads one byte at a time and counts them.
type byteReader struct {
	b []byte
	n *int
}

func (r *byteReader) Read(p []byte) (int, error) {
	if *r.n >= len(r.b) {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.b[*r.n]
	*r.n++
	return 1, nil
}

// locate returns the 1-based line and column of the problem behind the
// parse error msg of b, or 0, 0 when it cannot tell.
//
// yaml.v3 reports neither the problem's line nor its column, so they are
// found again by parsing prefixes of b. Before the problem a prefix
// parses, or fails differently (it ends inside something unfinished);
// from the problem on, every prefix fails with the same error. The parser
// stops a little past the problem, which bounds it from above (reading
// one byte at a time shows where); the problem's line is the earliest
// line from which on every line-long prefix fails the same way, and its
// column the start of the earliest token on it whose prefix does.
func locate(b []byte, msg string) (line, col int) {
	var n int
	if err := parseAll(b, &n); err == nil || err.Error() != msg || n == 0 {
		return 0, 0
	}
	budget := locateBudget(len(b))
	// same reports whether b[:k] fails with msg; ok is false once the
	// budget is spent and nothing more can be told.
	same := func(k int) (yes, ok bool) {
		if budget -= max(k, 1); budget < 0 {
			return false, false
		}
		err := parseAll(b[:k], nil)
		return err != nil && err.Error() == msg, true
	}
	starts := lineStarts(b)
	end := func(l int) int { // end of 0-based line l, line break included
		if l+1 < len(starts) {
			return starts[l+1]
		}
		return len(b)
	}
	l := lineOf(starts, n-1)
	for steps := 0; l > 0 && steps < 64; steps++ {
		if yes, _ := same(end(l - 1)); !yes {
			break
		}
		l--
	}
	// Tokens start after a delimiter; delimiters such as ':' and '['
	// are tokens of their own.
	text := b[starts[l]:end(l)]
	var tokens []int
	for i, c := range text {
		if c != ' ' && c != '\r' && c != '\n' && (i == 0 || isDelimiter(text[i-1]) || isDelimiter(c)) {
			tokens = append(tokens, starts[l]+i)
		}
	}
	if len(tokens) == 0 {
		return l + 1, 1
	}
	// The earliest token whose first byte makes the prefix fail; the
	// whole line does (len(tokens) stands for its end).
	lo, hi := -1, len(tokens)
	for lo+1 < hi {
		mid := lo + (hi-lo)/2
		yes, ok := same(tokens[mid] + 1)
		if !ok {
			hi = 0 // out of budget: the line's first token
			break
		}
		if yes {
			hi = mid
		} else {
			lo = mid
		}
	}
	// If the prefix fails already without that byte, the token before it
	// failed once whole (an unknown *alias is only unknown once read).
	if hi > 0 {
		if hi == len(tokens) {
			hi--
		} else if yes, _ := same(tokens[hi]); yes {
			hi--
		}
	}
	// A key is only a key once its ':' is read; the parser's complaint
	// about it is at the key (the scanner's own is at the ':').
	if hi > 0 && b[tokens[hi]] == ':' && !strings.Contains(msg, "mapping values are not allowed") {
		hi--
	}
	return l + 1, utf8.RuneCount(b[starts[l]:tokens[hi]]) + 1
}

// badChar returns the position of the first character YAML does not
// allow (invalid UTF-8, or a control character other than tab and line
// breaks), or 0, 0. Input in UTF-16 (with its byte order mark) is left to
// the parser.
func badChar(b []byte) (line, col int) {
	if bytes.HasPrefix(b, []byte{0xFF, 0xFE}) || bytes.HasPrefix(b, []byte{0xFE, 0xFF}) {
		return 0, 0
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
		case r == '\t', r == '\n', r == '\r', r >= 0x20 && r <= 0x7E, r == 0x85,
			r >= 0xA0 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000:
			i += size
			continue
		}
		starts := lineStarts(b)
		l := lineOf(starts, i)
		return l + 1, utf8.RuneCount(b[starts[l]:i]) + 1
	}
	return 0, 0
}

// lineStarts returns the offset of each line of b. Lines end where YAML
// ends them: at "\r\n", "\n", "\r", NEL (U+0085), LS and PS (U+2028,
// U+2029).
func lineStarts(b []byte) []int {
	starts := []int{0}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		i += size
		switch r {
		case '\r':
			if i < len(b) && b[i] == '\n' {
				i++
			}
		case '\n', 0x85, 0x2028, 0x2029:
		default:
			continue
		}
		if i < len(b) {
			starts = append(starts, i)
		}
	}
	return starts
}

// clamp moves each error's position inside b: YAML places a value
// missing at the end of the input (`key:` on the last line) past it.
func (es Errors) clamp(file string, b []byte) {
	starts := lineStarts(b)
	for _, e := range es {
		if e.Location.File != file && e.Location.File != "" {
			continue // in another file (FileError), positioned by its reader
		}
		l := &e.Location
		if l.Line < 1 {
			l.Line, l.Column = 1, 1
		}
		if l.Line > len(starts) {
			l.Line, l.Column = len(starts), math.MaxInt
		}
		text := b[starts[l.Line-1]:]
		if l.Line < len(starts) {
			text = b[starts[l.Line-1]:starts[l.Line]]
		}
		text = bytes.TrimRight(text, "\r\n")
		l.Column = min(max(l.Column, 1), utf8.RuneCount(text)+1)
	}
}

// lineOf returns the 0-based line holding byte off.
func lineOf(starts []int, off int) int { return sort.SearchInts(starts, off+1) - 1 }

func isDelimiter(c byte) bool {
	return strings.IndexByte(" \t\r\n,[]{}#:", c) >= 0
}
