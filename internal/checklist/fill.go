package checklist

import (
	"encoding/json"
	"fmt"
	"math"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// Filled is a template with its blanks filled from results.
type Filled struct {
	Sections []FilledSection
}

// FilledSection is a section of the filled checklist.
type FilledSection struct {
	ID, Title string
	Boxes     []FilledBox
	// SignOff is set for a sign-off section: one row per role.
	SignOff []SignRow
	// IsSignOff tells a sign-off section from a section of boxes.
	IsSignOff bool
}

// FilledBox is a box with the values that answer it.
type FilledBox struct {
	Label string
	// Gates are the ids of the gates that answered the box, in order.
	Gates []string
	// Items are the values, one per matching check (or detail).
	Items []Item
	// Status is the worst status of the items; empty when no gate of
	// the policy answers the box.
	Status gate.Status
	// Note explains a box without values: "not checked by this policy",
	// or why a gate that should answer it gave nothing.
	Note string
}

// Checked reports whether some gate answered the box.
func (b FilledBox) Checked() bool { return len(b.Items) > 0 }

// worst folds s into acc (empty: nothing yet); a status that is not one
// of the known ones counts as the worst, never as a pass.
func worst(acc, s gate.Status) gate.Status {
	if !s.Valid() {
		s = gate.StatusError
	}
	if acc == "" {
		return s
	}
	return gate.Worst(acc, s)
}

// Item is one value of a box.
type Item struct {
	Gate string
	// Label is the tenant (or detail key) the value is for.
	Label string
	// Text is the value as shown to people; Full is the whole value when
	// Text is shortened (a hash), else empty.
	Text, Full string
	Status     gate.Status
}

// SignRow is a row of the sign-off table: empty (Name "") until a real
// approval fills it.
type SignRow struct {
	Role        string
	Name        string
	Time        time.Time
	Decision    string
	Environment string
	Comment     string
	Status      gate.Status
}

// NotChecked is the note of a box no gate of the policy answers.
const NotChecked = "not checked by this policy"

// Fill fills t from results and the approvals. It only reads: values come
// from the checks' Observed, Expected and Unit, the gates' Details and
// Inputs.
func Fill(t *Template, results []gate.Result, approvals []Approval) *Filled {
	f := &Filled{}
	for _, s := range t.Sections {
		fs := FilledSection{ID: s.ID, Title: s.Title}
		for _, b := range s.Boxes {
			fs.Boxes = append(fs.Boxes, fillBox(b, results))
		}
		if s.SignOff != nil {
			fs.IsSignOff = true
			fs.SignOff = signOff(s.SignOff, approvals)
		}
		f.Sections = append(f.Sections, fs)
	}
	return f
}

func (s Source) matches(r *gate.Result) bool {
	return (s.Gate == "" || s.Gate == r.Gate) && (s.Kind == "" || s.Kind == r.Kind)
}

func (s Source) matchCheck(c *gate.Check) bool {
	if s.Check != "" {
		if ok, _ := path.Match(s.Check, c.Name); !ok {
			return false
		}
	}
	if s.Tenant != "" {
		if ok, _ := path.Match(s.Tenant, c.Tenant); !ok {
			return false
		}
	}
	return true
}

func fillBox(b Box, results []gate.Result) FilledBox {
	fb := FilledBox{Label: b.Label}
	var broken []string // gates that matched but could not answer
	for _, src := range b.From {
		for i := range results {
			r := &results[i]
			if !src.matches(r) {
				continue
			}
			items := values(src, b.Format, r)
			if len(items) == 0 {
				if len(r.Checks) == 0 && r.Status != gate.StatusPass {
					// the gate could not be evaluated (or was skipped):
					// the box is not answered, and says so, never ✅
					broken = append(broken, r.Gate)
					fb.Status = worst(fb.Status, r.Status)
					fb.Items = append(fb.Items, Item{Gate: r.Gate, Text: "no value: gate " + string(r.Status), Status: r.Status})
					addGate(&fb, r.Gate)
				}
				continue
			}
			addGate(&fb, r.Gate)
			for _, it := range items {
				fb.Items = append(fb.Items, it)
				fb.Status = worst(fb.Status, it.Status)
			}
		}
	}
	if len(fb.Items) == 0 {
		fb.Note = NotChecked
	} else if len(broken) > 0 && len(broken) == len(fb.Gates) {
		fb.Note = "gate " + strings.Join(broken, ", ") + " gave no value"
	}
	return fb
}

func addGate(fb *FilledBox, id string) {
	for _, g := range fb.Gates {
		if g == id {
			return
		}
	}
	fb.Gates = append(fb.Gates, id)
}

// values are the items src selects from r.
func values(src Source, format string, r *gate.Result) []Item {
	var checks []*gate.Check
	for i := range r.Checks {
		if src.matchCheck(&r.Checks[i]) {
			checks = append(checks, &r.Checks[i])
		}
	}
	switch {
	case src.Value == "" || src.Value == "observed" || src.Value == "expected":
		var out []Item
		for _, c := range checks {
			it := Item{Gate: r.Gate, Label: c.Tenant, Status: c.Status}
			if src.Value == "expected" {
				it.Text = c.Expected
			} else {
				it.Text, it.Full = formatValue(c.Observed, c.Unit, format)
			}
			out = append(out, it)
		}
		return out
	case src.Value == "count":
		if len(checks) == 0 {
			return nil
		}
		n, st := 0, gate.Status("")
		for _, c := range checks {
			if c.Status == gate.StatusPass {
				n++
			}
			st = worst(st, c.Status)
		}
		return []Item{{Gate: r.Gate, Text: fmt.Sprintf("%d (of %d checked)", n, len(checks)), Status: st}}
	case src.Value == "failing-tenants":
		if len(checks) == 0 {
			return nil
		}
		var bad []string
		st := gate.Status("")
		for _, c := range checks {
			st = worst(st, c.Status)
			if c.Status != gate.StatusPass {
				bad = append(bad, firstNonEmpty(c.Tenant, "(all tenants)"))
			}
		}
		bad = uniqSorted(bad)
		text := "none"
		if len(bad) > 0 {
			text = strings.Join(bad, ", ")
		}
		return []Item{{Gate: r.Gate, Text: text, Status: st}}
	case src.Value == "input":
		var out []Item
		for _, in := range r.Inputs {
			if ok, _ := path.Match(src.Input, in.Name); ok {
				t, full := formatString(in.Digest, "hash")
				out = append(out, Item{Gate: r.Gate, Label: in.Name, Text: t, Full: full, Status: r.Status})
			}
		}
		return out
	case strings.HasPrefix(src.Value, "details."):
		st := r.Status
		if src.Check != "" || src.Tenant != "" {
			if len(checks) == 0 {
				return nil
			}
			st = ""
			for _, c := range checks {
				st = worst(st, c.Status)
			}
		}
		var out []Item
		for _, lv := range walk(normalize(r.Details), strings.Split(strings.TrimPrefix(src.Value, "details."), "."), "") {
			t, full := formatAny(lv.v, format)
			out = append(out, Item{Gate: r.Gate, Label: lv.label, Text: t, Full: full, Status: st})
		}
		return out
	}
	return nil
}

type labelled struct {
	label string
	v     any
}

// walk follows a dotted path into JSON-shaped data; a * segment takes every
// key (sorted) or element, the key naming the value.
func walk(v any, segs []string, label string) []labelled {
	if v == nil {
		return nil
	}
	if len(segs) == 0 {
		return []labelled{{label, v}}
	}
	seg, rest := segs[0], segs[1:]
	switch x := v.(type) {
	case map[string]any:
		if seg != "*" {
			return walk(x[seg], rest, label)
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []labelled
		for _, k := range keys {
			out = append(out, walk(x[k], rest, join(label, k))...)
		}
		return out
	case []any:
		if seg != "*" {
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			return walk(x[i], rest, label)
		}
		var out []labelled
		for i, e := range x {
			l := ""
			if len(x) > 1 {
				l = "#" + strconv.Itoa(i+1)
			}
			if m, ok := e.(map[string]any); ok {
				for _, k := range []string{"tenant", "subject", "name"} {
					if s, ok := m[k].(string); ok && s != "" {
						l = s
						break
					}
				}
			}
			out = append(out, walk(e, rest, join(label, l))...)
		}
		return out
	}
	return nil
}

func join(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + " " + b
}

// normalize turns typed details (in-process results) into the JSON shape
// the results file has, so both read the same.
func normalize(d map[string]any) any {
	if d == nil {
		return nil
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil
	}
	var v any
	if json.Unmarshal(b, &v) != nil {
		return nil
	}
	return v
}

var hexRE = regexp.MustCompile(`^(sha256:|sha512:)?[0-9a-f]{40,128}$`)

// formatValue shows a check's observed value for people.
func formatValue(v gate.Value, unit, format string) (text, full string) {
	if v.IsZero() {
		return "no value", ""
	}
	f, num := v.Float()
	if _, isBool := v.Any().(bool); isBool {
		num = false
	}
	if format == "" || format == "auto" {
		switch {
		case num && (unit == "ratio"):
			format = "percent"
		case num && (unit == "s" || unit == "ms"):
			format = "duration"
		case !num && hexRE.MatchString(v.String()):
			format = "hash"
		default:
			format = "number"
		}
	}
	if !num || math.IsNaN(f) || math.IsInf(f, 0) {
		return formatString(v.String(), format)
	}
	switch format {
	case "percent":
		if unit == "%" {
			return gate.FormatFloat(round(f, 2)) + "%", ""
		}
		return gate.FormatFloat(round(f*100, 2)) + "%", ""
	case "duration":
		switch unit {
		case "ms":
			return duration(f / 1000), ""
		case "", "s":
			return duration(f), ""
		}
		return gate.FormatFloat(f) + " " + unit, ""
	case "hash", "text":
		return formatString(v.String(), format)
	}
	switch unit {
	case "":
		return gate.FormatFloat(round(f, 4)), ""
	case "x":
		return gate.FormatFloat(round(f, 3)) + "×", ""
	case "USD":
		return fmt.Sprintf("$%.2f", f), ""
	}
	return gate.FormatFloat(round(f, 4)) + " " + unit, ""
}

// formatAny shows a detail value.
func formatAny(v any, format string) (text, full string) {
	switch x := v.(type) {
	case string:
		if (format == "" || format == "auto") && hexRE.MatchString(x) {
			format = "hash"
		}
		return formatString(x, format)
	case float64:
		return formatValue(gate.Number(x), "", format)
	case bool:
		return strconv.FormatBool(x), ""
	}
	b, _ := json.Marshal(v)
	return formatString(string(b), "text")
}

// formatString shows a string; a hash is shortened to 12 hex digits (after
// its algorithm prefix), the full value returned beside it.
func formatString(s, format string) (text, full string) {
	if format == "hash" {
		algo, h := "", s
		if i := strings.IndexByte(s, ':'); i >= 0 {
			algo, h = s[:i+1], s[i+1:]
		}
		if len(h) > 12 {
			return algo + h[:12] + "…", s
		}
	}
	return s, ""
}

func round(f float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(f*p) / p
}

// duration shows seconds as a Go duration rounded to what people read:
// µs under a millisecond, ms under a second, then tenths of seconds, whole
// seconds from a minute.
func duration(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func uniqSorted(ss []string) []string {
	sort.Strings(ss)
	out := ss[:0]
	for i, s := range ss {
		if i == 0 || s != ss[i-1] {
			out = append(out, s)
		}
	}
	return out
}
