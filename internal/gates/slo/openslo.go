package slogate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/metrics"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/slo"
)

// OpenSLO v1 documents, decoded strictly: what the gate reads, and the
// descriptive keys it accepts and ignores.
type osloDoc struct {
	APIVersion string       `yaml:"apiVersion"`
	Kind       string       `yaml:"kind"`
	Metadata   osloMetadata `yaml:"metadata"`
	Spec       yaml.Node    `yaml:"spec"`
}

type osloMetadata struct {
	Name        string    `yaml:"name"`
	DisplayName string    `yaml:"displayName"`
	Labels      yaml.Node `yaml:"labels"`
	Annotations yaml.Node `yaml:"annotations"`
}

type osloSLOSpec struct {
	Description string `yaml:"description"`
	Service     string `yaml:"service"`
	Indicator   *struct {
		Metadata osloMetadata `yaml:"metadata"`
		Spec     osloSLISpec  `yaml:"spec"`
	} `yaml:"indicator"`
	IndicatorRef string `yaml:"indicatorRef"`
	TimeWindow   []struct {
		Duration  string    `yaml:"duration"`
		IsRolling bool      `yaml:"isRolling"`
		Calendar  yaml.Node `yaml:"calendar"`
	} `yaml:"timeWindow"`
	BudgetingMethod string `yaml:"budgetingMethod"`
	Objectives      []struct {
		DisplayName   string  `yaml:"displayName"`
		Target        float64 `yaml:"target"`
		TargetPercent float64 `yaml:"targetPercent"`
	} `yaml:"objectives"`
	AlertPolicies yaml.Node `yaml:"alertPolicies"`
}

type osloSLISpec struct {
	Description     string     `yaml:"description"`
	RatioMetric     *osloRatio `yaml:"ratioMetric"`
	ThresholdMetric yaml.Node  `yaml:"thresholdMetric"`
}

type osloRatio struct {
	Counter bool        `yaml:"counter"`
	Good    *osloMetric `yaml:"good"`
	Bad     *osloMetric `yaml:"bad"`
	Total   *osloMetric `yaml:"total"`
}

type osloMetric struct {
	MetricSource struct {
		Type string `yaml:"type"`
		Spec struct {
			Query string `yaml:"query"`
		} `yaml:"spec"`
	} `yaml:"metricSource"`
}

// isOpenSLO reports whether b's first document says apiVersion: openslo/….
func isOpenSLO(b []byte) bool {
	var head struct {
		APIVersion string `yaml:"apiVersion"`
	}
	_ = yaml.NewDecoder(bytes.NewReader(b)).Decode(&head)
	return strings.HasPrefix(head.APIVersion, "openslo/")
}

// ParseOpenSLO reads OpenSLO v1 documents (one file, several documents):
// every kind: SLO with one rolling time window, Occurrences budgeting, one
// objective and a ratioMetric SLI (inline or by indicatorRef to a kind: SLI
// in the file) over Prometheus counters. Each series selector x of a
// counter query becomes rate(x[{{.window}}]); a query that already has
// {{.window}} is taken as written. Every problem is a *SpecError (the
// gate's spec-file error) at its file:line:col.
func ParseOpenSLO(file string, b []byte) (*FromSpec, []error) {
	at, fail := specLocator(file)
	var docs []*yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, []error{slothYAMLError(file, err)}
		}
		if len(n.Content) == 1 {
			docs = append(docs, n.Content[0])
		}
	}
	var errs []error
	slis := map[string]*yaml.Node{}
	var slos []*yaml.Node
	for _, d := range docs {
		var doc osloDoc
		if derrs := decode(d, &doc, fail); len(derrs) > 0 {
			errs = append(errs, derrs...)
			continue
		}
		if doc.APIVersion != "openslo/v1" {
			errs = append(errs, fail(valueOf(d, "apiVersion"), "apiVersion %q: expected openslo/v1", doc.APIVersion))
			continue
		}
		switch doc.Kind {
		case "SLO":
			slos = append(slos, d)
		case "SLI":
			slis[doc.Metadata.Name] = d
		case "Service":
		default:
			errs = append(errs, fail(valueOf(d, "kind"), "kind %s is not read; expected SLO, SLI or Service", doc.Kind))
		}
	}
	if len(slos) == 0 && len(errs) == 0 {
		errs = append(errs, fail(nil, "no kind: SLO document; expected at least one"))
	}
	out := &FromSpec{}
	for _, d := range slos {
		o, pos, service, serrs := openSLOObject(d, slis, at, fail)
		errs = append(errs, serrs...)
		if o == nil {
			continue
		}
		switch {
		case out.Service == "":
			out.Service = service
		case service != out.Service:
			errs = append(errs, fail(valueOf(valueOf(d, "spec"), "service"), "service %q: the file's SLOs are of service %q; one gate judges one service", service, out.Service))
		}
		out.SLOs = append(out.SLOs, *o)
		out.At = append(out.At, pos)
	}
	return out, errs
}

