package metrics

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// A Planner evaluates the queries of one gate run against one source and
// fetches each distinct sub-query once.
//
// A query is split at its instant-vector arithmetic: binary operators,
// parentheses, unary minus and pure per-sample functions (clamp,
// histogram_quantile, label_replace, …) are evaluated in-process by the
// PromQL engine; everything under them that reads storage (an aggregation
// such as sum by (tenant) (rate(x[5m])), a selector, a range function) is a
// leaf fetched from the source. Leaves are keyed by their normalized PromQL
// and evaluation time, so the 5m, 30m, … error ratios of a multi-window
// burn-rate policy, an error-ratio check, a throughput check and a canary
// check that all divide by sum by (tenant) (rate(x[5m])) fetch it once.
// Leaves run at most concurrency at once, longest range first, so the
// slowest leaf starts first and the short ones fill the other slots.
//
// The in-process step only combines instant vectors that the source already
// evaluated, with Prometheus's own engine, so a planned query answers what the
// source would have answered for the whole query (a test compares them over
// a real Prometheus). A fault in any leaf (unreachable, timeout, warnings,
// error) is the query's fault; a query whose leaves cannot be split (a
// scalar leaf, a native histogram) is sent whole.
type Planner struct {
	src Source
	sem chan struct{}

	mu     sync.Mutex
	leaves map[leafKey]*leafResult
	plans  map[string]*plan
	// merged maps a leaf to the merged leaf that answers it (see merge.go).
	merged map[leafKey]mergeRef
	// answers memoizes whole queries: checks that share a query (or a
	// staleness query) evaluate it once.
	answers map[leafKey]*leafResult
	// unmerged memoizes each merged-away leaf, taken back out of its merged
	// leaf once.
	unmerged map[leafKey]*leafResult
	nextID   int
	// Fetched counts leaf queries sent to the source (tests, benchmarks).
	fetched int
}

// Request is one query at one evaluation time.
type Request struct {
	Query string
	At    time.Time
}

type leafKey struct {
	query string // normalized PromQL
	at    int64  // unix milliseconds
}

type mergeRef struct {
	key  leafKey  // the merged leaf
	take takeBack // how the leaf is taken back out of it
}

type leafResult struct {
	id   int
	done chan struct{}
	v    Vector
	err  error

	once   sync.Once
	series []*Series
	// named: the same series under the metric name r.name()
	onceName sync.Once
	named    []*Series
}

// hasName reports whether any sample of the leaf has a metric name.
func (r *leafResult) hasName() bool {
	for _, s := range r.v {
		if _, ok := s.Labels[model.MetricNameLabel]; ok {
			return true
		}
	}
	return false
}

// name is the metric name the leaf's series are stored under.
func (r *leafResult) name() string { return leafNamePrefix + strconv.Itoa(r.id) + "__" }

// leafNamePrefix starts the metric name of a stored leaf; the planner
// removes such names from its answers.
const leafNamePrefix = "__releasegate_leaf_"

// storedByName returns the leaf's samples as series named r.name().
func (r *leafResult) storedByName(at time.Time) []*Series {
	r.onceName.Do(func() {
		name := r.name()
		r.named = make([]*Series, 0, len(r.v))
		for _, s := range r.v {
			b := labels.NewScratchBuilder(len(s.Labels) + 1)
			for k, v := range s.Labels {
				b.Add(k, v)
			}
			b.Add(model.MetricNameLabel, name)
			b.Sort()
			r.named = append(r.named, &Series{Labels: b.Labels(), T: []int64{at.UnixMilli()}, V: []float64{s.Value}})
		}
	})
	return r.named
}

