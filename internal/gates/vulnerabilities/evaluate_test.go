package vulngate

import (
	"context"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// evaluate runs g as releasegate does, through gate.Runner, which folds the
// checks and owns the status; the error is why g could not be evaluated.
func evaluate(ctx context.Context, g *Gate) (*gate.Result, error) {
	m := g.meta
	if m.Kind == "" {
		m.Kind = Kind
	}
	res, err := (&gate.Runner{}).RunOne(ctx, gate.Planned{Meta: m, Gate: g})
	return &res, err
}
