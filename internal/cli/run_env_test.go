package cli

import "testing"

func TestRunFromEnv(t *testing.T) {
	t.Parallel()
	full := map[string]string{"GITHUB_SERVER_URL": "https://github.com/", "GITHUB_REPOSITORY": "o/r", "GITHUB_RUN_ID": "42"}
	cases := []struct {
		name  string
		unset string
		repo  string
		want  string
	}{
		{name: "all set", want: "https://github.com/o/r/actions/runs/42"},
		{name: "no server", unset: "GITHUB_SERVER_URL"},
		{name: "no repository", unset: "GITHUB_REPOSITORY"},
		{name: "no run id", unset: "GITHUB_RUN_ID"},
		{name: "repository not owner/name", repo: "o"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			getenv := func(k string) string {
				if k == tc.unset {
					return ""
				}
				if k == "GITHUB_REPOSITORY" && tc.repo != "" {
					return tc.repo
				}
				return full[k]
			}
			run := runFromEnv(getenv)
			switch {
			case tc.want == "" && run != nil:
				t.Errorf("got run %+v, want none", run)
			case tc.want != "" && (run == nil || run.URL != tc.want):
				t.Errorf("got run %+v, want URL %s", run, tc.want)
			}
		})
	}
}
