package all_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
