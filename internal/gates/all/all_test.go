package all_test

import (
	"flag"
	"os"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
	_ "github.com/maestro-conductor/releasegate/internal/gates/all"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

var update = flag.Bool("update", false, "rewrite docs/policy.md, docs/policy.schema.json and the golden files in testdata")

// TestGeneratedDocs keeps the policy reference and the JSON Schema true:
// they are generated from the registered kinds' Go types, and this test
// fails when the committed files differ (run `make docs` to regenerate).
func TestGeneratedDocs(t *testing.T) {
	schema, err := policy.Schema(gate.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string][]byte{
		"../../../docs/policy.md":          []byte(policy.Reference(gate.Kinds())),
		"../../../docs/policy.schema.json": schema,
	} {
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run `make docs`)", err)
		}
		if string(got) != string(want) {
			t.Errorf("%s is out of date with the code; run `make docs` and commit it", path)
		}
	}
}
