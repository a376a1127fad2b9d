package checklist

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// Open is how a blank nobody filled is shown.
const Open = "_____"

// notCheckedSymbol marks a box no gate answers: visibly not a tick.
const notCheckedSymbol = "➖"

// Markdown writes the filled checklist's sections. extra adds Markdown
// lines at the end of the section with that id (e.g. the evidence bundle's
// files); heading is the Markdown heading prefix of a section ("##").
func (f *Filled) Markdown(w io.Writer, heading string, extra map[string][]string) error {
	ew := &errWriter{w: w}
	for _, s := range f.Sections {
		ew.printf("%s %s\n\n", heading, md(s.Title))
		for _, b := range s.Boxes {
			ew.printf("%s\n", boxLine(b))
		}
		for _, l := range extra[s.ID] {
			ew.printf("%s\n", l)
		}
		if s.IsSignOff {
			if len(s.Boxes) > 0 {
				ew.printf("\n")
			}
			ew.printf("| Role | Name | Date | Decision |\n|---|---|---|---|\n")
			for _, r := range s.SignOff {
				if r.Name == "" {
					ew.printf("| %s | %s | %s | %s |\n", md(r.Role), Open, Open, Open)
					continue
				}
				dec := md(r.Decision) + " " + r.Status.Symbol()
				if r.Environment != "" {
					dec += " · environment " + md(r.Environment)
				}
				if r.Comment != "" {
					dec += " · “" + md(r.Comment) + "”"
				}
				ew.printf("| %s | @%s | %s | %s |\n", md(r.Role), md(r.Name), signTime(r.Time), dec)
			}
		}
		if len(s.Boxes) == 0 && len(extra[s.ID]) == 0 && !s.IsSignOff {
			ew.printf("_no boxes in this section_\n")
		}
		ew.printf("\n")
	}
	return ew.err
}

func signTime(t time.Time) string {
	if t.IsZero() {
		return "not recorded by GitHub"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// boxLine is a box as a Markdown task-list line.
func boxLine(b FilledBox) string {
	if !b.Checked() {
		return fmt.Sprintf("- [ ] %s **%s**: %s", notCheckedSymbol, md(b.Label), NotChecked)
	}
	tick := " "
	if b.Status == gate.StatusPass || b.Status == gate.StatusWarn {
		tick = "x"
	}
	parts := make([]string, len(b.Items))
	for i, it := range b.Items {
		parts[i] = itemMarkdown(it, b.Status)
	}
	s := fmt.Sprintf("- [%s] %s **%s**: %s", tick, b.Status.Symbol(), md(b.Label), strings.Join(parts, " · "))
	if b.Note != "" {
		s += " (" + md(b.Note) + ")"
	}
	return s + " — " + gatesMarkdown(b.Gates)
}

func itemMarkdown(it Item, boxStatus gate.Status) string {
	v := md(it.Text)
	if it.Full != "" {
		v = fmt.Sprintf(`<code title="%s">%s</code>`, template.HTMLEscapeString(it.Full), template.HTMLEscapeString(it.Text))
	}
	if it.Label != "" {
		v = md(it.Label) + " " + v
	}
	if it.Status != boxStatus || (it.Status != gate.StatusPass && it.Status != "") {
		v += " " + it.Status.Symbol()
	}
	return v
}

func gatesMarkdown(ids []string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "_" + md(id) + "_"
	}
	return strings.Join(out, ", ")
}

// md keeps text from breaking tables or turning into markup.
func md(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;", "`", "\\`").Replace(s)
}

// HTML renders the filled checklist as a fragment for report.html: one
// table per section, a box per row with the gates that answered it, the
// values (shortened hashes keep the full value in the title attribute) and
// the status.
func (f *Filled) HTML() template.HTML {
	var b strings.Builder
	e := template.HTMLEscapeString
	b.WriteString(`<div id="checklist">`)
	for _, s := range f.Sections {
		fmt.Fprintf(&b, `<h3 id="checklist-%s">%s</h3>`, e(s.ID), e(s.Title))
		if len(s.Boxes) > 0 {
			b.WriteString(`<table class="checklist"><thead><tr><th></th><th>Box</th><th>Value</th><th>Answered by</th></tr></thead><tbody>`)
			for _, x := range s.Boxes {
				if !x.Checked() {
					fmt.Fprintf(&b, `<tr class="unchecked"><td>%s</td><td>%s</td><td><em>%s</em></td><td></td></tr>`, notCheckedSymbol, e(x.Label), NotChecked)
					continue
				}
				fmt.Fprintf(&b, `<tr class="%s"><td>%s</td><td>%s</td><td>`, e(string(x.Status)), x.Status.Symbol(), e(x.Label))
				for i, it := range x.Items {
					if i > 0 {
						b.WriteString(" · ")
					}
					if it.Label != "" {
						b.WriteString(e(it.Label) + " ")
					}
					if it.Full != "" {
						fmt.Fprintf(&b, `<code title="%s">%s</code>`, e(it.Full), e(it.Text))
					} else {
						b.WriteString(e(it.Text))
					}
					if it.Status != x.Status || it.Status != gate.StatusPass {
						b.WriteString(" " + it.Status.Symbol())
					}
				}
				if x.Note != "" {
					fmt.Fprintf(&b, " (%s)", e(x.Note))
				}
				b.WriteString(`</td><td>`)
				for i, g := range x.Gates {
					if i > 0 {
						b.WriteString(", ")
					}
					fmt.Fprintf(&b, `<a href="#gate-%s">%s</a>`, e(g), e(g))
				}
				b.WriteString(`</td></tr>`)
			}
			b.WriteString(`</tbody></table>`)
		}
		if s.IsSignOff {
			b.WriteString(`<table class="signoff"><thead><tr><th>Role</th><th>Name</th><th>Date</th><th>Decision</th></tr></thead><tbody>`)
			for _, r := range s.SignOff {
				if r.Name == "" {
					fmt.Fprintf(&b, `<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>`, e(r.Role), Open, Open, Open)
					continue
				}
				dec := e(r.Decision) + " " + r.Status.Symbol()
				if r.Environment != "" {
					dec += " · environment " + e(r.Environment)
				}
				if r.Comment != "" {
					dec += " · “" + e(r.Comment) + "”"
				}
				fmt.Fprintf(&b, `<tr class="%s"><td>%s</td><td>@%s</td><td>%s</td><td>%s</td></tr>`, e(string(r.Status)), e(r.Role), e(r.Name), e(signTime(r.Time)), dec)
			}
			b.WriteString(`</tbody></table>`)
		}
	}
	b.WriteString(`</div>`)
	return template.HTML(b.String()) //nolint:gosec // every value above is escaped
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
