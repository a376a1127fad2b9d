package metrics

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
)

// parseError is a problem in a metrics file at a line and column. It
// matches gate.ErrBadInput.
type parseError struct {
	File   string
	Line   int
	Column int
	Msg    string
}

func (e *parseError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
}

// Is makes a ParseError match gate.ErrBadInput.
func (e *parseError) Is(target error) bool { return target == gate.ErrBadInput }

// Series is one time series of a metrics file.
type Series struct {
	Labels labels.Labels
	T      []int64 // milliseconds since the epoch, ascending
	V      []float64
}

// Data is the parsed content of a metrics file.
type Data struct {
	// Series sorted by labels.
	Series []*Series
	// MinT and MaxT bound every sample (milliseconds).
	MinT, MaxT int64
	// OpenMetrics is true when the file ended with "# EOF" and its
	// timestamps were read as seconds.
	OpenMetrics bool
	// Digest is "sha256:<hex>" of the file's bytes.
	Digest string
}

// Samples returns the number of samples in d.
func (d *Data) Samples() int {
	n := 0
	for _, s := range d.Series {
		n += len(s.T)
	}
	return n
}

// parseMetrics parses a metrics file: the Prometheus text exposition format
// with a timestamp on every sample (milliseconds since the epoch), or
// OpenMetrics text (ending with "# EOF", timestamps in seconds, the format
// `promtool tsdb create-blocks-from openmetrics` reads). # HELP, # TYPE and
// # UNIT lines and other comments are ignored; a series may appear on many
// lines, one per sample, in any order. Every problem is reported with its
// line and column; the first 20 are returned joined.
func parseMetrics(name string, b []byte) (*Data, error) {
	sum := sha256.Sum256(b)
	d := &Data{Digest: "sha256:" + hex.EncodeToString(sum[:]), MinT: math.MaxInt64, MaxT: math.MinInt64}
	if !utf8.Valid(b) {
		return nil, &parseError{File: name, Line: 1, Column: 1, Msg: "file is not valid UTF-8; expected Prometheus text or OpenMetrics"}
	}
	text := string(b)
	trimmed := strings.TrimRight(text, " \t\r\n")
	d.OpenMetrics = strings.HasSuffix(trimmed, "# EOF")
	byKey := map[string]*Series{}
	var errs []error
	addErr := func(line, col int, format string, args ...any) {
		if len(errs) < 20 {
			errs = append(errs, &parseError{File: name, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
		}
	}
	type point struct {
		t int64
		v float64
	}
	points := map[*Series][]point{}
	lines := strings.Split(text, "\n")
	eof := false
	for i, raw := range lines {
		ln := i + 1
		line := strings.TrimRight(raw, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if eof {
			addErr(ln, 1, "content after # EOF; OpenMetrics ends at # EOF")
			break
		}
		if strings.HasPrefix(strings.TrimLeft(line, " \t"), "#") {
			if strings.TrimSpace(line) == "# EOF" {
				eof = true
			}
			continue
		}
		lset, t, v, col, err := parseSampleLine(line, d.OpenMetrics)
		if err != nil {
			addErr(ln, col, "%v", err)
			continue
		}
		key := lset.String()
		s := byKey[key]
		if s == nil {
			s = &Series{Labels: lset}
			byKey[key] = s
		}
		points[s] = append(points[s], point{t, v})
	}
	if len(errs) == 0 && len(byKey) == 0 {
		addErr(1, 1, "no samples; expected lines like `http_requests_total{tenant=\"acme\"} 1027 1700000000000`")
	}
	for _, s := range byKey {
		ps := points[s]
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].t < ps[j].t })
		for i, p := range ps {
			if i > 0 && ps[i-1].t == p.t {
				addErr(1, 1, "series %s has two samples at %s; expected one value per timestamp",
					s.Labels, time.UnixMilli(p.t).UTC().Format(time.RFC3339Nano))
				break
			}
			s.T = append(s.T, p.t)
			s.V = append(s.V, p.v)
		}
		d.MinT = min(d.MinT, ps[0].t)
		d.MaxT = max(d.MaxT, ps[len(ps)-1].t)
		d.Series = append(d.Series, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	sort.Slice(d.Series, func(i, j int) bool { return labels.Compare(d.Series[i].Labels, d.Series[j].Labels) < 0 })
	return d, nil
}

// parseSampleLine parses `name{l="v",...} value timestamp`. col is the
// 1-based column of a problem. It reads the metric name, then the labels,
// then the value and the timestamp.
func parseSampleLine(line string, om bool) (lset labels.Labels, t int64, v float64, col int, err error) {
	p := 0
	b := labels.NewScratchBuilder(4)
	start := p
	for p < len(line) && isNameChar(line[p], p == start) {
		p++
	}
	name := line[start:p]
	if name == "" {
		return lset, 0, 0, p + 1, fmt.Errorf("expected a metric name, found %q", excerpt(line[p:]))
	}
	b.Add(model.MetricNameLabel, name)
	if p < len(line) && line[p] == '{' {
		if p, col, err = parseLabels(line, p+1, &b); err != nil {
			return lset, 0, 0, col, err
		}
	}
	if t, v, col, err = parseValueTimestamp(line, p, name, om); err != nil {
		return lset, 0, 0, col, err
	}
	b.Sort()
	return b.Labels(), t, v, 0, nil
}

// skipSpace returns the offset of the first byte at or after p that is not
// a space or a tab.
func skipSpace(line string, p int) int {
	for p < len(line) && (line[p] == ' ' || line[p] == '\t') {
		p++
	}
	return p
}

// parseLabels reads `l="v",...}` from p, just after the {, into b and
// returns the offset after the }. col is the 1-based column of a problem.
func parseLabels(line string, p int, b *labels.ScratchBuilder) (next, col int, err error) {
	seen := map[string]bool{}
	for {
		p = skipSpace(line, p)
		if p < len(line) && line[p] == '}' {
			return p + 1, 0, nil
		}
		ls := p
		for p < len(line) && isNameChar(line[p], p == ls) && line[p] != ':' {
			p++
		}
		lname := line[ls:p]
		if lname == "" {
			return p, p + 1, fmt.Errorf("expected a label name or }, found %q", excerpt(line[p:]))
		}
		if seen[lname] || lname == model.MetricNameLabel {
			return p, ls + 1, fmt.Errorf("label %q appears twice", lname)
		}
		seen[lname] = true
		p = skipSpace(line, p)
		if p >= len(line) || line[p] != '=' {
			return p, p + 1, fmt.Errorf("expected = after label %q", lname)
		}
		p = skipSpace(line, p+1)
		if p >= len(line) || line[p] != '"' {
			return p, p + 1, fmt.Errorf("expected a quoted value for label %q", lname)
		}
		var val string
		if val, p, col, err = parseLabelValue(line, p+1, lname); err != nil {
			return p, col, err
		}
		b.Add(lname, val)
		p = skipSpace(line, p)
		if p < len(line) && line[p] == ',' {
			p++
			continue
		}
		if p < len(line) && line[p] == '}' {
			return p + 1, 0, nil
		}
		return p, p + 1, fmt.Errorf("expected , or } after label %q", lname)
	}
}

// parseLabelValue reads a quoted label value from p, just after the opening
// quote, unescaping \\, \" and \n, and returns the offset after the closing
// quote.
func parseLabelValue(line string, p int, lname string) (val string, next, col int, err error) {
	var sb strings.Builder
	for p < len(line) {
		c := line[p]
		if c == '\\' && p+1 < len(line) {
			switch line[p+1] {
			case 'n':
				sb.WriteByte('\n')
			case '\\', '"':
				sb.WriteByte(line[p+1])
			default:
				return "", p, p + 1, fmt.Errorf("unknown escape \\%c in label %q; expected \\\\, \\\" or \\n", line[p+1], lname)
			}
			p += 2
			continue
		}
		if c == '"' {
			return sb.String(), p + 1, 0, nil
		}
		sb.WriteByte(c)
		p++
	}
	return "", p, len(line) + 1, fmt.Errorf("unterminated value of label %q", lname)
}

// parseValueTimestamp reads ` value timestamp` from p, after the name and
// labels: a timestamp in milliseconds, or in seconds for OpenMetrics (om).
func parseValueTimestamp(line string, p int, name string, om bool) (t int64, v float64, col int, err error) {
	if p >= len(line) || (line[p] != ' ' && line[p] != '\t') {
		return 0, 0, p + 1, fmt.Errorf("expected a space and a value after %s", name)
	}
	rest := line[p:]
	if i := strings.Index(rest, " # "); i >= 0 {
		return 0, 0, p + i + 2, errors.New("exemplars are not supported in metrics files; remove the ` # {...}` part")
	}
	fields := strings.Fields(rest)
	valCol := p + 1 + strings.Index(rest, strings.TrimLeft(rest, " \t"))
	switch len(fields) {
	case 0:
		return 0, 0, valCol, fmt.Errorf("expected a value after %s", name)
	case 1:
		return 0, 0, len(line) + 1, fmt.Errorf("sample of %s has no timestamp; every sample in a metrics file needs one (%s)", name, tsUnit(om))
	case 2:
	default:
		return 0, 0, valCol, fmt.Errorf("expected `value timestamp` after %s, found %d fields", name, len(fields))
	}
	v, err = strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0, 0, valCol, fmt.Errorf("value %q is not a number", excerpt(fields[0]))
	}
	afterVal := rest[valCol-p-1+len(fields[0]):]
	tsCol := valCol + len(fields[0]) + strings.Index(afterVal, fields[1])
	if om {
		secs, perr := strconv.ParseFloat(fields[1], 64)
		if perr != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) > 9e12 {
			return 0, 0, tsCol, fmt.Errorf("timestamp %q is not a number of seconds (OpenMetrics)", excerpt(fields[1]))
		}
		return int64(math.Round(secs * 1000)), v, 0, nil
	}
	t, err = strconv.ParseInt(fields[1], 10, 64)
	if err != nil || t > 9e15 || t < -9e15 {
		return 0, 0, tsCol, fmt.Errorf("timestamp %q is not an integer number of milliseconds (Prometheus text format; end the file with # EOF for OpenMetrics seconds)", excerpt(fields[1]))
	}
	return t, v, 0, nil
}

