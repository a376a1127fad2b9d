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

// UpdateIssueBody replaces the body of issue number in repo ("owner/name")
// and returns the issue's html_url.
func (u *IssueUpdater) UpdateIssueBody(ctx context.Context, repo string, number int, body string) (string, error) {
	if u.Token == "" {
		return "", fmt.Errorf("no GitHub token; set GITHUB_TOKEN to a token that may write issues")
	}
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("repository %q: expected owner/name (set --repo or GITHUB_REPOSITORY)", repo)
	}
	if number <= 0 {
		return "", fmt.Errorf("issue number %d: expected a positive number", number)
	}
	api := strings.TrimSuffix(firstNonEmpty(u.APIURL, "https://api.github.com"), "/")
	reqBody, err := json.Marshal(map[string]string{"body": body})
	if err != nil {
		return "", err
	}
	url := fmt.Sprintf("%s/repos/%s/%s/issues/%d", api, owner, name, number)
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, url, bytes.NewReader(reqBody))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+u.Token)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Content-Type", "application/json")
	c := u.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("update issue %s#%d: %w", repo, number, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(data, &e)
		return "", fmt.Errorf("update issue %s#%d: GitHub answered %s: %s; check the token may write issues in %s", repo, number, resp.Status, firstNonEmpty(e.Message, "(no message)"), repo)
	}
	var out struct {
		HTMLURL string `json:"html_url"`
		Body    string `json:"body"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return "", fmt.Errorf("update issue %s#%d: answer is not an issue: %v", repo, number, err)
	}
	return out.HTMLURL, nil
}
