package demo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"unicode/utf8"
)

// Event is the body of POST /t/{tenant}/events.
type Event struct {
	Event string   `json:"event"`
	Value *float64 `json:"value"`
	Tags  []string `json:"tags"`
	Note  string   `json:"note"`
}

var eventNameRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// ValidateEvent checks a raw event body: size, UTF-8, nesting depth, one
// JSON object with known fields of the right types, an event name that is
// an identifier (which keeps injection strings out) and short tags.
func ValidateEvent(body []byte, maxBytes, maxDepth int) (*Event, error) {
	if len(body) > maxBytes {
		return nil, fmt.Errorf("event is larger than %d bytes", maxBytes)
	}
	if !utf8.Valid(body) {
		return nil, errors.New("event is not valid UTF-8")
	}
	if d := jsonDepth(body); d > maxDepth {
		return nil, fmt.Errorf("event nests %d levels deep, more than %d", d, maxDepth)
	}
	var e Event
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("invalid event: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid event: more than one JSON value")
	}
	switch {
	case !eventNameRE.MatchString(e.Event):
		return nil, fmt.Errorf("event name %q: expected a lowercase identifier of at most 64 characters", e.Event)
	case e.Value != nil && (math.IsNaN(*e.Value) || math.IsInf(*e.Value, 0)):
		return nil, errors.New("value must be a finite number")
	case len(e.Tags) > 16:
		return nil, errors.New("more than 16 tags")
	}
	for _, t := range e.Tags {
		if !eventNameRE.MatchString(t) {
			return nil, fmt.Errorf("tag %q: expected a lowercase identifier", t)
		}
	}
	return &e, nil
}

// jsonDepth is the deepest nesting of objects and arrays, ignoring
// brackets inside strings.
func jsonDepth(b []byte) int {
	depth, deepest, inStr, esc := 0, 0, false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

func (a *Abuse) handleEvent(w http.ResponseWriter, r *http.Request) {
	t := tenantOf(r)
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(a.opts.MaxEventBytes)+1))
	if err != nil {
		a.reject(w, t.name, fmt.Errorf("reading the body: %v", err))
		return
	}
	if a.opts.Validate {
		if _, err := ValidateEvent(body, a.opts.MaxEventBytes, a.opts.MaxDepth); err != nil {
			a.reject(w, t.name, err)
			return
		}
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": true})
}

// reject answers 400 and audits the rejection.
func (a *Abuse) reject(w http.ResponseWriter, tenant string, err error) {
	if a.opts.Audit {
		a.counter(tenant).Add(1)
	}
	writeError(w, http.StatusBadRequest, "%v", err)
}