func tsUnit(om bool) string {
	if om {
		return "seconds since the epoch, OpenMetrics"
	}
	return "milliseconds since the epoch"
}

func isNameChar(c byte, first bool) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || !first && c >= '0' && c <= '9'
}

func excerpt(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// FileSource evaluates PromQL in-process over a metrics file.
type FileSource struct {
	name   string
	data   *Data
	at     time.Time
	engine *promql.Engine
}

// FileOptions tune a FileSource.
type FileOptions struct {
	// At is the evaluation time; zero means the newest sample in the file.
	At time.Time
	// LookbackDelta is how far back an instant selector looks for a sample;
	// zero means Prometheus's default, 5m.
	LookbackDelta time.Duration
}

// OpenFile reads and parses a metrics file.
func OpenFile(path string, opts FileOptions) (*FileSource, error) {
	b, err := fsx.ReadFile(context.Background(), path, fsx.MaxDataSize)
	if err != nil {
		return nil, &gate.InputError{Input: path, Err: fmt.Errorf("read metrics file: %w", err)}
	}
	d, err := parseMetrics(path, b)
	if err != nil {
		return nil, err
	}
	return newFileSource(path, d, opts), nil
}

// newFileSource returns a source over parsed data.
func newFileSource(name string, d *Data, opts FileOptions) *FileSource {
	at := opts.At
	if at.IsZero() {
		at = time.UnixMilli(d.MaxT).UTC()
	}
	eng := promql.NewEngine(promql.EngineOpts{
		MaxSamples:           50_000_000,
		Timeout:              2 * time.Minute,
		LookbackDelta:        opts.LookbackDelta,
		EnableAtModifier:     true,
		EnableNegativeOffset: true,
	})
	return &FileSource{name: name, data: d, at: at, engine: eng}
}

// Data returns the parsed file.
func (f *FileSource) Data() *Data { return f.data }

// Now returns the fixed evaluation time.
func (f *FileSource) Now() time.Time { return f.at }

// Fixed is true: a file's time stands still.
func (f *FileSource) Fixed() bool { return true }

func (f *FileSource) String() string { return f.name }

// Query evaluates q in-process at time at.
func (f *FileSource) Query(ctx context.Context, q string, at time.Time) (Vector, error) {
	if _, err := promParser.ParseExpr(q); err != nil {
		return nil, &gate.InputError{Input: "query " + q, Err: fmt.Errorf("%w: %w", ErrQuery, err)}
	}
	v, err := evalLocal(ctx, f.engine, memQueryable{f.data}, q, at)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", q, err)
	}
	return v, nil
}

