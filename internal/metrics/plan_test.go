package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/testutil"
)

func TestSplitQuery(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		q      string
		leaves []string
		whole  bool // sent as one query
		err    bool // not split: sent whole
	}{
		{"an aggregation is one leaf sent as written", `sum by (tenant) (rate(x[5m]))`, []string{`sum by (tenant) (rate(x[5m]))`}, true, false},
		{"a ratio splits into its two sides", `sum by (tenant) (rate(x{code="500"}[5m])) / sum by (tenant) (rate(x[5m]))`,
			[]string{`sum by (tenant) (rate(x{code="500"}[5m]))`, `sum by (tenant) (rate(x[5m]))`}, false, false},
		{"the same side twice is one leaf", `(sum(rate(x[5m])) - sum(rate(x[5m]))) / sum(rate(x[5m]))`, []string{`sum(rate(x[5m]))`}, false, false},
		{"histogram_quantile is combined in-process over the bucket rates",
			`histogram_quantile(0.95, sum by (tenant, le) (rate(b_bucket[1h])))`, []string{`sum by (tenant, le) (rate(b_bucket[1h]))`}, false, false},
		{"1 - good/total keeps the literal in-process", `1 - (sum(rate(g[5m])) / sum(rate(t[5m])))`, []string{`sum(rate(g[5m]))`, `sum(rate(t[5m]))`}, false, false},
		{"absent looks at its selector and is one leaf", `absent(up{job="x"})`, []string{`absent(up{job="x"})`}, true, false},
		{"timestamp looks at sample times and is one leaf", `time() - timestamp(up)`, []string{`timestamp(up)`}, false, false},
		{"a scalar leaf is not split", `sum(x) * scalar(sum(y))`, []string{`sum(x)`, `sum(y)`}, false, false},
		{"no selector is not split", `vector(1)`, nil, false, true},
		{"bad PromQL is not split", `sum(`, nil, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pl := splitQuery(tc.q)
			if (pl.err != nil) != tc.err {
				t.Fatalf("err = %v, want error %v", pl.err, tc.err)
			}
			if tc.err {
				return
			}
			if strings.Join(pl.leaves, " | ") != strings.Join(tc.leaves, " | ") {
				t.Errorf("leaves = %q, want %q", pl.leaves, tc.leaves)
			}
			if (pl.expr == "") != tc.whole {
				t.Errorf("expr = %q, want whole=%v", pl.expr, tc.whole)
			}
		})
	}
}

