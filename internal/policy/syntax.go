package policy

import (
	"bytes"
	"errors"
	"io"
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

// locateBudget bounds the bytes locate may parse again, so that a syntax
// error in a large file is still reported quickly (at a coarser position).
const locateBudget = 32 << 20

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
	e := &Error{Location: gate.Location{File: file}, Kind: KindSyntax, Message: text}
	e.Location.Line, e.Location.Column = locate(b, msg)
	if e.Location.Line == 0 && yamlLine > 0 {
		e.Location.Line = min(yamlLine, bytes.Count(b, []byte("\n"))+1)
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
// found again: the parser stops at most a little past the problem, which
// bounds it from above (reading one byte at a time shows where); the
// problem is then the earliest line, and within it the earliest byte,
// after which every prefix of the document fails with the same error.
// Before the problem a prefix parses, or fails differently (it ends
// inside something unfinished).
func locate(b []byte, msg string) (line, col int) {
	var n int
	if err := parseAll(b, &n); err == nil || err.Error() != msg || n == 0 {
		return 0, 0
	}
	budget := locateBudget
	same := func(k int) bool {
		if budget -= k; budget < 0 {
			return false
		}
		err := parseAll(b[:k], nil)
		return err != nil && err.Error() == msg
	}
	// starts[i] is the offset of line i+1; a line's end includes its "\n".
	starts := []int{0}
	for i, c := range b {
		if c == '\n' && i+1 < len(b) {
			starts = append(starts, i+1)
		}
	}
	end := func(l int) int { // end of 0-based line l, newline included
		if l+1 < len(starts) {
			return starts[l+1]
		}
		return len(b)
	}
	l := lineOf(starts, n-1)
	for steps := 0; l > 0 && steps < 64 && same(end(l-1)); steps++ {
		l--
	}
	// The earliest byte of line l whose prefix fails the same way. A
	// prefix that ends before the problem does not, one that ends after
	// it does; binary search between the two.
	lo, hi := starts[l], end(l) // same(hi) holds; find the least k in (lo, hi]
	if budget > 0 {
		for lo+1 < hi {
			mid := lo + (hi-lo)/2
			if same(mid) {
				hi = mid
			} else {
				lo = mid
			}
		}
	} else {
		hi = starts[l] + 1
	}
	text := b[starts[l]:end(l)]
	i := hi - 1 - starts[l] // index in text of the byte that made it fail
	// Point at the start of the token that byte belongs to.
	for i > 0 && i < len(text) && !isDelimiter(text[i]) && !isDelimiter(text[i-1]) {
		i--
	}
	if i >= len(text) {
		i = len(text) - 1
	}
	return l + 1, utf8.RuneCount(text[:max(i, 0)]) + 1
}

// lineOf returns the 0-based line holding byte off.
func lineOf(starts []int, off int) int { return sort.SearchInts(starts, off+1) - 1 }

func isDelimiter(c byte) bool {
	return strings.IndexByte(" \t\r\n,[]{}#:", c) >= 0
}
