package demo

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Item is one tenant item.
type Item struct {
	ID        int       `json:"id"`
	Name      string    `json:"name"`
	Value     float64   `json:"value"`
	CreatedAt time.Time `json:"created_at"`
}

// NewItem is the body of POST /t/{tenant}/items.
type NewItem struct {
	Name  string   `json:"name"`
	Value *float64 `json:"value"`
}

// MaxNameLen bounds an item's name in bytes.
const MaxNameLen = 200

// Validate checks a new item.
func (n NewItem) Validate() error {
	switch {
	case strings.TrimSpace(n.Name) == "":
		return errors.New("name is required and must not be blank")
	case len(n.Name) > MaxNameLen:
		return errors.New("name is longer than 200 bytes")
	case !utf8.ValidString(n.Name):
		return errors.New("name is not valid UTF-8")
	case n.Value != nil && (math.IsNaN(*n.Value) || math.IsInf(*n.Value, 0)):
		return errors.New("value must be a finite number")
	}
	return nil
}

func (s *Service) handleListItems(w http.ResponseWriter, r *http.Request) {
	t := tenantOf(r)
	t.mu.Lock()
	items := append([]Item{}, t.items...)
	t.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"tenant": t.name, "count": len(items), "items": items})
}

func (s *Service) handleAddItem(w http.ResponseWriter, r *http.Request) {
	t := tenantOf(r)
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "content type %q; send application/json", ct)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the body: %v", err)
		return
	}
	if int64(len(body)) > s.opts.MaxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "body is larger than %d bytes", s.opts.MaxBody)
		return
	}
	var n NewItem
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		writeError(w, http.StatusBadRequest, "invalid item: %v; expected {\"name\": \"...\", \"value\": 1.5}", err)
		return
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "invalid item: more than one JSON value")
		return
	}
	if err := n.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "invalid item: %v", err)
		return
	}
	t.mu.Lock()
	if len(t.items) >= s.opts.MaxItems {
		t.mu.Unlock()
		writeError(w, http.StatusInsufficientStorage, "tenant %s has %d items, the most it may keep", t.name, s.opts.MaxItems)
		return
	}
	t.nextID++
	it := Item{ID: t.nextID, Name: n.Name, CreatedAt: s.opts.Now().UTC()}
	if n.Value != nil {
		it.Value = *n.Value
	}
	t.items = append(t.items, it)
	t.mu.Unlock()
	writeJSON(w, http.StatusCreated, it)
}
