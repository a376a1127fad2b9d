package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// IDToken asks the GitHub Actions runtime (ACTIONS_ID_TOKEN_REQUEST_URL,
// authorized by ACTIONS_ID_TOKEN_REQUEST_TOKEN) for an OIDC token with the
// given audience, within 30 seconds. A request URL that does not parse is a
// *gate.InputError naming the variable.
func IDToken(ctx context.Context, c *http.Client, reqURL, reqTok, audience string) (string, error) {
	u, err := url.Parse(reqURL)
	if err != nil {
		return "", &gate.InputError{Input: "ACTIONS_ID_TOKEN_REQUEST_URL", Err: err}
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+reqTok)
	resp, err := c.Do(req)
	if err != nil {
		return "", fmt.Errorf("GitHub Actions ID token: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GitHub Actions ID token: %s; check the job has permissions: id-token: write", resp.Status)
	}
	var out struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Value == "" {
		return "", errors.New("GitHub Actions ID token: answer has no token value")
	}
	return out.Value, nil
}