// stored returns the leaf's samples as series at at, labelled with the
// leaf's id, for the in-process engine; built once, shared by every query
// that needs the leaf.
func (r *leafResult) stored(at time.Time) []*Series {
	r.once.Do(func() {
		id := strconv.Itoa(r.id)
		r.series = make([]*Series, 0, len(r.v))
		for _, s := range r.v {
			b := labels.NewScratchBuilder(len(s.Labels) + 1)
			for k, v := range s.Labels {
				b.Add(k, v)
			}
			b.Add(leafLabel, id)
			b.Sort()
			r.series = append(r.series, &Series{Labels: b.Labels(), T: []int64{at.UnixMilli()}, V: []float64{s.Value}})
		}
	})
	return r.series
}

// plan is a query split into leaves and the expression that combines them.
type plan struct {
	// expr combines the leaves in-process; empty when the query is one
	// leaf and is sent whole.
	expr string
	// leaves are the sub-queries sent to the source, as written in the
	// query, and their normalized form (the dedup key).
	leaves, keys []string
	// cost orders leaves: the sum of the ranges each reads.
	cost []time.Duration
	// exprs are the parsed leaves; refs how each is written in expr.
	exprs []parser.Expr
	refs  []string
	err   error
}

// NewPlanner returns a planner over src with at most concurrency leaf
// queries in flight (8 when concurrency <= 0).
func NewPlanner(src Source, concurrency int) *Planner {
	if concurrency <= 0 {
		concurrency = 8
	}
	return &Planner{src: src, sem: make(chan struct{}, concurrency), leaves: map[leafKey]*leafResult{}, plans: map[string]*plan{}, merged: map[leafKey]mergeRef{}, answers: map[leafKey]*leafResult{}, unmerged: map[leafKey]*leafResult{}}
}

// Fetched returns how many leaf queries were sent to the source.
func (p *Planner) Fetched() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fetched
}

// Prefetch starts fetching the distinct leaves of reqs, longest range first,
// and returns once every leaf has been dispatched (not finished). Query then
// waits for the leaves it needs. A query that does not parse is left for
// Query to report.
func (p *Planner) Prefetch(ctx context.Context, reqs []Request) {
	type todo struct {
		key   leafKey
		text  string
		cost  time.Duration
		width int // leaves merged into this one
	}
	var list []todo
	seen := map[leafKey]bool{}
	byTime := map[int64]map[string]parser.Expr{}
	costOf := map[leafKey]time.Duration{}
	for _, r := range reqs {
		pl := p.plan(r.Query)
		if pl.err != nil {
			continue
		}
		for i, k := range pl.keys {
			lk := leafKey{k, r.At.UnixMilli()}
			if !seen[lk] {
				seen[lk] = true
				list = append(list, todo{lk, pl.leaves[i], pl.cost[i], 1})
				if byTime[lk.at] == nil {
					byTime[lk.at] = map[string]parser.Expr{}
				}
				byTime[lk.at][k] = pl.exprs[i]
				costOf[lk] = pl.cost[i]
			}
		}
	}
	// Leaves that read the same series are fetched as one.
	p.mu.Lock()
	for at, leaves := range byTime {
		for _, m := range mergeLeaves(leaves) {
			mk := leafKey{m.text, at}
			var cost time.Duration
			for k, take := range m.take {
				lk := leafKey{k, at}
				p.merged[lk] = mergeRef{key: mk, take: take}
				cost = max(cost, costOf[lk])
			}
			list = append(list, todo{mk, m.text, cost, len(m.local)})
		}
	}
	kept := list[:0]
	for _, t := range list {
		if _, ok := p.merged[t.key]; !ok {
			kept = append(kept, t)
		}
	}
	list = kept
	p.mu.Unlock()
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].cost != list[j].cost {
			return list[i].cost > list[j].cost
		}
		return list[i].width > list[j].width
	})
	for _, t := range list {
		r, start := p.entry(t.key)
		if !start {
			continue
		}
		select {
		case p.sem <- struct{}{}:
		case <-ctx.Done():
			r.err = fmt.Errorf("query %s: %w", t.text, ctx.Err())
			close(r.done)
			continue
		}
		go p.fetch(ctx, r, t.text, time.UnixMilli(t.key.at), true)
	}
}

