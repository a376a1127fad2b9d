package evidence

import (
	"fmt"
	"html/template"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// boundRE reads the number a check's expected condition compares with:
// "< 2.0", "<= 1000", "> 0.25", ">= 0.95".
var boundRE = regexp.MustCompile(`^\s*(<=|<|>=|>|==|≤|≥)\s*(-?[0-9]+(?:\.[0-9]+)?)\b`)

// chartBar is one check drawn: its observed value against its bound.
type chartBar struct {
	Label  string
	Check  gate.Check
	Value  float64
	Bound  float64
	Op     string
	Tenant string
}

// gateCharts draws, for each unit a gate's checks are measured in, one bar
// per check with a numeric observed value and a numeric bound (burn rate
// per tenant and window against its threshold, error budget remaining,
// p95 latency against the SLO, spend against the budget, ledger entries
// against their minimum). A lone check is drawn only when it names a tenant
// and has a unit; checks without a unit only when they name tenants (exit
// codes and JSON fields are not drawn). Values and bounds are the checks' own; nothing
// is recomputed.
func gateCharts(r gate.Result) []template.HTML {
	var units []string
	bars := map[string][]chartBar{}
	for _, c := range r.Checks {
		f, ok := c.Observed.Float()
		m := boundRE.FindStringSubmatch(c.Expected)
		if !ok || m == nil {
			continue
		}
		bound, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			continue
		}
		if _, seen := bars[c.Unit]; !seen {
			units = append(units, c.Unit)
		}
		label := c.Name
		if c.Tenant != "" {
			label = c.Tenant + " · " + c.Name
		}
		bars[c.Unit] = append(bars[c.Unit], chartBar{Label: label, Check: c, Value: f, Bound: bound, Op: m[1], Tenant: c.Tenant})
	}
	var out []template.HTML
	for _, u := range units {
		tenanted := false
		for _, b := range bars[u] {
			tenanted = tenanted || b.Tenant != ""
		}
		if !tenanted && u == "" || len(bars[u]) < 2 && (u == "" || !tenanted) {
			continue
		}
		out = append(out, barChart(r.Gate, u, bars[u]))
	}
	return out
}

// chartTitle says what a chart of unit shows.
func chartTitle(gateName, unit string, bars []chartBar) string {
	names := []string{}
	for _, b := range bars {
		n := b.Check.Name
		if !containsStr(names, n) {
			names = append(names, n)
		}
	}
	what := strings.Join(names, ", ")
	if len(names) > 3 {
		what = fmt.Sprintf("%d checks", len(names))
	}
	per := ""
	for _, b := range bars {
		if b.Tenant != "" {
			per = " per tenant"
		}
	}
	return fmt.Sprintf("%s: %s%s (%s) against the bound each check states", gateName, what, per, firstNonEmpty(unit, "no unit"))
}

func barChart(gateName, unit string, bars []chartBar) template.HTML {
	const rowH, labelW, barW, valueW, top = 24, 230, 300, 110, 22
	width := labelW + barW + valueW
	h := top + rowH*len(bars) + 10
	scale := 0.0
	for _, b := range bars {
		scale = math.Max(scale, math.Max(math.Abs(b.Value), math.Abs(b.Bound)))
	}
	if scale == 0 {
		scale = 1
	}
	scale *= 1.1
	x := func(v float64) float64 { return labelW + math.Max(0, v)/scale*barW }
	title := chartTitle(gateName, unit, bars)
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart"><svg role="img" aria-label="%s" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		esc(title), width, h, width, h, esc(title))
	fmt.Fprintf(&b, `<text x="0" y="14" font-size="12" fill="#555">%s</text>`, esc(firstNonEmpty(unit, "value")+" · bar = observed, dashed line = bound"))
	for i, bar := range bars {
		y := top + i*rowH
		obs := gate.FormatFloat(bar.Value) + unitSuffix(unit)
		bound := bar.Op + " " + gate.FormatFloat(bar.Bound)
		fmt.Fprintf(&b, `<g class="bar %s" data-tenant="%s" data-check="%s" data-value="%s" data-bound="%s">`,
			bar.Check.Status, esc(bar.Tenant), esc(bar.Check.Name), gate.FormatFloat(bar.Value), gate.FormatFloat(bar.Bound))
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="12" fill="#222">%s</text>`, labelW-6, y+15, esc(shorten(bar.Label, 34)))
		wd := x(bar.Value) - labelW
		if bar.Value != 0 {
			wd = math.Max(wd, 2)
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s: %s (expected %s, %s)</title></rect>`,
			labelW, y+3, wd, rowH-8, statusColor[bar.Check.Status], esc(bar.Label), esc(obs), esc(bound), bar.Check.Status)
		bx := x(bar.Bound)
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#222" stroke-width="2" stroke-dasharray="3 2"><title>bound %s</title></line>`,
			bx, bx, y, y+rowH-2, esc(bound))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" fill="#222">%s %s</text>`, labelW+barW+6, y+15, bar.Check.Status.Symbol(), esc(obs))
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	fmt.Fprintf(&b, `<figcaption>%s</figcaption></figure>`, esc(title))
	return template.HTML(b.String())
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
