package release

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// Choice says which of a policy's gates a command evaluates.
type Choice struct {
	// IDs are the gates asked for by id; empty means every gate of Kinds.
	IDs []string
	// Kinds are the kinds chosen when no id is asked for.
	Kinds []string
	// Allowed are the kinds an asked-for gate may have; empty means Kinds.
	Allowed []string
	// Doc is where to read how to add such a gate, e.g. docs/slo.md.
	Doc string
}

// Choose returns the gates of p that c names, in the policy's order. An id
// that names no gate, or a gate of another kind, is a *gate.InputError
// naming the gate; so is a choice that finds no gate at all.
func Choose(p *policy.Policy, c Choice) ([]policy.Gate, error) {
	allowed := c.Allowed
	if len(allowed) == 0 {
		allowed = c.Kinds
	}
	var out []policy.Gate
	for _, id := range c.IDs {
		i := slices.IndexFunc(p.Gates, func(g policy.Gate) bool { return g.ID == id })
		if i < 0 {
			return nil, &gate.InputError{Input: "gate " + id, Err: fmt.Errorf("no gate of kind %s with that id in %s", strings.Join(allowed, " or "), p.File)}
		}
		if g := p.Gates[i]; !slices.Contains(allowed, g.Kind) {
			return nil, &gate.InputError{Input: "gate " + id, Err: fmt.Errorf("is of kind %s; expected kind %s", g.Kind, strings.Join(allowed, " or "))}
		}
	}
	for _, g := range p.Gates {
		if len(c.IDs) == 0 && slices.Contains(c.Kinds, g.Kind) || slices.Contains(c.IDs, g.ID) {
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		hint := ""
		if c.Doc != "" {
			hint = " (see " + c.Doc + ")"
		}
		return nil, &gate.InputError{Input: p.File, Err: fmt.Errorf("has no gate of kind %s; add one%s", strings.Join(c.Kinds, " or "), hint)}
	}
	return out, nil
}

// errNoResults means the shards given to MergeShards hold no gate result
// and name no policy.
var errNoResults = errors.New("no gate results in the given files")
