package policy

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("version: 1\ngates: []\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("version: 1\ngates:\n  - id: x\n    kind: probe\n    with: {url: ${X}}\n"))
	files, _ := filepath.Glob("testdata/err/*.yml")
	for _, p := range files {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse("fuzz.yml", b, env(nil))
		if err == nil && (p == nil || p.Version != 1 || len(p.Gates) == 0) {
			t.Fatalf("accepted an invalid policy: %+v", p)
		}
		if err != nil && !errors.Is(err, gate.ErrBadInput) {
			t.Fatalf("error does not match ErrBadInput: %v", err)
		}
	})
}