// planQueries cover the shapes gates use; each must answer through the
// planner exactly what the source answers for the whole query.
var planQueries = []string{
	`sum by (tenant) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (tenant) (rate(http_requests_total[5m]))`,
	`(sum by (tenant) (rate(http_requests_total{code=~"5.."}[1h]))) / (sum by (tenant) (rate(http_requests_total[1h])))`,
	`1 - ((sum by (tenant) (rate(http_requests_total{code="200"}[30m]))) / (sum by (tenant) (rate(http_requests_total[30m]))))`,
	`sum by (tenant) (rate(http_requests_total{code=~"5.."}[5m])) or sum by (tenant) (rate(http_requests_total[5m])) * 0`,
	`sum by (tenant) (rate(http_requests_total[5m])) * 60`,
	`max by (tenant) (request_latency_p95_seconds)`,
	`max by (tenant) (request_latency_p95_seconds) > bool 0.3`,
	`sum by (tenant) (rate(http_requests_total{track="canary"}[5m])) / on (tenant) sum by (tenant) (rate(http_requests_total{track="baseline"}[5m]))`,
	`sum by (tenant, track) (rate(http_requests_total[5m])) / ignoring (track) group_left sum by (tenant) (rate(http_requests_total[5m]))`,
	`clamp_max(sum by (tenant) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (tenant) (rate(http_requests_total[5m])), 0.02)`,
	`label_replace(sum by (tenant) (rate(http_requests_total[5m])), "t", "$1", "tenant", "(.*)") / sum by (tenant) (rate(http_requests_total[5m]))`,
	`sum by (tenant) (rate(http_requests_total[5m])) / 0`,
	`-sum by (tenant) (rate(http_requests_total[5m]))`,
	`sum by (tenant) (rate(http_requests_total[5m])) and sum by (tenant) (rate(http_requests_total{code="500"}[5m]))`,
	`sum by (tenant) (rate(http_requests_total[5m])) unless sum by (tenant) (rate(http_requests_total{code="500"}[5m]))`,
	`http_requests_total{tenant="acme",code="200",track="canary"} - http_requests_total{tenant="acme",code="200",track="canary"} offset 10m`,
	`scalar(sum(rate(http_requests_total[5m]))) * 2`,
	`sum(nothing_here) / sum(rate(http_requests_total[5m]))`,
	`time() - max(timestamp(http_requests_total))`,
	`(sum by (tenant) (rate(http_requests_total{code=~"5.."}[5m])) or sum by (tenant) (rate(http_requests_total[5m])) * 0) / sum by (tenant) (rate(http_requests_total[5m]))`,
	`sum by (tenant) (rate(http_requests_total{track="canary",code="500"}[5m])) / sum by (tenant) (rate(http_requests_total{track="canary"}[5m]))`,
	`max by (tenant) (max_over_time(request_latency_p95_seconds[1h])) - min by (tenant) (min_over_time(request_latency_p95_seconds[1h]))`,
	`count by (tenant) (http_requests_total{code="500"}) + count by (tenant) (http_requests_total{track="canary"})`,
	`max by (tenant) (request_latency_p95_seconds) > 0.3`,
	`sum by (tenant) (rate(http_requests_total[5m])) > 10 or max by (tenant) (request_latency_p95_seconds)`,
	`http_requests_total{tenant="acme",track="canary"} > 100`,
	`label_replace(sum by (tenant) (rate(http_requests_total[5m])), "n", "$1", "__name__", "(.*)") / sum by (tenant) (rate(http_requests_total[5m]))`,
	`label_replace(http_requests_total{tenant="globex",code="500"}, "n", "$1", "__name__", "(.*)") * 2`,
	`sum by (tenant) (rate(http_requests_total[1h] offset 1h)) / sum by (tenant) (rate(http_requests_total{code="200"}[1h] offset 1h))`,
}

