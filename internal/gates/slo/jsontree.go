package slogate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// jnode is one JSON (or YAML) value with the position of its key and of
// itself, so that dashboard problems point at the key at fault.
type jnode struct {
	kind      byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	line, col int  // the value
	kline     int  // the key that holds the value (its line and column)
	kcol      int
	str       string // string value, number text, "true"/"false"
	block     int    // a YAML literal block string: the column its text starts at
	keys      []string
	vals      []*jnode
}

// get returns the member key of an object, or nil; of a repeated key the
// last, as Grafana's JSON.parse keeps it.
func (n *jnode) get(key string) *jnode {
	if n == nil || n.kind != 'o' {
		return nil
	}
	for i := len(n.keys) - 1; i >= 0; i-- {
		if n.keys[i] == key {
			return n.vals[i]
		}
	}
	return nil
}

// path follows keys through objects.
func (n *jnode) path(keys ...string) *jnode {
	for _, k := range keys {
		n = n.get(k)
	}
	return n
}

// text is the string value, or "" for anything else.
func (n *jnode) text() string {
	if n == nil || n.kind != 's' {
		return ""
	}
	return n.str
}

// scalar is the text of a string, number or bool, or "".
func (n *jnode) scalar() string {
	if n == nil || (n.kind != 's' && n.kind != 'n' && n.kind != 'b') {
		return ""
	}
	return n.str
}

func (n *jnode) items() []*jnode {
	if n == nil || n.kind != 'a' {
		return nil
	}
	return n.vals
}

// is reports whether n is a value of kind k ('o', 'a', 's', …).
func (n *jnode) is(k byte) bool { return n != nil && n.kind == k }

// members returns an object's keys and values (none for anything else).
func (n *jnode) members() ([]string, []*jnode) {
	if n == nil || n.kind != 'o' {
		return nil, nil
	}
	return n.keys, n.vals
}

func (n *jnode) isNull() bool { return n == nil || n.kind == 'z' }

// keyPos is the line and column of the key holding n (or of n itself).
func (n *jnode) keyPos() (int, int) {
	if n == nil {
		return 0, 0
	}
	if n.kline > 0 {
		return n.kline, n.kcol
	}
	return n.line, n.col
}

// keyList names an object's keys for messages.
func (n *jnode) keyList() string {
	if n == nil || len(n.keys) == 0 {
		return "no keys"
	}
	ks := append([]string(nil), n.keys...)
	sort.Strings(ks)
	if len(ks) > 8 {
		ks = append(ks[:8], "…")
	}
	return "keys " + strings.Join(ks, ", ")
}

// JSONSyntaxError is a JSON document that does not parse, at line:col.
type JSONSyntaxError struct {
	Line, Column int
	Err          error
}

func (e *JSONSyntaxError) Error() string {
	return fmt.Sprintf("%d:%d: not valid JSON: %v", e.Line, e.Column, e.Err)
}

func (e *JSONSyntaxError) Unwrap() error { return e.Err }

// lineIndex turns byte offsets into 1-based line and column.
type lineIndex struct{ starts []int }

func newLineIndex(b []byte) *lineIndex {
	li := &lineIndex{starts: []int{0}}
	for i, c := range b {
		if c == '\n' {
			li.starts = append(li.starts, i+1)
		}
	}
	return li
}

func (li *lineIndex) pos(off int) (int, int) {
	i := sort.Search(len(li.starts), func(i int) bool { return li.starts[i] > off }) - 1
	return i + 1, off - li.starts[i] + 1
}

// parseJSONTree parses one JSON value with positions; anything after it
// but white space is an error.
func parseJSONTree(b []byte) (*jnode, error) {
	p := &jsonTreeParser{b: b, li: newLineIndex(b), dec: json.NewDecoder(bytes.NewReader(b))}
	p.dec.UseNumber()
	root, err := p.value()
	if err == nil {
		if _, err2 := p.dec.Token(); !errors.Is(err2, io.EOF) {
			off := p.start()
			l, c := p.li.pos(off)
			err = &JSONSyntaxError{Line: l, Column: c, Err: errors.New("data after the top-level value")}
		}
	}
	return root, err
}

type jsonTreeParser struct {
	b   []byte
	li  *lineIndex
	dec *json.Decoder
}

