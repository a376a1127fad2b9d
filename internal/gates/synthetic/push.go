package syntheticgate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// Push PUTs each synthetic result's exposition (WritePrometheus) to the
// Pushgateway at base, under job "releasegate_synthetic" and the gate's
// id. Results that never ran are left out. Every failed push is in the
// returned error; the push is a copy of the run, not part of its verdict.
func Push(ctx context.Context, c *http.Client, base string, results []gate.Result) error {
	var errs []error
	for i := range results {
		r := &results[i]
		var buf bytes.Buffer
		if err := WritePrometheus(&buf, r); err != nil {
			continue // nothing ran
		}
		u := strings.TrimRight(base, "/") + "/metrics/job/releasegate_synthetic/gate/" + url.PathEscape(r.Gate)
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, &buf)
		if err != nil {
			return fmt.Errorf("push to %s: %w", base, err)
		}
		req.Header.Set("Content-Type", "text/plain; version=0.0.4")
		resp, err := c.Do(req)
		if err != nil {
			errs = append(errs, fmt.Errorf("push to the Pushgateway failed: %w", err))
			continue
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			errs = append(errs, fmt.Errorf("the Pushgateway answered %d to %s; expected 2xx", resp.StatusCode, u))
		}
	}
	return errors.Join(errs...)
}
