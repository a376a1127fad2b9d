package slogate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// FromSpec is what a spec file named by from (a Sloth `prometheus/v1`
// service spec or OpenSLO v1 documents) gives the gate: the service and its
// SLOs, each with the positions of its keys in the file, so that a problem
// with an SLO read from it is reported there.
type FromSpec struct {
	Service string
	SLOs    []SLOObject
	// At holds, per SLO, the position of each key the gate may report a
	// problem at (name, objective, bad, total, alerts), and "" for the SLO.
	At []map[string]gate.Location
}

// ErrSpecFile is matched (errors.Is) by every problem ParseSlothSpec and
// ParseOpenSLO report.
var ErrSpecFile = errors.New("bad SLO spec file")

// SpecError is one problem in a spec file, at its file:line:col.
type SpecError struct {
	Location gate.Location
	Msg      string
}

func (e *SpecError) Error() string { return e.Location.String() + ": " + e.Msg }

// Is makes every SpecError match ErrSpecFile.
func (e *SpecError) Is(target error) bool { return target == ErrSpecFile }

// Sloth's spec, decoded strictly: an unknown key is an error.
type slothFile struct {
	Version string            `yaml:"version"`
	Service string            `yaml:"service"`
	Labels  map[string]string `yaml:"labels"`
	SLOs    []slothSLO        `yaml:"slos"`
}

type slothSLO struct {
	Name        string            `yaml:"name"`
	Objective   float64           `yaml:"objective"`
	Description string            `yaml:"description"`
	Labels      map[string]string `yaml:"labels"`
	SLI         struct {
		Events *struct {
			ErrorQuery string `yaml:"error_query"`
			TotalQuery string `yaml:"total_query"`
		} `yaml:"events"`
		Raw    yaml.Node `yaml:"raw"`
		Plugin yaml.Node `yaml:"plugin"`
	} `yaml:"sli"`
	Alerting struct {
		Name        string            `yaml:"name"`
		Labels      map[string]string `yaml:"labels"`
		Annotations map[string]string `yaml:"annotations"`
		PageAlert   slothAlert        `yaml:"page_alert"`
		TicketAlert slothAlert        `yaml:"ticket_alert"`
	} `yaml:"alerting"`
}

type slothAlert struct {
	Disable     bool              `yaml:"disable"`
	Labels      map[string]string `yaml:"labels"`
	Annotations yaml.Node         `yaml:"annotations"`
}

// ParseSlothSpec reads a Sloth `prometheus/v1` service spec (one YAML
// document; Sloth's multi-document files are several services and are
// refused: give each its own gate). It returns every problem at once, each
// a *SpecError at file:line:col, beside the SLOs it could read (nil when
// the file cannot be decoded), so that their own problems are found too.
func ParseSlothSpec(file string, b []byte) (*FromSpec, []error) {
	at, fail := specLocator(file)
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, []error{fail(nil, "the file is empty; expected a Sloth spec with version: prometheus/v1")}
		}
		return nil, []error{slothYAMLError(file, err)}
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		return nil, []error{fail(&next, "more than one YAML document; give each Sloth service its own slo gate")}
	} else if !errors.Is(err, io.EOF) {
		return nil, []error{slothYAMLError(file, err)}
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	var f slothFile
	strict := yaml.NewDecoder(bytes.NewReader(b))
	strict.KnownFields(true)
	if err := strict.Decode(&f); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, []error{slothYAMLError(file, err)}
		}
		var errs []error
		for _, msg := range te.Errors {
			errs = append(errs, slothTypeError(file, doc, msg))
		}
		return nil, errs
	}
	var errs []error
	if f.Version != "prometheus/v1" {
		errs = append(errs, fail(valueOf(doc, "version"), "version %q: expected prometheus/v1 (Sloth's Kubernetes and OpenSLO specs are not read)", f.Version))
	}
	if f.Service == "" {
		errs = append(errs, fail(valueOf(doc, "service"), "service is required"))
	}
	if len(f.SLOs) == 0 {
		errs = append(errs, fail(valueOf(doc, "slos"), "no SLOs; expected at least one under slos"))
	}
	out := &FromSpec{Service: f.Service}
	slosNode := valueOf(doc, "slos")
	for i, sl := range f.SLOs {
		var n *yaml.Node
		if slosNode != nil && i < len(slosNode.Content) {
			n = slosNode.Content[i]
		}
		o, pos, serrs := slothSLOObject(sl, n, doc, f.Labels, at, fail)
		errs = append(errs, serrs...)
		if o != nil {
			out.SLOs = append(out.SLOs, *o)
			out.At = append(out.At, pos)
		}
	}
	return out, errs
}

