package policy

import (
	"encoding"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/redact"
)

// maxNodes bounds how many YAML nodes one document may expand to, so that
// alias bombs ("billion laughs") are reported instead of eating memory.
const maxNodes = 200_000

// decoder turns yaml.Node trees into Go values strictly: unknown keys,
// duplicate keys, wrong types, missing required keys and bad enum values are
// each recorded as an Error with a position, and decoding carries on so that
// every problem is reported at once.
type decoder struct {
	file    string
	errs    Errors
	getenv  func(string) (string, bool)
	secrets map[string]bool
	// pos maps key paths (gates[0].with.deadline) to their positions, so
	// that Validate errors from settings types can point at a key.
	pos map[string]gate.Location
	// bad holds the paths decoding reported a problem at, so that
	// validation does not report the same key again, or the zero value
	// decoding left there in its place.
	bad   map[string]bool
	nodes int
}

func newDecoder(file string, getenv func(string) (string, bool)) *decoder {
	return &decoder{file: file, getenv: getenv, secrets: map[string]bool{},
		pos: map[string]gate.Location{}, bad: map[string]bool{}}
}

func (d *decoder) loc(n *yaml.Node) gate.Location {
	if n == nil {
		return gate.Location{File: d.file}
	}
	return gate.Location{File: d.file, Line: n.Line, Column: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, path, kind, format string, args ...any) {
	d.bad[path] = true
	d.errs = append(d.errs, &Error{Location: d.loc(n), Path: path, Kind: kind, Message: fmt.Sprintf(format, args...)})
}

// ancestors calls f with path and each of its ancestors, nearest first,
// ending with "" (the document), until f returns true.
func ancestors(path string, f func(string) bool) bool {
	for p := path; ; {
		if f(p) {
			return true
		}
		if p == "" {
			return false
		}
		i := strings.LastIndexAny(p, ".[")
		p = p[:max(i, 0)]
	}
}

// at returns the position recorded for a path, or the nearest recorded
// ancestor's.
func (d *decoder) at(path string) gate.Location {
	l := gate.Location{File: d.file}
	ancestors(path, func(p string) bool {
		var ok bool
		l, ok = d.pos[p]
		return ok
	})
	if l.File == "" {
		l.File = d.file
	}
	return l
}

// reported reports whether decoding found a problem at path or at one
// of its ancestors.
func (d *decoder) reported(path string) bool {
	return ancestors(path, func(p string) bool { return d.bad[p] })
}

// validateSpec runs a settings type's Validate and records each error at
// the key it names (relative to the `with:` block at withPath), except at
// keys decoding already reported: their values are zero, not the file's.
// A panic in Validate is recorded as an error, never a crash.
func (d *decoder) validateSpec(v Validator, withPath string) {
	var errs []error
	func() {
		defer func() {
			if r := recover(); r != nil {
				errs = nil
				d.errs = append(d.errs, &Error{Location: d.at(withPath), Path: withPath, Kind: KindInternal,
					Message: fmt.Sprintf("the settings could not be checked (a bug in releasegate): %v", r)})
			}
		}()
		errs = v.Validate()
	}()
	for _, err := range errs {
		path := withPath
		if fe := (*FileError)(nil); errors.As(err, &fe) {
			// a problem in a file the settings name, at its own position
			d.errs = append(d.errs, &Error{Location: fe.Location, Path: join(withPath, fe.Field), Kind: KindValue, Message: fe.Err.Error()})
			continue
		}
		var fe *FieldError
		if errors.As(err, &fe) {
			if fe.Field != "" {
				path = withPath + "." + fe.Field
			}
			err = fe.Err
		}
		if d.reported(path) {
			continue
		}
		d.errs = append(d.errs, &Error{Location: d.at(path), Path: path, Kind: KindValue, Message: err.Error()})
	}
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
var yamlNodeType = reflect.TypeFor[yaml.Node]()

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// decode decodes n into v (addressable). tag carries the struct field's
// tags when v is a field. It bounds the document's size, follows aliases,
// then hands n to the decoder for v's type.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, tag reflect.StructTag) {
	d.nodes++
	if d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.errorf(n, path, KindValue, "document expands to more than %d nodes (alias bomb?)", maxNodes)
		}
		return
	}
	n = resolve(n)
	if n == nil {
		return
	}
	t := v.Type()
	if t == yamlNodeType {
		v.Set(reflect.ValueOf(*n))
		return
	}
	if t.Kind() == reflect.Pointer {
		if isNull(n) {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, v.Elem(), path, tag)
		return
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		d.decodeText(n, v, path, tag)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path, tag)
	case reflect.Map:
		d.decodeMap(n, v, path, tag)
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		d.decodeScalar(n, v, path, tag)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.errorf(n, path, KindType, "%v", err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
		d.positions(n, path)
	default:
		d.errorf(n, path, KindInternal, "unsupported field type %s (a bug in releasegate)", t)
	}
}

