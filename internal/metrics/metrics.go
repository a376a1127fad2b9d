// Package metrics evaluates PromQL instant queries against a source: the
// Prometheus HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics) or an
// in-process PromQL engine over a metrics file.
//
// A source never turns a fault into a number: an unreachable server, a
// timeout, a "status":"error" reply, a partial response or warnings are
// errors, and an empty result is an empty Vector, never 0. The gates decide
// what an empty result or NaN means for a check.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Source answers PromQL instant queries.
type Source interface {
	// Query evaluates q at time at and returns an instant vector. A scalar
	// result is returned as one sample without labels.
	Query(ctx context.Context, q string, at time.Time) (Vector, error)
	// Now is the evaluation time a query made now should use. A file source
	// answers with its fixed evaluation time (the newest sample unless set),
	// so results are reproducible; a live source answers time.Now().
	Now() time.Time
	// Fixed reports whether the source's time stands still (a file), in
	// which case repeated measurements step back through history instead of
	// waiting.
	Fixed() bool
	// String names the source for results and evidence (a URL or a file).
	String() string
}

// Sample is one element of an instant vector.
type Sample struct {
	// Labels of the series (without __name__ after most functions).
	Labels map[string]string
	// Value may be NaN or ±Inf; callers must not treat those as numbers.
	Value float64
}

// Vector is an instant vector, in no particular order.
type Vector []Sample

// LabelString renders the sample's labels as {a="1", b="2"}.
func (s Sample) LabelString() string {
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, s.Labels[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// Errors a source wraps; match them with errors.Is. Unreachable and timeout
// faults also wrap gate.ErrUnreachable and gate.ErrTimeout.
var (
	// ErrQuery means the server refused or failed the query
	// ("status":"error", a 4xx or 5xx reply, a bad PromQL expression).
	ErrQuery = errors.New("query failed")
	// ErrPartial means the server answered with warnings or a partial
	// response; the data may be incomplete and is never judged.
	ErrPartial = errors.New("partial response")
	// ErrMalformed means the server's reply could not be decoded.
	ErrMalformed = errors.New("malformed response")
	// ErrResultType means the query returned something other than an
	// instant vector or scalar (a matrix or a string).
	ErrResultType = errors.New("unexpected result type")
)

// ParseQuery parses a PromQL expression with the same parser the in-process
// engine uses.
func ParseQuery(q string) (parser.Expr, error) {
	return promParser.ParseExpr(q)
}

var promParser = parser.NewParser(parser.Options{})

// WithMatchers returns q with the label matchers of selector (written like
// `track="canary", region=~"eu.*"`) added to every vector selector in it.
// It is how one query is evaluated for a canary and for its baseline.
func WithMatchers(q, selector string) (string, error) {
	expr, err := promParser.ParseExpr(q)
	if err != nil {
		return "", fmt.Errorf("query %q: %w", q, err)
	}
	sel := strings.TrimSpace(selector)
	if !strings.HasPrefix(sel, "{") {
		sel = "{" + sel + "}"
	}
	ms, err := promParser.ParseMetricSelector(sel)
	if err != nil {
		return "", fmt.Errorf("selector %q: expected label matchers such as track=\"canary\": %w", selector, err)
	}
	n := 0
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok {
			vs.LabelMatchers = append(vs.LabelMatchers, cloneMatchers(ms)...)
			n++
		}
		return nil
	})
	if n == 0 {
		return "", fmt.Errorf("query %q has no series selector to add %s to", q, sel)
	}
	return expr.String(), nil
}

func cloneMatchers(ms []*labels.Matcher) []*labels.Matcher {
	out := make([]*labels.Matcher, len(ms))
	for i, m := range ms {
		c := *m
		out[i] = &c
	}
	return out
}

// Selectors returns the distinct series selectors of q as PromQL instant
// selectors. Gates ask for them at the evaluation time to tell data that
// went stale (no sample within the lookback, or a staleness marker) from
// data that is there. Selectors that read the present (no offset, no @)
// come first; the others are returned, with their modifiers (`x{code="500"}
// offset 1d`), only when the query has none that read the present.
func Selectors(q string) ([]string, error) {
	expr, err := promParser.ParseExpr(q)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var now, shifted []string
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			s := vs.String()
			if !seen[s] {
				seen[s] = true
				if vs.OriginalOffset == 0 && vs.OriginalOffsetExpr == nil && vs.Timestamp == nil && vs.StartOrEnd == 0 {
					now = append(now, s)
				} else {
					shifted = append(shifted, s)
				}
			}
		}
		return nil
	})
	if len(now) > 0 {
		return now, nil
	}
	return shifted, nil
}
