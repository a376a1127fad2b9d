package vuln

import (
	"encoding/json"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"
)

// SARIF is decoded as a stream with go-sarif's types: the log's runs one by
// one, each run's results one by one, so only the findings stay in memory.

// vulnIDPattern finds a vulnerability id at the start of a rule id: Grype
// names its rules "<id>-<package>".
var vulnIDPattern = regexp.MustCompile(`^(CVE-\d{4}-\d{4,}|GHSA(-[23456789cfghjmpqrvwx]{4}){3}|GO-\d{4}-\d{4,}|RUSTSEC-\d{4}-\d{4,}|PYSEC-\d{4}-\d+|OSV-\d{4}-\d+)`)

type sarifStream struct {
	dec *json.Decoder
	rep *Report
}

func parseSARIF(r io.Reader) (*Report, error) {
	s := &sarifStream{dec: json.NewDecoder(r), rep: &Report{Format: FormatSARIF}}
	if err := s.object(func(key string) error {
		switch key {
		case "version":
			var v string
			if err := s.decode(&v); err != nil {
				return err
			}
			if v != "2.1.0" {
				return malformed(FormatSARIF, s.dec.InputOffset(), "version %q, expected 2.1.0", v)
			}
			return nil
		case "runs":
			return s.runs()
		}
		return s.skip()
	}); err != nil {
		return nil, err
	}
	if s.rep.Tool == "" {
		return nil, malformed(FormatSARIF, s.dec.InputOffset(), "no runs: a SARIF log without runs says nothing was scanned; expected at least one run")
	}
	end := s.dec.InputOffset()
	if _, err := s.dec.Token(); err != io.EOF {
		if err != nil {
			return nil, jsonError(FormatSARIF, s.dec, err)
		}
		return nil, malformed(FormatSARIF, end, "unexpected data after the SARIF log")
	}
	return s.rep, nil
}

func (s *sarifStream) decode(v any) error {
	if err := s.dec.Decode(v); err != nil {
		return jsonError(FormatSARIF, s.dec, err)
	}
	return nil
}

func (s *sarifStream) skip() error {
	var raw json.RawMessage
	return s.decode(&raw)
}

func (s *sarifStream) delim(want json.Delim, what string) error {
	at := s.dec.InputOffset()
	tok, err := s.dec.Token()
	if err != nil {
		return jsonError(FormatSARIF, s.dec, err)
	}
	if tok != want {
		return malformed(FormatSARIF, at, "%s: expected %q, found %v", what, want, tok)
	}
	return nil
}

// object calls each for every key of the object that comes next.
func (s *sarifStream) object(each func(key string) error) error {
	if err := s.delim('{', "a SARIF object"); err != nil {
		return err
	}
	for s.dec.More() {
		tok, err := s.dec.Token()
		if err != nil {
			return jsonError(FormatSARIF, s.dec, err)
		}
		key, _ := tok.(string)
		if err := each(key); err != nil {
			return err
		}
	}
	return s.delim('}', "the end of a SARIF object")
}

func (s *sarifStream) array(what string, each func() error) error {
	if err := s.delim('[', what); err != nil {
		return err
	}
	for s.dec.More() {
		if err := each(); err != nil {
			return err
		}
	}
	return s.delim(']', "the end of "+what)
}

// sarifResult is what a run keeps of one result until its rules are known.
type sarifResult struct {
	ruleID    string
	ruleIndex int
	component int // -1: the driver; else an index into tool.extensions
	level     string
	score     string
	location  string
	pkg       string
	version   string
	offset    int64
}

func (s *sarifStream) runs() error {
	n := 0
	start := s.dec.InputOffset()
	err := s.array("runs", func() error {
		n++
		return s.run(n)
	})
	if err == nil && n == 0 {
		return malformed(FormatSARIF, start, "no runs: a SARIF log without runs says nothing was scanned; expected at least one run")
	}
	return err
}

func (s *sarifStream) run(n int) error {
	var tool sarif.Tool
	var rules *ruleSet
	var pending []sarifResult // results read before the tool
	sawResults, count := false, 0
	start := s.dec.InputOffset()
	err := s.object(func(key string) error {
		switch key {
		case "tool":
			if err := s.decode(&tool); err != nil {
				return err
			}
			rules = newRuleSet(&tool)
			return nil
		case "results":
			sawResults = true
			return s.array("results", func() error {
				at := s.dec.InputOffset()
				var res sarifResultDoc
				if err := s.decode(&res); err != nil {
					return err
				}
				if res.BaselineState == "absent" {
					// SARIF: a result of the baseline that this run no
					// longer finds; it is not a finding of this run.
					s.rep.Ignored++
					return nil
				}
				count++
				r := reduceResult(&res, at)
				if rules == nil { // the tool comes later: keep the result
					pending = append(pending, r)
					return nil
				}
				return s.add(rules, n, count, r)
			})
		case "invocations":
			var inv []*sarif.Invocation
			if err := s.decode(&inv); err != nil {
				return err
			}
			return s.invocations(n, inv)
		case "properties":
			var bag sarif.PropertyBag
			if err := s.decode(&bag); err != nil {
				return err
			}
			s.runProperties(bag.Properties)
			return nil
		}
		return s.skip()
	})
	if err != nil {
		return err
	}
	if tool.Driver == nil || tool.Driver.Name == nil || *tool.Driver.Name == "" {
		return malformed(FormatSARIF, start, "run %d names no tool (tool.driver.name)", n)
	}
	if !sawResults {
		return malformed(FormatSARIF, start, "run %d of %s has no results array: SARIF says the analysis did not run; expected results (empty when nothing was found)", n, *tool.Driver.Name)
	}
	s.tool(tool.Driver)
	if rules == nil {
		rules = newRuleSet(&tool)
	}
	for i, r := range pending {
		if err := s.add(rules, n, i+1, r); err != nil {
			return err
		}
	}
	return nil
}

