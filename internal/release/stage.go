package release

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
)

// GroupReport is the report a stage of the release workflow collected
// for one group.
type GroupReport struct {
	// Group is the checklist group.
	Group string
	// Path is its report.json.
	Path string
}

// StageStatus reads each group's report and returns the stage's status,
// the worst of theirs, and each group's status in order. A report that
// cannot be read or carries an unknown status is a *gate.InputError
// naming its group: a stage is never judged on part of its groups.
func StageStatus(ctx context.Context, groups []GroupReport) (gate.Status, []gate.Status, error) {
	statuses := make([]gate.Status, 0, len(groups))
	for _, g := range groups {
		s, err := reportStatus(ctx, g.Path)
		if err != nil {
			return "", nil, &gate.InputError{Input: "group " + g.Group, Err: err}
		}
		statuses = append(statuses, s)
	}
	return gate.Worst(statuses...), statuses, nil
}

func reportStatus(ctx context.Context, path string) (gate.Status, error) {
	b, err := fsx.ReadFile(ctx, path, fsx.MaxDocSize)
	if err != nil {
		return "", err
	}
	var rep gate.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return "", fmt.Errorf("%s: not a releasegate report: %w", path, err)
	}
	if !rep.Status.Valid() {
		return "", fmt.Errorf("%s: status %q: expected one of %v", path, rep.Status, gate.Statuses())
	}
	return rep.Status, nil
}
