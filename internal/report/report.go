// Package report renders gate Results for people and machines: plain text
// for terminals, one JSON document, a Markdown step summary that reads like
// the release checklist, and annotations. Renderers only read Results; they
// never recompute a status.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// Formats returns the values accepted by --format.
func Formats() []string { return []string{"text", "json", "markdown"} }

// Write renders rep in the named format.
func Write(w io.Writer, format string, rep *gate.Report) error {
	switch format {
	case "text", "":
		return writeText(w, rep)
	case "json":
		return JSON(w, rep)
	case "markdown", "md":
		return Markdown(w, rep)
	}
	return fmt.Errorf("unknown format %q; expected one of %s", format, strings.Join(Formats(), ", "))
}

// JSON writes the report as one indented JSON document.
func JSON(w io.Writer, rep *gate.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(rep)
}

// ResultJSON writes one gate's result as an indented JSON document.
func ResultJSON(w io.Writer, r *gate.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// label is the uppercase status word used in text output.
func label(s gate.Status) string {
	switch s {
	case gate.StatusPass:
		return "PASSED"
	case gate.StatusWarn:
		return "WARNED"
	case gate.StatusSkip:
		return "SKIPPED"
	case gate.StatusError:
		return "ERROR"
	}
	return "FAILED"
}

// writeText writes a terminal-friendly report: one line per gate, then the
// checks that did not pass, then the verdict.
func writeText(w io.Writer, rep *gate.Report) error {
	ew := &errWriter{w: w}
	for _, r := range rep.Results {
		ew.printf("%s %-7s %s (%s", r.Status.Symbol(), label(r.Status), r.Gate, r.Kind)
		if r.Group != "" {
			ew.printf(", %s", r.Group)
		}
		if !r.Required {
			ew.printf(", optional")
		}
		ew.printf(") %s\n", Elapsed(&r))
		if r.Summary != "" {
			ew.printf("    %s\n", r.Summary)
		}
		for _, c := range r.Checks {
			if c.Status == gate.StatusPass {
				continue
			}
			ew.printf("    %s %s%s: %s\n", c.Status.Symbol(), tenantPrefix(c.Tenant), c.Name, c.Message)
		}
	}
	ew.printf("\n%s release gate: %s (%s)\n", rep.Status.Symbol(), label(rep.Status), countLine(rep.Results))
	return ew.err
}

func tenantPrefix(t string) string {
	if t == "" {
		return ""
	}
	return "tenant " + t + ": "
}

// countLine says how many gates ended in each status, worst first.
func countLine(rs []gate.Result) string {
	counts := map[gate.Status]int{}
	for _, r := range rs {
		counts[r.Status]++
	}
	var parts []string
	for i := len(gate.Statuses()) - 1; i >= 0; i-- {
		s := gate.Statuses()[i]
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	if len(parts) == 0 {
		return "no gates"
	}
	return fmt.Sprintf("%d gates: %s", len(rs), strings.Join(parts, ", "))
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