// entry returns the memo entry of k and whether the caller must fetch it.
func (p *Planner) entry(k leafKey) (*leafResult, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.leaves[k]; ok {
		return r, false
	}
	r := &leafResult{id: p.nextID, done: make(chan struct{})}
	p.nextID++
	p.leaves[k] = r
	p.fetched++
	return r, true
}

// leaf returns the result of leaf lk: fetched (once), or taken out of the
// merged leaf that answers it (once).
func (p *Planner) leaf(ctx context.Context, lk leafKey, text string) *leafResult {
	p.mu.Lock()
	ref, isMerged := p.merged[lk]
	if !isMerged {
		p.mu.Unlock()
		r, start := p.entry(lk)
		if start {
			go p.fetch(ctx, r, text, time.UnixMilli(lk.at), false)
		}
		return r
	}
	u, ok := p.unmerged[lk]
	if ok {
		p.mu.Unlock()
		return u
	}
	u = &leafResult{id: p.nextID, done: make(chan struct{})}
	p.nextID++
	p.unmerged[lk] = u
	p.mu.Unlock()
	m, start := p.entry(ref.key)
	if start {
		go p.fetch(ctx, m, ref.key.query, time.UnixMilli(lk.at), false)
	}
	go func() {
		defer close(u.done)
		select {
		case <-m.done:
		case <-ctx.Done():
			u.err = fmt.Errorf("query %s: %w", text, ctx.Err())
			return
		}
		if m.err != nil {
			u.err = m.err
			return
		}
		u.v = ref.take.apply(m.v)
	}()
	return u
}

// fetch runs one leaf; held says the semaphore is already taken.
func (p *Planner) fetch(ctx context.Context, r *leafResult, q string, at time.Time, held bool) {
	defer close(r.done)
	if !held {
		select {
		case p.sem <- struct{}{}:
		case <-ctx.Done():
			r.err = fmt.Errorf("query %s: %w", q, ctx.Err())
			return
		}
	}
	defer func() { <-p.sem }()
	r.v, r.err = p.src.Query(ctx, q, at)
}

// Query evaluates q at at: its leaves come from the source (each distinct
// leaf once per planner) and are combined in-process. The same query at the
// same time is evaluated once; callers must not modify the Vector.
func (p *Planner) Query(ctx context.Context, q string, at time.Time) (Vector, error) {
	k := leafKey{q, at.UnixMilli()}
	p.mu.Lock()
	r, ok := p.answers[k]
	if !ok {
		r = &leafResult{done: make(chan struct{})}
		p.answers[k] = r
	}
	p.mu.Unlock()
	if ok {
		select {
		case <-r.done:
			return r.v, r.err
		case <-ctx.Done():
			return nil, fmt.Errorf("query %s: %w", q, ctx.Err())
		}
	}
	r.v, r.err = p.query(ctx, q, at)
	close(r.done)
	return r.v, r.err
}

