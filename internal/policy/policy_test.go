package policy

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

var update = flag.Bool("update", false, "rewrite golden files")

// probeSpec is the settings type of the test-only kind "probe".
type probeSpec struct {
	URL       string            `yaml:"url" required:"true" doc:"where to probe"`
	Token     string            `yaml:"token" secret:"true" doc:"bearer token"`
	Threshold Condition         `yaml:"threshold" doc:"latency bound"`
	Every     Duration          `yaml:"every" doc:"interval"`
	Tries     int               `yaml:"tries" doc:"attempts"`
	Mode      string            `yaml:"mode" enum:"fast,slow" doc:"mode"`
	Headers   map[string]string `yaml:"headers" doc:"extra headers"`
	Expect    struct {
		Status []int `yaml:"status" doc:"accepted statuses"`
	} `yaml:"expect" doc:"expectations"`
}

func (s *probeSpec) Validate() []error {
	var errs []error
	if s.Tries < 0 {
		errs = append(errs, &FieldError{Field: "tries", Err: errors.New("must be 0 or more")})
	}
	if s.URL != "" && !strings.HasPrefix(s.URL, "http") {
		errs = append(errs, &FieldError{Field: "url", Err: errors.New("expected an http:// or https:// URL")})
	}
	for i, st := range s.Expect.Status {
		if st < 100 || st > 599 {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("expect.status[%d]", i), Err: fmt.Errorf("%d is not an HTTP status", st)})
		}
	}
	if s.Every < 0 || s.Tries > 1 && s.Every == 0 {
		errs = append(errs, &FieldError{Field: "every", Err: errors.New("expected a positive interval between tries")})
	}
	return errs
}

type nopGate struct{ id string }

func (g nopGate) Name() string                              { return g.id }
func (g nopGate) Run(context.Context) (*gate.Result, error) { return nil, gate.ErrNotImplemented }

func init() {
	gate.Register(gate.Kind{Name: "probe", Group: "slo", Summary: "test kind",
		Spec: func() any { return &probeSpec{} },
		New:  func(m gate.Meta, _ any, _ gate.Env) (gate.Gate, error) { return nopGate{m.ID}, nil }})
}

// panicSpec is the settings type of the test-only kind "panics", whose
// Validate has a bug.
type panicSpec struct {
	Items []string `yaml:"items" doc:"items"`
}

func (s *panicSpec) Validate() []error { _ = s.Items[3]; return nil }

func init() {
	gate.Register(gate.Kind{Name: "panics", Group: "slo", Summary: "test kind with a bug",
		Spec: func() any { return &panicSpec{} },
		New:  func(m gate.Meta, _ any, _ gate.Env) (gate.Gate, error) { return nopGate{m.ID}, nil }})
}

// A Validate that panics is reported as a problem in releasegate, beside
// the policy's own problems; it never crashes the check.
func TestValidatePanicIsReported(t *testing.T) {
	t.Parallel()
	in := "version: 1\ngates:\n  - id: a\n    kind: panics\n    with: {items: [x]}\n  - id: b\n    kind: probe\n    with: {url: ftp://x}\n"
	_, err := Parse("p.yml", []byte(in), env(nil))
	var es Errors
	if !errors.As(err, &es) || len(es) != 2 {
		t.Fatalf("Parse = %v, want two errors", err)
	}
	if es[0].Kind != KindInternal || es[0].Path != "gates[0].with" || es[0].Location.Line != 5 {
		t.Errorf("first error = %v, want an internal error at gates[0].with on line 5", es[0])
	}
	if es[1].Path != "gates[1].with.url" {
		t.Errorf("second error = %v, want gates[1].with.url", es[1])
	}
}