// start is the offset of the next token.
func (p *jsonTreeParser) start() int {
	off := int(p.dec.InputOffset())
	for off < len(p.b) {
		switch p.b[off] {
		case ' ', '\t', '\r', '\n', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

func (p *jsonTreeParser) syntax(err error) error {
	var se *json.SyntaxError
	off := p.start()
	if errors.As(err, &se) {
		off = int(se.Offset)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		off, err = len(p.b), errors.New("unexpected end of input")
	}
	l, c := p.li.pos(off)
	return &JSONSyntaxError{Line: l, Column: c, Err: err}
}

func (p *jsonTreeParser) value() (*jnode, error) {
	off := p.start()
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.syntax(err)
	}
	l, c := p.li.pos(off)
	n := &jnode{line: l, col: c}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			n.kind = 'o'
			for p.dec.More() {
				koff := p.start()
				kt, err := p.dec.Token()
				if err != nil {
					return nil, p.syntax(err)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, p.syntax(fmt.Errorf("expected a key, found %v", kt))
				}
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				v.kline, v.kcol = p.li.pos(koff)
				n.keys = append(n.keys, k)
				n.vals = append(n.vals, v)
			}
		case '[':
			n.kind = 'a'
			for p.dec.More() {
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				n.vals = append(n.vals, v)
			}
		default:
			return nil, p.syntax(fmt.Errorf("unexpected %v", t))
		}
		if _, err := p.dec.Token(); err != nil { // the closing delimiter
			return nil, p.syntax(err)
		}
	case string:
		n.kind, n.str = 's', t
	case json.Number:
		n.kind, n.str = 'n', t.String()
	case bool:
		n.kind, n.str = 'b', fmt.Sprint(t)
	case nil:
		n.kind = 'z'
	}
	return n, nil
}

// yamlTree converts a YAML node into a jnode with the same positions.
func yamlTree(y *yaml.Node) *jnode {
	y = resolveNode(y)
	if y == nil {
		return &jnode{kind: 'z'}
	}
	n := &jnode{line: y.Line, col: y.Column}
	switch y.Kind {
	case yaml.MappingNode:
		n.kind = 'o'
		for _, kv := range mapping(y) {
			v := yamlTree(kv[1])
			v.kline, v.kcol = kv[0].Line, kv[0].Column
			n.keys = append(n.keys, kv[0].Value)
			n.vals = append(n.vals, v)
		}
	case yaml.SequenceNode:
		n.kind = 'a'
		for _, c := range y.Content {
			n.vals = append(n.vals, yamlTree(c))
		}
	default:
		switch y.Tag {
		case "!!null":
			n.kind = 'z'
		case "!!int", "!!float":
			n.kind, n.str = 'n', y.Value
		case "!!bool":
			n.kind, n.str = 'b', y.Value
		default:
			n.kind, n.str = 's', y.Value
		}
	}
	return n
}

// shift moves every position of an embedded document by the place its
// text starts in the outer file: a YAML block scalar keeps lines, so
// line l col c of the embedded text is at line base+l, column indent+c.
func (n *jnode) shift(baseLine, indent int) {
	if n == nil {
		return
	}
	if n.line > 0 {
		n.line += baseLine
		n.col += indent
	}
	if n.kline > 0 {
		n.kline += baseLine
		n.kcol += indent
	}
	for _, v := range n.vals {
		v.shift(baseLine, indent)
	}
}

// pin moves every position of an embedded document to one place (a quoted
// YAML string, whose lines do not map back).
func (n *jnode) pin(line, col int) {
	if n == nil {
		return
	}
	n.line, n.col = line, col
	if n.kline > 0 {
		n.kline, n.kcol = line, col
	}
	for _, v := range n.vals {
		v.pin(line, col)
	}
}

// maxExpandedNodes bounds a YAML document with its aliases expanded, so a
// "billion laughs" file is refused instead of exhausting memory.
const maxExpandedNodes = 1 << 20

// expandedTooLarge reports whether the document, aliases expanded, has more
// than maxExpandedNodes nodes.
func expandedTooLarge(n *yaml.Node) bool {
	budget := maxExpandedNodes
	var walk func(n *yaml.Node, depth int) bool
	walk = func(n *yaml.Node, depth int) bool {
		budget--
		if budget < 0 || depth > 1000 {
			return true
		}
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			return walk(n.Alias, depth+1)
		}
		for _, c := range n.Content {
			if walk(c, depth+1) {
				return true
			}
		}
		return false
	}
	return walk(n, 0)
}
