package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	_ "github.com/maestro-conductor/releasegate/internal/gates/all"
	testsgate "github.com/maestro-conductor/releasegate/internal/gates/tests"
	"github.com/maestro-conductor/releasegate/internal/policy"
	"github.com/maestro-conductor/releasegate/internal/testutil"
)

// TestDogfoodPolicy: releasegate's own release policy decodes, and its jobs
// group judges the reports `make dogfood-reports` writes with the tests
// kind (and, once merged, the sbom and vulnerabilities kinds).
func TestDogfoodPolicy(t *testing.T) {
	t.Parallel()
	p, err := policy.Load(filepath.Join(repoRoot, ".github", "release-policy.yml"), policy.Options{LookupEnv: func(k string) (string, bool) {
		if k == "RELEASE_VERSION" {
			return "v0.0.0-test", true
		}
		return os.LookupEnv(k)
	}})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, g := range p.Gates {
		kinds[g.ID] = g.Kind
	}
	if kinds["unit-tests"] != testsgate.Kind || kinds["reports"] != "command" || kinds["sbom"] != "sbom" || kinds["vulnerabilities"] != "vulnerabilities" {
		t.Errorf("gates %v; want unit-tests, sbom and vulnerabilities gates after the reports command", kinds)
	}
	mk, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cyclonedx-gomod bin -json -noserial -version sha256:$$(sha256sum $(BIN) | cut -d' ' -f1) -output $(DOGFOOD)/releasegate.cdx.json $(BIN)", "> $(DOGFOOD)/go-test.json",
		"govulncheck -db file://$(CURDIR)/testdata/vulndb -format json ./cmd/releasegate > $(DOGFOOD)/govulncheck.json"} {
		if !bytes.Contains(mk, []byte(want)) {
			t.Errorf("Makefile's dogfood-reports lacks %q", want)
		}
	}
}

// run runs the go command in the repository root.
func run(t *testing.T, stdout io.Writer, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = repoRoot
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || stdout == nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		t.Logf("go %s exited %d (judged from its output)", strings.Join(args, " "), ee.ExitCode())
	}
}

// TestDogfoodPieces runs each piece of `make dogfood-reports` on a small
// package, as CI's e2e stage: go test -json judged by the tests kind, the
// SBOM tool pinned in tools/go.mod, and govulncheck against the snapshot
// in testdata/vulndb with no network.
func TestDogfoodPieces(t *testing.T) {
	testutil.RequireEnv(t, "RELEASEGATE_E2E", "the dogfood pieces build the SBOM and vulnerability tools (make test sets RELEASEGATE_E2E=1)")
	dir := t.TempDir()

	t.Run("go test -json judged by the tests kind", func(t *testing.T) {
		var out bytes.Buffer
		run(t, &out, "test", "-json", "-count=1", "./internal/testreport/")
		report := filepath.Join(dir, "go-test.json")
		if err := os.WriteFile(report, out.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		s := *testsgate.DefaultSpec()
		s.Reports, s.MinTests, s.MaxFlaky = []string{"go-test.json"}, 5, 0
		s.RequiredSuites = []string{"github.com/maestro-conductor/releasegate/internal/testreport"}
		g, err := testsgate.New(gate.Meta{ID: "unit-tests", Kind: testsgate.Kind, Required: true}, s, gate.Env{PolicyDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		res, err := (&gate.Runner{}).RunOne(context.Background(), gate.Planned{Meta: gate.Meta{ID: "unit-tests", Kind: testsgate.Kind, Required: true}, Gate: g})
		if err != nil || res.Status != gate.StatusPass {
			t.Fatalf("the tests gate over releasegate's own go test -json: %s %s (%v)", res.Status, res.Summary, err)
		}
	})

	t.Run("SBOM by cyclonedx-gomod", func(t *testing.T) {
		sbom := filepath.Join(dir, "releasegate.cdx.json")
		run(t, nil, "tool", "-modfile=tools/go.mod", "cyclonedx-gomod", "mod", "-json", "-output", sbom, ".")
		b, err := os.ReadFile(sbom)
		if err != nil {
			t.Fatal(err)
		}
		var bom struct {
			BOMFormat  string `json:"bomFormat"`
			Components []struct {
				Name string `json:"name"`
				PURL string `json:"purl"`
			} `json:"components"`
		}
		if err := json.Unmarshal(b, &bom); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range bom.Components {
			found = found || c.Name == "github.com/sigstore/sigstore-go" && strings.HasPrefix(c.PURL, "pkg:golang/")
		}
		if bom.BOMFormat != "CycloneDX" || !found {
			t.Errorf("SBOM: format %q, %d components, sigstore-go listed %t", bom.BOMFormat, len(bom.Components), found)
		}
	})

	t.Run("govulncheck offline against the snapshot", func(t *testing.T) {
		db, err := filepath.Abs(filepath.Join(repoRoot, "testdata", "vulndb"))
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		run(t, &out, "tool", "-modfile=tools/go.mod", "govulncheck", "-db", "file://"+db, "-format", "json", "./internal/testreport/")
		dec := json.NewDecoder(&out)
		var cfg struct {
			DB             string `json:"db"`
			DBLastModified string `json:"db_last_modified"`
		}
		for dec.More() {
			var msg struct {
				Config *json.RawMessage `json:"config"`
			}
			if err := dec.Decode(&msg); err != nil {
				t.Fatalf("govulncheck output: %v", err)
			}
			if msg.Config != nil {
				if err := json.Unmarshal(*msg.Config, &cfg); err != nil {
					t.Fatal(err)
				}
			}
		}
		if cfg.DB != "file://"+db || !strings.HasPrefix(cfg.DBLastModified, "2026-11-05T23:49:57") {
			t.Errorf("govulncheck used db %q modified %q; want the snapshot %s of 2026-11-05", cfg.DB, cfg.DBLastModified, db)
		}
	})
}
