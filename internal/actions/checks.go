package actions

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-github/v60/github"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/outbound"
	"github.com/maestro-conductor/releasegate/internal/redact"
	"github.com/maestro-conductor/releasegate/internal/report"
)

// Limits GitHub documents for check runs and commit statuses.
const (
	maxCheckSummary      = 65535
	maxCheckTitle        = 255
	maxAnnotationsPerReq = 50
	maxStatusDescription = 140
)

// Checks posts gate results as PR status checks on a commit.
type Checks struct {
	client      *github.Client
	owner, repo string
	sha         string
	// DetailsURL links each check to the workflow run.
	DetailsURL string
	// Logf reports fallbacks and failures (to stderr).
	Logf func(format string, args ...any)
}

// ErrNoToken means no GitHub token was given, so no checks are posted.
var ErrNoToken = errors.New("no GitHub token; set GITHUB_TOKEN (with checks: write or statuses: write) to post status checks")

// NewChecksFromEnv builds a Checks from the Actions environment:
// GITHUB_TOKEN, GITHUB_API_URL (GitHub Enterprise Server and tests),
// GITHUB_REPOSITORY, the commit CheckSHA picks (GITHUB_SHA, or the pull
// request's head), GITHUB_SERVER_URL and GITHUB_RUN_ID.
func NewChecksFromEnv(getenv func(string) string, hc *http.Client) (*Checks, error) {
	token := getenv("GITHUB_TOKEN")
	if token == "" {
		return nil, ErrNoToken
	}
	owner, repo, ok := strings.Cut(getenv("GITHUB_REPOSITORY"), "/")
	if !ok || owner == "" || repo == "" {
		return nil, fmt.Errorf("GITHUB_REPOSITORY is %q; expected owner/name", getenv("GITHUB_REPOSITORY"))
	}
	sha, err := checkSHA(getenv)
	if err != nil {
		return nil, err
	}
	api := getenv("GITHUB_API_URL")
	if api == "" {
		api = "https://api.github.com"
	}
	base, err := url.Parse(strings.TrimSuffix(api, "/") + "/")
	if err != nil {
		return nil, fmt.Errorf("GITHUB_API_URL %q: %w", api, err)
	}
	// error bodies are cut and sanitized before go-github quotes them in an
	// error; redirects follow the shared rule
	hc = redact.Client(hc)
	if hc.CheckRedirect == nil {
		hc.CheckRedirect = outbound.Policy{}.CheckRedirect()
	}
	c := github.NewClient(hc).WithAuthToken(token)
	c.BaseURL = base
	ch := &Checks{client: c, owner: owner, repo: repo, sha: sha, Logf: func(string, ...any) {}}
	if s, id := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_RUN_ID"); s != "" && id != "" {
		ch.DetailsURL = fmt.Sprintf("%s/%s/%s/actions/runs/%s", s, owner, repo, id)
	}
	return ch, nil
}

// conclusion maps a gate status to a check-run conclusion.
func conclusion(r *gate.Result) string {
	switch r.Status {
	case gate.StatusPass:
		return "success"
	case gate.StatusWarn:
		return "neutral"
	case gate.StatusSkip:
		return "skipped"
	}
	if !r.Required {
		return "neutral"
	}
	return "failure"
}

// statusState maps a gate status to a commit-status state.
func statusState(r *gate.Result) string {
	switch {
	case r.Status == gate.StatusError && r.Required:
		return "error"
	case r.Status.Blocks() && r.Required:
		return "failure"
	}
	return "success"
}

// CheckRunOptions builds the check-run payload for a result.
func (c *Checks) CheckRunOptions(r *gate.Result) github.CreateCheckRunOptions {
	var sb strings.Builder
	_ = report.ResultMarkdown(&sb, r)
	title := clip(fmt.Sprintf("%s %s: %s", r.Status.Symbol(), r.Gate, r.Summary), maxCheckTitle)
	opts := github.CreateCheckRunOptions{
		Name:       "releasegate / " + r.Gate,
		HeadSHA:    c.sha,
		Status:     github.String("completed"),
		Conclusion: github.String(conclusion(r)),
		Output: &github.CheckRunOutput{
			Title:   github.String(title),
			Summary: github.String(clip(sb.String(), maxCheckSummary)),
		},
	}
	if !r.StartedAt.IsZero() {
		opts.StartedAt = &github.Timestamp{Time: r.StartedAt}
		opts.CompletedAt = &github.Timestamp{Time: r.FinishedAt}
	}
	if c.DetailsURL != "" {
		opts.DetailsURL = github.String(c.DetailsURL)
	}
	rep := &gate.Report{Results: []gate.Result{*r}}
	for _, an := range report.Annotations(rep) {
		if an.Location.File == "" || an.Location.Line == 0 {
			continue // check-run annotations need a path and a line
		}
		if len(opts.Output.Annotations) == maxAnnotationsPerReq {
			break
		}
		level := "warning"
		if an.Level == "error" {
			level = "failure"
		}
		opts.Output.Annotations = append(opts.Output.Annotations, &github.CheckRunAnnotation{
			Path: github.String(an.Location.File), StartLine: github.Int(an.Location.Line),
			EndLine: github.Int(an.Location.Line), AnnotationLevel: github.String(level),
			Title: github.String(clip(an.Title, maxCheckTitle)), Message: github.String(clip(an.Message, 64<<10)),
		})
	}
	return opts
}

// RepoStatus builds the commit-status payload for a result.
func (c *Checks) RepoStatus(r *gate.Result) github.RepoStatus {
	st := github.RepoStatus{
		State:       github.String(statusState(r)),
		Context:     github.String("releasegate/" + r.Gate),
		Description: github.String(clip(fmt.Sprintf("%s: %s", r.Status, r.Summary), maxStatusDescription)),
	}
	if c.DetailsURL != "" {
		st.TargetURL = github.String(c.DetailsURL)
	}
	return st
}

// Post reports one result as a check run; where check runs are not
// allowed for the token (403, 404: e.g. a fork's token or a PAT without the
// Checks permission) it falls back to a commit status.
func (c *Checks) Post(ctx context.Context, r *gate.Result) error {
	_, resp, err := c.client.Checks.CreateCheckRun(ctx, c.owner, c.repo, c.CheckRunOptions(r))
	if err == nil {
		return nil
	}
	if resp == nil || (resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound) {
		return fmt.Errorf("create check run for gate %s: %w", r.Gate, err)
	}
	c.Logf("check runs are not allowed for this token (HTTP %d); posting a commit status for gate %s instead", resp.StatusCode, r.Gate)
	st := c.RepoStatus(r)
	if _, _, err := c.client.Repositories.CreateStatus(ctx, c.owner, c.repo, c.sha, &st); err != nil {
		return fmt.Errorf("create commit status for gate %s: %w", r.Gate, err)
	}
	return nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ell = "…"
	cut := s[:n-len(ell)]
	for len(cut) > 0 && cut[len(cut)-1]&0xC0 == 0x80 {
		cut = cut[:len(cut)-1]
	}
	if len(cut) > 0 && cut[len(cut)-1] >= 0xC0 {
		cut = cut[:len(cut)-1]
	}
	return cut + ell
}