// slothSLOObject converts one Sloth SLO (at node n of the document doc)
// into the gate's SLOObject with the positions of its keys; nil when it
// has no events SLI to convert.
func slothSLOObject(s slothSLO, n, doc *yaml.Node, common map[string]string,
	at func(*yaml.Node) gate.Location, fail func(*yaml.Node, string, ...any) error) (*SLOObject, map[string]gate.Location, []error) {
	var errs []error
	pos := map[string]gate.Location{"": at(n)}
	sli := valueOf(n, "sli")
	events := valueOf(sli, "events")
	alerting := valueOf(n, "alerting")
	for key, node := range map[string]*yaml.Node{"name": valueOf(n, "name"), "objective": valueOf(n, "objective"),
		"alerts": alerting, "bad": valueOf(events, "error_query"), "total": valueOf(events, "total_query")} {
		if node != nil {
			pos[key] = at(node)
		}
	}
	switch {
	case s.SLI.Raw.Kind != 0:
		return nil, nil, []error{fail(valueOf(sli, "raw"), "raw SLIs (error_ratio_query) are not read: the gate judges bad and total events; write sli.events with error_query and total_query")}
	case s.SLI.Plugin.Kind != 0:
		return nil, nil, []error{fail(valueOf(sli, "plugin"), "SLI plugins are not read; write sli.events with error_query and total_query")}
	case s.SLI.Events == nil:
		return nil, nil, []error{fail(sli, "expected sli.events with error_query and total_query")}
	}
	a := s.Alerting
	for _, pa := range []struct {
		key string
		a   slothAlert
	}{{"page_alert", a.PageAlert}, {"ticket_alert", a.TicketAlert}} {
		pn := valueOf(alerting, pa.key)
		if pa.a.Disable {
			errs = append(errs, fail(valueOf(pn, "disable"), "disable is not supported: releasegate generates the page and the ticket alerts; route one to nowhere in Alertmanager instead"))
		}
		if pa.a.Annotations.Kind != 0 {
			errs = append(errs, fail(valueOf(pn, "annotations"), "annotations per alert are not supported; put them under alerting.annotations"))
		}
	}
	for _, src := range []*yaml.Node{valueOf(doc, "labels"), valueOf(n, "labels"), valueOf(alerting, "labels")} {
		keysAt(src, "alerts.labels.", pos, at) // later sources win, as in merge
	}
	keysAt(valueOf(valueOf(alerting, "page_alert"), "labels"), "alerts.page-labels.", pos, at)
	keysAt(valueOf(valueOf(alerting, "ticket_alert"), "labels"), "alerts.ticket-labels.", pos, at)
	keysAt(valueOf(alerting, "annotations"), "alerts.annotations.", pos, at)
	pageLabels, ticketLabels := merge(a.PageAlert.Labels), merge(a.TicketAlert.Labels)
	pageSev, ticketSev := pageLabels["severity"], ticketLabels["severity"]
	delete(pageLabels, "severity")
	delete(ticketLabels, "severity")
	o := &SLOObject{Name: s.Name, Objective: s.Objective, Bad: s.SLI.Events.ErrorQuery, Total: s.SLI.Events.TotalQuery}
	o.Alerts = &SLOAlerts{Name: a.Name, PageSeverity: pageSev, TicketSeverity: ticketSev,
		Labels: merge(common, s.Labels, a.Labels), PageLabels: pageLabels, TicketLabels: ticketLabels, Annotations: a.Annotations}
	return o, pos, errs
}

