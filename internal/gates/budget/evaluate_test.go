package budgetgate

import (
	"context"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// evaluate runs g as releasegate does, through gate.Runner, which folds the
// checks and owns the status; the error is why g could not be evaluated.
func evaluate(ctx context.Context, g gate.Gate, m gate.Meta) (*gate.Result, error) {
	res, err := (&gate.Runner{}).RunOne(ctx, gate.Planned{Meta: m, Gate: g})
	return &res, err
}
