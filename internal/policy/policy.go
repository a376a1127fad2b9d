// Package policy decodes, validates and documents the release policy file.
//
// The file is YAML (`version: 1`) and is decoded strictly at the edge into
// the domain model: unknown keys, wrong types, missing required keys, bad
// thresholds and unset ${ENV} references are all reported at once with
// file:line:col, and nothing runs on a policy with any problem. Each gate's
// `with:` block is decoded into the settings type its kind registered with
// gate.Register, so the format grows with the gates and the JSON Schema and
// docs/policy.md are generated from the same types.
package policy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
)

// DefaultPath is where `releasegate run` looks for the policy.
const DefaultPath = ".github/release-policy.yml"

// MaxFileSize bounds the policy file; anything larger is refused.
const MaxFileSize = 4 << 20

// Policy is a decoded, validated release policy.
type Policy struct {
	// Version of the policy format; must be 1.
	Version int `yaml:"version" required:"true" doc:"policy format version; must be 1"`
	// Release describes what is being released.
	Release Release `yaml:"release" doc:"what is being released; shown in results and evidence"`
	// Defaults apply to every gate unless the gate overrides them.
	Defaults Defaults `yaml:"defaults" doc:"settings that apply to every gate unless the gate says otherwise"`
	// Gates are evaluated in this order (independent gates concurrently).
	Gates []Gate `yaml:"gates" required:"true" doc:"the release gates, in checklist order"`

	// File is the path the policy was read from.
	File string `yaml:"-"`
	// Digest is "sha256:<hex>" of the file's bytes.
	Digest string `yaml:"-"`
	// Secrets are values that must never be printed: expanded secret
	// variables and fields marked secret.
	Secrets []string `yaml:"-"`
}

// Release describes the release being gated.
type Release struct {
	Name       string `yaml:"name" doc:"the service or product name"`
	Version    string `yaml:"version" doc:"the version being released, e.g. ${VERSION}"`
	Repository string `yaml:"repository" doc:"owner/name of the source repository"`
}

// Defaults are settings that apply to every gate.
type Defaults struct {
	Timeout     Duration `yaml:"timeout" default:"10m" doc:"how long a gate may run before it is stopped and reported as error"`
	Concurrency int      `yaml:"concurrency" default:"4" doc:"how many independent gates run at once"`
}

// Gate is one gate in the policy.
type Gate struct {
	ID          string    `yaml:"id" required:"true" doc:"unique id of the gate: lowercase letters, digits and dashes"`
	Kind        string    `yaml:"kind" required:"true" doc:"what the gate checks; see the kinds below"`
	Group       string    `yaml:"group" doc:"checklist group for --only (default: the kind's group)"`
	Description string    `yaml:"description" doc:"the checklist line this gate answers, shown in reports"`
	Required    *bool     `yaml:"required" default:"true" doc:"a required gate that fails blocks the release; an optional one only warns"`
	Needs       []string  `yaml:"needs" doc:"ids of gates that must pass before this one runs"`
	Timeout     Duration  `yaml:"timeout" doc:"overrides defaults.timeout for this gate"`
	With        yaml.Node `yaml:"with" doc:"the kind's settings"`

	// Spec is the decoded `with:` block, of the type the kind registered.
	Spec any `yaml:"-"`
	// Location is where the gate is declared.
	Location gate.Location `yaml:"-"`
}

// IsRequired reports whether the gate blocks the release (default true).
func (g Gate) IsRequired() bool { return g.Required == nil || *g.Required }

// Meta returns the gate's runner metadata, with defaults applied.
func (p *Policy) Meta(g Gate) gate.Meta {
	t := g.Timeout.D()
	if t == 0 {
		t = p.Defaults.Timeout.D()
	}
	loc := g.Location
	return gate.Meta{ID: g.ID, Kind: g.Kind, Group: g.Group, Required: g.IsRequired(),
		Needs: g.Needs, Timeout: t, Location: &loc}
}

