package actions

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheckSHA(t *testing.T) {
	t.Parallel()
	const (
		merge = "1111111111111111111111111111111111111111"
		head  = "2222222222222222222222222222222222222222"
		run   = "3333333333333333333333333333333333333333"
	)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pr := write("pr.json", `{"pull_request": {"head": {"sha": "`+head+`"}, "merge_commit_sha": "`+merge+`"}}`)
	wr := write("run.json", `{"workflow_run": {"head_sha": "`+run+`"}}`)
	bad := write("bad.json", `{"pull_request": {}}`)
	cases := []struct {
		name, event, path, want string
		fails                   bool
	}{
		{"a push posts on GITHUB_SHA", "push", "", merge, false},
		{"a pull request posts on its head, not the merge commit", "pull_request", pr, head, false},
		{"pull_request_target too", "pull_request_target", pr, head, false},
		{"workflow_run posts on the commit the triggering run ran for", "workflow_run", wr, run, false},
		{"a pull request whose payload lacks the head is an error", "pull_request", bad, "", true},
		{"a pull request without a payload is an error", "pull_request", filepath.Join(dir, "absent.json"), "", true},
	}
	for _, tc := range cases {
		env := map[string]string{"GITHUB_EVENT_NAME": tc.event, "GITHUB_EVENT_PATH": tc.path, "GITHUB_SHA": merge}
		got, err := checkSHA(func(k string) string { return env[k] })
		if tc.fails != (err != nil) || got != tc.want {
			t.Errorf("%s: expected %q (error %v), found %q, %v", tc.name, tc.want, tc.fails, got, err)
		}
	}
}