func (s *sarifStream) tool(d *sarif.ToolComponent) {
	name, version := *d.Name, ""
	if d.SemanticVersion != nil {
		version = *d.SemanticVersion
	} else if d.Version != nil {
		version = *d.Version
	}
	if s.rep.Tool == "" {
		s.rep.Tool, s.rep.ToolVersion = name, version
	} else if !strings.Contains(s.rep.Tool, name) {
		s.rep.Tool += ", " + name
	}
}

func (s *sarifStream) invocations(n int, inv []*sarif.Invocation) error {
	for i, v := range inv {
		if v == nil {
			continue
		}
		if v.ExecutionSuccessful != nil && !*v.ExecutionSuccessful {
			return malformed(FormatSARIF, s.dec.InputOffset(), "run %d invocation %d: executionSuccessful is false: the scan failed; fix the scan before judging it", n, i+1)
		}
		for _, ts := range []*string{v.EndTimeUtc, v.StartTimeUtc} {
			if ts == nil {
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, *ts)
			if err != nil {
				return malformed(FormatSARIF, s.dec.InputOffset(), "run %d invocation %d: time %q: expected RFC 3339", n, i+1, *ts)
			}
			if t.After(s.rep.Created) {
				s.rep.Created, s.rep.CreatedFrom = t, "runs[].invocations[].endTimeUtc"
			}
			break
		}
	}
	return nil
}

// runProperties reads the scanned image's digests Trivy writes into a
// run's properties (imageID, repoDigests) and its name.
func (s *sarifStream) runProperties(p sarif.Properties) {
	if v, ok := p["imageID"].(string); ok {
		s.rep.addDigest(v)
	}
	if list, ok := p["repoDigests"].([]any); ok {
		for _, v := range list {
			if d, ok := v.(string); ok {
				s.rep.addDigest(d)
			}
		}
	}
	if v, ok := p["imageName"].(string); ok && s.rep.Target == "" {
		s.rep.Target = v
	}
}

// sarifResultDoc is the part of a SARIF 2.1 result object that is judged,
// with the schema's names. Results are the bulk of a log: decoding only
// these fields, rather than go-sarif's whole Result, halves the time a
// large log takes (BenchmarkSARIF50MB).
type sarifResultDoc struct {
	RuleID    *string `json:"ruleId"`
	RuleIndex *int    `json:"ruleIndex"`
	Rule      *struct {
		ID            *string `json:"id"`
		Index         *int    `json:"index"`
		ToolComponent *struct {
			Index *int `json:"index"`
		} `json:"toolComponent"`
	} `json:"rule"`
	Level         string `json:"level"`
	BaselineState string `json:"baselineState"`
	Properties    *struct {
		SecuritySeverity any `json:"security-severity"`
	} `json:"properties"`
	Locations []struct {
		PhysicalLocation *struct {
			ArtifactLocation *struct {
				URI *string `json:"uri"`
			} `json:"artifactLocation"`
			Region *struct {
				StartLine *int `json:"startLine"`
			} `json:"region"`
		} `json:"physicalLocation"`
		Message *struct {
			Text *string `json:"text"`
		} `json:"message"`
	} `json:"locations"`
}

func reduceResult(r *sarifResultDoc, offset int64) sarifResult {
	out := sarifResult{ruleIndex: -1, component: -1, level: r.Level, offset: offset}
	if r.RuleIndex != nil {
		out.ruleIndex = *r.RuleIndex
	}
	if r.RuleID != nil {
		out.ruleID = *r.RuleID
	} else if r.Rule != nil && r.Rule.ID != nil {
		out.ruleID = *r.Rule.ID
	}
	if r.Rule != nil {
		if out.ruleIndex < 0 && r.Rule.Index != nil {
			out.ruleIndex = *r.Rule.Index
		}
		// CodeQL keeps its rules in the query packs (tool.extensions) and
		// points at one with rule.toolComponent.index.
		if r.Rule.ToolComponent != nil && r.Rule.ToolComponent.Index != nil {
			out.component = *r.Rule.ToolComponent.Index
		}
	}
	if r.Properties != nil {
		out.score = scoreString(r.Properties.SecuritySeverity)
	}
	for _, l := range r.Locations {
		pl := l.PhysicalLocation
		if pl == nil || pl.ArtifactLocation == nil || pl.ArtifactLocation.URI == nil {
			continue
		}
		out.location = *pl.ArtifactLocation.URI
		if pl.Region != nil && pl.Region.StartLine != nil {
			out.location += ":" + strconv.Itoa(*pl.Region.StartLine)
		}
		if l.Message != nil && l.Message.Text != nil {
			out.pkg, out.version = trivyPackage(*l.Message.Text)
		}
		break
	}
	return out
}

