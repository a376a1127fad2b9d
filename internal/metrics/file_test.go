package metrics

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

func TestParseMetricsErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want string
	}{
		{"a sample without a timestamp is refused", "up 1\n", "1:5: sample of up has no timestamp"},
		{"a text-format timestamp must be integer milliseconds", "up 1 1.5\n", "1:6: timestamp \"1.5\" is not an integer"},
		{"a value must be a number", "up x 1000\n", "1:4: value \"x\" is not a number"},
		{"an unterminated label value is refused", "up{a=\"b 1 1000\n", "unterminated value of label \"a\""},
		{"a duplicate label is refused", "up{a=\"1\",a=\"2\"} 1 1000\n", "label \"a\" appears twice"},
		{"an unknown escape is refused", `up{a="\t"} 1 1000` + "\n", "unknown escape"},
		{"two samples at one time are refused", "up 1 1000\nup 2 1000\n", "two samples at"},
		{"content after EOF is refused", "up 1 1\n# EOF\nup 2 2\n", "3:1: content after # EOF"},
		{"an empty file has no samples", "# HELP up x\n", "no samples"},
		{"exemplars are refused", "up_total 1 1000 # {trace_id=\"a\"} 1\n", "exemplars are not supported"},
		{"a line without a name is refused", "{a=\"b\"} 1 1000\n", "1:1: expected a metric name"},
		{"the error names the line", "up 1 1000\nup 2\n", "2:5: sample of up has no timestamp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseMetrics("m.prom", []byte(tc.in))
			if err == nil {
				t.Fatalf("ParseMetrics(%q) = nil error, want %q", tc.in, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q, want it to contain %q", err, tc.want)
			}
			if !errors.Is(err, gate.ErrBadInput) {
				t.Errorf("error %v does not match gate.ErrBadInput", err)
			}
		})
	}
}