// decodeText decodes a scalar into a type that parses itself (Duration,
// Condition, …); a zero duration where the key has a default is refused.
func (d *decoder) decodeText(n *yaml.Node, v reflect.Value, path string, tag reflect.StructTag) {
	t := v.Type()
	want := "a string"
	switch t {
	case durationType:
		want = "a duration such as 30s"
	case conditionType:
		want = `a condition such as "< 2"`
	}
	s, ok := d.scalar(n, path, tag, want)
	if !ok {
		return
	}
	if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
		d.errorf(n, path, KindValue, "%v", err)
		return
	}
	if def := tag.Get("default"); t == durationType && v.Int() == 0 && def != "" {
		if dv, err := ParseDuration(def); err == nil && dv != 0 {
			// Zero would silently become the default.
			d.errorf(n, path, KindValue, "%q: expected a positive duration; leave the key out for the default (%s)", s, def)
		}
	}
}

// decodeSlice decodes a sequence, recording each item's position.
func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string, tag reflect.StructTag) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, KindType, "expected a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.pos[p] = d.loc(c)
		d.decode(c, s.Index(i), p, tag)
	}
	v.Set(s)
}

// decodeMap decodes a mapping with string keys: duplicate keys are errors,
// each key's position is recorded, and a string under a secret-looking key
// is remembered as a secret.
func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string, tag reflect.StructTag) {
	t := v.Type()
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode || t.Key().Kind() != reflect.String {
		d.errorf(n, path, KindType, "expected a mapping, got %s", describe(n))
		return
	}
	m := reflect.MakeMapWithSize(t, len(n.Content)/2)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		p := path + "." + k.Value
		if seen[k.Value] {
			d.errorf(k, p, KindValue, "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		d.pos[p] = d.loc(k)
		e := reflect.New(t.Elem()).Elem()
		d.decode(val, e, p, tag)
		if e.Kind() == reflect.String && e.String() != "" && redact.IsSecretName(k.Value) {
			d.secrets[e.String()] = true // env: {API_TOKEN: …}, headers: {Authorization: …}
		}
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), e)
	}
	v.Set(m)
}

// decodeScalar decodes a string (checked against the field's enum), a
// bool, an integer (underscores allowed), or a finite number.
func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string, tag reflect.StructTag) {
	t := v.Type()
	switch t.Kind() {
	case reflect.String:
		s, ok := d.scalar(n, path, tag, "a string")
		if !ok {
			return
		}
		if enum := tag.Get("enum"); enum != "" && s != "" && !contains(strings.Split(enum, ","), s) {
			d.errorf(n, path, KindValue, "%q is not one of %s", s, strings.ReplaceAll(enum, ",", ", "))
			return
		}
		v.SetString(s)
	case reflect.Bool:
		s, ok := d.scalar(n, path, tag, "true or false")
		if !ok {
			return
		}
		switch s {
		case "true":
			v.SetBool(true)
		case "false":
			v.SetBool(false)
		default:
			d.errorf(n, path, KindType, "expected true or false, got %q", s)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s, ok := d.scalar(n, path, tag, "an integer")
		if !ok {
			return
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, t.Bits())
		if err != nil {
			d.errorf(n, path, KindType, "expected an integer, got %q", s)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s, ok := d.scalar(n, path, tag, "a non-negative integer")
		if !ok {
			return
		}
		i, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 0, t.Bits())
		if err != nil {
			d.errorf(n, path, KindType, "expected a non-negative integer, got %q", s)
			return
		}
		v.SetUint(i)
	case reflect.Float32, reflect.Float64:
		s, ok := d.scalar(n, path, tag, "a number")
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.errorf(n, path, KindType, "expected a finite number, got %q", s)
			return
		}
		v.SetFloat(f)
	}
}

