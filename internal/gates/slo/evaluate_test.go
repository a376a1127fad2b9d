package slogate

import (
	"context"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// evaluate runs g through the runner, as releasegate does: the runner, not
// the gate, folds the checks into the Result's status.
func evaluate(ctx context.Context, g gate.Gate) (*gate.Result, error) {
	res, err := (&gate.Runner{}).RunOne(ctx, gate.Planned{Meta: gate.Meta{ID: g.Name(), Kind: "slo"}, Gate: g})
	return &res, err
}
