// Package jsonpath reads one value out of a JSON document with a small path
// language, and judges it against a policy expectation. It is shared by the
// command gate (fields of a command's JSON output) and the http gate (fields
// of a response body).
//
// The grammar is deliberately small:
//
//	path    = [ "$" ] ( "." | step+ )
//	step    = "." name | "[" index "]" | "[" quoted "]"
//	name    = 1*( letter | digit | "_" | "-" )
//	index   = 1*digit
//	quoted  = a JSON string, for keys with dots, spaces or brackets
//
// so `.status`, `.checks[0].ok`, `.["p99.latency"]` and `.` (the whole
// document) are paths; filters and wildcards are not.
package jsonpath

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxDepth bounds the number of steps in a path.
const MaxDepth = 64

// Step is one step of a path: a key of an object or an index of an array.
type Step struct {
	// Key is set for object steps.
	Key string
	// Index is used when IsIndex is true.
	Index int
	// IsIndex says the step selects an array element.
	IsIndex bool
}

// Path is a parsed path. The zero Path selects the whole document.
type Path struct {
	Steps []Step
	src   string
}

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("invalid json path")

// ErrNotFound is wrapped when the document has no value at the path.
var ErrNotFound = errors.New("no value at path")

// Parse parses a path such as ".a.b[0].c".
func Parse(s string) (Path, error) {
	p := Path{src: s}
	t := strings.TrimSpace(s)
	t = strings.TrimPrefix(t, "$")
	if t == "" || t == "." {
		if strings.TrimSpace(s) == "" {
			return p, fmt.Errorf("%w: empty; expected e.g. .status or .items[0].id", ErrSyntax)
		}
		return p, nil
	}
	i := 0
	for i < len(t) {
		if len(p.Steps) >= MaxDepth {
			return p, fmt.Errorf("%w %q: more than %d steps", ErrSyntax, s, MaxDepth)
		}
		switch t[i] {
		case '.':
			i++
			if i < len(t) && t[i] == '[' {
				continue // ".[" is allowed before a quoted key: .["a.b"]
			}
			j := i
			for j < len(t) && isNameByte(t[j]) {
				j++
			}
			if j == i {
				return p, fmt.Errorf("%w %q: expected a key name at offset %d", ErrSyntax, s, i)
			}
			p.Steps = append(p.Steps, Step{Key: t[i:j]})
			i = j
		case '[':
			i++
			if i < len(t) && t[i] == '"' {
				end, key, err := quoted(t[i:])
				if err != nil {
					return p, fmt.Errorf("%w %q: %v", ErrSyntax, s, err)
				}
				i += end
				if i >= len(t) || t[i] != ']' {
					return p, fmt.Errorf("%w %q: expected ] after quoted key", ErrSyntax, s)
				}
				i++
				p.Steps = append(p.Steps, Step{Key: key})
				continue
			}
			j := i
			for j < len(t) && t[j] >= '0' && t[j] <= '9' {
				j++
			}
			if j == i || j >= len(t) || t[j] != ']' {
				return p, fmt.Errorf("%w %q: expected [N] with a non-negative index or [\"key\"] at offset %d", ErrSyntax, s, i-1)
			}
			n, err := strconv.Atoi(t[i:j])
			if err != nil || n > 1<<30 {
				return p, fmt.Errorf("%w %q: index %s is too large", ErrSyntax, s, t[i:j])
			}
			p.Steps = append(p.Steps, Step{Index: n, IsIndex: true})
			i = j + 1
		default:
			return p, fmt.Errorf("%w %q: unexpected %q at offset %d; paths start with . as in .items[0].id", ErrSyntax, s, t[i], i)
		}
	}
	return p, nil
}

// MustParse parses s and panics on error; for tests and constants.
func MustParse(s string) Path {
	p, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return p
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// quoted reads a JSON string at the start of s and returns its length and
// value.
func quoted(s string) (int, string, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	var v string
	if err := dec.Decode(&v); err != nil {
		return 0, "", fmt.Errorf("bad quoted key: %v", err)
	}
	n := int(dec.InputOffset())
	if n == 0 || n > len(s) || s[n-1] != '"' {
		return 0, "", errors.New("bad quoted key")
	}
	return n, v, nil
}

// String returns the path in canonical form; Parse(p.String()) is p.
func (p Path) String() string {
	if len(p.Steps) == 0 {
		return "."
	}
	var b strings.Builder
	for _, s := range p.Steps {
		switch {
		case s.IsIndex:
			fmt.Fprintf(&b, "[%d]", s.Index)
		case s.Key != "" && allName(s.Key):
			b.WriteString("." + s.Key)
		default:
			q, _ := json.Marshal(s.Key)
			b.WriteString("[" + string(q) + "]")
		}
	}
	return b.String()
}

func allName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

// MarshalText returns the path as written.
func (p Path) MarshalText() ([]byte, error) { return []byte(p.src), nil }

// UnmarshalText parses a path, so a Path can be a policy field.
func (p *Path) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Decode parses a JSON document, keeping numbers exact (json.Number).
func Decode(doc []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

// Lookup returns the value at the path in a document decoded by Decode. The
// error wraps ErrNotFound and says which step was missing.
func (p Path) Lookup(doc any) (any, error) {
	cur := doc
	for i, s := range p.Steps {
		at := Path{Steps: p.Steps[:i+1]}.String()
		switch {
		case s.IsIndex:
			arr, ok := cur.([]any)
			if !ok {
				return nil, fmt.Errorf("%w %s: %s is %s, not an array", ErrNotFound, p, Path{Steps: p.Steps[:i]}, Kind(cur))
			}
			if s.Index >= len(arr) {
				return nil, fmt.Errorf("%w %s: %s has %d element(s)", ErrNotFound, p, Path{Steps: p.Steps[:i]}, len(arr))
			}
			cur = arr[s.Index]
		default:
			obj, ok := cur.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w %s: %s is %s, not an object", ErrNotFound, p, Path{Steps: p.Steps[:i]}, Kind(cur))
			}
			v, ok := obj[s.Key]
			if !ok {
				return nil, fmt.Errorf("%w %s: key %s is missing", ErrNotFound, p, at)
			}
			cur = v
		}
	}
	return cur, nil
}

// Kind names the JSON type of a decoded value, for messages.
func Kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
