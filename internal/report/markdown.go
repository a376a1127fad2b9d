package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// Markdown writes the step summary: the verdict, then one table per gate
// with a mark per check and tenant, in the shape of the release checklist.
func Markdown(w io.Writer, rep *gate.Report) error {
	ew := &errWriter{w: w}
	ew.printf("## %s Release gate: %s\n\n", rep.Status.Symbol(), label(rep.Status))
	ew.printf("%s.", strings.ToUpper(countLine(rep.Results)[:1])+countLine(rep.Results)[1:])
	if rep.Policy.Name != "" {
		ew.printf(" Policy `%s` (`%s`).", rep.Policy.Name, shortDigest(rep.Policy.Digest))
	}
	ew.printf("\n\n")
	ew.printf("| | Gate | Group | Result | Time |\n|---|---|---|---|---|\n")
	for _, r := range rep.Results {
		opt := ""
		if !r.Required {
			opt = " (optional)"
		}
		ew.printf("| %s | [%s](#%s)%s | %s | %s | %s |\n", r.Status.Symbol(), cell(r.Gate), anchor(r.Gate), opt,
			cell(r.Group), cell(r.Summary), fmtDuration(r.DurationMS))
	}
	for _, r := range rep.Results {
		ew.printf("\n### %s %s\n\n", r.Status.Symbol(), cell(r.Gate))
		gateSection(ew, &r)
	}
	return ew.err
}

// ResultMarkdown writes one gate's section: its summary and checks table.
// Check runs use it as their summary.
func ResultMarkdown(w io.Writer, r *gate.Result) error {
	ew := &errWriter{w: w}
	gateSection(ew, r)
	return ew.err
}

func gateSection(ew *errWriter, r *gate.Result) {
	{
		if r.Summary != "" {
			ew.printf("%s\n\n", cell(r.Summary))
		}
		if r.Error != "" && r.Error != strings.TrimPrefix(r.Summary, "could not evaluate: ") {
			ew.printf("> could not evaluate: %s\n\n", cell(r.Error))
		}
		if len(r.Checks) == 0 {
			return
		}
		ew.printf("| | Check | Tenant | Observed | Expected | Message |\n|---|---|---|---|---|---|\n")
		for _, c := range r.Checks {
			obs := c.Observed.String()
			if c.Unit != "" && !c.Observed.IsZero() {
				obs += " " + c.Unit
			}
			ew.printf("| %s | %s | %s | %s | %s | %s |\n", c.Status.Symbol(), cell(c.Name), cell(c.Tenant),
				cell(obs), cell(c.Expected), cell(c.Message))
		}
	}
}

// cell makes s safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	s = strings.ReplaceAll(s, "\n", "<br>")
	s = strings.ReplaceAll(s, "|", `\|`)
	return s
}

func anchor(id string) string {
	return strings.ToLower(strings.ReplaceAll(id, " ", "-"))
}

func shortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

// Annotation is a message attached to a file position, rendered by GitHub
// as an error or warning on the policy line of a failed check.
type Annotation struct {
	// Level is "error", "warning" or "notice".
	Level string
	// Title is a short heading, e.g. "gate health failed".
	Title string
	// Message is the check's message.
	Message string
	// Location is the policy line the annotation points at.
	Location gate.Location
}

// Annotations returns one annotation per check that did not pass, and one
// per gate that could not be evaluated, pointing at the policy line that
// declared it. Passing checks produce none.
func Annotations(rep *gate.Report) []Annotation {
	var out []Annotation
	for _, r := range rep.Results {
		var loc gate.Location
		if r.Location != nil {
			loc = *r.Location
		}
		level := func(s gate.Status) string {
			if s.Blocks() && r.Required {
				return "error"
			}
			return "warning"
		}
		if r.Status == gate.StatusError || r.Status == gate.StatusSkip || len(r.Checks) == 0 && r.Status != gate.StatusPass {
			out = append(out, Annotation{Level: level(r.Status), Location: loc,
				Title: fmt.Sprintf("gate %s: %s", r.Gate, r.Status), Message: r.Summary})
			continue
		}
		for _, c := range r.Checks {
			if c.Status == gate.StatusPass {
				continue
			}
			l := loc
			if c.Location != nil {
				l = *c.Location
			}
			out = append(out, Annotation{Level: level(c.Status), Location: l,
				Title:   fmt.Sprintf("gate %s: %s%s %s", r.Gate, tenantPrefix(c.Tenant), c.Name, c.Status),
				Message: c.Message})
		}
	}
	return out
}
