package evidence

import (
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// tenantLedger is one tenant's chain and checkpoint as a ledger gate
// recorded them, with the status of its signed-checkpoint check.
type tenantLedger struct {
	Tenant     string
	Entries    float64
	Checkpoint float64 // entries the checkpoint covers; 0 when none
	Day        string
	Consistent bool
	Check      *gate.Check // the tenant's "signed checkpoint …" check, if any
}

// ledgerCheckpoints reads a ledger gate's details (chains and checkpoints
// per tenant) and pairs each tenant with its signed-checkpoint check.
// Nothing is recomputed: the status shown is the check's.
func ledgerCheckpoints(r gate.Result) []tenantLedger {
	if _, ok := r.Details["chains"]; !ok || r.Kind != "ledger" {
		return nil
	}
	b, err := json.Marshal(r.Details)
	if err != nil {
		return nil
	}
	var d struct {
		Chains map[string]struct {
			Entries *float64 `json:"entries"`
		} `json:"chains"`
		Checkpoints map[string]struct {
			Day        string  `json:"day"`
			Size       float64 `json:"size"`
			Consistent bool    `json:"consistent_with_previous"`
		} `json:"checkpoints"`
	}
	if json.Unmarshal(b, &d) != nil {
		return nil
	}
	var out []tenantLedger
	for t, c := range d.Chains {
		if c.Entries == nil {
			continue
		}
		tl := tenantLedger{Tenant: t, Entries: *c.Entries}
		if cp, ok := d.Checkpoints[t]; ok {
			tl.Checkpoint, tl.Day, tl.Consistent = cp.Size, cp.Day, cp.Consistent
		}
		for i := range r.Checks {
			if r.Checks[i].Tenant == t && strings.HasPrefix(r.Checks[i].Name, "signed checkpoint ") {
				tl.Check = &r.Checks[i]
			}
		}
		out = append(out, tl)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tenant < out[j].Tenant })
	return out
}

// checkpointText says what a tenant's checkpoint check found.
func (t tenantLedger) checkpointText() string {
	switch {
	case t.Check == nil:
		return "no checkpoint check"
	case t.Checkpoint == 0:
		return fmt.Sprintf("%s %s: %s", t.Check.Status.Symbol(), t.Check.Name, t.Check.Status)
	case t.Consistent:
		return fmt.Sprintf("%s %s covers %s, consistent with the previous day", t.Check.Status.Symbol(), t.Check.Name, gate.FormatFloat(t.Checkpoint))
	}
	return fmt.Sprintf("%s %s covers %s, no previous day to compare", t.Check.Status.Symbol(), t.Check.Name, gate.FormatFloat(t.Checkpoint))
}

// ledgerChart draws entries per tenant, the part its checkpoint covers
// darker, and the checkpoint check's status beneath each bar.
func ledgerChart(gateName string, ts []tenantLedger) template.HTML {
	if len(ts) == 0 {
		return ""
	}
	const rowH, labelW, barW, valueW, top = 36, 130, 300, 110, 22
	width := labelW + barW + valueW
	h := top + rowH*len(ts) + 4
	scale := 0.0
	for _, t := range ts {
		scale = math.Max(scale, math.Max(t.Entries, t.Checkpoint))
	}
	if scale <= 0 {
		scale = 1
	}
	scale *= 1.1
	w := func(v float64) float64 {
		if v <= 0 {
			return 0
		}
		return math.Max(2, v/scale*barW)
	}
	esc := template.HTMLEscapeString
	title := gateName + ": ledger entries per tenant, the part the signed checkpoint covers, and the checkpoint check's status"
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="chart ledger"><svg role="img" aria-label="%s" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		esc(title), width, h, width, h, esc(title))
	b.WriteString(`<text x="0" y="14" font-size="12" fill="#555">entries · light = chain, dark = covered by the checkpoint</text>`)
	for i, t := range ts {
		y := top + i*rowH
		status := "none"
		if t.Check != nil {
			status = string(t.Check.Status)
		}
		fmt.Fprintf(&b, `<g class="ledger-tenant" data-tenant="%s" data-value="%s" data-checkpoint="%s" data-status="%s">`,
			esc(t.Tenant), gate.FormatFloat(t.Entries), gate.FormatFloat(t.Checkpoint), status)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" font-size="12" fill="#222">%s</text>`, labelW-6, y+13, esc(shorten(t.Tenant, 18)))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="12" fill="#9bb3d4"><title>%s: %s entries</title></rect>`,
			labelW, y+3, w(t.Entries), esc(t.Tenant), gate.FormatFloat(t.Entries))
		fill := "#4a6fa5"
		if t.Check != nil {
			fill = statusColor[t.Check.Status]
		}
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="12" fill="%s"><title>%s: checkpoint %s covers %s entries</title></rect>`,
			labelW, y+3, w(t.Checkpoint), fill, esc(t.Tenant), esc(t.Day), gate.FormatFloat(t.Checkpoint))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" fill="#222">%s</text>`, labelW+barW+6, y+13, gate.FormatFloat(t.Entries))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#444">%s</text>`, labelW, y+29, esc(shorten(t.checkpointText(), 70)))
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	fmt.Fprintf(&b, `<figcaption>%s</figcaption></figure>`, esc(title))
	return template.HTML(b.String())
}
