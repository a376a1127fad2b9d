package all_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

// TestPolicyErrors checks golden error listings of policies using the
// real gate kinds: every problem in every gate's settings is reported at
// once, each at file:line:col, sorted by position.
func TestPolicyErrors(t *testing.T) {
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
			_, err = policy.Parse(filepath.ToSlash(f), b, policy.Options{LookupEnv: func(string) (string, bool) { return "", false }})
			var pe policy.Errors
			if !errors.As(err, &pe) || !errors.Is(err, gate.ErrBadInput) {
				t.Fatalf("Parse = %v, want policy.Errors matching gate.ErrBadInput", err)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yml") + ".out"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, _ := os.ReadFile(golden)
			if got != string(want) {
				t.Errorf("errors differ from %s (run with -update)\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

// FuzzDecode feeds policies for every real gate kind to the decoder: it
// never panics (a settings Validate that panics on a half-decoded value is
// reported as an internal error, which fails here), and every problem it
// reports is at a position inside the file.
func FuzzDecode(f *testing.F) {
	for _, glob := range []string{"testdata/err/*.yml", "../../../testdata/*/policy.yml", "../../../examples/*/*.yml"} {
		files, _ := filepath.Glob(glob)
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	env := policy.Options{LookupEnv: func(k string) (string, bool) { return "http://127.0.0.1:1", true }}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := policy.Parse("fuzz.yml", b, env)
		if err == nil {
			if p == nil || p.Version != 1 || len(p.Gates) == 0 {
				t.Fatalf("accepted an invalid policy: %+v", p)
			}
			return
		}
		var es policy.Errors
		if !errors.As(err, &es) || len(es) == 0 || !errors.Is(err, gate.ErrBadInput) {
			t.Fatalf("Parse = %v, want policy.Errors matching gate.ErrBadInput", err)
		}
		lines := strings.Split(strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u0085", "\n", "\u2028", "\n", "\u2029", "\n").Replace(string(b)), "\n")
		for _, e := range es {
			if e.Kind == policy.KindInternal {
				t.Fatalf("a bug in releasegate: %v\n%q", e, b)
			}
			if l := e.Location; l.File != "fuzz.yml" || l.Line < 1 || l.Line > len(lines) || l.Column < 1 || l.Column > utf8.RuneCountInString(lines[l.Line-1])+1 {
				t.Fatalf("error %q is not inside the input (%d lines)\n%q", e, len(lines), b)
			}
		}
	})
}
