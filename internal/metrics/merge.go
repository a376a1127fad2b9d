package metrics

import (
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Merging leaves that read the same series.
//
// sum by (tenant) (rate(x{code="500"}[1h])), sum by (tenant) (rate(x[1h]))
// and sum by (tenant) (rate(x{track="canary"}[1h])) read the same series of
// x over the same hour three times. The planner fetches them as one leaf,
// sum by (tenant, code, track) (rate(x[1h])), and takes each original back
// in-process: sum by (tenant) ({code="500"}) over the merged result. Each
// series' rate is computed once, by the source; summing groups of a finer
// grouping adds the same per-series values (the order of the additions may
// differ in the last bits). Only sum, count, min and max over a selector or
// a per-series range function are merged, and only leaves that differ in
// their label matchers and grouping.

// mergeable is a leaf of the form OP by (G) (F(name{M}[r] offset o)) or
// OP by (G) (name{M} offset o).
type mergeable struct {
	op       string   // sum, count, min, max
	grouping []string // sorted
	fn       string   // "" for a plain selector
	rng      time.Duration
	offset   time.Duration
	name     string
	matchers []*labels.Matcher // without the __name__ matcher
}

func (m mergeable) groupKey() string {
	return fmt.Sprintf("%s|%s|%d|%d|%s", m.op, m.fn, m.rng, m.offset, m.name)
}

// perSeries are range functions that map each series to one value on its
// own, so a finer grouping of the same series sums to the same result.
var perSeries = map[string]bool{
	"rate": true, "increase": true, "irate": true, "delta": true, "idelta": true, "resets": true, "changes": true,
	"sum_over_time": true, "count_over_time": true, "avg_over_time": true, "min_over_time": true, "max_over_time": true,
	"last_over_time": true, "present_over_time": true,
}

func asMergeable(e parser.Expr) (mergeable, bool) {
	agg, ok := e.(*parser.AggregateExpr)
	if !ok || agg.Without || agg.Param != nil {
		return mergeable{}, false
	}
	m := mergeable{op: agg.Op.String(), grouping: append([]string(nil), agg.Grouping...)}
	switch m.op {
	case "sum", "count", "min", "max":
	default:
		return mergeable{}, false
	}
	sort.Strings(m.grouping)
	inner := agg.Expr
	for {
		p, ok := inner.(*parser.ParenExpr)
		if !ok {
			break
		}
		inner = p.Expr
	}
	var vs *parser.VectorSelector
	switch n := inner.(type) {
	case *parser.VectorSelector:
		vs = n
	case *parser.Call:
		if !perSeries[n.Func.Name] || len(n.Args) != 1 {
			return mergeable{}, false
		}
		ms, ok := n.Args[0].(*parser.MatrixSelector)
		if !ok || ms.RangeExpr != nil {
			return mergeable{}, false
		}
		vs, ok = ms.VectorSelector.(*parser.VectorSelector)
		if !ok {
			return mergeable{}, false
		}
		m.fn, m.rng = n.Func.Name, ms.Range
	default:
		return mergeable{}, false
	}
	if vs.Name == "" || vs.Timestamp != nil || vs.StartOrEnd != 0 || vs.OriginalOffsetExpr != nil ||
		vs.OriginalOffset < 0 || vs.Anchored || vs.Smoothed {
		return mergeable{}, false
	}
	m.offset, m.name = vs.OriginalOffset, vs.Name
	for _, lm := range vs.LabelMatchers {
		if lm.Name == model.MetricNameLabel {
			continue
		}
		m.matchers = append(m.matchers, lm)
	}
	return m, true
}

// merged is a group of leaves fetched as one.
type merged struct {
	text  string            // the merged leaf
	local map[string]string // original leaf key → in-process expression over the merged series (with %s for the leaf selector)
	take  map[string]takeBack
}

// takeBack is how a leaf is taken back out of its merged leaf: keep the
// series its residual matchers select and aggregate them by its grouping.
type takeBack struct {
	op       string // sum (also for count), min, max
	grouping []string
	matchers []*labels.Matcher
}

// apply is the PromQL `op by (grouping) ({matchers})` over one instant
// vector, done directly: the same groups, NaN handling of min and max, and
// sums of the same values as the engine (maybe in another order).
func (t takeBack) apply(v Vector) Vector {
	type group struct {
		labels map[string]string
		f      float64
	}
	groups := map[string]*group{}
	var order []*group
	var key strings.Builder
	for _, s := range v {
		ok := true
		for _, m := range t.matchers {
			if !m.Matches(s.Labels[m.Name]) {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		key.Reset()
		for _, l := range t.grouping {
			key.WriteString(s.Labels[l])
			key.WriteByte(0xff)
		}
		g := groups[key.String()]
		if g == nil {
			lbls := make(map[string]string, len(t.grouping))
			for _, l := range t.grouping {
				if v := s.Labels[l]; v != "" {
					lbls[l] = v
				}
			}
			g = &group{labels: lbls, f: s.Value}
			groups[key.String()] = g
			order = append(order, g)
			continue
		}
		switch t.op {
		case "max":
			if g.f < s.Value || math.IsNaN(g.f) {
				g.f = s.Value
			}
		case "min":
			if g.f > s.Value || math.IsNaN(g.f) {
				g.f = s.Value
			}
		default:
			g.f += s.Value
		}
	}
	out := make(Vector, len(order))
	for i, g := range order {
		out[i] = Sample{Labels: g.labels, Value: g.f}
	}
	return out
}

// mergeLeaves groups the leaves (normalized PromQL → parsed) that read the
// same series and returns the groups of two or more.
func mergeLeaves(leaves map[string]parser.Expr) []merged {
	groups := map[string][]string{}
	ms := map[string]mergeable{}
	for key, e := range leaves {
		m, ok := asMergeable(e)
		if !ok {
			continue
		}
		ms[key] = m
		groups[m.groupKey()] = append(groups[m.groupKey()], key)
	}
	var out []merged
	for _, gk := range slices.Sorted(maps.Keys(groups)) {
		keys := groups[gk]
		if len(keys) < 2 {
			continue
		}
		sort.Strings(keys)
		if m, ok := mergeGroup(keys, ms); ok {
			out = append(out, m)
		}
	}
	return out
}

// mergeGroup merges leaves when the merged selector reads no series that
// none of them reads: one leaf has only the common matchers (a total), or
// every leaf narrows the same single label with one positive matcher (le
// buckets). {code="500"} with {track="canary"} would read all of x: those
// stay apart.
func mergeGroup(keys []string, ms map[string]mergeable) (merged, bool) {
	first := ms[keys[0]]
	common, isCommon := commonMatchers(keys, ms)
	residual, extraNames := residualMatchers(keys, ms, isCommon)
	// the merged selector keeps, for a label every leaf narrows with one
	// positive matcher, the union of those; otherwise nothing
	hasTotal := false
	for _, k := range keys {
		hasTotal = hasTotal || len(residual[k]) == 0
	}
	narrowing := narrowedMatchers(keys, residual, extraNames)
	sel := append(append([]string{}, common...), narrowing...)
	// the merged grouping is finer than every leaf's: each leaf sums (or
	// takes the min or max of) whole groups of it
	grouping := extraNames
	for _, k := range keys {
		grouping = sortedUnion(grouping, ms[k].grouping)
	}
	grouping = slices.Compact(grouping)
	if !hasTotal && !(len(extraNames) == 1 && len(narrowing) == 1) {
		return merged{}, false
	}
	text := fmt.Sprintf("%s by (%s) (%s)", first.op, strings.Join(grouping, ", "), mergedInner(first, sel))
	local, take := takeBacks(keys, ms, residual, first.op)
	return merged{text: text, local: local, take: take}, true
}

// commonMatchers returns the matchers every leaf has, as sorted strings and
// as a set.
func commonMatchers(keys []string, ms map[string]mergeable) ([]string, map[string]bool) {
	count := map[string]int{}
	for _, k := range keys {
		seen := map[string]bool{}
		for _, lm := range ms[k].matchers {
			s := lm.String()
			if !seen[s] {
				seen[s] = true
				count[s]++
			}
		}
	}
	var common []string
	for s, n := range count {
		if n == len(keys) {
			common = append(common, s)
		}
	}
	sort.Strings(common)
	isCommon := map[string]bool{}
	for _, s := range common {
		isCommon[s] = true
	}
	return common, isCommon
}

// residualMatchers returns each leaf's matchers beyond the common ones, and
// the sorted names of the labels they name.
func residualMatchers(keys []string, ms map[string]mergeable, isCommon map[string]bool) (map[string][]*labels.Matcher, []string) {
	residual := map[string][]*labels.Matcher{}
	extra := map[string]bool{}
	for _, k := range keys {
		for _, lm := range ms[k].matchers {
			if !isCommon[lm.String()] {
				residual[k] = append(residual[k], lm)
				extra[lm.Name] = true
			}
		}
	}
	return residual, slices.Sorted(maps.Keys(extra))
}

// narrowedMatchers returns, for each label every leaf narrows with exactly
// one positive matcher (= or =~), a regexp matcher for the union of their
// values.
func narrowedMatchers(keys []string, residual map[string][]*labels.Matcher, extraNames []string) []string {
	var sel []string
	for _, l := range extraNames {
		var alts []string
		ok := true
		for _, k := range keys {
			var pos []*labels.Matcher
			for _, lm := range residual[k] {
				if lm.Name == l {
					pos = append(pos, lm)
				}
			}
			if len(pos) != 1 || (pos[0].Type != labels.MatchEqual && pos[0].Type != labels.MatchRegexp) {
				ok = false
				break
			}
			if pos[0].Type == labels.MatchEqual {
				alts = append(alts, regexp.QuoteMeta(pos[0].Value))
			} else {
				alts = append(alts, "(?:"+pos[0].Value+")")
			}
		}
		if ok {
			sort.Strings(alts)
			alts = slices.Compact(alts)
			sel = append(sel, (&labels.Matcher{Type: labels.MatchRegexp, Name: l, Value: strings.Join(alts, "|")}).String())
		}
	}
	return sel
}

// mergedInner is the merged leaf's selector with first's range, offset and
// function.
func mergedInner(first mergeable, sel []string) string {
	inner := first.name + "{" + strings.Join(sel, ", ") + "}"
	if len(sel) == 0 {
		inner = first.name
	}
	if first.fn != "" {
		inner += "[" + model.Duration(first.rng).String() + "]"
	}
	if first.offset > 0 {
		inner += " offset " + model.Duration(first.offset).String()
	}
	if first.fn != "" {
		inner = first.fn + "(" + inner + ")"
	}
	return inner
}

// takeBacks returns, per leaf, how its value is taken back out of the
// merged result: the local aggregation text and its takeBack (a count is
// summed again).
func takeBacks(keys []string, ms map[string]mergeable, residual map[string][]*labels.Matcher, op string) (map[string]string, map[string]takeBack) {
	localOp := op
	if localOp == "count" {
		localOp = "sum"
	}
	local := map[string]string{}
	take := map[string]takeBack{}
	for _, k := range keys {
		take[k] = takeBack{op: localOp, grouping: ms[k].grouping, matchers: residual[k]}
		by := ""
		if g := ms[k].grouping; len(g) > 0 {
			by = " by (" + strings.Join(g, ", ") + ")"
		}
		var rs []string
		for _, lm := range residual[k] {
			rs = append(rs, lm.String())
		}
		local[k] = localOp + by + " ({%s" + strings.ReplaceAll(prefixComma(rs), "%", "%%") + "})"
	}
	return local, take
}

func prefixComma(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ", " + strings.Join(ss, ", ")
}

func sortedUnion(a, b []string) []string {
	out := append(append([]string{}, a...), b...)
	sort.Strings(out)
	return out
}
