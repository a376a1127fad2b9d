package checklist

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// Approval is one review of a deployment environment: an entry of GitHub's
// "Get the review history for a workflow run"
// (GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals).
type Approval struct {
	// State is "approved" or "rejected".
	State string
	// User is the reviewer's login.
	User string
	// Environments are the environments the review was for.
	Environments []string
	// Comment is the reviewer's comment.
	Comment string
	// Time is when the review was given. GitHub's review history does not
	// carry one; it is read from submitted_at (or created_at) when the
	// file has it, and is otherwise zero (shown as "not recorded").
	Time time.Time
}

// ParseApprovals reads the review history JSON (an array). Reviews whose
// state is neither approved nor rejected, or without a reviewer login, are
// refused: a sign-off is filled only from a real review.
func ParseApprovals(name string, data []byte) ([]Approval, error) {
	var raw []struct {
		State        string `json:"state"`
		Comment      string `json:"comment"`
		SubmittedAt  string `json:"submitted_at"`
		CreatedAt    string `json:"created_at"`
		Environments []struct {
			Name string `json:"name"`
		} `json:"environments"`
		User *struct {
			Login string `json:"login"`
		} `json:"user"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &gate.InputError{Input: name, Err: fmt.Errorf("expected the JSON array GitHub returns for GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals: %w", err)}
	}
	out := make([]Approval, 0, len(raw))
	for i, r := range raw {
		if r.State != "approved" && r.State != "rejected" {
			return nil, &gate.InputError{Input: name, Err: fmt.Errorf("review %d: state %q; expected approved or rejected", i, r.State)}
		}
		if r.User == nil || strings.TrimSpace(r.User.Login) == "" {
			return nil, &gate.InputError{Input: name, Err: fmt.Errorf("review %d: no user.login; a sign-off needs the reviewer", i)}
		}
		a := Approval{State: r.State, User: r.User.Login, Comment: r.Comment}
		for _, e := range r.Environments {
			a.Environments = append(a.Environments, e.Name)
		}
		if ts := firstNonEmpty(r.SubmittedAt, r.CreatedAt); ts != "" {
			t, err := time.Parse(time.RFC3339, ts)
			if err != nil {
				return nil, &gate.InputError{Input: name, Err: fmt.Errorf("review %d: time %q: expected RFC 3339: %w", i, ts, err)}
			}
			a.Time = t.UTC()
		}
		out = append(out, a)
	}
	return out, nil
}

// signOff fills the roles from the approvals in order: each review fills
// the first open row whose environment (when the row names one) it was
// given for. Rows no review fills stay open.
func signOff(roles []Role, approvals []Approval) []SignRow {
	rows := make([]SignRow, len(roles))
	for i, r := range roles {
		rows[i] = SignRow{Role: r.Role}
	}
	for _, a := range approvals {
		for i, r := range roles {
			if rows[i].Name != "" || (r.Environment != "" && !contains(a.Environments, r.Environment)) {
				continue
			}
			row := &rows[i]
			row.Name, row.Time, row.Comment = a.User, a.Time, a.Comment
			row.Environment = strings.Join(a.Environments, ", ")
			if a.State == "approved" {
				row.Decision, row.Status = "go (approved)", gate.StatusPass
			} else {
				row.Decision, row.Status = "no-go (rejected)", gate.StatusFail
			}
			break
		}
	}
	return rows
}
