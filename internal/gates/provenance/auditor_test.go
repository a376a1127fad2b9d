package provenancegate

import (
	"flag"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
	prov "github.com/maestro-conductor/releasegate/internal/provenance"
)

var update = flag.Bool("update", false, "rewrite the generated part of docs/provenance.md")

const provenanceDoc = "../../../docs/provenance.md"

// specKeys are the yaml keys of Spec.
func specKeys() []string {
	var keys []string
	t := reflect.TypeFor[Spec]()
	for i := range t.NumField() {
		if k := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]; k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// flagsOf lists the --flags a table cell names.
func flagsOf(cell string) []string {
	return regexp.MustCompile(`--[a-z-]+`).FindAllString(cell, -1)
}

// auditorSpecs set every mapped setting, between them both forms of each
// (signer with a tag ref and without, tag and branch, both instances).
func auditorSpecs() []Spec {
	return []Spec{
		{Artifacts: []string{"a"}, TrustedRoot: "trusted_root.json", SourceURI: "github.com/acme/api", SourceTag: "v1.4.2",
			SignerWorkflow: "acme/workflows/.github/workflows/attest.yml@refs/tags/v3.0.0", ProvenanceIssuer: prov.GitHubActionsIssuer + "/acme",
			Inputs: map[string]string{"environment": "production"}},
		{Artifacts: []string{"a"}, TrustedRoot: "github_root.jsonl", SourceURI: "github.com/acme/api", SourceBranch: "main",
			SignerWorkflow: "acme/api/.github/workflows/release.yml@0123456789abcdef0123456789abcdef01234567", SigstoreInstance: prov.InstanceGitHub},
		{Artifacts: []string{"a"}, TrustedRoot: "trusted_root.json", SourceURI: "github.com/acme/api", SignerWorkflow: "acme/api/.github/workflows/release.yml",
			RunnerEnvironment: prov.RunnerAny},
	}
}

// TestOutsideFlagsAreTrue keeps the policy ↔ flag table true: every key
// is a setting, every setting of a GitHub attestation check has a row,
// and the flags the table names are exactly those OutsideCommands uses.
func TestOutsideFlagsAreTrue(t *testing.T) {
	t.Parallel()
	keys := specKeys()
	var rows []string
	for _, f := range outsideFlags {
		if !slices.Contains(keys, f.Key) {
			t.Errorf("row %q: not a provenance setting", f.Key)
		}
		rows = append(rows, f.Key)
	}
	for _, k := range []string{"artifacts", "provenance", "trusted-root", "source-uri", "source-tag", "source-branch",
		"signer-workflow", "runner-environment", "provenance-issuer", "sigstore-instance", "inputs"} {
		if !slices.Contains(rows, k) {
			t.Errorf("setting %s has no row in OutsideFlags", k)
		}
	}
	used := map[string]map[string]bool{"gh": {}, "slsa-verifier": {}, "cosign": {}}
	for _, s := range auditorSpecs() {
		for _, argv := range outsideCommands(s, "dist/api", "dist/api.sigstore.json") {
			for _, a := range argv {
				if strings.HasPrefix(a, "--") {
					used[argv[0]][a] = true
				}
			}
		}
	}
	named := map[string]map[string]bool{"gh": {}, "slsa-verifier": {}, "cosign": {}}
	for _, f := range outsideFlags {
		for tool, cell := range map[string]string{"gh": f.GH, "slsa-verifier": f.SLSAVerifier, "cosign": f.Cosign} {
			for _, fl := range flagsOf(cell) {
				named[tool][fl] = true
				if !used[tool][fl] {
					t.Errorf("%s %s (row %s) is never used by OutsideCommands", tool, fl, f.Key)
				}
			}
		}
	}
	for tool, flags := range used {
		for fl := range flags {
			if !named[tool][fl] {
				t.Errorf("OutsideCommands uses %s %s, which no row of OutsideFlags names", tool, fl)
			}
		}
	}
}

// docExample is the policy docs/provenance.md shows the outside commands
// for: the real bcr attestation in testdata/real, which
// TestRealGitHubAttestations verifies with the same settings.
func docExample() (Spec, string, string) {
	return Spec{Artifacts: []string{"rules_lint-v1.3.1.tar.gz"}, TrustedRoot: "../../sigstore-go/public-good.json", SourceURI: "github.com/aspect-build/rules_lint",
			SourceBranch: "publish-to-bcr", SignerWorkflow: "bazel-contrib/.github/.github/workflows/release_ruleset.yaml@refs/tags/v7.1.0"},
		"rules_lint-v1.3.1.tar.gz", "rules_lint-v1.3.1.tar.gz.intoto.jsonl"
}

func renderOutside() string {
	var b strings.Builder
	b.WriteString("<!-- outside-verifiers:begin (generated: go test ./internal/gates/provenance -run OutsideCommandsDoc -update) -->\n")
	b.WriteString("| setting | gh attestation verify | slsa-verifier verify-github-attestation | cosign verify-blob-attestation | note |\n|---|---|---|---|---|\n")
	cell := func(s string) string {
		if s == "" {
			return "—"
		}
		return "`" + strings.ReplaceAll(s, "`", "") + "`"
	}
	for _, f := range outsideFlags {
		b.WriteString("| `" + f.Key + "` | " + cell(f.GH) + " | " + cell(f.SLSAVerifier) + " | " + cell(f.Cosign) + " | " + f.Note + " |\n")
	}
	s, artifact, bundle := docExample()
	b.WriteString("\nFor the policy\n\n```yaml\n")
	b.WriteString("trusted-root: " + s.TrustedRoot + "\nartifacts: [" + s.Artifacts[0] + "]\nprovenance: " + bundle + "\n")
	b.WriteString("source-uri: " + s.SourceURI + "\nsource-branch: " + s.SourceBranch + "\nsigner-workflow: " + s.SignerWorkflow + "\n```\n\n")
	b.WriteString("an auditor runs, in `internal/provenance/testdata/real/slsa-verifier/bcr` (the policy's directory):\n\n```sh\n")
	for i, argv := range outsideCommands(s, artifact, bundle) {
		if i == 1 {
			b.WriteString("SLSA_VERIFIER_EXPERIMENTAL=1 ")
		}
		b.WriteString(shellLine(argv) + "\n")
	}
	b.WriteString("```\n<!-- outside-verifiers:end -->\n")
	return b.String()
}

// TestOutsideCommandsDoc keeps docs/provenance.md's table and commands
// equal to OutsideFlags and OutsideCommands.
func TestOutsideCommandsDoc(t *testing.T) {
	data, err := os.ReadFile(provenanceDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	begin := strings.Index(doc, "<!-- outside-verifiers:begin")
	end := strings.Index(doc, "<!-- outside-verifiers:end -->")
	if begin < 0 || end < begin {
		t.Fatalf("%s: no outside-verifiers markers; expected the generated section", provenanceDoc)
	}
	end += len("<!-- outside-verifiers:end -->\n")
	want := renderOutside()
	if doc[begin:end] == want {
		return
	}
	if *update {
		if err := os.WriteFile(provenanceDoc, []byte(doc[:begin]+want+doc[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("%s: the outside-verifiers section is stale; run go test ./internal/gates/provenance -run OutsideCommandsDoc -update\nwant:\n%s", provenanceDoc, want)
}

// TestOutsideCommandsExampleVerifies: the docs' example policy passes the
// gate on the real attestation it names.
func TestOutsideCommandsExampleVerifies(t *testing.T) {
	t.Parallel()
	s, _, bundle := docExample()
	s.Provenance = bundle
	res := runGitHubGate(t, "../../provenance/testdata/real/slsa-verifier/bcr", s)
	if res.Status != gate.StatusPass {
		t.Fatalf("status = %s, want pass: %+v", res.Status, res.Checks)
	}
}