// Options tunes Load.
type Options struct {
	// LookupEnv reads environment variables for ${NAME}; default os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Load reads, decodes and validates the policy at path. A missing or
// unreadable file is a *gate.InputError; problems in the file are returned
// as Errors, all at once. Both match gate.ErrBadInput.
func Load(path string, o Options) (*Policy, error) {
	// Read through a hard limit, refusing devices, FIFOs and directories
	// up front: stat's size is not to be trusted (/dev/zero says 0).
	b, err := fsx.ReadFile(context.Background(), path, MaxFileSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &gate.InputError{Input: path, Err: fmt.Errorf("policy file not found; pass --policy FILE or create %s", DefaultPath)}
	case errors.Is(err, fsx.ErrNotRegular), errors.Is(err, fsx.ErrTooLarge):
		return nil, &gate.InputError{Input: path, Err: fmt.Errorf("policy %w", err)}
	case err != nil:
		return nil, &gate.InputError{Input: path, Err: err}
	}
	return Parse(path, b, o)
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Parse decodes and validates policy bytes; file names them in errors.
func Parse(file string, b []byte, o Options) (*Policy, error) {
	getenv := o.LookupEnv
	if getenv == nil {
		getenv = os.LookupEnv
	}
	d := newDecoder(file, getenv)
	fail := func(es Errors) (*Policy, error) {
		es.clamp(file, b)
		es.sort(file)
		return nil, es
	}
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return fail(Errors{{Location: gate.Location{File: file, Line: 1, Column: 1}, Kind: KindSyntax,
				Message: "the policy is empty; expected at least `version: 1` and `gates:`"}})
		}
		return fail(Errors{syntaxError(file, b, err)})
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return fail(Errors{{Location: gate.Location{File: file, Line: extra.Line, Column: extra.Column},
			Kind: KindSyntax, Message: "more than one YAML document; a policy is one document"}})
	case !errors.Is(err, io.EOF):
		return fail(Errors{syntaxError(file, b, err)})
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	p := &Policy{File: file}
	d.pos[""] = d.loc(doc)
	d.decode(doc, reflect.ValueOf(p).Elem(), "", "")
	// Validation runs whatever decoding found, so that every problem is
	// reported at once; it skips what decoding already reported.
	p.validate(d, doc)
	if len(d.errs) > 0 {
		return fail(d.errs)
	}
	sum := sha256.Sum256(b)
	p.Digest = "sha256:" + hex.EncodeToString(sum[:])
	for s := range d.secrets {
		p.Secrets = append(p.Secrets, s)
	}
	sort.Strings(p.Secrets)
	return p, nil
}

// validate checks what types cannot: the version, ids, needs, kinds, and
// each gate's settings.
func (p *Policy) validate(d *decoder, doc *yaml.Node) {
	if p.Version != 1 && !d.reported("version") {
		d.errs = append(d.errs, &Error{Location: d.at("version"), Path: "version", Kind: KindValue,
			Message: fmt.Sprintf("unsupported policy version %d; this releasegate reads version 1", p.Version)})
	}
	if p.Defaults.Timeout == 0 {
		p.Defaults.Timeout = Duration(10 * 60 * 1e9)
	}
	if p.Defaults.Concurrency < 0 {
		d.errs = append(d.errs, &Error{Location: d.at("defaults.concurrency"), Path: "defaults.concurrency",
			Kind: KindValue, Message: "must be 0 (default) or more"})
	}
	if _, ok := d.pos["gates"]; ok && len(p.Gates) == 0 {
		d.errs = append(d.errs, &Error{Location: d.at("gates"), Path: "gates", Kind: KindValue,
			Message: "no gates; a policy that checks nothing cannot pass a release"})
	}
	ids := map[string]int{}
	for i := range p.Gates {
		g := &p.Gates[i]
		base := fmt.Sprintf("gates[%d]", i)
		g.Location = d.at(base)
		verr := func(key, format string, args ...any) {
			path := join(base, key)
			d.errs = append(d.errs, &Error{Location: d.at(path), Path: path, Kind: KindValue,
				Message: fmt.Sprintf(format, args...)})
		}
		if g.ID != "" && !idRE.MatchString(g.ID) {
			verr("id", "%q is not a valid id; use lowercase letters, digits and dashes (at most 63)", g.ID)
		}
		if j, dup := ids[g.ID]; dup && g.ID != "" {
			verr("id", "duplicate gate id %q (also gates[%d])", g.ID, j)
		}
		ids[g.ID] = i
		if g.Kind == "" {
			continue // reported as missing
		}
		k, ok := gate.Lookup(g.Kind)
		if !ok {
			names := []string{}
			for _, k := range gate.Kinds() {
				names = append(names, k.Name)
			}
			hint := "; this build has no gate kinds"
			if len(names) > 0 {
				hint = suggest(g.Kind, names)
			}
			verr("kind", "unknown gate kind %q%s", g.Kind, hint)
			continue
		}
		if g.Group == "" {
			g.Group = k.Group
		}
		spec := k.Spec()
		withPath := join(base, "with")
		with := &g.With
		if with.Kind == 0 {
			with = &yaml.Node{Kind: yaml.MappingNode, Line: g.Location.Line, Column: g.Location.Column}
		}
		d.decode(with, reflect.ValueOf(spec).Elem(), withPath, "")
		if v, ok := spec.(Binder); ok {
			v.Bind(GateContext{ID: g.ID, Dir: filepath.Dir(d.file)})
		}
		if v, ok := spec.(Validator); ok {
			d.validateSpec(v, withPath)
		}
		g.Spec = spec
	}
	p.checkIdentities(d)
	for i, g := range p.Gates {
		for j, n := range g.Needs {
			path := fmt.Sprintf("gates[%d].needs[%d]", i, j)
			if _, ok := ids[n]; !ok {
				d.errs = append(d.errs, &Error{Location: d.at(path), Path: path, Kind: KindValue,
					Message: fmt.Sprintf("needs unknown gate %q", n)})
			} else if n == g.ID {
				d.errs = append(d.errs, &Error{Location: d.at(path), Path: path, Kind: KindValue,
					Message: "a gate cannot need itself"})
			}
		}
	}
	if cyc := p.cycle(); cyc != nil {
		i := ids[cyc[0]]
		path := fmt.Sprintf("gates[%d].needs", i)
		d.errs = append(d.errs, &Error{Location: d.at(path), Path: path, Kind: KindValue,
			Message: "needs form a cycle: " + strings.Join(cyc, " → ")})
	}
}

// checkIdentities reports an item key (Identifier) that two gates define,
// at the second, naming the first's position.
func (p *Policy) checkIdentities(d *decoder) {
	type first struct {
		gate int
		path string
	}
	seen := map[string]first{}
	for i, g := range p.Gates {
		v, ok := g.Spec.(Identifier)
		if !ok {
			continue
		}
		for _, id := range v.Identities() {
			path := join(fmt.Sprintf("gates[%d].with", i), id.Field)
			f, dup := seen[id.Key]
			if !dup {
				seen[id.Key] = first{i, path}
				continue
			}
			if f.gate == i || d.reported(path) {
				continue // a duplicate within a gate is the gate's to report
			}
			d.errs = append(d.errs, &Error{Location: d.at(path), Path: path, Kind: KindValue,
				Message: fmt.Sprintf("%s is also defined by gate %q at %s (%s)%s",
					id.Key, p.Gates[f.gate].ID, d.at(f.path), f.path, semi(id.Hint))})
		}
	}
}

func semi(s string) string {
	if s == "" {
		return ""
	}
	return "; " + s
}

// cycle returns one dependency cycle among the gates' needs, or nil.
func (p *Policy) cycle() []string {
	needs := map[string][]string{}
	for _, g := range p.Gates {
		needs[g.ID] = g.Needs
	}
	state := map[string]int{} // 1 visiting, 2 done
	var stack []string
	var found []string
	var visit func(string) bool
	visit = func(id string) bool {
		switch state[id] {
		case 1:
			i := slices.Index(stack, id)
			found = append(slices.Clone(stack[i:]), id)
			return true
		case 2:
			return false
		}
		state[id] = 1
		stack = append(stack, id)
		for _, n := range needs[id] {
			if n != id && needs[n] != nil && visit(n) {
				return true
			}
		}
		stack = stack[:len(stack)-1]
		state[id] = 2
		return false
	}
	for _, g := range p.Gates {
		if visit(g.ID) {
			return found
		}
	}
	return nil
}

// Select returns the gates whose group (or id) is in only; all gates when
// only is empty. A checklist group (gate.Groups()) without gates in this
// policy selects nothing, so the result may be empty; any other name the
// policy does not have is an error.
func (p *Policy) Select(only []string) ([]Gate, error) {
	if len(only) == 0 {
		return p.Gates, nil
	}
	known := map[string]bool{}
	for _, g := range p.Gates {
		known[g.Group], known[g.ID] = true, true
	}
	var unknown []string
	for _, o := range only {
		if !known[o] && !gate.IsGroup(o) {
			unknown = append(unknown, o)
		}
	}
	if len(unknown) > 0 {
		names := make([]string, 0, len(known))
		for k := range known {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, &gate.InputError{Input: "only", Err: fmt.Errorf("no group or gate named %s; the policy has %s",
			strings.Join(unknown, ", "), strings.Join(names, ", "))}
	}
	var out []Gate
	for _, g := range p.Gates {
		if slices.Contains(only, g.Group) || slices.Contains(only, g.ID) {
			out = append(out, g)
		}
	}
	return out, nil
}

// Dir returns the directory of the policy file, against which relative
// paths in gate settings are resolved.
func (p *Policy) Dir() string { return filepath.Dir(p.File) }
