package budget

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/maestro-conductor/releasegate/internal/fsx"
)

// Run is a workflow run that throttling may cancel.
type Run struct {
	ID           int64  `json:"id"`
	Repo         string `json:"repo"`
	WorkflowID   int64  `json:"workflow_id"`
	WorkflowPath string `json:"workflow_path"`
	WorkflowName string `json:"workflow_name"`
	// Status is queued, in_progress, waiting, pending or requested.
	Status string `json:"status"`
}

// Workflow is a repository workflow that throttling may disable.
type Workflow struct {
	ID   int64  `json:"id"`
	Repo string `json:"repo"`
	Path string `json:"path"`
	Name string `json:"name"`
	// State is "active" or one of the disabled_* states.
	State string `json:"state"`
}

// Mode is how an over-budget tenant is throttled.
type Mode string

// The throttle modes.
const (
	// ModeCancel cancels queued and in-progress runs of unprotected workflows.
	ModeCancel Mode = "cancel"
	// ModeDisable disables unprotected workflows (and cancels their active
	// runs); they are re-enabled when the tenant is back under budget.
	ModeDisable Mode = "disable"
)

// WaitingPolicy is what throttling does with runs that wait for an
// approval or a concurrency slot (status waiting, pending or requested):
// they run nothing yet, but will once approved.
type WaitingPolicy string

// The waiting policies.
const (
	// WaitingCancel cancels them like queued runs (the default): an
	// approval given after the tenant went over budget would spend more.
	WaitingCancel WaitingPolicy = "cancel"
	// WaitingLeave leaves them; each is recorded as a leave-run action.
	WaitingLeave WaitingPolicy = "leave"
)

// InFlightStatuses are every non-terminal run status GitHub reports: a run
// in any of them may still spend. The last three wait for an approval or
// a concurrency slot.
var InFlightStatuses = []string{"queued", "in_progress", "waiting", "pending", "requested"}

// isWaiting reports whether a run status is one that waits for an approval
// or a concurrency slot (waiting, pending, requested).
func isWaiting(status string) bool {
	switch status {
	case "waiting", "pending", "requested":
		return true
	}
	return false
}

// The action kinds.
const (
	ActCancel  = "cancel-run"
	actDisable = "disable-workflow"
	actEnable  = "enable-workflow"
	// actLeave records a waiting run left alone (WaitingLeave); it changes
	// nothing.
	actLeave = "leave-run"
)

// Action is one throttling step, planned and then applied or described.
type Action struct {
	Kind       string `json:"kind"`
	Tenant     string `json:"tenant"`
	Repo       string `json:"repo"`
	RunID      int64  `json:"run_id,omitempty"`
	WorkflowID int64  `json:"workflow_id,omitempty"`
	Workflow   string `json:"workflow"`
	Reason     string `json:"reason"`
	// Applied is true when the action was performed (enforce mode).
	Applied bool `json:"applied"`
	// Outcome says what was done, or in a dry run what would be done.
	Outcome string `json:"outcome"`
	// Error is set when the action was attempted and failed.
	Error string `json:"error,omitempty"`
}

// Actuator performs throttling actions on GitHub.
type Actuator interface {
	CancelRun(ctx context.Context, repo string, runID int64) error
	DisableWorkflow(ctx context.Context, repo string, workflowID int64) error
	EnableWorkflow(ctx context.Context, repo string, workflowID int64) error
}

// State remembers which workflows releasegate disabled, so that recovery
// re-enables exactly those and never a workflow a person disabled.
type State struct {
	// Disabled maps "repo#workflowID" to when it was disabled and why.
	Disabled map[string]disabledWorkflow `json:"disabled"`
}

// disabledWorkflow is a workflow releasegate disabled.
type disabledWorkflow struct {
	Tenant     string    `json:"tenant"`
	Repo       string    `json:"repo"`
	WorkflowID int64     `json:"workflow_id"`
	Workflow   string    `json:"workflow"`
	At         time.Time `json:"at"`
}

func stateKey(repo string, id int64) string { return fmt.Sprintf("%s#%d", repo, id) }

// LoadState reads the throttle state file; a missing file is an empty state.
func LoadState(file string) (*State, error) {
	s := &State{Disabled: map[string]disabledWorkflow{}}
	b, err := fsx.ReadFile(context.Background(), file, fsx.MaxDocSize)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading throttle state: %w", err)
	}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("throttle state %s is corrupt: %w; it lists the workflows releasegate disabled: repair it or re-enable them by hand and delete it", file, err)
	}
	if s.Disabled == nil {
		s.Disabled = map[string]disabledWorkflow{}
	}
	return s, nil
}

