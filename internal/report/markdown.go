package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// Markdown writes the step summary: the verdict, a tenant × gate matrix,
// then the gates worst first with one section each, a mark per check and
// tenant, in the shape of the release checklist. Every link points at a
// heading's anchor as GitHub computes it.
func Markdown(w io.Writer, rep *gate.Report) error {
	ew := &errWriter{w: w}
	slugs := newSlugger()
	title := fmt.Sprintf("%s Release gate: %s", rep.Status.Symbol(), label(rep.Status))
	slugs.Slug(title)
	ew.printf("## %s\n\n", title)
	ew.printf("%s.", strings.ToUpper(countLine(rep.Results)[:1])+countLine(rep.Results)[1:])
	if rep.Policy.Name != "" {
		ew.printf(" Policy `%s` (`%s`).", rep.Policy.Name, shortDigest(rep.Policy.Digest))
	}
	if rep.Run != nil && rep.Run.URL != "" {
		ew.printf(" [Workflow run](%s) (its artifacts hold the evidence).", rep.Run.URL)
	}
	ew.printf("\n\n")
	results := WorstFirst(rep.Results)
	anchors := make([]string, len(results))
	for i, r := range results {
		anchors[i] = slugs.Slug(r.Gate)
	}
	matrix(ew, results, anchors)
	checksChart(ew, results)
	ew.printf("| | Gate | Group | Result | Time |\n|---|---|---|---|---|\n")
	for i, r := range results {
		opt := ""
		if !r.Required {
			opt = " (optional)"
		}
		ew.printf("| %s | [%s](#%s)%s | %s | %s | %s |\n", r.Status.Symbol(), cell(r.Gate), anchors[i], opt,
			cell(r.Group), cell(r.Summary), Elapsed(&r))
	}
	for _, r := range results {
		ew.printf("\n### %s\n\n", cell(r.Gate))
		ew.printf("%s **%s**%s · %s\n\n", r.Status.Symbol(), r.Status, optional(r.Required), Elapsed(&r))
		gateSection(ew, &r)
	}
	return ew.err
}

func optional(required bool) string {
	if required {
		return ""
	}
	return " (optional)"
}

// matrix writes the tenant × gate table: one row per gate, one column per
// tenant named by a check (and one for checks that name none), each cell
// the worst status of that gate's checks for that tenant.
func matrix(ew *errWriter, results []gate.Result, anchors []string) {
	m := NewMatrix(results)
	if len(m.Tenants) == 0 {
		return
	}
	ew.printf("**Tenant × gate** (%s)\n\n| Gate | Result |", legend())
	for _, t := range m.Tenants {
		ew.printf(" %s |", cell(m.TenantLabel(t)))
	}
	ew.printf("\n|---|---|%s\n", strings.Repeat("---|", len(m.Tenants)))
	for i, r := range results {
		ew.printf("| [%s](#%s) | %s %s |", cell(r.Gate), anchors[i], r.Status.Symbol(), r.Status)
		for _, t := range m.Tenants {
			s, ok := m.Cell(i, t)
			if !ok {
				ew.printf(" — |")
				continue
			}
			ew.printf(" %s |", s.Symbol())
		}
		ew.printf("\n")
	}
	ew.printf("\n")
}

// checksChart writes a Mermaid bar chart (GitHub renders ```mermaid
// blocks) of each gate's checks: all of them, and in front the ones that
// passed, so a gate's failing checks show as the uncovered part of its bar.
// Gates without checks are left out; with none left there is no chart.
func checksChart(ew *errWriter, results []gate.Result) {
	var names []string
	var total, passed []string
	maxTotal := 0
	for _, r := range results {
		if len(r.Checks) == 0 {
			continue
		}
		names = append(names, strconv.Quote(strings.NewReplacer(`"`, "'", "\n", " ", "\r", "").Replace(r.Gate)))
		total = append(total, strconv.Itoa(len(r.Checks)))
		passed = append(passed, strconv.Itoa(r.Counts()[gate.StatusPass]))
		maxTotal = max(maxTotal, len(r.Checks))
	}
	if len(names) == 0 {
		return
	}
	ew.printf("```mermaid\nxychart-beta\n    title \"Checks per gate: all (back), passed (front)\"\n")
	ew.printf("    x-axis [%s]\n    y-axis \"checks\" 0 --> %d\n", strings.Join(names, ", "), maxTotal)
	ew.printf("    bar [%s]\n    bar [%s]\n```\n\n", strings.Join(total, ", "), strings.Join(passed, ", "))
}

func legend() string {
	var parts []string
	for i := len(gate.Statuses()) - 1; i >= 0; i-- {
		parts = append(parts, gate.Statuses()[i].Symbol()+" "+string(gate.Statuses()[i]))
	}
	return strings.Join(append(parts, "— no check"), " · ")
}

// ResultMarkdown writes one gate's section: its summary and checks table.
// Check runs use it as their summary.
func ResultMarkdown(w io.Writer, r *gate.Result) error {
	ew := &errWriter{w: w}
	gateSection(ew, r)
	return ew.err
}

func gateSection(ew *errWriter, r *gate.Result) {
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
		ew.printf("| %s | %s | %s | %s | %s | %s |\n", c.Status.Symbol(), cell(c.Name), cell(c.Tenant),
			cell(Observed(&c)), cell(c.Expected), cell(c.Message))
	}
}

// Observed formats a check's observed value with its unit. An absent value
// reads "no data" on a check that did not pass, and "—" on a passing check,
// which judged something other than a measured value (a rule file parsed,
// an alert defined): "no data" beside a pass would read as a fail-open.
func Observed(c *gate.Check) string {
	if c.Observed.IsZero() {
		if c.Status == gate.StatusPass {
			return "—"
		}
		return "no data"
	}
	obs := c.Observed.String()
	if c.Unit != "" {
		obs += " " + c.Unit
	}
	return obs
}

// cell makes s safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	s = strings.ReplaceAll(s, "\n", "<br>")
	s = strings.ReplaceAll(s, "|", `\|`)
	return s
}

func shortDigest(d string) string {
	if i := strings.IndexByte(d, ':'); i >= 0 && len(d) > i+13 {
		return d[:i+13]
	}
	return d
}

// annotation is a message attached to a file position, rendered by GitHub
// as an error or warning on the policy line of a failed check.
type annotation struct {
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
func Annotations(rep *gate.Report) []annotation {
	var out []annotation
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
			out = append(out, annotation{Level: level(r.Status), Location: loc,
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
			out = append(out, annotation{Level: level(c.Status), Location: l,
				Title:   fmt.Sprintf("gate %s: %s%s %s", r.Gate, tenantPrefix(c.Tenant), c.Name, c.Status),
				Message: c.Message})
		}
	}
	return out
}
