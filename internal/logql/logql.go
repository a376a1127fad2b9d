// Package logql checks that a LogQL query is well-formed: stream selector,
// line filters, parsers (json, logfmt, regexp, pattern, unpack), label
// filters, line_format/label_format, drop/keep, unwrap, range aggregations
// over log ranges, vector aggregations and binary operations.
//
// It is a syntax check written for releasegate, not Loki's parser (Loki is
// AGPL-licensed and is not a dependency): a query it accepts may still be
// refused by a Loki server for semantic reasons (an unknown function
// parameter, a query limit), and its messages are its own.
package logql

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ErrSyntax is matched by every error Check returns.
var ErrSyntax = errors.New("not well-formed LogQL")

// Error is a syntax error at a line and column of the query (1-based).
type Error struct {
	Line, Column int
	Msg          string
}

func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg) }

// Unwrap makes errors.Is(err, ErrSyntax) hold.
func (e *Error) Unwrap() error { return ErrSyntax }

// Kind is what a well-formed query returns.
type Kind int

const (
	// Logs is a log query: a stream selector and a pipeline.
	Logs Kind = iota + 1
	// Metric is a metric query: aggregations over log ranges.
	Metric
)

// Check returns whether q is a log or a metric query, or an *Error.
func Check(q string) (Kind, error) {
	p := &parser{src: q}
	if err := p.lex(); err != nil {
		return 0, err
	}
	if p.peek().t == tEOF {
		return 0, p.errAt(p.peek(), "empty query; expected a stream selector such as {app=\"api\"} or a metric query")
	}
	var kind Kind
	var err error
	if p.peek().t == tLBrace {
		kind, err = Logs, p.logQuery()
	} else {
		kind, err = Metric, p.metricExpr(0)
	}
	if err != nil {
		return 0, err
	}
	if t := p.peek(); t.t != tEOF {
		return 0, p.errAt(t, fmt.Sprintf("unexpected %s after the end of the query", t))
	}
	return kind, nil
}

type tokType int

const (
	tEOF tokType = iota
	tIdent
	tString
	tNumber // a number, a duration (5m, 1h30m) or a size (10KB)
	tLBrace
	tRBrace
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
	tPipe    // |
	tLineOp  // |= != |~ !~ |> !>
	tMatchOp // = != =~ !~ (in selectors and label filters)
	tCmpOp   // == > >= < <=
	tArithOp // + - * / % ^
	tFlag    // --strict, --keep-empty
)

type token struct {
	t   tokType
	s   string
	pos int
}

func (t token) String() string {
	if t.t == tEOF {
		return "end of query"
	}
	return strconv.Quote(t.s)
}

type parser struct {
	src  string
	toks []token
	i    int
}