// Save writes the state atomically.
func (s *State) Save(file string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// Plan decides the throttling actions for one tenant: over budget, cancel
// (and in disable mode, disable) every unprotected workflow's in-flight
// runs (every status of InFlightStatuses; waiting, pending and requested
// ones per the waiting policy, cancelled unless it is WaitingLeave);
// at any other level, re-enable the workflows releasegate disabled for
// this tenant. Protected workflows are never touched. Actions are sorted
// so plans are deterministic.
func Plan(b Budget, a Assessment, mode Mode, waiting WaitingPolicy, runs []Run, workflows []Workflow, st *State) []Action {
	var acts []Action
	if a.Level == LevelOver {
		reason := fmt.Sprintf("tenant %s is over its %s budget (%.0f%%) and past grace", a.Tenant, a.Period, 100*a.Ratio)
		if mode == ModeDisable {
			for _, w := range workflows {
				if w.State != "active" || b.IsProtected(w.Path, w.Name) {
					continue
				}
				acts = append(acts, Action{Kind: actDisable, Tenant: a.Tenant, Repo: w.Repo, WorkflowID: w.ID, Workflow: w.Path, Reason: reason})
			}
		}
		for _, r := range runs {
			if b.IsProtected(r.WorkflowPath, r.WorkflowName) {
				continue
			}
			if isWaiting(r.Status) && waiting == WaitingLeave {
				acts = append(acts, Action{Kind: actLeave, Tenant: a.Tenant, Repo: r.Repo, RunID: r.ID, WorkflowID: r.WorkflowID,
					Workflow: r.WorkflowPath, Reason: reason + "; run is " + r.Status + " and throttle.waiting is leave"})
				continue
			}
			acts = append(acts, Action{Kind: ActCancel, Tenant: a.Tenant, Repo: r.Repo, RunID: r.ID, WorkflowID: r.WorkflowID,
				Workflow: r.WorkflowPath, Reason: reason + "; run is " + r.Status})
		}
	} else if st != nil {
		for _, d := range st.Disabled {
			if d.Tenant != a.Tenant {
				continue
			}
			acts = append(acts, Action{Kind: actEnable, Tenant: a.Tenant, Repo: d.Repo, WorkflowID: d.WorkflowID, Workflow: d.Workflow,
				Reason: fmt.Sprintf("tenant %s is back under its %s budget (%.0f%%)", a.Tenant, a.Period, 100*a.Ratio)})
		}
	}
	sort.SliceStable(acts, func(i, j int) bool {
		x, y := acts[i], acts[j]
		if x.Kind != y.Kind {
			return x.Kind > y.Kind // enable, disable, then cancel
		}
		if x.Repo != y.Repo {
			return x.Repo < y.Repo
		}
		if x.WorkflowID != y.WorkflowID {
			return x.WorkflowID < y.WorkflowID
		}
		return x.RunID < y.RunID
	})
	return acts
}

// Apply performs the actions when enforce is true, recording each outcome
// and updating st; otherwise it fills in what each action would do. One
// failed action does not stop the others. It returns how many failed.
func Apply(ctx context.Context, act Actuator, acts []Action, enforce bool, st *State, now time.Time) int {
	failed := 0
	for i := range acts {
		a := &acts[i]
		what := describe(*a)
		if a.Kind == actLeave {
			a.Outcome = what
			continue
		}
		if !enforce {
			a.Outcome = "dry run: would " + what + "; run with --enforce to do it"
			continue
		}
		var err error
		switch a.Kind {
		case ActCancel:
			err = act.CancelRun(ctx, a.Repo, a.RunID)
		case actDisable:
			err = act.DisableWorkflow(ctx, a.Repo, a.WorkflowID)
			if err == nil && st != nil {
				st.Disabled[stateKey(a.Repo, a.WorkflowID)] = disabledWorkflow{Tenant: a.Tenant, Repo: a.Repo, WorkflowID: a.WorkflowID, Workflow: a.Workflow, At: now.UTC()}
			}
		case actEnable:
			err = act.EnableWorkflow(ctx, a.Repo, a.WorkflowID)
			if err == nil && st != nil {
				delete(st.Disabled, stateKey(a.Repo, a.WorkflowID))
			}
		default:
			err = fmt.Errorf("unknown action kind %q", a.Kind)
		}
		if err != nil {
			failed++
			a.Error = err.Error()
			a.Outcome = "failed to " + what + ": " + err.Error()
			continue
		}
		a.Applied = true
		a.Outcome = pastTense(*a)
	}
	return failed
}

func describe(a Action) string {
	switch a.Kind {
	case ActCancel:
		return fmt.Sprintf("cancel run %d of %s in %s", a.RunID, a.Workflow, a.Repo)
	case actDisable:
		return fmt.Sprintf("disable workflow %s (id %d) in %s", a.Workflow, a.WorkflowID, a.Repo)
	case actEnable:
		return fmt.Sprintf("re-enable workflow %s (id %d) in %s", a.Workflow, a.WorkflowID, a.Repo)
	case actLeave:
		return fmt.Sprintf("left run %d of %s in %s alone: it waits for an approval or a concurrency slot and throttle.waiting is leave", a.RunID, a.Workflow, a.Repo)
	}
	return a.Kind
}

func pastTense(a Action) string {
	switch a.Kind {
	case ActCancel:
		return fmt.Sprintf("cancelled run %d of %s in %s", a.RunID, a.Workflow, a.Repo)
	case actDisable:
		return fmt.Sprintf("disabled workflow %s (id %d) in %s", a.Workflow, a.WorkflowID, a.Repo)
	case actEnable:
		return fmt.Sprintf("re-enabled workflow %s (id %d) in %s", a.Workflow, a.WorkflowID, a.Repo)
	}
	return a.Kind
}