// decode decodes n into v and reports every key of n that v's type does
// not have, each at its own position.
func decode(n *yaml.Node, v any, fail func(*yaml.Node, string, ...any) error) []error {
	var errs []error
	unknownKeys(n, reflect.TypeOf(v).Elem(), func(k *yaml.Node) {
		errs = append(errs, fail(k, "unknown key %q", k.Value))
	})
	if n != nil {
		if err := n.Decode(v); err != nil {
			errs = append(errs, fail(n, "%v", strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  ")))
		}
	}
	return errs
}

// unknownKeys calls bad for each mapping key under n that t (a struct,
// through pointers and slices) does not name in its yaml tags.
func unknownKeys(n *yaml.Node, t reflect.Type, bad func(*yaml.Node)) {
	n = resolve(n)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n == nil || t == yamlNodeType {
		return
	}
	switch {
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for _, c := range n.Content {
			unknownKeys(c, t.Elem(), bad)
		}
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name != "" && name != "-" {
				fields[name] = t.Field(i).Type
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			ft, ok := fields[n.Content[i].Value]
			if !ok {
				bad(n.Content[i])
				continue
			}
			unknownKeys(n.Content[i+1], ft, bad)
		}
	}
}

var yamlNodeType = reflect.TypeFor[yaml.Node]()

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// openSLOObject converts one kind: SLO document.
func openSLOObject(d *yaml.Node, slis map[string]*yaml.Node, at func(*yaml.Node) gate.Location,
	fail func(*yaml.Node, string, ...any) error) (*SLOObject, map[string]gate.Location, string, []error) {
	var doc osloDoc
	_ = d.Decode(&doc) // checked by the caller
	specNode := valueOf(d, "spec")
	var spec osloSLOSpec
	errs := decode(specNode, &spec, fail)
	bad := func(n *yaml.Node, format string, args ...any) { errs = append(errs, fail(n, format, args...)) }
	pos := map[string]gate.Location{"": at(d), "name": at(valueOf(valueOf(d, "metadata"), "name")), "objective": at(valueOf(specNode, "objectives"))}
	o := &SLOObject{Name: doc.Metadata.Name}
	if spec.AlertPolicies.Kind != 0 {
		bad(valueOf(specNode, "alertPolicies"), "alertPolicies are not read; releasegate slo rules generates the burn-rate alerts")
	}
	if spec.BudgetingMethod != "" && spec.BudgetingMethod != "Occurrences" {
		bad(valueOf(specNode, "budgetingMethod"), "budgetingMethod %s is not read; expected Occurrences (good events over all events)", spec.BudgetingMethod)
	}
	switch {
	case len(spec.TimeWindow) != 1:
		bad(valueOf(specNode, "timeWindow"), "expected one timeWindow, got %d", len(spec.TimeWindow))
	case !spec.TimeWindow[0].IsRolling || spec.TimeWindow[0].Calendar.Kind != 0:
		bad(valueOf(specNode, "timeWindow"), "calendar windows are not read; expected isRolling: true")
	default:
		dur, err := policy.ParseDuration(spec.TimeWindow[0].Duration)
		if err != nil {
			bad(valueOf(valueOf(specNode, "timeWindow").Content[0], "duration"), "duration %q: %v", spec.TimeWindow[0].Duration, err)
		}
		o.Period = policy.Duration(dur)
	}
	if len(spec.Objectives) != 1 {
		bad(valueOf(specNode, "objectives"), "expected one objective, got %d", len(spec.Objectives))
	} else if p, ok := percentOf(spec.Objectives[0].Target, spec.Objectives[0].TargetPercent); ok {
		o.Objective = p
	} else {
		bad(valueOf(specNode, "objectives"), "expected target (between 0 and 1) or targetPercent")
	}
	sliNode := valueOf(valueOf(specNode, "indicator"), "spec")
	var sli osloSLISpec
	switch {
	case spec.Indicator != nil:
		sli = spec.Indicator.Spec
	case spec.IndicatorRef != "":
		ref, ok := slis[spec.IndicatorRef]
		if !ok {
			bad(valueOf(specNode, "indicatorRef"), "no kind: SLI named %q in the file", spec.IndicatorRef)
			return nil, nil, "", errs
		}
		sliNode = valueOf(ref, "spec")
		errs = append(errs, decode(sliNode, &sli, fail)...)
	default:
		bad(specNode, "expected indicator or indicatorRef")
		return nil, nil, "", errs
	}
	r := sli.RatioMetric
	if r == nil {
		return nil, nil, "", append(errs, fail(sliNode, "only ratioMetric SLIs are read (good or bad over total events)"))
	}
	rn := valueOf(sliNode, "ratioMetric")
	for key, m := range map[string]*osloMetric{"good": r.Good, "bad": r.Bad, "total": r.Total} {
		if m == nil {
			continue
		}
		qn := valueOf(valueOf(valueOf(valueOf(rn, key), "metricSource"), "spec"), "query")
		pos[key] = at(qn)
		if m.MetricSource.Type != "Prometheus" {
			bad(valueOf(valueOf(rn, key), "metricSource"), "metricSource type %q: expected Prometheus", m.MetricSource.Type)
			continue
		}
		q, err := windowed(m.MetricSource.Spec.Query, r.Counter)
		if err != nil {
			bad(qn, "%v", err)
			continue
		}
		switch key {
		case "good":
			o.Good = q
		case "bad":
			o.Bad = q
		case "total":
			o.Total = q
		}
	}
	if len(errs) > 0 {
		// what is left would only repeat these problems
		return nil, nil, "", errs
	}
	return o, pos, spec.Service, nil
}

// percentOf turns an OpenSLO target (0.999) or targetPercent (99.9) into
// the percentage the gate reads, in decimal.
func percentOf(target, percent float64) (float64, bool) {
	switch {
	case percent != 0 && target == 0:
		return percent, true
	case target != 0 && percent == 0:
		r, ok := new(big.Rat).SetString(strconv.FormatFloat(target, 'g', -1, 64))
		if !ok {
			return 0, false
		}
		f, _ := r.Mul(r, big.NewRat(100, 1)).Float64()
		return f, true
	}
	return 0, false
}

// windowed makes an OpenSLO counter query a rate over {{.window}}: each
// series selector x becomes rate(x[{{.window}}]). A query with
// {{.window}} is taken as written.
func windowed(q string, counter bool) (string, error) {
	if strings.Contains(q, slo.WindowPlaceholder) {
		return q, nil
	}
	if !counter {
		return "", errors.New("only counter: true queries are read (their series become rate(x[{{.window}}])), or a query written with {{.window}}")
	}
	expr, err := metrics.ParseQuery(q)
	if err != nil {
		return "", fmt.Errorf("not valid PromQL: %w", err)
	}
	type span struct{ start, end int }
	var spans []span
	var inRange bool
	parser.Inspect(expr, func(n parser.Node, path []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		if len(path) > 0 {
			if _, ok := path[len(path)-1].(*parser.MatrixSelector); ok {
				inRange = true
			}
		}
		spans = append(spans, span{int(vs.PosRange.Start), int(vs.PosRange.End)})
		return nil
	})
	if inRange {
		return "", errors.New("the counter query has a range selector; write it with {{.window}} as the range, or as plain counters")
	}
	if len(spans) == 0 {
		return "", errors.New("the counter query selects no series")
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start > spans[j].start })
	for _, s := range spans {
		q = q[:s.start] + "rate(" + q[s.start:s.end] + "[" + slo.WindowPlaceholder + "])" + q[s.end:]
	}
	return q, nil
}
