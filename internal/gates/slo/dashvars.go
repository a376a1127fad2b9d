package slogate

import (
	"regexp"
	"strconv"
	"strings"
)

// Grafana template variables, resolved by Grafana's own rules:
// $var, ${var}, ${var:format}, ${var.field} and [[var]] (deprecated), with
// numeric names ($1, ${1}) left alone as Grafana leaves them — they are
// regular-expression group references in label_replace.

// varRE is Grafana's variable pattern (public/app/features/variables/utils.ts).
var varRE = regexp.MustCompile(`\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}`)

// builtins are Grafana's global variables with values that parse in every
// position they may appear in a PromQL or LogQL query.
var builtins = map[string]string{
	"__rate_interval": "5m", "__interval": "1m", "__range": "1h", "__auto": "1m", "__auto_interval": "1m",
	"__interval_ms": "60000", "__rate_interval_ms": "300000", "__range_ms": "3600000", "__range_s": "3600",
	"__from": "1700000000000", "__to": "1700003600000", "__dashboard": "dashboard", "__org": "1", "__user": "user",
	"__timeFilter": "1h", "timeFilter": "1h", "__name": "name", "__timezone": "utc", "__all": ".*",
}

// tvar is one template variable and the value its queries are checked with.
type tvar struct {
	name, typ, value string
	dsType           string // a datasource variable's plugin type
}

// Substitute replaces Grafana template variables in a query with the
// given values (built-ins with values that parse) and returns the names
// that are not defined; $N and ${N} stay as they are.
func Substitute(q string, vars map[string]string) (string, []string) {
	vs := map[string]tvar{}
	for k, v := range vars {
		vs[k] = tvar{name: k, value: v}
	}
	return substitute(q, vs)
}

func substitute(q string, vars map[string]tvar) (string, []string) {
	var undefined []string
	out := varRE.ReplaceAllStringFunc(q, func(m string) string {
		sm := varRE.FindStringSubmatch(m)
		name := sm[1] + sm[2] + sm[4]
		format := sm[3] + sm[6]
		if isDigits(name) {
			return m
		}
		if v, ok := vars[name]; ok {
			return formatValue(v.value, name, format)
		}
		if v, ok := builtins[name]; ok {
			if strings.HasPrefix(format, "date") {
				return "1700000000"
			}
			return v
		}
		undefined = append(undefined, name)
		return "x"
	})
	return out, undefined
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// formatValue applies Grafana's format to a single value.
func formatValue(v, name, format string) string {
	switch format {
	case "doublequote", "json":
		return strconv.Quote(v)
	case "singlequote", "sqlstring":
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case "queryparam":
		return "var-" + name + "=" + v
	}
	return v
}

// variableValue picks the value Grafana would substitute for a variable:
// the current value, else the first option (constant and textbox: the
// query), intervals their current or first interval, and a query variable
// a representative value (its current value when it is a plain word).
func variableValue(v *jnode, typ string) string {
	cur := currentValue(v.get("current"))
	if cur == "$__all" || cur == "All" {
		if all := v.get("allValue").scalar(); all != "" {
			return all
		}
		cur = ""
	}
	query := v.get("query")
	switch typ {
	case "constant":
		if q := query.scalar(); q != "" {
			return q
		}
		return cur
	case "textbox", "text":
		if cur != "" {
			return cur
		}
		return query.scalar()
	case "custom", "interval":
		if cur != "" && !strings.HasPrefix(cur, "$__auto") {
			return cur
		}
		for _, o := range v.get("options").items() {
			if ov := currentValue(o); ov != "" && ov != "$__all" && !strings.HasPrefix(ov, "$__auto") && ov != "auto" {
				return ov
			}
		}
		for _, item := range splitCustom(query.scalar()) {
			if item != "" && item != "auto" {
				return item
			}
		}
		if typ == "interval" {
			return "1m"
		}
		return cur
	}
	if cur != "" && plainValueRE.MatchString(cur) {
		return cur
	}
	return "value"
}

var plainValueRE = regexp.MustCompile(`^[A-Za-z0-9_:.\-/ ]+$`)

// currentValue reads {"text": …, "value": …}: a string or the first of a
// list.
func currentValue(c *jnode) string {
	if c == nil {
		return ""
	}
	v := c.get("value")
	if v.is('a') {
		if len(v.vals) == 0 {
			return ""
		}
		v = v.vals[0]
	}
	if s := v.scalar(); s != "" {
		return s
	}
	t := c.get("text")
	if t.is('a') && len(t.vals) > 0 {
		t = t.vals[0]
	}
	return t.scalar()
}

// splitCustom splits a custom variable's query: values separated by
// commas (\, escapes one), each "text : value" or a value.
func splitCustom(q string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		item := strings.TrimSpace(cur.String())
		if _, val, ok := strings.Cut(item, " : "); ok {
			item = strings.TrimSpace(val)
		}
		out = append(out, item)
		cur.Reset()
	}
	for i := 0; i < len(q); i++ {
		switch {
		case q[i] == '\\' && i+1 < len(q) && q[i+1] == ',':
			cur.WriteByte(',')
			i++
		case q[i] == ',':
			flush()
		default:
			cur.WriteByte(q[i])
		}
	}
	flush()
	return out
}