// memQueryable is a storage.Queryable over parsed data.
type memQueryable struct{ d *Data }

func (m memQueryable) Querier(mint, maxt int64) (storage.Querier, error) {
	return &memQuerier{d: m.d, mint: mint, maxt: maxt}, nil
}

type memQuerier struct {
	d          *Data
	mint, maxt int64
}

func (q *memQuerier) matching(ms []*labels.Matcher) []*Series {
	var out []*Series
	for _, s := range q.d.Series {
		ok := true
		for _, m := range ms {
			if !m.Matches(s.Labels.Get(m.Name)) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

func (q *memQuerier) Select(_ context.Context, _ bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		mint, maxt = hints.Start, hints.End
	}
	var set []storage.Series
	for _, s := range q.matching(ms) {
		lo := sort.Search(len(s.T), func(i int) bool { return s.T[i] >= mint })
		hi := sort.Search(len(s.T), func(i int) bool { return s.T[i] > maxt })
		if lo >= hi {
			continue
		}
		smp := make([]chunks.Sample, 0, hi-lo)
		for i := lo; i < hi; i++ {
			smp = append(smp, fsample{t: s.T[i], f: s.V[i]})
		}
		set = append(set, storage.NewListSeries(s.Labels, smp))
	}
	return &listSet{series: set, i: -1}
}

func (q *memQuerier) LabelValues(_ context.Context, name string, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	seen := map[string]bool{}
	for _, s := range q.matching(ms) {
		if v := s.Labels.Get(name); v != "" {
			seen[v] = true
		}
	}
	return sortedKeys(seen), nil, nil
}

func (q *memQuerier) LabelNames(_ context.Context, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	seen := map[string]bool{}
	for _, s := range q.matching(ms) {
		s.Labels.Range(func(l labels.Label) { seen[l.Name] = true })
	}
	return sortedKeys(seen), nil, nil
}

func (q *memQuerier) Close() error { return nil }

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type listSet struct {
	series []storage.Series
	i      int
}

func (l *listSet) Next() bool                        { l.i++; return l.i < len(l.series) }
func (l *listSet) At() storage.Series                { return l.series[l.i] }
func (l *listSet) Err() error                        { return nil }
func (l *listSet) Warnings() annotations.Annotations { return nil }

// fsample is a float sample for storage.NewListSeries.
type fsample struct {
	t int64
	f float64
}

func (s fsample) T() int64                      { return s.t }
func (s fsample) ST() int64                     { return 0 }
func (s fsample) F() float64                    { return s.f }
func (s fsample) H() *histogram.Histogram       { return nil }
func (s fsample) FH() *histogram.FloatHistogram { return nil }
func (s fsample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s fsample) Copy() chunks.Sample           { return s }