func TestMergeLeaves(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		leaves []string
		want   string // the merged leaf; "" when nothing merges
		local  map[string]string
	}{
		{"an error ratio's two sides read the series once, grouped by the label that tells them apart",
			[]string{`sum by (tenant) (rate(x{code="500"}[5m]))`, `sum by (tenant) (rate(x[5m]))`},
			`sum by (code, tenant) (rate(x[5m]))`,
			map[string]string{`sum by (tenant) (rate(x{code="500"}[5m]))`: `sum by (tenant) ({%s, code="500"})`, `sum by (tenant) (rate(x[5m]))`: `sum by (tenant) ({%s})`}},
		{"equality matchers on one label become one regex",
			[]string{`sum by (tenant) (rate(b{le="0.5"}[1h]))`, `sum by (tenant) (rate(b{le="+Inf"}[1h]))`},
			`sum by (le, tenant) (rate(b{le=~"0\\.5|\\+Inf"}[1h]))`, nil},
		{"count is summed back", []string{`count by (tenant) (x{a="1"})`, `count by (tenant) (x{a="2"})`},
			`count by (a, tenant) (x{a=~"1|2"})`, map[string]string{`count by (tenant) (x{a="1"})`: `sum by (tenant) ({%s, a="1"})`}},
		{"different windows do not merge", []string{`sum(rate(x[5m]))`, `sum(rate(x[1h]))`}, "", nil},
		{"groupings are united: each leaf sums whole groups of the merged one",
			[]string{`sum by (tenant, le) (rate(b[5m]))`, `sum by (tenant) (rate(b{le="0.5"}[5m]))`, `sum(rate(b{job="x"}[5m]))`},
			`sum by (job, le, tenant) (rate(b[5m]))`,
			map[string]string{`sum by (tenant, le) (rate(b[5m]))`: `sum by (le, tenant) ({%s})`, `sum(rate(b{job="x"}[5m]))`: `sum ({%s, job="x"})`}},
		{"leaves that narrow different labels would read more than both: they stay apart",
			[]string{`sum by (tenant) (rate(x{code="500"}[5m]))`, `sum by (tenant) (rate(x{track="canary"}[5m]))`}, "", nil},
		{"a total makes any narrowing exact",
			[]string{`sum by (tenant) (rate(x{code="500"}[5m]))`, `sum by (tenant) (rate(x{track="canary"}[5m]))`, `sum by (tenant) (rate(x[5m]))`},
			`sum by (code, tenant, track) (rate(x[5m]))`, nil},
		{"avg does not merge", []string{`avg by (tenant) (x{a="1"})`, `avg by (tenant) (x)`}, "", nil},
		{"histogram_quantile over a merged leaf is not itself a leaf", []string{`topk(1, x)`, `topk(1, x{a="1"})`}, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			leaves := map[string]parser.Expr{}
			for _, l := range tc.leaves {
				e, err := ParseQuery(l)
				if err != nil {
					t.Fatal(err)
				}
				leaves[e.String()] = e
			}
			ms := mergeLeaves(leaves)
			if tc.want == "" {
				if len(ms) != 0 {
					t.Errorf("merged %v, want nothing merged", ms)
				}
				return
			}
			if len(ms) != 1 || ms[0].text != tc.want {
				t.Fatalf("merged %v, want %s", ms, tc.want)
			}
			for k, want := range tc.local {
				if got := ms[0].local[normalize(k)]; got != want {
					t.Errorf("local %s = %s, want %s", k, got, want)
				}
			}
		})
	}
}

// samePlan runs every planQuery through a planner and directly and compares.
func samePlan(t *testing.T, src Source, at time.Time) {
	t.Helper()
	p := NewPlanner(src, 4)
	reqs := make([]Request, len(planQueries))
	for i, q := range planQueries {
		reqs[i] = Request{q, at}
	}
	p.Prefetch(context.Background(), reqs)
	for _, q := range planQueries {
		want, werr := src.Query(context.Background(), q, at)
		got, gerr := p.Query(context.Background(), q, at)
		if (werr != nil) != (gerr != nil) {
			t.Errorf("%s: planned error %v, whole-query error %v", q, gerr, werr)
			continue
		}
		if d := diffVectors(got, want); d != "" {
			t.Errorf("%s: planned result differs from the whole query: %s", q, d)
		}
	}
	var leaves int
	for _, q := range planQueries {
		leaves += max(1, len(splitQuery(q).leaves))
	}
	if p.Fetched() >= leaves {
		t.Errorf("fetched %d leaves for %d leaf uses; expected shared leaves to be fetched once", p.Fetched(), leaves)
	}
}

