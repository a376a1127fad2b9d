package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// IssueUpdater updates a GitHub issue's body through the REST API ("Update
// an issue": PATCH /repos/{owner}/{repo}/issues/{number}).
type IssueUpdater struct {
	// APIURL is GITHUB_API_URL (https://api.github.com by default; GitHub
	// Enterprise Server and tests set their own).
	APIURL string
	// Token authenticates; it is sent only in the Authorization header and
	// never printed.
	Token string
	// Client is the HTTP client.
	Client *http.Client
}

// The generated checklist lives between these markers in an issue body;
// text outside them (the team's own notes) is kept on every update.
const (
	ChecklistStart = "<!-- releasegate:checklist:start (generated; edits inside are replaced) -->"
	ChecklistEnd   = "<!-- releasegate:checklist:end -->"
)

// MergeChecklist puts the checklist md into body between the markers:
// replacing the block when body has one, appended after the body when it
// has none. Everything outside the block is kept byte for byte.
func MergeChecklist(body, md string) string {
	block := ChecklistStart + "\n" + strings.TrimRight(md, "\n") + "\n" + ChecklistEnd
	if i := strings.Index(body, ChecklistStart); i >= 0 {
		if j := strings.Index(body[i:], ChecklistEnd); j >= 0 {
			return body[:i] + block + body[i+j+len(ChecklistEnd):]
		}
	}
	if strings.TrimSpace(body) == "" {
		return block + "\n"
	}
	return strings.TrimRight(body, "\n") + "\n\n" + block + "\n"
}

// UpdateIssueChecklist writes the checklist md into issue number of repo
// ("owner/name") in place: it reads the issue's body, replaces the
// generated block (or appends it the first time), keeps everything else,
// and updates the issue only when the body changed. It returns the issue's
// html_url.
func (u *IssueUpdater) UpdateIssueChecklist(ctx context.Context, repo string, number int, md string) (string, error) {
	cur, err := u.do(ctx, http.MethodGet, repo, number, nil)
	if err != nil {
		return "", fmt.Errorf("read issue %s#%d: %w", repo, number, err)
	}
	body := MergeChecklist(cur.Body, md)
	if body == cur.Body {
		return cur.HTMLURL, nil
	}
	out, err := u.do(ctx, http.MethodPatch, repo, number, map[string]string{"body": body})
	if err != nil {
		return "", fmt.Errorf("update issue %s#%d: %w", repo, number, err)
	}
	return out.HTMLURL, nil
}

// UpdateIssueBody replaces the whole body of issue number in repo
// ("owner/name") and returns the issue's html_url.
func (u *IssueUpdater) UpdateIssueBody(ctx context.Context, repo string, number int, body string) (string, error) {
	out, err := u.do(ctx, http.MethodPatch, repo, number, map[string]string{"body": body})
	if err != nil {
		return "", fmt.Errorf("update issue %s#%d: %w", repo, number, err)
	}
	return out.HTMLURL, nil
}

type issue struct {
	HTMLURL string `json:"html_url"`
	Body    string `json:"body"`
}

// do sends one request about an issue ("Get an issue" or "Update an
// issue") and decodes the issue GitHub answers with.
func (u *IssueUpdater) do(ctx context.Context, method, repo string, number int, payload any) (*issue, error) {
	if u.Token == "" {
		return nil, fmt.Errorf("no GitHub token; set GITHUB_TOKEN to a token that may write issues")
	}
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("repository %q: expected owner/name (set --repo or GITHUB_REPOSITORY)", repo)
	}
	if number <= 0 {
		return nil, fmt.Errorf("issue number %d: expected a positive number", number)
	}
	api := strings.TrimSuffix(firstNonEmpty(u.APIURL, "https://api.github.com"), "/")
	var rd io.Reader
	if payload != nil {
		b, err := json.Marshal(payload)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	url := fmt.Sprintf("%s/repos/%s/%s/issues/%d", api, owner, name, number)
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+u.Token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := u.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &e)
		return nil, fmt.Errorf("GitHub answered %s: %s; check the issue exists and the token may write issues in %s", resp.Status, firstNonEmpty(e.Message, "(no message)"), repo)
	}
	var out issue
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("answer is not an issue: %w", err)
	}
	return &out, nil
}
