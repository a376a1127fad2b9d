package demo

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// GraphCost estimates how many nodes a graph query touches: the largest
// product of the `first: N` arguments along any nesting path (a field
// without `first:` counts as one). It is a static estimate, made before
// any work, so a query bomb is refused for what it asks, not for what it
// already cost. Unbalanced braces are an error.
func GraphCost(q string) (cost float64, depth int, err error) {
	stack := []float64{1}
	pending := 1.0
	cost = 1
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '{':
			m := stack[len(stack)-1] * pending
			stack = append(stack, m)
			cost = math.Max(cost, m)
			depth = max(depth, len(stack)-1)
			pending = 1
		case c == '}':
			if len(stack) == 1 {
				return 0, 0, errors.New("unbalanced }")
			}
			stack = stack[:len(stack)-1]
			pending = 1
		case strings.HasPrefix(q[i:], "first:"):
			i += len("first:")
			for i < len(q) && q[i] == ' ' {
				i++
			}
			j := i
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n, perr := strconv.ParseFloat(q[i:j], 64)
			if perr != nil {
				return 0, 0, errors.New("first: needs a number")
			}
			pending *= math.Max(n, 1)
			i = j - 1
		}
	}
	if len(stack) != 1 {
		return 0, 0, errors.New("unbalanced {")
	}
	return cost, depth, nil
}

func (a *Abuse) handleGraph(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Query string `json:"query"`
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(b, &body)
	}
	if err != nil || strings.TrimSpace(body.Query) == "" {
		writeError(w, http.StatusBadRequest, "expected {\"query\": \"...\"}")
		return
	}
	cost, depth, err := GraphCost(body.Query)
	if err != nil {
		writeError(w, http.StatusBadRequest, "query: %v", err)
		return
	}
	if a.opts.FanOutLimit > 0 && cost > float64(a.opts.FanOutLimit) {
		w.Header().Set("Retry-After", "60")
		writeError(w, http.StatusTooManyRequests, "query would touch %.3g nodes at depth %d, above the fan-out limit of %d; ask for fewer items per level", cost, depth, a.opts.FanOutLimit)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{}, "cost": cost, "depth": depth})
}