func diffVectors(got, want Vector) string {
	index := func(v Vector) map[string]float64 {
		m := map[string]float64{}
		for _, s := range v {
			m[s.LabelString()] = s.Value
		}
		return m
	}
	g, w := index(got), index(want)
	var diffs []string
	for k, wv := range w {
		gv, ok := g[k]
		switch {
		case !ok:
			diffs = append(diffs, "missing "+k)
		case !sameFloat(gv, wv):
			diffs = append(diffs, fmt.Sprintf("%s = %v, want %v", k, gv, wv))
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok {
			diffs = append(diffs, "extra "+k)
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

// sameFloat: equal, both NaN, or within 1e-12 relative: a merged leaf sums
// the same per-series values in another order (see merge.go).
func sameFloat(a, b float64) bool {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return math.IsNaN(a) && math.IsNaN(b)
	case a == b:
		return true
	case math.IsInf(a, 0) || math.IsInf(b, 0):
		return false
	}
	return math.Abs(a-b) <= 1e-12*math.Max(math.Abs(a), math.Abs(b))
}

func TestPlannerMatchesWholeQueriesOnFile(t *testing.T) {
	t.Parallel()
	src := openTestFile(t)
	samePlan(t, src, src.Now())
	samePlan(t, src, src.Now().Add(-37*time.Minute))
}

// TestPlannerMatchesWholeQueriesOnPrometheus asks a real Prometheus (holding
// testdata/slo/metrics.om) every query whole and through the planner.
func TestPlannerMatchesWholeQueriesOnPrometheus(t *testing.T) {
	t.Parallel()
	url := testutil.RequireEnv(t, "RELEASEGATE_TEST_PROMETHEUS", "Prometheus")
	file := openTestFile(t)
	src, err := NewHTTPSource(HTTPOptions{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	samePlan(t, src, file.Now())
}

// countingSource counts the queries it answers and can fail some.
type countingSource struct {
	Source
	n    atomic.Int32
	fail func(q string) error
}

func (c *countingSource) Query(ctx context.Context, q string, at time.Time) (Vector, error) {
	c.n.Add(1)
	if c.fail != nil {
		if err := c.fail(q); err != nil {
			return nil, err
		}
	}
	return c.Source.Query(ctx, q, at)
}

func TestPlannerFetchesEachLeafOnce(t *testing.T) {
	t.Parallel()
	file := openTestFile(t)
	src := &countingSource{Source: file}
	p := NewPlanner(src, 3)
	var reqs []Request
	for _, w := range []string{"5m", "30m", "1h"} {
		ratio := fmt.Sprintf(`sum by (tenant) (rate(http_requests_total{code=~"5.."}[%s])) / sum by (tenant) (rate(http_requests_total[%s]))`, w, w)
		reqs = append(reqs, Request{ratio, file.Now()}, Request{ratio + " / 0.001", file.Now()},
			Request{fmt.Sprintf(`sum by (tenant) (rate(http_requests_total[%s])) * 60`, w), file.Now()})
	}
	p.Prefetch(context.Background(), reqs)
	for _, r := range reqs {
		if _, err := p.Query(context.Background(), r.Query, r.At); err != nil {
			t.Fatal(err)
		}
	}
	if got := src.n.Load(); got != 3 {
		t.Errorf("9 queries over 3 windows sent %d queries, want 3 (bad and total merged, per window)", got)
	}
}

func TestPlannerLeafFaultsAreTheQuerysFaults(t *testing.T) {
	t.Parallel()
	file := openTestFile(t)
	cases := []struct {
		name string
		err  error
	}{
		{"an unreachable source", fmt.Errorf("%w: connection refused", gate.ErrUnreachable)},
		{"a timeout", fmt.Errorf("%w: no answer within 30s", gate.ErrTimeout)},
		{"a partial response", fmt.Errorf("%w: the server warned", ErrPartial)},
		{"a failed query", fmt.Errorf("%w: execution", ErrQuery)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := &countingSource{Source: file, fail: func(q string) error {
				if strings.Contains(q, "5..") {
					return tc.err
				}
				return nil
			}}
			p := NewPlanner(src, 2)
			q := `sum by (tenant) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (tenant) (rate(http_requests_total[5m]))`
			v, err := p.Query(context.Background(), q, file.Now())
			if !errors.Is(err, tc.err) || v != nil {
				t.Errorf("Query = %v, %v; want the leaf's error %v", v, err, tc.err)
			}
			if err != nil && !strings.Contains(err.Error(), "query "+q) {
				t.Errorf("error %q does not name the query", err)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p := NewPlanner(file, 1)
	p.Prefetch(ctx, []Request{{`sum(rate(http_requests_total[5m]))`, file.Now()}})
	if _, err := p.Query(ctx, `sum(rate(http_requests_total[5m]))`, file.Now()); err == nil {
		t.Error("a cancelled run answered a query")
	}
}

// FuzzPlanMatchesWholeQuery: for any query the whole query answers, the
// planner answers the same over the test file.
func FuzzPlanMatchesWholeQuery(f *testing.F) {
	for _, q := range planQueries {
		f.Add(q)
	}
	src, err := OpenFile("../../testdata/slo/metrics.om", FileOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if len(q) > 300 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		want, werr := src.Query(ctx, q, src.Now())
		if werr != nil {
			return
		}
		got, gerr := NewPlanner(src, 2).Query(ctx, q, src.Now())
		if gerr != nil {
			t.Fatalf("%s: whole query answered, planned query failed: %v", q, gerr)
		}
		if d := diffVectors(got, want); d != "" {
			t.Fatalf("%s: %s", q, d)
		}
	})
}

// TestTakeBackMatchesTheEngine: taking a leaf back out of a merged leaf
// answers what the PromQL engine answers for its local expression.
func TestTakeBackMatchesTheEngine(t *testing.T) {
	t.Parallel()
	nan := math.NaN()
	merged := Vector{
		{Labels: map[string]string{"tenant": "a", "code": "500"}, Value: 1},
		{Labels: map[string]string{"tenant": "a", "code": "200"}, Value: 9},
		{Labels: map[string]string{"tenant": "b", "code": "500"}, Value: nan},
		{Labels: map[string]string{"tenant": "b", "code": "200"}, Value: 3},
		{Labels: map[string]string{"code": "200"}, Value: 4},
		{Labels: map[string]string{"tenant": "c", "code": "500"}, Value: math.Inf(1)},
	}
	at := time.Unix(1700000000, 0)
	d := &Data{}
	for _, s := range merged {
		b := labels.NewScratchBuilder(3)
		for k, v := range s.Labels {
			b.Add(k, v)
		}
		b.Add(leafLabel, "0")
		b.Sort()
		d.Series = append(d.Series, &Series{Labels: b.Labels(), T: []int64{at.UnixMilli()}, V: []float64{s.Value}})
	}
	code500 := labels.MustNewMatcher(labels.MatchEqual, "code", "500")
	not5 := labels.MustNewMatcher(labels.MatchNotRegexp, "code", "5..")
	for _, tb := range []takeBack{
		{op: "sum", grouping: []string{"tenant"}},
		{op: "sum", grouping: []string{"tenant"}, matchers: []*labels.Matcher{code500}},
		{op: "max", grouping: []string{"tenant"}},
		{op: "min", grouping: []string{"tenant"}},
		{op: "min", grouping: []string{"tenant"}, matchers: []*labels.Matcher{not5}},
		{op: "sum"},
		{op: "max", grouping: []string{"code"}},
	} {
		var ms []string
		for _, m := range tb.matchers {
			ms = append(ms, ", "+m.String())
		}
		q := fmt.Sprintf(`%s by (%s) ({%s="0"%s})`, tb.op, strings.Join(tb.grouping, ", "), leafLabel, strings.Join(ms, ""))
		want, err := evalLocal(context.Background(), localEngine(), memQueryable{d}, q, at)
		if err != nil {
			t.Fatal(err)
		}
		if diff := diffVectors(tb.apply(merged), want); diff != "" {
			t.Errorf("%s: %s", q, diff)
		}
	}
}

func TestSelectors(t *testing.T) {
	t.Parallel()
	cases := []struct{ q, want string }{
		{`sum(rate(x{code="500"}[5m])) / sum(rate(x[5m]))`, `x{code="500"} | x`},
		{`sum(rate(x[1h])) / sum(rate(x[1h] offset 1d))`, `x`},
		{`sum(rate(x[1h] offset 1d))`, `x offset 1d`},
		{`vector(1)`, ``},
	}
	for _, tc := range cases {
		got, err := Selectors(tc.q)
		if err != nil || strings.Join(got, " | ") != tc.want {
			t.Errorf("Selectors(%s) = %q, %v; want %s", tc.q, got, err, tc.want)
		}
	}
}
