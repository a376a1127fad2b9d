// Package checklist fills the release checklist from gate results. The
// checklist's structure — its sections, and a box per blank the release
// manager used to fill in by hand — is data: a Template (the built-in one is
// template.yml, a policy repository may bring its own), each box naming the
// checks that answer it. Fill reads the Results (never recomputes them) and
// the renderers print the filled checklist as Markdown or HTML.
package checklist

import (
	_ "embed"
	"errors"
	"fmt"
	"path"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

//go:embed template.yml
var builtinYAML []byte

// BuiltinName is the name the built-in template's errors would carry.
const BuiltinName = "checklist-template.yml (built in)"

// Builtin returns the built-in template.
func Builtin() *Template {
	t, err := Parse(BuiltinName, builtinYAML)
	if err != nil {
		panic(fmt.Sprintf("the built-in checklist template does not decode: %v", err)) // caught by TestBuiltin
	}
	return t
}

// Template is a checklist's structure: its sections in order.
type Template struct {
	// Version is the format's version; only 1 exists.
	Version int
	// Sections are printed in this order.
	Sections []Section
}

// Section is a heading of the checklist with its boxes, or the sign-off
// table when SignOff is set.
type Section struct {
	// ID names the section (renderers may add lines to a section by id,
	// e.g. "evidence").
	ID string
	// Title is the heading.
	Title string
	// Boxes are the blanks, in order.
	Boxes []Box
	// SignOff are the sign-off table's rows.
	SignOff []Role
}

// Box is one blank of the checklist and where its value comes from.
type Box struct {
	// Label is what the blank asks for.
	Label string
	// From are the checks (or details) that answer the box; every match
	// of every source is shown.
	From []Source
	// Format is how values are shown: auto, number, percent (a ratio
	// shown ×100), duration (seconds, or milliseconds when the check's
	// unit is ms), hash (shortened, the full value kept) or text.
	Format string
}

// Source selects values from the results. A result matches when its gate
// id equals Gate (when set) and its kind equals Kind (when set).
type Source struct {
	// Gate is a gate id.
	Gate string
	// Kind is a gate kind.
	Kind string
	// Check is a pattern (path.Match syntax: *, ?, [..]) on check names.
	Check string
	// Tenant is a pattern on the checks' tenants.
	Tenant string
	// Value is what to show: "observed" (default), "expected", "count"
	// (how many matching checks passed), "failing-tenants" (tenants of
	// matching checks that did not pass), "input" (the digest of the
	// gate's inputs whose name matches Input) or "details.PATH" (a dotted
	// path into the gate's details; a * segment takes every key or
	// element).
	Value string
	// Input is the pattern on input names for Value "input".
	Input string
}

// Role is a row of the sign-off table.
type Role struct {
	// Role is the row's title, e.g. "Release manager".
	Role string
	// Environment, when set, takes only approvals of that deployment
	// environment.
	Environment string
}

// Formats are the box formats.
var Formats = []string{"auto", "number", "percent", "duration", "hash", "text"}

// Error is one problem of a template file, with its position.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg) }

// Is makes a template error bad input (exit 2).
func (e *Error) Is(target error) bool { return target == gate.ErrBadInput }

// Errors are all the problems of a template file.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Is makes template errors bad input (exit 2).
func (es Errors) Is(target error) bool { return target == gate.ErrBadInput }

// Parse decodes a template strictly: unknown keys, wrong types, missing
// labels or sources and bad patterns are all reported, each with
// file:line:col.
func Parse(file string, data []byte) (*Template, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		line := 1
		var te *yaml.TypeError
		msg := err.Error()
		if !errors.As(err, &te) {
			fmt.Sscanf(strings.TrimPrefix(msg, "yaml: "), "line %d:", &line)
		}
		return nil, Errors{{File: file, Line: line, Col: 1, Msg: "not YAML: " + strings.TrimPrefix(msg, "yaml: ")}}
	}
	d := &decoder{file: file}
	t := &Template{}
	if len(root.Content) == 0 {
		return nil, Errors{{File: file, Line: 1, Col: 1, Msg: "empty template; expected version: 1 and sections"}}
	}
	d.template(root.Content[0], t)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return t, nil
}

type decoder struct {
	file string
	errs Errors
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)})
}

// mapping calls f for each key of n, reporting keys not in known.
func (d *decoder) mapping(n *yaml.Node, what string, known []string, f func(key string, v *yaml.Node)) bool {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: expected a mapping, got %s", what, kindName(n))
		return false
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !contains(known, k.Value) {
			d.errorf(k, "%s: unknown key %q; expected one of %s", what, k.Value, strings.Join(known, ", "))
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "%s: key %q given twice", what, k.Value)
			continue
		}
		seen[k.Value] = true
		f(k.Value, v)
	}
	return true
}

func (d *decoder) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errorf(n, "%s: expected a string, got %s", what, kindName(n))
		return ""
	}
	return n.Value
}

func (d *decoder) seq(n *yaml.Node, what string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: expected a list, got %s", what, kindName(n))
		return nil
	}
	return n.Content
}