// positions records the positions of the items and keys under n, a value
// decoded as a whole, so that validation can point inside it.
func (d *decoder) positions(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			d.pos[p] = d.loc(c)
			d.positions(c, p)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			p := path + "." + k.Value
			d.pos[p] = d.loc(k)
			d.positions(n.Content[i+1], p)
		}
	}
}

// scalar returns n's value with ${ENV} expanded; it records an error and
// returns false when n is not a scalar.
func (d *decoder) scalar(n *yaml.Node, path string, tag reflect.StructTag, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, KindType, "expected %s, got %s", want, describe(n))
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	s, err := d.expand(n.Value)
	if err != nil {
		d.errorf(n, path, KindEnv, "%v", err)
		return "", false
	}
	if tag.Get("secret") == "true" && s != "" {
		d.secrets[s] = true
	}
	if strings.Contains(s, "://") {
		if u, err := url.Parse(s); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok && pw != "" {
				d.secrets[pw] = true // https://user:password@host
				// and the Authorization: Basic form a client sends it in
				d.secrets[base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw))] = true
			}
		}
	}
	return s, true
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		n = &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, KindType, "expected a mapping, got %s", describe(n))
		return
	}
	fields := structFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		p := join(path, k.Value)
		f, ok := fields[k.Value]
		if !ok {
			d.errorf(k, p, KindUnknownKey, "unknown key %q%s", k.Value, suggest(k.Value, fieldNames(fields)))
			continue
		}
		if seen[k.Value] {
			d.errorf(k, p, KindValue, "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = true
		d.pos[p] = d.loc(k)
		d.decode(val, v.FieldByIndex(f.Index), p, f.Tag)
	}
	for _, name := range fieldNames(fields) {
		f := fields[name]
		if f.Tag.Get("required") == "true" && !seen[name] {
			d.errorf(n, join(path, name), KindRequired, "missing required key %q", name)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// structFields returns the yaml-visible fields of t by key name.
func structFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, sf := range structFields(f.Type) {
				sf.Index = append([]int{i}, sf.Index...)
				out[k] = sf
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
	return out
}

func fieldNames(m map[string]reflect.StructField) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "something else"
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns "; did you mean X?" for the closest known key, or a list
// of the expected keys.
func suggest(got string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := levenshtein(got, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	if len(known) == 0 {
		return "; no keys are allowed here"
	}
	return "; expected one of: " + strings.Join(known, ", ")
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

var envRef = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}|\$\{[^}]*\}?`)

// expand replaces ${NAME} and ${NAME:-default} with the environment's
// values and $$ with $. Values of variables whose names redact.IsSecretName
// are recorded as secrets. An unset variable without a default is an error.
func (d *decoder) expand(s string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var errs []string
	out := envRef.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := envRef.FindStringSubmatch(m)
		name := sub[1]
		if name == "" {
			errs = append(errs, fmt.Sprintf("malformed variable reference %q; expected ${NAME} or ${NAME:-default}", m))
			return m
		}
		val, ok := d.getenv(name)
		if !ok || val == "" {
			if sub[2] != "" {
				return sub[3]
			}
			errs = append(errs, fmt.Sprintf("environment variable %s is not set; set it or write ${%s:-default}", name, name))
			return m
		}
		if redact.IsSecretName(name) {
			d.secrets[val] = true
		}
		return val
	})
	if len(errs) > 0 {
		return "", fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}