func env(m map[string]string) Options {
	return Options{LookupEnv: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

const good = `version: 1
release:
  name: demo
  version: ${VERSION:-dev}
gates:
  - id: health
    kind: probe
    with:
      url: http://127.0.0.1:8080/${PATH_PART}
      token: ${API_TOKEN}
      threshold: "< 300"
      every: 5s
      mode: fast
      expect:
        status: [200, 204]
  - id: second
    kind: probe
    needs: [health]
    required: false
    with: {url: http://x}
`

func TestParseGood(t *testing.T) {
	t.Parallel()
	p, err := Parse("policy.yml", []byte(good), env(map[string]string{"PATH_PART": "health", "API_TOKEN": "s3cr3t"}))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	s := p.Gates[0].Spec.(*probeSpec)
	if s.URL != "http://127.0.0.1:8080/health" || s.Token != "s3cr3t" || s.Every.D().Seconds() != 5 ||
		!s.Threshold.Holds(200) || s.Threshold.Holds(300) || len(s.Expect.Status) != 2 {
		t.Errorf("decoded spec = %+v", s)
	}
	if p.Release.Version != "dev" {
		t.Errorf("default expansion: version = %q, want dev", p.Release.Version)
	}
	if got := strings.Join(p.Secrets, ","); got != "s3cr3t" {
		t.Errorf("secrets = %q, want s3cr3t", got)
	}
	if p.Gates[0].Group != "slo" || !p.Gates[0].IsRequired() || p.Gates[1].IsRequired() {
		t.Errorf("group/required defaults wrong: %+v", p.Gates)
	}
	if p.Gates[1].Location.Line != 16 || p.Gates[1].Location.Column != 5 {
		t.Errorf("second gate location = %v, want policy.yml:16:5", p.Gates[1].Location)
	}
	if !strings.HasPrefix(p.Digest, "sha256:") {
		t.Errorf("digest = %q", p.Digest)
	}
}

// TestParseErrors checks golden error listings: every problem in a file is
// reported at once with its position.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/err/*.yml")
	if len(files) == 0 {
		t.Fatal("no golden inputs in testdata/err")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(filepath.ToSlash(f), b, env(map[string]string{"SET": "x"}))
			if err == nil {
				t.Fatal("Parse succeeded, want errors")
			}
			if !errors.Is(err, gate.ErrBadInput) {
				t.Errorf("error does not match gate.ErrBadInput: %v", err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yml") + ".out"
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, _ := os.ReadFile(golden)
			if got != string(want) {
				t.Errorf("errors differ from %s (run with -update)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "nope.yml"), Options{})
	var ie *gate.InputError
	if !errors.As(err, &ie) || !errors.Is(err, gate.ErrBadInput) || !strings.Contains(ie.Input, "nope.yml") {
		t.Fatalf("Load(missing) = %v, want *gate.InputError naming the path", err)
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	p, err := Parse("p.yml", []byte(good), env(map[string]string{"PATH_PART": "a", "API_TOKEN": "t"}))
	if err != nil {
		t.Fatal(err)
	}
	if gs, err := p.Select([]string{"slo"}); err != nil || len(gs) != 2 {
		t.Errorf("Select(slo) = %d gates, %v", len(gs), err)
	}
	if gs, err := p.Select([]string{"second"}); err != nil || len(gs) != 1 {
		t.Errorf("Select(second) = %d gates, %v", len(gs), err)
	}
	if _, err := p.Select([]string{"nope"}); !errors.Is(err, gate.ErrBadInput) {
		t.Errorf("Select(nope) err = %v, want bad input", err)
	}
}

// FuzzParse feeds the decoder arbitrary bytes: it never panics, never
// accepts an invalid policy, and every problem it reports is a policy
// Error at a position inside the file.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("version: 1\ngates: []\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("version: 1\ngates:\n  - id: x\n    kind: probe\n    with: {url: ${X}}\n"))
	f.Add([]byte("version: 1\ngates:\n  - id: x\n    kind: probe\n    with: {url: \"x\n"))
	f.Add([]byte("version: 1\n---\nversion: [\n"))
	f.Add([]byte("version: 1\ngates:\n  - {id: \u00e9t\u00e9: x}\n"))
	files, _ := filepath.Glob("testdata/err/*.yml")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse("fuzz.yml", b, env(nil))
		if err == nil {
			if p == nil || p.Version != 1 || len(p.Gates) == 0 {
				t.Fatalf("accepted an invalid policy: %+v", p)
			}
			return
		}
		if !errors.Is(err, gate.ErrBadInput) {
			t.Fatalf("error does not match ErrBadInput: %v", err)
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error is not a list of policy errors: %v", err)
		}
		// lines as YAML counts them: \r\n, \r, \n, NEL, LS and PS end a line
		lines := strings.Split(strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u0085", "\n", "\u2028", "\n", "\u2029", "\n").Replace(string(b)), "\n")
		for i, e := range es {
			l := e.Location
			if l.File != "fuzz.yml" {
				t.Errorf("error %q names file %q", e, l.File)
			}
			if l.Line < 1 || l.Line > len(lines) {
				t.Fatalf("error %q is at line %d; the input has %d lines\n%q", e, l.Line, len(lines), b)
			}
			if n := utf8.RuneCountInString(lines[l.Line-1]); l.Column < 1 || l.Column > n+1 {
				t.Fatalf("error %q is at column %d; line %d has %d characters\n%q", e, l.Column, l.Line, n, b)
			}
			if i > 0 && (l.Line < es[i-1].Location.Line || l.Line == es[i-1].Location.Line && l.Column < es[i-1].Location.Column) {
				t.Fatalf("errors are not sorted by position: %q before %q", es[i-1], e)
			}
		}
	})
}

// largePolicy returns a policy of about size bytes: gates of the probe
// kind, then tail.
func largePolicy(size int, tail string) []byte {
	var b strings.Builder
	b.WriteString("version: 1\ngates:\n")
	for i := 0; b.Len() < size-len(tail); i++ {
		fmt.Fprintf(&b, "  - id: g%d\n    kind: probe\n    with:\n      url: http://127.0.0.1:8080/health\n      mode: fast\n", i)
	}
	b.WriteString(tail)
	return []byte(b.String())
}

// BenchmarkParseSyntaxError measures how long a syntax error near the
// end of a policy takes to be located, beside parsing the same policy
// without it, for a large policy and one at the size limit.
func BenchmarkParseSyntaxError(b *testing.B) {
	const tail = "  - id: last\n    kind: probe\n   with: {url: http://x}\n"
	for _, size := range []int{64 << 10, MaxFileSize - 1024} {
		for _, bad := range []bool{false, true} {
			in := largePolicy(size, "")
			if bad {
				in = largePolicy(size, tail)
			}
			b.Run(fmt.Sprintf("%dKiB/syntax-error=%v", size>>10, bad), func(b *testing.B) {
				for b.Loop() {
					_, err := Parse("large.yml", in, env(nil))
					var es Errors
					if bad && (!errors.As(err, &es) || len(es) != 1 || es[0].Kind != KindSyntax || es[0].Location.Line != bytes.Count(in, []byte("\n"))) {
						b.Fatalf("Parse = %v, want one syntax error on the last line", err)
					}
				}
			})
		}
	}
}

// TestSyntaxErrorPosition checks that a YAML syntax error is reported at
// the line and column of the problem, not at the line yaml.v3 names (the
// start of the enclosing block, counted from 0).
func TestSyntaxErrorPosition(t *testing.T) {
	t.Parallel()
	const head = "version: 1\ngates:\n  - id: a\n    kind: probe\n"
	tests := []struct {
		name, in  string
		line, col int
		msg       string
	}{
		{"a key indented too little", head + "   with: x\n", 5, 4, "did not find expected '-' indicator"},
		{"a key indented too little in a mapping", head + "    with:\n      url: x\n     tries: 3\n", 7, 6, "did not find expected key"},
		{"an unterminated double quote", head + "    with: {url: \"http://a}\n", 5, 17, "found unexpected end of stream"},
		{"an unterminated single quote, on the line it opens", head + "    with:\n      url: 'x\n      tries: 3\n", 6, 12, "found unexpected end of stream"},
		{"a flow mapping never closed", head + "    with: {url: x\n  - id: b\n", 5, 17, "did not find expected ',' or '}'"},
		{"a second colon", head + "    with: {url: x}\n    needs: a: b\n", 6, 13, "mapping values are not allowed in this context"},
		{"a tab in the indentation", "version: 1\n\tgates: []\n", 2, 1, "found a tab character that violates indentation"},
		{"a reserved character", head + "    group: @x\n", 5, 12, "found character that cannot start any token"},
		{"an unknown alias", head + "    group: *nope\n", 5, 12, "unknown anchor 'nope' referenced"},
		{"a line without a colon", "version: 1\ngates\n", 2, 1, "could not find expected ':'"},
		{"a key after a list", "- a\nb: c\n", 2, 1, "did not find expected '-' indicator"},
		{"columns count characters", "name: ключ: значение\n", 1, 11, "mapping values are not allowed in this context"},
		{"lines end at a lone carriage return", "version: 1\rgates:\r  - id: a\r   with: x\r", 4, 4, "did not find expected '-' indicator"},
		{"a control character", "version: 1\ngates: [a\x01]\n", 2, 10, "control characters are not allowed"},
		{"a syntax error in a second document", "version: 1\n---\ngates: [\n", 3, 8, "did not find expected node content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("p.yml", []byte(tt.in), env(nil))
			var es Errors
			if !errors.As(err, &es) || len(es) != 1 || es[0].Kind != KindSyntax {
				t.Fatalf("Parse = %v, want one syntax error", err)
			}
			if l := es[0].Location; l.Line != tt.line || l.Column != tt.col || !strings.HasPrefix(es[0].Message, tt.msg) {
				t.Errorf("got %v, want p.yml:%d:%d: %s", es[0], tt.line, tt.col, tt.msg)
			}
		})
	}
}