func TestParseMetricsFormats(t *testing.T) {
	t.Parallel()
	text := "# TYPE req counter\nreq_total{tenant=\"a\",path=\"/x\\\"y\"} 3 1700000060000\nreq_total{path=\"/x\\\"y\",tenant=\"a\"} 1 1700000000000\nlat NaN 1700000000000\nlat +Inf 1700000060000\n"
	d, err := parseMetrics("m.prom", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if d.OpenMetrics || len(d.Series) != 2 || d.Samples() != 4 {
		t.Fatalf("got openmetrics=%v series=%d samples=%d, want false 2 4", d.OpenMetrics, len(d.Series), d.Samples())
	}
	req := d.Series[1]
	if req.Labels.Get("path") != `/x"y` || req.T[0] != 1700000000000 || req.V[1] != 3 {
		t.Errorf("req series = %v %v %v; want labels merged regardless of order and samples sorted by time", req.Labels, req.T, req.V)
	}
	if !math.IsNaN(d.Series[0].V[0]) || !math.IsInf(d.Series[0].V[1], 1) {
		t.Errorf("lat = %v, want NaN then +Inf", d.Series[0].V)
	}
	om, err := parseMetrics("m.om", []byte("up 1 1700000000.5\n# EOF\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !om.OpenMetrics || om.MaxT != 1700000000500 {
		t.Errorf("OpenMetrics timestamp = %d, want seconds read as 1700000000500 ms", om.MaxT)
	}
}

func openTestFile(t *testing.T) *FileSource {
	t.Helper()
	src, err := OpenFile(filepath.Join("..", "..", "testdata", "slo", "metrics.om"), FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestFileSourceQuery(t *testing.T) {
	t.Parallel()
	src := openTestFile(t)
	ctx := context.Background()
	if got, want := src.Now(), time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("Now() = %s, want the newest sample %s", got, want)
	}
	v, err := src.Query(ctx, `sum by (tenant) (rate(http_requests_total[5m])) * 60`, src.Now())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, s := range v {
		got[s.Labels["tenant"]] = s.Value
	}
	for tenant, want := range map[string]float64{"acme": 1000, "globex": 1000, "initech": 10} {
		if math.Abs(got[tenant]-want) > 0.01*want {
			t.Errorf("tenant %s: %v req/min, want %v", tenant, got[tenant], want)
		}
	}
	v, err = src.Query(ctx, `sum by (tenant) (rate(http_requests_total{code="500"}[5m]))`, src.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(v) != 2 {
		t.Errorf("5xx rate returned %d series, want 2: initech has no 5xx series and must be absent, not 0", len(v))
	}
	v, err = src.Query(ctx, `scalar(sum(up))`, src.Now())
	if err != nil || len(v) != 1 || !math.IsNaN(v[0].Value) {
		t.Errorf("scalar of nothing = %v, %v; want one NaN sample", v, err)
	}
	if _, err := src.Query(ctx, `http_requests_total[5m]`, src.Now()); !errors.Is(err, ErrResultType) {
		t.Errorf("range vector query error = %v, want ErrResultType", err)
	}
	if _, err := src.Query(ctx, `sum(`, src.Now()); !errors.Is(err, gate.ErrBadInput) {
		t.Errorf("bad query error = %v, want ErrBadInput", err)
	}
}

func TestWithMatchers(t *testing.T) {
	t.Parallel()
	got, err := WithMatchers(`sum(rate(a{x="1"}[5m])) / sum(rate(b[5m]))`, `track="canary"`)
	if err != nil {
		t.Fatal(err)
	}
	want := `sum(rate(a{track="canary",x="1"}[5m])) / sum(rate(b{track="canary"}[5m]))`
	if normalize(got) != normalize(want) {
		t.Errorf("WithMatchers = %s, want %s", got, want)
	}
	if _, err := WithMatchers(`vector(1)`, `track="canary"`); err == nil {
		t.Error("a query without selectors accepted a canary selector")
	}
	if _, err := WithMatchers(`up`, `track=canary`); err == nil {
		t.Error("an unquoted matcher value was accepted")
	}
}

func normalize(q string) string {
	e, err := ParseQuery(q)
	if err != nil {
		return q
	}
	return e.String()
}

func FuzzParseMetrics(f *testing.F) {
	f.Add([]byte("up{a=\"b\"} 1 1000\n"))
	f.Add([]byte("up 1 1.5\n# EOF\n"))
	f.Add([]byte("# TYPE x counter\nx_total{a=\"\\n\"} NaN 1\n"))
	f.Add([]byte("up{a=\"b\",} +Inf -5\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseMetrics("fuzz", b)
		if err != nil {
			if !errors.Is(err, gate.ErrBadInput) {
				t.Fatalf("error %v does not match ErrBadInput", err)
			}
			return
		}
		if len(d.Series) == 0 || d.MinT > d.MaxT {
			t.Fatalf("parsed data without samples or with MinT > MaxT: %+v", d)
		}
		for _, s := range d.Series {
			for i := 1; i < len(s.T); i++ {
				if s.T[i] <= s.T[i-1] {
					t.Fatalf("series %s not strictly ascending", s.Labels)
				}
			}
		}
	})
}

func TestOpenFileFaults(t *testing.T) {
	t.Parallel()
	if _, err := OpenFile(filepath.Join(t.TempDir(), "missing.om"), FileOptions{}); !errors.Is(err, gate.ErrBadInput) {
		t.Errorf("missing file: %v, want ErrBadInput", err)
	}
	at := time.Date(2026, 11, 27, 23, 0, 0, 0, time.UTC)
	src, err := OpenFile(filepath.Join("..", "..", "testdata", "slo", "metrics.om"), FileOptions{At: at})
	if err != nil {
		t.Fatal(err)
	}
	if !src.Now().Equal(at) || !src.Fixed() {
		t.Errorf("Now() = %s fixed=%v, want %s fixed", src.Now(), src.Fixed(), at)
	}
	// an hour before the end, globex's canary was still healthy
	v, err := src.Query(context.Background(), `sum(rate(http_requests_total{tenant="globex",track="canary",code="500"}[5m])) / sum(rate(http_requests_total{tenant="globex",track="canary"}[5m]))`, src.Now())
	if err != nil || len(v) != 1 || math.Abs(v[0].Value-0.001) > 1e-6 {
		t.Errorf("globex canary error ratio at %s = %v, %v; want 0.001", at, v, err)
	}
}