func (p *parser) errAt(t token, msg string) error {
	line, col := 1, 1
	for _, r := range p.src[:min(t.pos, len(p.src))] {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &Error{Line: line, Column: col, Msg: msg}
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekN(n int) token {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.t != tEOF {
		p.i++
	}
	return t
}

func (p *parser) expect(tt tokType, what string) (token, error) {
	t := p.next()
	if t.t != tt {
		return t, p.errAt(t, fmt.Sprintf("expected %s, found %s", what, t))
	}
	return t, nil
}

func (p *parser) lex() error {
	s := p.src
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '#': // a comment to the end of the line
			for i < len(s) && s[i] != '\n' {
				i++
			}
			continue
		}
		start := i
		add := func(t tokType, n int) { p.toks = append(p.toks, token{t, s[start : start+n], start}); i = start + n }
		two := ""
		if i+1 < len(s) {
			two = s[i : i+2]
		}
		switch {
		case c == '"' || c == '`':
			v, n, err := lexString(s[i:])
			if err != nil {
				return p.errAt(token{pos: i}, err.Error())
			}
			p.toks = append(p.toks, token{tString, v, i})
			i += n
		case two == "|=" || two == "|~" || two == "|>" || two == "!>":
			add(tLineOp, 2)
		case two == "!=" || two == "!~" || two == "=~":
			add(tMatchOp, 2)
		case two == "==" || two == ">=" || two == "<=":
			add(tCmpOp, 2)
		case two == "--":
			j := i + 2
			for j < len(s) && (isIdent(rune(s[j]), true) || s[j] == '-') {
				j++
			}
			add(tFlag, j-i)
		case c == '=':
			add(tMatchOp, 1)
		case c == '>' || c == '<':
			add(tCmpOp, 1)
		case strings.IndexByte("+-*/%^", c) >= 0:
			add(tArithOp, 1)
		case c == '|':
			add(tPipe, 1)
		case c == '{':
			add(tLBrace, 1)
		case c == '}':
			add(tRBrace, 1)
		case c == '(':
			add(tLParen, 1)
		case c == ')':
			add(tRParen, 1)
		case c == '[':
			add(tLBrack, 1)
		case c == ']':
			add(tRBrack, 1)
		case c == ',':
			add(tComma, 1)
		case c >= '0' && c <= '9' || (c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9'):
			j := i
			for j < len(s) && (isIdent(rune(s[j]), true) || s[j] == '.') {
				j++
			}
			add(tNumber, j-i)
		default:
			r, w := utf8.DecodeRuneInString(s[i:])
			if !isIdent(r, false) {
				return p.errAt(token{pos: i}, fmt.Sprintf("unexpected character %q", r))
			}
			j := i + w
			for j < len(s) {
				r, w := utf8.DecodeRuneInString(s[j:])
				if !isIdent(r, true) && r != '.' {
					break
				}
				j += w
			}
			add(tIdent, j-i)
		}
	}
	p.toks = append(p.toks, token{t: tEOF, pos: len(s)})
	return nil
}

func isIdent(r rune, digits bool) bool {
	return r == '_' || unicode.IsLetter(r) || (digits && unicode.IsDigit(r))
}

// lexString reads a double-quoted (Go escapes) or backquoted string.
func lexString(s string) (string, int, error) {
	q := s[0]
	for j := 1; j < len(s); j++ {
		switch {
		case s[j] == '\\' && q == '"':
			j++
		case s[j] == q:
			if q == '`' {
				return s[1:j], j + 1, nil
			}
			v, err := strconv.Unquote(s[:j+1])
			if err != nil {
				return "", 0, fmt.Errorf("bad string %s: %v", s[:j+1], err)
			}
			return v, j + 1, nil
		}
	}
	return "", 0, errors.New("unterminated string")
}

// selector reads {label op "value", …}.
func (p *parser) selector() error {
	if _, err := p.expect(tLBrace, "a stream selector {…}"); err != nil {
		return err
	}
	n := 0
	for p.peek().t != tRBrace {
		if n > 0 {
			if _, err := p.expect(tComma, "a comma or }"); err != nil {
				return err
			}
			if p.peek().t == tRBrace { // a trailing comma
				break
			}
		}
		if err := p.matcher(); err != nil {
			return err
		}
		n++
	}
	end := p.next()
	if n == 0 {
		return p.errAt(end, "an empty stream selector {}; expected at least one label matcher such as {app=\"api\"}")
	}
	return nil
}

func (p *parser) matcher() error {
	name, err := p.expect(tIdent, "a label name")
	if err != nil {
		return err
	}
	op, err := p.expect(tMatchOp, "=, !=, =~ or !~")
	if err != nil {
		return err
	}
	v, err := p.expect(tString, "a quoted value")
	if err != nil {
		return err
	}
	if op.s == "=~" || op.s == "!~" {
		if _, err := regexp.Compile("^(?:" + v.s + ")$"); err != nil {
			return p.errAt(v, fmt.Sprintf("label %s: bad regular expression: %v", name.s, err))
		}
	}
	return nil
}

// logQuery is a selector, a pipeline, and (inside a range aggregation)
// a range that may come before or after the pipeline.
func (p *parser) logQuery() error {
	if err := p.selector(); err != nil {
		return err
	}
	return p.pipeline()
}

func (p *parser) pipeline() error {
	for {
		switch t := p.peek(); t.t {
		case tLineOp:
			if err := p.lineFilter(); err != nil {
				return err
			}
		case tMatchOp:
			if t.s != "!=" && t.s != "!~" {
				return p.errAt(t, fmt.Sprintf("unexpected %s in a pipeline; line filters are |=, !=, |~, !~", t))
			}
			if err := p.lineFilter(); err != nil {
				return err
			}
		case tPipe:
			p.next()
			if err := p.stage(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

func (p *parser) lineFilter() error {
	op := p.next()
	for {
		if err := p.filterValue(op); err != nil {
			return err
		}
		if t := p.peek(); t.t == tIdent && t.s == "or" {
			p.next()
			continue
		}
		return nil
	}
}

func (p *parser) filterValue(op token) error {
	t := p.next()
	switch {
	case t.t == tString:
		if op.s == "|~" || op.s == "!~" {
			if _, err := regexp.Compile(t.s); err != nil {
				return p.errAt(t, fmt.Sprintf("bad regular expression in line filter: %v", err))
			}
		}
		return nil
	case t.t == tIdent && t.s == "ip":
		if _, err := p.expect(tLParen, "( after ip"); err != nil {
			return err
		}
		if _, err := p.expect(tString, "a quoted address or range"); err != nil {
			return err
		}
		_, err := p.expect(tRParen, ")")
		return err
	}
	return p.errAt(t, fmt.Sprintf("expected a quoted string after %s, found %s", op.s, t))
}

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func (p *parser) stage() error {
	t := p.peek()
	if t.t != tIdent {
		if t.t == tLParen {
			return p.labelFilterExpr()
		}
		return p.errAt(t, fmt.Sprintf("expected a pipeline stage after |, found %s", t))
	}
	switch t.s {
	case "json", "logfmt":
		p.next()
		for p.peek().t == tFlag {
			if f := p.next(); t.s != "logfmt" || (f.s != "--strict" && f.s != "--keep-empty") {
				return p.errAt(f, fmt.Sprintf("unknown flag %s for %s", f.s, t.s))
			}
		}
		return p.extractionParams(t.s)
	case "regexp":
		p.next()
		v, err := p.expect(tString, "a quoted regular expression")
		if err != nil {
			return err
		}
		re, err := regexp.Compile(v.s)
		if err != nil {
			return p.errAt(v, fmt.Sprintf("bad regular expression: %v", err))
		}
		for _, n := range re.SubexpNames()[1:] {
			if n != "" {
				return nil
			}
		}
		return p.errAt(v, "regexp has no named capture group; expected one such as (?P<status>\\d+)")
	case "pattern":
		p.next()
		v, err := p.expect(tString, "a quoted pattern")
		if err != nil {
			return err
		}
		if !strings.Contains(v.s, "<") {
			return p.errAt(v, "pattern has no <capture>; expected one such as <ip> - <_>")
		}
		return nil
	case "unpack", "decolorize":
		p.next()
		return nil
	case "line_format":
		p.next()
		_, err := p.expect(tString, "a quoted template")
		return err
	case "label_format":
		p.next()
		return p.labelFormat()
	case "drop", "keep":
		p.next()
		return p.dropKeep()
	case "unwrap":
		p.next()
		return p.unwrap()
	case "distinct":
		p.next()
		return p.list(func() error { _, err := p.expect(tIdent, "a label name"); return err })
	}
	return p.labelFilterExpr()
}

func (p *parser) labelFormat() error {
	return p.list(func() error {
		if _, err := p.expect(tIdent, "a label name"); err != nil {
			return err
		}
		if op, err := p.expect(tMatchOp, "="); err != nil || op.s != "=" {
			return p.errAt(op, fmt.Sprintf("expected = in label_format, found %s", op))
		}
		v := p.next()
		if v.t != tString && v.t != tIdent {
			return p.errAt(v, fmt.Sprintf("expected a template or a label name, found %s", v))
		}
		return nil
	})
}

func (p *parser) dropKeep() error {
	return p.list(func() error {
		if _, err := p.expect(tIdent, "a label name"); err != nil {
			return err
		}
		if p.peek().t == tMatchOp {
			p.next()
			_, err := p.expect(tString, "a quoted value")
			return err
		}
		return nil
	})
}

func (p *parser) unwrap() error {
	id, err := p.expect(tIdent, "a label name or duration(…)/bytes(…)")
	if err != nil {
		return err
	}
	if p.peek().t != tLParen {
		return nil
	}
	switch id.s {
	case "duration", "duration_seconds", "bytes":
	default:
		return p.errAt(id, fmt.Sprintf("unknown unwrap conversion %s; expected duration, duration_seconds or bytes", id.s))
	}
	p.next()
	if _, err := p.expect(tIdent, "a label name"); err != nil {
		return err
	}
	_, err = p.expect(tRParen, ")")
	return err
}

// list reads item (, item)*.
func (p *parser) list(item func() error) error {
	for {
		if err := item(); err != nil {
			return err
		}
		if p.peek().t != tComma {
			return nil
		}
		p.next()
	}
}

func (p *parser) extractionParams(stage string) error {
	if t := p.peek(); t.t != tIdent || isKeyword(t.s) {
		return nil
	}
	return p.list(func() error {
		if _, err := p.expect(tIdent, "a label name"); err != nil {
			return err
		}
		if t := p.peek(); t.t == tMatchOp && t.s == "=" {
			p.next()
			if _, err := p.expect(tString, fmt.Sprintf("a quoted %s expression", stage)); err != nil {
				return err
			}
		}
		return nil
	})
}

func isKeyword(s string) bool {
	switch s {
	case "by", "without", "or", "and", "unless", "offset", "bool", "on", "ignoring":
		return true
	}
	return false
}

// labelFilterExpr reads label filters joined by and, or, a comma or a
// space, with parentheses.
func (p *parser) labelFilterExpr() error {
	for {
		if err := p.labelFilterTerm(); err != nil {
			return err
		}
		t := p.peek()
		switch {
		case t.t == tIdent && (t.s == "and" || t.s == "or"):
			p.next()
		case t.t == tComma:
			p.next()
		case t.t == tIdent && p.peekN(1).t != tEOF && (p.peekN(1).t == tMatchOp || p.peekN(1).t == tCmpOp):
			// a space joins two filters
		case t.t == tLParen:
		default:
			return nil
		}
	}
}

func (p *parser) labelFilterTerm() error {
	if p.peek().t == tLParen {
		p.next()
		if err := p.labelFilterExpr(); err != nil {
			return err
		}
		_, err := p.expect(tRParen, ") closing the label filter")
		return err
	}
	name, err := p.expect(tIdent, "a label filter such as status >= 500")
	if err != nil {
		return err
	}
	if !labelNameRE.MatchString(name.s) {
		return p.errAt(name, fmt.Sprintf("%s is not a label name", name.s))
	}
	op := p.next()
	if op.t != tMatchOp && op.t != tCmpOp {
		return p.errAt(op, fmt.Sprintf("expected a comparison after %s, found %s", name.s, op))
	}
	v := p.next()
	switch {
	case v.t == tString:
		if op.s == "=~" || op.s == "!~" {
			if _, err := regexp.Compile(v.s); err != nil {
				return p.errAt(v, fmt.Sprintf("label %s: bad regular expression: %v", name.s, err))
			}
		}
		return nil
	case v.t == tNumber:
		if op.s == "=~" || op.s == "!~" {
			return p.errAt(v, fmt.Sprintf("%s needs a quoted regular expression", op.s))
		}
		if !validNumberish(v.s) {
			return p.errAt(v, fmt.Sprintf("%s is not a number, duration or size", v.s))
		}
		return nil
	case v.t == tIdent && v.s == "ip" && (op.s == "=" || op.s == "!="):
		if _, err := p.expect(tLParen, "("); err != nil {
			return err
		}
		if _, err := p.expect(tString, "a quoted address"); err != nil {
			return err
		}
		_, err := p.expect(tRParen, ")")
		return err
	}
	return p.errAt(v, fmt.Sprintf("expected a value after %s %s, found %s", name.s, op.s, v))
}

var sizeRE = regexp.MustCompile(`(?i)^[0-9.]+(?:[kmgtpe]i?)?b$`)

func validNumberish(s string) bool {
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return true
	}
	if _, err := time.ParseDuration(s); err == nil || validDuration(s) {
		return true
	}
	return sizeRE.MatchString(strings.ToUpper(s[:len(s)-1])+s[len(s)-1:]) || sizeRE.MatchString(s)
}

var durationRE = regexp.MustCompile(`^(?:[0-9]+(?:ms|s|m|h|d|w|y))+$`)

func validDuration(s string) bool { return durationRE.MatchString(s) }

var rangeOps = map[string]bool{
	"count_over_time": false, "rate": false, "bytes_over_time": false, "bytes_rate": false, "absent_over_time": false,
	"rate_counter": true, "sum_over_time": true, "avg_over_time": true, "max_over_time": true, "min_over_time": true,
	"stdvar_over_time": true, "stddev_over_time": true, "quantile_over_time": true, "first_over_time": true, "last_over_time": true,
}

var vectorOps = map[string]bool{
	"sum": false, "avg": false, "min": false, "max": false, "stddev": false, "stdvar": false, "count": false,
	"topk": true, "bottomk": true, "sort": false, "sort_desc": false, "approx_topk": true,
}

var binPrec = map[string]int{
	"or": 1, "and": 2, "unless": 2,
	"==": 3, "!=": 3, ">": 3, ">=": 3, "<": 3, "<=": 3,
	"+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "^": 6,
}

// binop returns the binary operator at the current token, if any.
func (p *parser) binop() (string, bool) {
	t := p.peek()
	switch t.t {
	case tArithOp, tCmpOp:
		return t.s, true
	case tMatchOp:
		if t.s == "!=" {
			return t.s, true
		}
	case tIdent:
		if t.s == "or" || t.s == "and" || t.s == "unless" {
			return t.s, true
		}
	}
	return "", false
}

// metricExpr parses by precedence climbing.
func (p *parser) metricExpr(minPrec int) error {
	if err := p.unary(); err != nil {
		return err
	}
	for {
		op, ok := p.binop()
		if !ok || binPrec[op] <= minPrec {
			return nil
		}
		prec := binPrec[op]
		p.next()
		if err := p.binModifiers(op); err != nil {
			return err
		}
		next := prec
		if op == "^" { // right-associative
			next = prec - 1
		}
		if err := p.metricExpr(next); err != nil {
			return err
		}
	}
}

func (p *parser) binModifiers(op string) error {
	if t := p.peek(); t.t == tIdent && t.s == "bool" {
		if binPrec[op] != 3 {
			return p.errAt(t, "bool is only allowed after a comparison")
		}
		p.next()
	}
	if t := p.peek(); t.t == tIdent && (t.s == "on" || t.s == "ignoring") {
		p.next()
		if err := p.labelList(); err != nil {
			return err
		}
		if t := p.peek(); t.t == tIdent && (t.s == "group_left" || t.s == "group_right") {
			p.next()
			if p.peek().t == tLParen {
				return p.labelList()
			}
		}
	}
	return nil
}

func (p *parser) labelList() error {
	if _, err := p.expect(tLParen, "( and a list of labels"); err != nil {
		return err
	}
	for p.peek().t != tRParen {
		if _, err := p.expect(tIdent, "a label name"); err != nil {
			return err
		}
		if p.peek().t == tComma {
			p.next()
			continue
		}
		break
	}
	_, err := p.expect(tRParen, ") closing the label list")
	return err
}

func (p *parser) unary() error {
	if t := p.peek(); t.t == tArithOp && (t.s == "-" || t.s == "+") {
		p.next()
	}
	return p.primary()
}

func (p *parser) primary() error {
	t := p.peek()
	switch t.t {
	case tNumber:
		p.next()
		if _, err := strconv.ParseFloat(t.s, 64); err != nil {
			return p.errAt(t, fmt.Sprintf("%s is not a number", t.s))
		}
		return nil
	case tLParen:
		p.next()
		if err := p.metricExpr(0); err != nil {
			return err
		}
		_, err := p.expect(tRParen, ")")
		return err
	case tLBrace:
		return p.errAt(t, "a log query where a metric is expected; wrap it in a range aggregation such as count_over_time({…}[5m])")
	case tIdent:
		switch {
		case t.s == "vector":
			p.next()
			if _, err := p.expect(tLParen, "("); err != nil {
				return err
			}
			if err := p.primary(); err != nil {
				return err
			}
			_, err := p.expect(tRParen, ")")
			return err
		case t.s == "label_replace":
			return p.labelReplace()
		case isRangeOp(t.s):
			return p.rangeAgg()
		case isVectorOp(t.s):
			return p.vectorAgg()
		}
		return p.errAt(t, fmt.Sprintf("unknown function or aggregation %s", t.s))
	}
	return p.errAt(t, fmt.Sprintf("expected a metric expression, found %s", t))
}

func isRangeOp(s string) bool  { _, ok := rangeOps[s]; return ok }
func isVectorOp(s string) bool { _, ok := vectorOps[s]; return ok }

func (p *parser) grouping() error {
	if t := p.peek(); t.t == tIdent && (t.s == "by" || t.s == "without") {
		p.next()
		return p.labelList()
	}
	return nil
}

func (p *parser) rangeAgg() error {
	op := p.next()
	needsUnwrap := rangeOps[op.s]
	if _, err := p.expect(tLParen, "( after "+op.s); err != nil {
		return err
	}
	if op.s == "quantile_over_time" {
		if _, err := p.expect(tNumber, "the quantile"); err != nil {
			return err
		}
		if _, err := p.expect(tComma, "a comma after the quantile"); err != nil {
			return err
		}
	}
	unwrapped, err := p.logRange()
	if err != nil {
		return err
	}
	if needsUnwrap && !unwrapped {
		return p.errAt(op, fmt.Sprintf("%s needs an unwrapped range: add | unwrap <label> to the pipeline", op.s))
	}
	if !needsUnwrap && unwrapped && op.s != "rate" {
		return p.errAt(op, fmt.Sprintf("%s does not take an unwrapped range", op.s))
	}
	if _, err := p.expect(tRParen, ") closing "+op.s); err != nil {
		return err
	}
	return p.grouping()
}

// logRange reads a log query with a [range] before or after its pipeline,
// or (query)[range], and an optional offset; it reports an unwrap.
func (p *parser) logRange() (bool, error) {
	start := p.i
	paren := p.peek().t == tLParen
	if paren {
		p.next()
	}
	if err := p.selector(); err != nil {
		return false, err
	}
	ranged := false
	if !paren && p.peek().t == tLBrack {
		if err := p.rangeSpec(); err != nil {
			return false, err
		}
		ranged = true
	}
	if err := p.pipeline(); err != nil {
		return false, err
	}
	unwrapped := false
	for _, t := range p.toks[start:p.i] {
		if t.t == tIdent && t.s == "unwrap" {
			unwrapped = true
		}
	}
	if paren {
		if _, err := p.expect(tRParen, ") closing the log query"); err != nil {
			return false, err
		}
	}
	if !ranged {
		if p.peek().t != tLBrack {
			return false, p.errAt(p.peek(), fmt.Sprintf("expected a range such as [5m] after the log query, found %s", p.peek()))
		}
		if err := p.rangeSpec(); err != nil {
			return false, err
		}
	}
	if t := p.peek(); t.t == tIdent && t.s == "offset" {
		p.next()
		d, err := p.expect(tNumber, "a duration after offset")
		if err != nil {
			return false, err
		}
		if !validDuration(d.s) {
			return false, p.errAt(d, fmt.Sprintf("%s is not a duration", d.s))
		}
	}
	return unwrapped, nil
}

func (p *parser) rangeSpec() error {
	p.next() // [
	d, err := p.expect(tNumber, "a duration such as 5m")
	if err != nil {
		return err
	}
	if !validDuration(d.s) {
		return p.errAt(d, fmt.Sprintf("%s is not a duration; expected e.g. 5m or 1h30m", d.s))
	}
	_, err = p.expect(tRBrack, "]")
	return err
}

func (p *parser) vectorAgg() error {
	op := p.next()
	if err := p.grouping(); err != nil {
		return err
	}
	if _, err := p.expect(tLParen, "( after "+op.s); err != nil {
		return err
	}
	if vectorOps[op.s] {
		if err := p.metricExpr(0); err != nil {
			return err
		}
		if _, err := p.expect(tComma, "a comma after the parameter of "+op.s); err != nil {
			return err
		}
	}
	if err := p.metricExpr(0); err != nil {
		return err
	}
	if _, err := p.expect(tRParen, ") closing "+op.s); err != nil {
		return err
	}
	return p.grouping()
}

func (p *parser) labelReplace() error {
	p.next()
	if _, err := p.expect(tLParen, "( after label_replace"); err != nil {
		return err
	}
	if err := p.metricExpr(0); err != nil {
		return err
	}
	for i := 0; i < 4; i++ {
		if _, err := p.expect(tComma, "a comma: label_replace(v, dst, replacement, src, regex)"); err != nil {
			return err
		}
		s, err := p.expect(tString, "a quoted string")
		if err != nil {
			return err
		}
		if i == 3 {
			if _, err := regexp.Compile(s.s); err != nil {
				return p.errAt(s, fmt.Sprintf("bad regular expression: %v", err))
			}
		}
	}
	_, err := p.expect(tRParen, ") closing label_replace")
	return err
}