// keysAt records the position of each key of mapping n as prefix+key.
func keysAt(n *yaml.Node, prefix string, pos map[string]gate.Location, at func(*yaml.Node) gate.Location) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		pos[prefix+n.Content[i].Value] = at(n.Content[i])
	}
}

var fieldNotFoundRE = regexp.MustCompile(`^line (\d+): field (\S+) not found in type \S+$`)
var typeLineRE = regexp.MustCompile(`^line (\d+): (.*)$`)

// slothTypeError positions one of yaml.v3's decoding errors ("line 5:
// field objectiv not found in type …") at its key.
func slothTypeError(file string, root *yaml.Node, msg string) error {
	if m := fieldNotFoundRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		loc := gate.Location{File: file, Line: line, Column: 1}
		if k := keyAt(root, line, m[2]); k != nil {
			loc.Column = k.Column
		}
		return &SpecError{Location: loc, Msg: fmt.Sprintf("unknown key %q", m[2])}
	}
	if m := typeLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &SpecError{Location: gate.Location{File: file, Line: line, Column: 1}, Msg: m[2]}
	}
	return &SpecError{Location: gate.Location{File: file, Line: 1, Column: 1}, Msg: msg}
}

// keyAt finds the mapping key named key on line in the tree under n.
func keyAt(n *yaml.Node, line int, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Line == line && k.Value == key {
				return k
			}
		}
	}
	for _, c := range n.Content {
		if k := keyAt(c, line, key); k != nil {
			return k
		}
	}
	return nil
}

// merge returns the union of the maps, later ones winning; nil when empty.
func merge(ms ...map[string]string) map[string]string {
	var out map[string]string
	for _, m := range ms {
		for k, v := range m {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// valueOf returns the value node of key in mapping n, or nil.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// slothYAMLError turns a yaml.v3 error ("yaml: line 3: …" or a type
// error list) into a SpecError at its line.
func slothYAMLError(file string, err error) error {
	msg := err.Error()
	line := 1
	for _, l := range strings.Split(msg, "\n") {
		if i := strings.Index(l, "line "); i >= 0 {
			rest := l[i+len("line "):]
			if j := strings.IndexByte(rest, ':'); j > 0 {
				if n, convErr := strconv.Atoi(rest[:j]); convErr == nil {
					line = n
					msg = strings.TrimSpace(rest[j+1:])
					break
				}
			}
		}
	}
	return &SpecError{Location: gate.Location{File: file, Line: line, Column: 1}, Msg: msg}
}

// fileError places a problem with an SLO read from a Sloth spec at its
// position in that file: the key itself (alerts.labels.team), else the
// key's first part (alerts), else the SLO.
func (s *FromSpec) fileError(i int, field string, err error) error {
	key, _, _ := strings.Cut(field, ".")
	loc, ok := s.At[i][field]
	if !ok {
		if loc, ok = s.At[i][key]; !ok {
			loc = s.At[i][""]
		}
	}
	return &policy.FileError{Field: "from", Location: loc, Err: fmt.Errorf("slo %q: %s: %w", s.SLOs[i].Name, field, err)}
}

// specLocator gives the spec readers (Sloth, OpenSLO) the position of a
// node of file (the file's start for nil) and a *SpecError at a node.
func specLocator(file string) (at func(*yaml.Node) gate.Location, fail func(*yaml.Node, string, ...any) error) {
	at = func(n *yaml.Node) gate.Location {
		if n == nil {
			return gate.Location{File: file, Line: 1, Column: 1}
		}
		return gate.Location{File: file, Line: n.Line, Column: n.Column}
	}
	fail = func(n *yaml.Node, format string, args ...any) error {
		return &SpecError{Location: at(n), Msg: fmt.Sprintf(format, args...)}
	}
	return at, fail
}
