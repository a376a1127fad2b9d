package evidence

import (
	"html"
	"path/filepath"
	"slices"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// pathShortener shows the absolute local paths a run judged (the policy
// file, gate inputs) relative to the deepest directory they share, so
// report.html does not print the machine's layout. It changes what is
// displayed only; the results and the manifest keep the paths as they are.
type pathShortener struct{ base string }

func newPathShortener(ev *Evidence) pathShortener {
	var abs []string
	add := func(p string) {
		if filepath.IsAbs(p) && !strings.ContainsAny(p, "<>&\"'") {
			abs = append(abs, filepath.Clean(p))
		}
	}
	add(ev.Manifest.Policy.Path)
	for _, r := range ev.Report.Results {
		for _, in := range r.Inputs {
			add(in.Name)
			add(in.URI)
		}
	}
	if len(abs) == 0 {
		return pathShortener{}
	}
	base := filepath.Dir(abs[0])
	for _, p := range abs[1:] {
		for base != "/" && !strings.HasPrefix(p, base+"/") {
			base = filepath.Dir(base)
		}
	}
	if base == "/" || base == "." {
		return pathShortener{}
	}
	return pathShortener{base: base}
}

// label names the base for the page: its last element only.
func (p pathShortener) label() string {
	if p.base == "" {
		return ""
	}
	return "…/" + filepath.Base(p.base) + "/"
}

// short rewrites every occurrence of the base directory in s.
func (p pathShortener) short(s string) string {
	if p.base == "" {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, p.base+"/", ""), html.EscapeString(p.base+"/"), "")
}

// result returns a copy of r whose texts show shortened paths.
func (p pathShortener) result(r gate.Result) gate.Result {
	if p.base == "" {
		return r
	}
	r.Summary, r.Error = p.short(r.Summary), p.short(r.Error)
	r.Checks = slices.Clone(r.Checks)
	for i := range r.Checks {
		c := &r.Checks[i]
		c.Name, c.Message, c.Expected = p.short(c.Name), p.short(c.Message), p.short(c.Expected)
		if s, ok := c.Observed.Any().(string); ok {
			c.Observed = gate.Text(p.short(s))
		}
	}
	r.Inputs = slices.Clone(r.Inputs)
	for i := range r.Inputs {
		r.Inputs[i].Name, r.Inputs[i].URI = p.short(r.Inputs[i].Name), p.short(r.Inputs[i].URI)
	}
	return r
}
