package sbomgate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/policy"
)

// TestDocsExample keeps docs/sbom.md's example policy valid.
func TestDocsExample(t *testing.T) {
	t.Parallel()
	checkDocsExample(t, "../../../docs/sbom.md")
}

func checkDocsExample(t *testing.T, doc string) {
	t.Helper()
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatalf("no yaml block in %s", doc)
	}
	path := filepath.Join(t.TempDir(), "release-policy.yml")
	if err := os.WriteFile(path, []byte(block), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := policy.Load(path, policy.Options{}); err != nil {
		t.Fatalf("%s's example: %v", doc, err)
	}
}
