package demo

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

func knobsOut(k Knobs) map[string]any {
	return map[string]any{"latency_ms": float64(k.Latency) / float64(time.Millisecond), "error_rate": k.ErrorRate}
}

func (s *Service) handleListKnobs(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{}
	for _, name := range s.Tenants() {
		k, _ := s.Knobs(name)
		out[name] = knobsOut(k)
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenants": out})
}

func (s *Service) handleGetKnobs(w http.ResponseWriter, r *http.Request) {
	k, err := s.Knobs(r.PathValue("tenant"))
	if err != nil {
		writeError(w, http.StatusNotFound, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, knobsOut(k))
}

// handlePutKnobs changes the knobs given in the body; absent ones keep
// their value.
func (s *Service) handlePutKnobs(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("tenant")
	k, err := s.Knobs(name)
	if err != nil {
		writeError(w, http.StatusNotFound, "%v", err)
		return
	}
	var in knobsJSON
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "invalid knobs: %v; expected {\"latency_ms\": 50, \"error_rate\": 0.1}", strings.TrimPrefix(err.Error(), "json: "))
		return
	}
	if in.LatencyMS != nil {
		k.Latency = time.Duration(*in.LatencyMS * float64(time.Millisecond))
	}
	if in.ErrorRate != nil {
		k.ErrorRate = *in.ErrorRate
	}
	if err := s.SetKnobs(name, k); err != nil {
		code := http.StatusBadRequest
		if errors.Is(err, ErrUnknownTenant) {
			code = http.StatusNotFound
		}
		writeError(w, code, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, knobsOut(k))
}
