package logql

import (
	"errors"
	"testing"
)

func TestCheckAcceptsWellFormedQueries(t *testing.T) {
	t.Parallel()
	cases := map[string]Kind{
		`{app="api"}`: Logs,
		`{app="api", env=~"prod|staging"} |= "error" != "timeout" |~ "5\\d\\d"`:                                       Logs,
		`{job="nginx"} | json | status >= 500 and method != "GET"`:                                                    Logs,
		`{job="nginx"} | logfmt --strict level, msg="message" | level="error" or level="warn"`:                        Logs,
		"{job=\"nginx\"} | regexp `(?P<ip>\\S+) - (?P<user>\\S+)` | line_format \"{{.ip}}\"":                          Logs,
		`{job="nginx"} | pattern "<ip> - - [<_>] \"<method> <uri> <_>\" <status>" | status=~"5.."`:                    Logs,
		`{job="x"} | label_format lvl=level, msg="{{.message}}" | drop __error__, __error_details__ | keep lvl`:       Logs,
		`{job="x"} |= ip("10.0.0.0/8") | unpack | decolorize | duration > 1s | size > 10KB | (a="1" or b="2"), c="3"`: Logs,
		`{job="x"} |= "a" or "b" |> "<_> error <_>"`:                                                                  Logs,
		`sum by (level) (count_over_time({service_name="web", level=~"ERROR|WARN"}[5m]))`:                             Metric,
		`sum(rate({app="api"} |= "error" [1m])) by (pod) / sum(rate({app="api"}[1m])) by (pod) > bool 0.05`:           Metric,
		`quantile_over_time(0.99, {app="api"} | json | unwrap duration(latency) | __error__="" [5m]) by (route)`:      Metric,
		`topk(10, sum by (path) (bytes_over_time(({app="api"} | logfmt)[1h] offset 5m)))`:                             Metric,
		`avg_over_time({app="api"} | logfmt | unwrap bytes(size) [5m]) * on (pod) group_left (node) vector(1)`:        Metric,
		`label_replace(sum(count_over_time({a="b"}[5m])) by (x), "y", "$1", "x", "(.*)")`:                             Metric,
		`-count_over_time({a="b"}[1h30m]) + 2 ^ 3 ^ 2`:                                                                Metric,
		`absent_over_time({a="b"}[5m]) or vector(0)`:                                                                  Metric,
		`sum without (pod) (rate({a="b"}[5m] |= "x"))`:                                                                Metric,
	}
	for q, want := range cases {
		got, err := Check(q)
		if err != nil {
			t.Errorf("Check(%s): %v", q, err)
			continue
		}
		if got != want {
			t.Errorf("Check(%s) = %v, want %v", q, got, want)
		}
	}
}

func TestCheckRefusesMalformedQueries(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		``:                                 "1:1: empty query",
		`{}`:                               "1:2: an empty stream selector",
		`{app="api"`:                       "1:11: expected a comma or }",
		`{app=api}`:                        "1:6: expected a quoted value",
		`{app="api"} | json | status >=`:   "1:31: expected a value after status >=",
		`{app="api"} |= `:                  "1:16: expected a quoted string after |=",
		`{app="api"} |~ "("`:               "1:16: bad regular expression",
		`rate({app="api"})`:                "1:17: expected a range",
		`rate({app="api"}[5x])`:            "1:18: 5x is not a duration",
		`sum_over_time({app="api"}[5m])`:   "1:1: sum_over_time needs an unwrapped range",
		`sum(rate({app="api"}[5m])`:        "1:26: expected ) closing sum",
		`foo({a="b"}[5m])`:                 "1:1: unknown function or aggregation foo",
		"{a=\"b\"}\n| regexp \"(\\\\d+)\"": "2:10: regexp has no named capture group",
		`sum(count_over_time({a="b"}[5m])) by (x) +`: "1:43: expected a metric expression",
		`{a="b"} | unwrap latency`:                   "",
		`count_over_time({a="b"}[5m]) extra`:         "1:30: unexpected \"extra\"",
		`{a="b"} | line_format`:                      "1:22: expected a quoted template",
		`{a="b"} + 1`:                                "1:9: unexpected \"+\"",
		`"unterminated`:                              "1:1: unterminated string",
	}
	for q, want := range cases {
		_, err := Check(q)
		if want == "" {
			if err != nil {
				t.Errorf("Check(%s): %v, want accepted", q, err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrSyntax) {
			t.Errorf("Check(%s) = %v, want an *Error matching ErrSyntax", q, err)
			continue
		}
		if got := err.Error(); len(got) < len(want) || got[:len(want)] != want {
			t.Errorf("Check(%s) = %q, want prefix %q", q, got, want)
		}
	}
}

// FuzzCheck: Check never panics, and every error is a positioned *Error
// inside the query.
func FuzzCheck(f *testing.F) {
	for _, q := range []string{`{app="api"} | json | status >= 500`, `sum by (x) (rate({a="b"} |= "x" [5m]))`,
		`quantile_over_time(0.9, {a="b"} | unwrap duration(d) [5m])`, `{a=~"x|y"} | pattern "<a> <b>" | label_format c=a`, `((`} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		_, err := Check(q)
		if err == nil {
			return
		}
		var e *Error
		if !errors.As(err, &e) || e.Line < 1 || e.Column < 1 || e.Msg == "" {
			t.Fatalf("Check(%q) = %v: not a positioned *Error", q, err)
		}
	})
}
