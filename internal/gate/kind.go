package gate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"
)

// Kind describes a gate kind that a policy can declare with `kind: NAME`.
// Each gate package registers its kind from an init function; the policy
// decoder uses Spec to decode the gate's `with:` block strictly, and the CLI
// uses New to build the gate.
type Kind struct {
	// Name is the value of `kind:` in the policy, e.g. "command".
	Name string
	// Group is the checklist group a gate of this kind belongs to unless the
	// policy says otherwise.
	Group string
	// Summary is one line for docs and --help.
	Summary string
	// Spec returns a pointer to a new, zero settings struct for `with:`. Its
	// fields use the `yaml`, `doc`, `required`, `secret`, `default` and
	// `enum` tags that the policy package understands.
	Spec func() any
	// New builds a gate from its metadata and decoded, validated settings.
	// Env carries what the run provides (policy directory, secrets, ...).
	New func(m Meta, spec any, env Env) (Gate, error)
}

// groups are the checklist groups, in the checklist's order.
var groups = []string{"provenance", "slo", "abuse", "infra", "jobs", "cost"}

// Groups returns the checklist groups, in the checklist's order. The
// reusable release workflow runs one job per group with `--only GROUP`; a
// policy that has no gate in one of them gets a skipped job, not an error.
func Groups() []string { return slices.Clone(groups) }

// IsGroup reports whether name is a checklist group or the default group of
// a registered kind.
func IsGroup(name string) bool {
	for _, g := range groups {
		if g == name {
			return true
		}
	}
	for _, k := range Kinds() {
		if k.Group == name {
			return true
		}
	}
	return false
}

// Env is what a gate may use from the run besides its own settings.
type Env struct {
	// PolicyDir is the directory of the policy file; relative paths in a
	// gate's settings are resolved against it.
	PolicyDir string
	// Getenv reads the environment; tests replace it.
	Getenv func(string) string
	// Logf writes progress to stderr (never results).
	Logf func(format string, args ...any)
	// Redact, when set, masks every secret the process knows; a gate uses
	// it on what it sends elsewhere before its Result exists (webhook
	// bodies). Results are redacted by the CLI.
	Redact func(string) string
	// Clock, when set, is the run's clock (Now); tests fix it.
	Clock func() time.Time
}

// Path resolves a path from a gate's settings against the policy's
// directory. An empty or absolute path, or any path when the run has no
// policy directory, is returned as it is.
func (e Env) Path(p string) string {
	if p == "" || filepath.IsAbs(p) || e.PolicyDir == "" {
		return p
	}
	return filepath.Join(e.PolicyDir, p)
}

// Now is the run's time: Clock, or time.Now.
func (e Env) Now() time.Time {
	if e.Clock != nil {
		return e.Clock()
	}
	return time.Now()
}

// Digest is the digest of an input's bytes in the form Input.Digest takes:
// "sha256:<hex>".
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Typed describes a kind whose `with:` settings decode into an S; see
// RegisterTyped.
type Typed[S any] struct {
	// Name, Group and Summary are the Kind's.
	Name, Group, Summary string
	// Default, when set, returns the settings `with:` is decoded over (the
	// defaults a key left out keeps); nil means the zero S.
	Default func() S
	// New builds a gate from its metadata and decoded, validated settings.
	New func(m Meta, s S, env Env) (Gate, error)
}

// RegisterTyped registers a kind whose settings are of type S: the policy
// decodes `with:` into a *S, and New receives the settings by value, so no
// kind asserts the type itself. Settings of another type (a policy built by
// hand) are an error naming both types, never a panic.
func RegisterTyped[S any](k Typed[S]) {
	Register(Kind{Name: k.Name, Group: k.Group, Summary: k.Summary,
		Spec: func() any {
			s := new(S)
			if k.Default != nil {
				*s = k.Default()
			}
			return s
		},
		New: func(m Meta, spec any, env Env) (Gate, error) {
			s, ok := spec.(*S)
			if !ok || s == nil {
				return nil, fmt.Errorf("%s gate: settings are %T, expected %T", k.Name, spec, s)
			}
			return k.New(m, *s, env)
		},
	})
}

var (
	kindsMu sync.RWMutex
	kinds   = map[string]Kind{}
)

// Register adds a kind. It panics on a duplicate name, which is a
// programming error caught by any test that imports both packages.
func Register(k Kind) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	if _, dup := kinds[k.Name]; dup {
		panic(fmt.Sprintf("gate kind %q registered twice", k.Name))
	}
	if k.Spec == nil || k.New == nil {
		panic(fmt.Sprintf("gate kind %q needs Spec and New", k.Name))
	}
	kinds[k.Name] = k
}

// Lookup returns the registered kind with the given name.
func Lookup(name string) (Kind, bool) {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	k, ok := kinds[name]
	return k, ok
}

// Kinds returns every registered kind, sorted by name.
func Kinds() []Kind {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	out := make([]Kind, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