// trivyPackage reads the package Trivy names in a location's message,
// "<target>: <package>@<version>".
func trivyPackage(msg string) (pkg, version string) {
	i := strings.LastIndex(msg, ": ")
	if i < 0 {
		return "", ""
	}
	rest := msg[i+2:]
	j := strings.LastIndexByte(rest, '@')
	if j <= 0 || j == len(rest)-1 || strings.ContainsAny(rest, " \n") {
		return "", ""
	}
	return rest[:j], rest[j+1:]
}

func scoreString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

// ruleSet finds results' rules: the driver's and, for CodeQL, the query
// packs' (tool.extensions).
type ruleSet struct {
	components []*sarif.ToolComponent
	byID       map[string]*sarif.ReportingDescriptor
	split      map[string][2]string // Grype rule id → vulnerability id, package
}

func newRuleSet(tool *sarif.Tool) *ruleSet {
	rs := &ruleSet{components: append([]*sarif.ToolComponent{tool.Driver}, tool.Extensions...),
		byID: map[string]*sarif.ReportingDescriptor{}, split: map[string][2]string{}}
	for _, c := range rs.components {
		if c == nil {
			continue
		}
		for _, rule := range c.Rules {
			if rule != nil && rule.ID != nil {
				if _, ok := rs.byID[*rule.ID]; !ok {
					rs.byID[*rule.ID] = rule
				}
			}
		}
	}
	return rs
}

// add resolves result i of run n against its rule — its id, its
// security-severity (a CVSS-like score CodeQL, Trivy and Grype write), else
// the result's level — and adds the finding.
func (s *sarifStream) add(rs *ruleSet, n, i int, r sarifResult) error {
	rule := ruleOf(rs.components, r, rs.byID)
	if r.ruleID == "" && rule != nil && rule.ID != nil {
		r.ruleID = *rule.ID
	}
	if r.ruleID == "" {
		return malformed(FormatSARIF, r.offset, "run %d result %d has no ruleId: expected every result to name its rule", n, i)
	}
	f := Finding{ID: r.ruleID, Location: r.location, Package: r.pkg, Version: r.version, Severity: levelSeverity(r.level, rule)}
	score := r.score
	if score == "" && rule != nil && rule.Properties != nil {
		score = scoreString(rule.Properties.Properties["security-severity"])
	}
	if sc, ok := parseScore(score); ok {
		f.Score, f.HasScore = sc, true
		f.Severity = FromCVSS(sc)
	}
	if f.Package == "" {
		split, ok := rs.split[r.ruleID]
		if !ok {
			// Grype: "CVE-…-<package>": the id is the vulnerability.
			if m := vulnIDPattern.FindString(r.ruleID); m != "" && m != r.ruleID {
				split = [2]string{m, strings.TrimPrefix(r.ruleID, m+"-")}
			}
			rs.split[r.ruleID] = split
		}
		if split[0] != "" {
			f.ID, f.Package = split[0], split[1]
		}
	}
	if rule != nil && rule.Properties != nil {
		if purls, ok := rule.Properties.Properties["purls"].([]any); ok && len(purls) > 0 {
			f.PURL, _ = purls[0].(string)
		}
	}
	s.rep.Findings = append(s.rep.Findings, f)
	return nil
}

// ruleOf finds a result's rule: by index in its tool component when that
// rule has the result's id (or the result names none), else by id.
func ruleOf(components []*sarif.ToolComponent, r sarifResult, byID map[string]*sarif.ReportingDescriptor) *sarif.ReportingDescriptor {
	if c := r.component + 1; c >= 0 && c < len(components) && components[c] != nil {
		rules := components[c].Rules
		if r.ruleIndex >= 0 && r.ruleIndex < len(rules) && rules[r.ruleIndex] != nil {
			rule := rules[r.ruleIndex]
			if r.ruleID == "" || (rule.ID != nil && *rule.ID == r.ruleID) {
				return rule
			}
		}
	}
	return byID[r.ruleID]
}

// levelSeverity maps a SARIF level to a severity when no score is given:
// error high, warning medium, note low, none none; a result without a
// level takes its rule's default level, and then SARIF's default, warning.
func levelSeverity(level string, rule *sarif.ReportingDescriptor) Severity {
	if level == "" && rule != nil && rule.DefaultConfiguration != nil {
		level = rule.DefaultConfiguration.Level
	}
	switch level {
	case "error":
		return SeverityHigh
	case "note":
		return SeverityLow
	case "none":
		return SeverityNone
	}
	return SeverityMedium
}