func (d *decoder) template(n *yaml.Node, t *Template) {
	var version *yaml.Node
	ids := map[string]bool{}
	if !d.mapping(n, "template", []string{"version", "sections"}, func(k string, v *yaml.Node) {
		switch k {
		case "version":
			version = v
			if v.Kind != yaml.ScalarNode || v.Value != "1" {
				d.errorf(v, "version: expected 1, got %q", v.Value)
			}
			t.Version = 1
		case "sections":
			for i, sn := range d.seq(v, "sections") {
				s := d.section(sn, fmt.Sprintf("sections[%d]", i))
				if s.ID != "" && ids[s.ID] {
					d.errorf(sn, "sections[%d]: id %q given twice", i, s.ID)
				}
				ids[s.ID] = true
				t.Sections = append(t.Sections, s)
			}
		}
	}) {
		return
	}
	if version == nil {
		d.errorf(n, "template: version missing; expected version: 1")
	}
	if len(t.Sections) == 0 && len(d.errs) == 0 {
		d.errorf(n, "template: no sections; expected sections: [{id, title, boxes}]")
	}
}

func (d *decoder) section(n *yaml.Node, what string) Section {
	var s Section
	d.mapping(n, what, []string{"id", "title", "boxes", "sign-off"}, func(k string, v *yaml.Node) {
		switch k {
		case "id":
			s.ID = d.str(v, what+".id")
		case "title":
			s.Title = d.str(v, what+".title")
		case "boxes":
			for i, bn := range d.seq(v, what+".boxes") {
				s.Boxes = append(s.Boxes, d.box(bn, fmt.Sprintf("%s.boxes[%d]", what, i)))
			}
		case "sign-off":
			for i, rn := range d.seq(v, what+".sign-off") {
				w := fmt.Sprintf("%s.sign-off[%d]", what, i)
				var r Role
				d.mapping(rn, w, []string{"role", "environment"}, func(k string, v *yaml.Node) {
					if k == "role" {
						r.Role = d.str(v, w+".role")
					} else {
						r.Environment = d.str(v, w+".environment")
					}
				})
				if r.Role == "" && rn.Kind == yaml.MappingNode {
					d.errorf(rn, "%s: role missing; expected e.g. role: Release manager", w)
				}
				s.SignOff = append(s.SignOff, r)
			}
		}
	})
	if n.Kind == yaml.MappingNode {
		if s.ID == "" {
			d.errorf(n, "%s: id missing", what)
		}
		if s.Title == "" {
			d.errorf(n, "%s: title missing", what)
		}
	}
	return s
}

func (d *decoder) box(n *yaml.Node, what string) Box {
	var b Box
	d.mapping(n, what, []string{"label", "from", "format"}, func(k string, v *yaml.Node) {
		switch k {
		case "label":
			b.Label = d.str(v, what+".label")
		case "format":
			b.Format = d.str(v, what+".format")
			if !contains(Formats, b.Format) {
				d.errorf(v, "%s.format: unknown format %q; expected one of %s", what, b.Format, strings.Join(Formats, ", "))
			}
		case "from":
			for i, sn := range d.seq(v, what+".from") {
				b.From = append(b.From, d.source(sn, fmt.Sprintf("%s.from[%d]", what, i)))
			}
		}
	})
	if n.Kind == yaml.MappingNode {
		if b.Label == "" {
			d.errorf(n, "%s: label missing", what)
		}
		if len(b.From) == 0 {
			d.errorf(n, "%s: from missing; name the checks that answer this box (gate or kind, check, value)", what)
		}
	}
	return b
}

func (d *decoder) source(n *yaml.Node, what string) Source {
	var s Source
	pos := map[string]*yaml.Node{}
	d.mapping(n, what, []string{"gate", "kind", "check", "tenant", "value", "input"}, func(k string, v *yaml.Node) {
		pos[k] = v
		val := d.str(v, what+"."+k)
		switch k {
		case "gate":
			s.Gate = val
		case "kind":
			s.Kind = val
		case "check":
			s.Check = val
		case "tenant":
			s.Tenant = val
		case "value":
			s.Value = val
		case "input":
			s.Input = val
		}
		if k == "check" || k == "tenant" || k == "input" {
			if _, err := path.Match(val, ""); err != nil {
				d.errorf(v, "%s.%s: bad pattern %q: %v", what, k, val, err)
			}
		}
	})
	if n.Kind != yaml.MappingNode {
		return s
	}
	switch v := s.Value; {
	case v == "", v == "observed", v == "expected", v == "count", v == "failing-tenants":
	case v == "input":
		if s.Input == "" {
			d.errorf(n, "%s: value input needs input: PATTERN (the input names to show)", what)
		}
	case strings.HasPrefix(v, "details.") && len(v) > len("details."):
	default:
		d.errorf(pos["value"], "%s.value: unknown value %q; expected observed, expected, count, failing-tenants, input or details.PATH", what, v)
	}
	if s.Input != "" && s.Value != "input" {
		d.errorf(pos["input"], "%s.input: only used with value: input", what)
	}
	return s
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return fmt.Sprintf("%q", n.Value)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
