package testreport

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ParseJUnit reads JUnit XML: a <testsuites> root holding <testsuite>
// elements (nested suites allowed), or a single <testsuite> root. It reads
// the dialects in use:
//
//   - Maven Surefire and Failsafe: <flakyFailure>/<flakyError> in a case
//     that passed are earlier failed runs (the case is flaky);
//     <rerunFailure>/<rerunError> in a failed case are reruns that failed
//     too;
//   - gotestsum and go-junit-report: one suite per package; with
//     --rerun-fails a case appears again after it failed (a rerun);
//   - pytest and jest-junit: one <testcase> per test, <skipped> for
//     skips and expected failures.
//
// Counts come from the <testcase> elements, not from the tests="…"
// attributes, which tools fill differently (pytest's subtests, merged
// files). The decoder streams the tokens and keeps only the cases.
func ParseJUnit(data []byte) (*Report, error) {
	p := &junitParser{dec: xml.NewDecoder(bytes.NewReader(data))}
	p.dec.Strict = true
	if err := p.run(); err != nil {
		return nil, err
	}
	return &Report{Format: FormatJUnit, Cases: p.b.cases}, nil
}

type junitParser struct {
	dec    *xml.Decoder
	b      builder
	suites []string // names of the open <testsuite> elements
	depth  int      // open elements
	root   bool     // the root element was seen
	closed bool     // the root element was closed
	cur    *junitCase
}

// junitCase is the <testcase> being read.
type junitCase struct {
	c     Case
	depth int // depth of the <testcase> element
	// result is the result element being read (failure, error, ...),
	// text its character data so far.
	result                   string
	text                     strings.Builder
	msg                      string
	failed, errored, skipped bool
	extra                    int // flaky or rerun runs
	flaky                    bool
}

func (p *junitParser) errorf(format string, args ...any) error {
	line, col := p.dec.InputPos()
	return &SyntaxError{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

func (p *junitParser) run() error {
	for {
		tok, err := p.dec.Token()
		if errors.Is(err, io.EOF) {
			switch {
			case !p.root:
				return p.errorf("no root element; expected <testsuites> or <testsuite>")
			case !p.closed:
				return p.errorf("the file ends inside <%s>; the report is cut short", p.openName())
			}
			return nil
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				line, _ := p.dec.InputPos()
				return &SyntaxError{Line: max(se.Line, line), Msg: "not well-formed XML: " + se.Msg}
			}
			return p.errorf("not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := p.start(t); err != nil {
				return err
			}
		case xml.EndElement:
			p.end(t)
		case xml.CharData:
			if p.cur != nil && p.cur.result != "" && p.cur.text.Len() < 4096 {
				p.cur.text.Write(t[:min(len(t), 4096)])
			}
		}
	}
}

func (p *junitParser) openName() string {
	if p.cur != nil {
		return "testcase"
	}
	if len(p.suites) > 0 {
		return "testsuite"
	}
	return "testsuites"
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (p *junitParser) start(e xml.StartElement) error {
	p.depth++
	name := e.Name.Local
	if !p.root {
		if name != "testsuites" && name != "testsuite" {
			return p.errorf("root element <%s>; expected <testsuites> or <testsuite> (a JUnit XML report)", name)
		}
		p.root = true
	} else if p.closed {
		return p.errorf("element <%s> after the root element ended; expected one report per file", name)
	}
	if p.cur != nil {
		if p.depth == p.cur.depth+1 {
			p.cur.startResult(name, e)
		}
		return nil
	}
	switch name {
	case "testsuite":
		p.suites = append(p.suites, attr(e, "name"))
	case "testcase":
		suite := ""
		if len(p.suites) > 0 {
			suite = p.suites[len(p.suites)-1]
		}
		p.cur = &junitCase{depth: p.depth, c: Case{Suite: suite, Class: attr(e, "classname"), Name: attr(e, "name")}}
		if p.cur.c.Name == "" {
			return p.errorf("<testcase> without a name; expected name=\"…\"")
		}
	}
	return nil
}

func (jc *junitCase) startResult(name string, e xml.StartElement) {
	switch name {
	case "failure", "error", "skipped":
		switch name {
		case "failure":
			jc.failed = true
		case "error":
			jc.errored = true
		default:
			jc.skipped = true
		}
		jc.result = name
		jc.msg = attr(e, "message")
		if jc.msg == "" {
			jc.msg = attr(e, "type")
		}
		jc.text.Reset()
	case "flakyFailure", "flakyError":
		jc.flaky = true
		jc.extra++
	case "rerunFailure", "rerunError":
		jc.extra++
	}
}

func (p *junitParser) end(e xml.EndElement) {
	defer func() { p.depth-- }()
	if p.depth == 1 {
		p.closed = true
	}
	if p.cur == nil {
		if e.Name.Local == "testsuite" && len(p.suites) > 0 {
			p.suites = p.suites[:len(p.suites)-1]
		}
		return
	}
	jc := p.cur
	switch {
	case p.depth == jc.depth+1 && jc.result != "":
		if m := firstLine(jc.msg); m != "" {
			jc.msg = m
		} else {
			jc.msg = firstLine(jc.text.String())
		}
		jc.result = ""
	case p.depth == jc.depth:
		p.b.add(jc.finish())
		p.cur = nil
	}
}

// finish decides the case's outcome: an error outranks a failure, which
// outranks a skip.
func (jc *junitCase) finish() Case {
	c := jc.c
	c.Runs = 1 + jc.extra
	switch {
	case jc.errored:
		c.Outcome = Errored
	case jc.failed:
		c.Outcome = Failed
	case jc.skipped:
		c.Outcome = Skipped
	default:
		c.Outcome = Passed
		c.Flaky = jc.flaky
	}
	if c.Outcome != Passed {
		c.Message = cut(jc.msg, MaxMessage)
	}
	return c
}