func (p *Planner) query(ctx context.Context, q string, at time.Time) (Vector, error) {
	pl := p.plan(q)
	if pl.err != nil {
		return p.src.Query(ctx, q, at)
	}
	results := make([]*leafResult, len(pl.keys))
	expr := pl.expr
	for i, k := range pl.keys {
		results[i] = p.leaf(ctx, leafKey{k, at.UnixMilli()}, pl.leaves[i])
	}
	for _, r := range results {
		select {
		case <-r.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("query %s: %w", q, ctx.Err())
		}
	}
	for _, r := range results {
		if r.err == nil {
			continue
		}
		if errors.Is(r.err, ErrResultType) && expr != "" {
			// e.g. a native histogram between the leaf and the
			// function that turns it into floats: ask for the whole query.
			return p.src.Query(ctx, q, at)
		}
		if expr == "" {
			return nil, r.err
		}
		return nil, fmt.Errorf("query %s: %w", q, r.err)
	}
	if expr == "" {
		return results[0].v, nil
	}
	// Each leaf's series are stored once in the planner under a metric
	// name of their own when they have none (aggregations), else under a
	// label the expression removes again with label_replace (slower). A
	// query that reads __name__ itself always gets the label form.
	byName := !strings.Contains(q, model.MetricNameLabel)
	d := &Data{}
	added := map[*leafResult]bool{}
	for i, r := range results {
		named := byName && !r.hasName()
		local := fmt.Sprintf(`label_replace({%s=%q}, %q, "", "", "")`, leafLabel, strconv.Itoa(r.id), leafLabel)
		if named {
			local = r.name()
		}
		expr = strings.ReplaceAll(expr, pl.refs[i], local)
		if !added[r] {
			added[r] = true
			if named {
				d.Series = append(d.Series, r.storedByName(at)...)
			} else {
				d.Series = append(d.Series, r.stored(at)...)
			}
		}
	}
	v, err := evalLocal(ctx, localEngine(), memQueryable{d}, expr, at)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q, err)
	}
	for _, s := range v {
		// a filter such as `A > 0.5` keeps A's (stored) name; the
		// source's answer has none
		if strings.HasPrefix(s.Labels[model.MetricNameLabel], leafNamePrefix) {
			delete(s.Labels, model.MetricNameLabel)
		}
	}
	return v, nil
}

// leafLabel marks the series of leaf i in the in-process store; the
// combining expression removes it again with label_replace.
const leafLabel = "__releasegate_leaf__"

var (
	localOnce sync.Once
	localEng  *promql.Engine
)

func localEngine() *promql.Engine {
	localOnce.Do(func() {
		localEng = promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: 2 * time.Minute, EnableAtModifier: true, EnableNegativeOffset: true})
	})
	return localEng
}

func (p *Planner) plan(q string) *plan {
	p.mu.Lock()
	pl, ok := p.plans[q]
	p.mu.Unlock()
	if ok {
		return pl
	}
	pl = splitQuery(q)
	p.mu.Lock()
	p.plans[q] = pl
	p.mu.Unlock()
	return pl
}

// localFuncs are functions of instant vectors that look at nothing but each
// sample's labels and value, so they give the same answer over a leaf's
// result as over the series it was computed from. timestamp and absent are
// not among them: they look at sample times and selector matchers.
var localFuncs = map[string]bool{
	"abs": true, "ceil": true, "floor": true, "exp": true, "ln": true, "log2": true, "log10": true,
	"sqrt": true, "sgn": true, "round": true, "clamp": true, "clamp_min": true, "clamp_max": true,
	"histogram_quantile": true, "label_replace": true, "label_join": true, "scalar": true, "vector": true,
}

// splitQuery splits q into leaves and a combining expression. A query that
// is a single leaf has an empty expr.
func splitQuery(q string) *plan {
	expr, err := promParser.ParseExpr(q)
	if err != nil {
		return &plan{err: err}
	}
	s := &splitter{q: q, index: map[string]int{}}
	out := s.rewrite(expr)
	switch {
	case s.err != nil:
		return &plan{err: s.err}
	case len(s.pl.leaves) == 0:
		return &plan{err: errors.New("no selector")}
	}
	if out != expr {
		return &s.pl // the whole query is one leaf: send it as written
	}
	s.pl.expr = out.String()
	return &s.pl
}

type splitter struct {
	q     string
	pl    plan
	index map[string]int
	err   error
}

