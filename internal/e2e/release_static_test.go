package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// goreleaserConfig is the part of .goreleaser.yaml the release depends on.
type goreleaserConfig struct {
	Version     int    `yaml:"version"`
	ProjectName string `yaml:"project_name"`
	Builds      []struct {
		Main         string   `yaml:"main"`
		Binary       string   `yaml:"binary"`
		Env          []string `yaml:"env"`
		Flags        []string `yaml:"flags"`
		Ldflags      []string `yaml:"ldflags"`
		ModTimestamp string   `yaml:"mod_timestamp"`
		Goos         []string `yaml:"goos"`
		Goarch       []string `yaml:"goarch"`
	} `yaml:"builds"`
	Archives []struct {
		Formats      []string `yaml:"formats"`
		NameTemplate string   `yaml:"name_template"`
		Files        []string `yaml:"files"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
		Algorithm    string `yaml:"algorithm"`
	} `yaml:"checksum"`
}

// TestGoreleaserIsReproducible reads .goreleaser.yaml (GoReleaser itself
// needs a newer Go than the project's, so it cannot run here) for what
// makes the release reproducible and what actions/setup downloads: the
// same commit must give the same bytes, whose SHA-256s are committed in
// actions/setup/checksums.txt before the tag.
func TestGoreleaserIsReproducible(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(repoRoot, ".goreleaser.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c goreleaserConfig
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if c.Version != 2 || c.ProjectName != "releasegate" || len(c.Builds) != 1 || len(c.Archives) != 1 {
		t.Fatalf("expected version 2, project releasegate, one build and one archive, found %+v", c)
	}
	bd := c.Builds[0]
	checks := []struct {
		what string
		ok   bool
	}{
		{"main ./cmd/releasegate, binary releasegate", bd.Main == "./cmd/releasegate" && bd.Binary == "releasegate"},
		{"CGO_ENABLED=0", slices.Contains(bd.Env, "CGO_ENABLED=0")},
		{"-trimpath and -buildvcs=false", slices.Contains(bd.Flags, "-trimpath") && slices.Contains(bd.Flags, "-buildvcs=false")},
		{"fixed ldflags with the version", len(bd.Ldflags) == 1 && strings.Contains(bd.Ldflags[0], "-X github.com/maestro-conductor/releasegate/internal/cli.Version={{ .Version }}") && !strings.Contains(bd.Ldflags[0], ".Date")},
		{"file times from the commit", bd.ModTimestamp == "{{ .CommitTimestamp }}"},
		{"linux, darwin and windows", slices.Equal(bd.Goos, []string{"linux", "darwin", "windows"})},
		{"amd64 and arm64", slices.Equal(bd.Goarch, []string{"amd64", "arm64"})},
		// setup.sh downloads releasegate_<os>_<arch>.tar.gz holding the binary only.
		{"archives named releasegate_<os>_<arch>.tar.gz", c.Archives[0].NameTemplate == "{{ .ProjectName }}_{{ .Os }}_{{ .Arch }}" && slices.Equal(c.Archives[0].Formats, []string{"tar.gz"})},
		{"the binary alone in each archive", slices.Equal(c.Archives[0].Files, []string{"none*"})},
		{"sha256 checksums.txt", c.Checksum.NameTemplate == "checksums.txt" && c.Checksum.Algorithm == "sha256"},
	}
	for _, ck := range checks {
		if !ck.ok {
			t.Errorf(".goreleaser.yaml: expected %s, found %+v / %+v", ck.what, bd, c.Archives[0])
		}
	}
	setup, err := os.ReadFile(filepath.Join(repoRoot, "actions", "setup", "setup.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(setup), `releasegate_${os}_${arch}.tar.gz`) || !strings.Contains(string(setup), "/releases/download/") {
		t.Errorf("actions/setup/setup.sh: expected it to download GoReleaser's releasegate_<os>_<arch>.tar.gz from releases/download, found otherwise")
	}
}

// TestPublishWorkflow checks that releasegate publishes itself only after
// its own release workflow passed on it, that what it publishes is what
// the actions at the tag accept, and that the release is attested and
// signed.
func TestPublishWorkflow(t *testing.T) {
	t.Parallel()
	w, err := LoadWorkflow(repoRoot, ".github/workflows/publish.yml")
	if err != nil {
		t.Fatal(err)
	}
	push, _ := w.Events()["push"].(map[string]any)
	if tags, _ := push["tags"].([]any); len(tags) != 1 || tags[0] != "v*" {
		t.Errorf("expected publish.yml on pushed v* tags, found %v", w.Events())
	}
	gate := w.Jobs["release-gate"]
	if gate.Uses != "./.github/workflows/release.yml" {
		t.Errorf("job release-gate: expected it to call release.yml, found %q", gate.Uses)
	}
	pub := w.Jobs["publish"]
	if !slices.Equal([]string(pub.Needs), []string{"release-gate"}) || pub.If != "${{ needs.release-gate.outputs.status == 'pass' }}" {
		t.Errorf("job publish: expected it to need release-gate and run only on its pass, found needs %v if %q", pub.Needs, pub.If)
	}
	if p := permissions(pub.Permissions); !slices.Equal(p, []string{"attestations=write", "contents=write", "id-token=write"}) {
		t.Errorf("job publish: expected contents, id-token and attestations write, found %v", p)
	}
	var order []string
	for _, st := range pub.Steps {
		switch {
		case strings.HasPrefix(st.Uses, "goreleaser/goreleaser-action@") && strings.Contains(st.With["args"], "--skip=publish"):
			order = append(order, "build")
			if want := goreleaserVersion(t); st.With["version"] != want {
				t.Errorf("job publish: expected GoReleaser %s, the version tools/release/go.mod pins and `make release-snapshot` proves reproducible, found %q", want, st.With["version"])
			}
		case strings.Contains(st.Run, "actions/setup/checksums.txt") && strings.Contains(st.Run, "dist/checksums.txt"):
			order = append(order, "check")
		case strings.HasPrefix(st.Uses, "actions/attest-build-provenance@"):
			order = append(order, "provenance")
		case strings.Contains(st.Run, "cosign sign-blob"):
			order = append(order, "sign")
		case strings.Contains(st.Run, "gh release create"):
			order = append(order, "publish")
		}
	}
	if want := []string{"build", "check", "provenance", "sign", "publish"}; !slices.Equal(order, want) {
		t.Errorf("job publish: expected the steps %v in that order, found %v", want, order)
	}
}

// goreleaserVersion is the GoReleaser version tools/release/go.mod pins.
func goreleaserVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "tools/release/go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/goreleaser/goreleaser/v2 (v\S+)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("expected tools/release/go.mod to require github.com/goreleaser/goreleaser/v2, found no such line")
	}
	return string(m[1])
}
