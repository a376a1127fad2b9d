package actions

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
)

// commitSHA is a full commit id.
var commitSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// checkSHA is the commit status checks belong on: where the people who
// decide look. On pull_request and pull_request_target events GITHUB_SHA
// is the merge commit GitHub made, which the pull request never shows, so
// it is the event's pull_request.head.sha; on workflow_run it is the
// triggering run's workflow_run.head_sha; otherwise GITHUB_SHA. An event
// of those kinds whose payload cannot be read is an error, not a silent
// fall-back to a commit nobody sees.
func checkSHA(getenv func(string) string) (string, error) {
	var path []string
	switch event := getenv("GITHUB_EVENT_NAME"); event {
	case "pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment":
		path = []string{"pull_request", "head", "sha"}
	case "workflow_run":
		path = []string{"workflow_run", "head_sha"}
	default:
		sha := getenv("GITHUB_SHA")
		if len(sha) < 7 {
			return "", fmt.Errorf("GITHUB_SHA is %q; expected a commit sha", sha)
		}
		return sha, nil
	}
	file := getenv("GITHUB_EVENT_PATH")
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s event: reading its payload (GITHUB_EVENT_PATH %q): %w", getenv("GITHUB_EVENT_NAME"), file, err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Errorf("%s event payload %s: %w", getenv("GITHUB_EVENT_NAME"), file, err)
	}
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	sha, _ := v.(string)
	if !commitSHA.MatchString(sha) {
		return "", fmt.Errorf("%s event payload %s: expected a commit sha at %v, found %v", getenv("GITHUB_EVENT_NAME"), file, path, v)
	}
	return sha, nil
}