func (s *splitter) rewrite(e parser.Expr) parser.Expr {
	switch n := e.(type) {
	case *parser.ParenExpr:
		n.Expr = s.rewrite(n.Expr)
		return n
	case *parser.UnaryExpr:
		n.Expr = s.rewrite(n.Expr)
		return n
	case *parser.BinaryExpr:
		n.LHS = s.rewrite(n.LHS)
		n.RHS = s.rewrite(n.RHS)
		return n
	case *parser.NumberLiteral, *parser.StringLiteral:
		return n
	case *parser.Call:
		if localFuncs[n.Func.Name] && !hasMatrixArg(n) {
			for i, a := range n.Args {
				n.Args[i] = s.rewrite(a)
			}
			return n
		}
	}
	if !hasSelector(e) {
		return e // time(), vector(1): the same in-process
	}
	if e.Type() != parser.ValueTypeVector {
		s.err = fmt.Errorf("leaf %s is a %s", e, e.Type())
		return e
	}
	pr := e.PositionRange()
	text := e.String()
	if int(pr.Start) >= 0 && int(pr.End) <= len(s.q) && pr.Start < pr.End {
		text = s.q[pr.Start:pr.End] // as written: the server may be older than this parser
	}
	key := e.String()
	i, ok := s.index[key]
	if !ok {
		i = len(s.pl.leaves)
		s.index[key] = i
		s.pl.leaves = append(s.pl.leaves, text)
		s.pl.keys = append(s.pl.keys, key)
		s.pl.cost = append(s.pl.cost, rangeCost(e))
		s.pl.exprs = append(s.pl.exprs, e)
	}
	ref, err := promParser.ParseExpr(fmt.Sprintf(`label_replace({%s="%d"}, %q, "", "", "")`, leafLabel, i, leafLabel))
	if err != nil {
		s.err = err
		return e
	}
	if !ok {
		s.pl.refs = append(s.pl.refs, ref.String())
	}
	return ref
}

func hasMatrixArg(c *parser.Call) bool {
	for _, a := range c.Args {
		if a.Type() == parser.ValueTypeMatrix {
			return true
		}
	}
	return false
}

func hasSelector(e parser.Expr) bool {
	found := false
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if _, ok := n.(*parser.VectorSelector); ok {
			found = true
		}
		return nil
	})
	return found
}

// rangeCost estimates how much history a leaf reads: the sum of its range
// and subquery windows, 5m (the lookback) for each instant selector.
func rangeCost(e parser.Expr) time.Duration {
	var d time.Duration
	parser.Inspect(e, func(n parser.Node, path []parser.Node) error {
		switch n := n.(type) {
		case *parser.MatrixSelector:
			d += n.Range
		case *parser.SubqueryExpr:
			d += n.Range
		case *parser.VectorSelector:
			if len(path) == 0 {
				d += 5 * time.Minute
			} else if _, inRange := path[len(path)-1].(*parser.MatrixSelector); !inRange {
				d += 5 * time.Minute
			}
		}
		return nil
	})
	return d
}

// evalLocal runs q with the in-process engine over queryable.
func evalLocal(ctx context.Context, eng *promql.Engine, qa memQueryable, q string, at time.Time) (Vector, error) {
	qry, err := eng.NewInstantQuery(ctx, qa, nil, q, at)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrQuery, err)
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		if errors.Is(res.Err, context.DeadlineExceeded) || ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", gate.ErrTimeout, res.Err)
		}
		return nil, fmt.Errorf("%w: %w", ErrQuery, res.Err)
	}
	if warns, _ := res.Warnings.AsStrings(q, 5, 0); len(warns) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrPartial, strings.Join(warns, "; "))
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		out := make(Vector, 0, len(v))
		for _, s := range v {
			if s.H != nil {
				return nil, fmt.Errorf("%w: native histogram sample; use histogram_quantile or a float expression", ErrResultType)
			}
			out = append(out, Sample{Labels: s.Metric.Map(), Value: s.F})
		}
		return out, nil
	case promql.Scalar:
		return Vector{{Labels: map[string]string{}, Value: v.V}}, nil
	default:
		return nil, fmt.Errorf("%w: got %s, expected an instant vector or scalar", ErrResultType, res.Value.Type())
	}
}
