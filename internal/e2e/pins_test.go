package e2e

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// pinsDir holds the interface (name, inputs, outputs) of the upstream action.yml
// of every pinned third-party action.
const pinsDir = "testdata/pinned-actions"

// pin is one row of pinsDir/SOURCE.md: the tag that resolves to the commit.
type pin struct{ repo, tag, commit string }

func loadPins(t *testing.T) map[string]pin {
	t.Helper()
	f, err := os.Open(filepath.Join(pinsDir, "SOURCE.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	row := regexp.MustCompile(`^\| (\S+/\S+) \| (v\S+) \| ([0-9a-f]{40}) \|$`)
	out := map[string]pin{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		if m := row.FindStringSubmatch(s.Text()); m != nil {
			out[m[1]+"@"+m[3]] = pin{m[1], m[2], m[3]}
		}
	}
	if len(out) == 0 {
		t.Fatalf("expected rows `| owner/name | vX.Y.Z | commit |` in %s/SOURCE.md, found none", pinsDir)
	}
	return out
}

// upstreamAction is the part of a third-party action.yml a caller depends on.
type upstreamAction struct {
	Inputs map[string]struct {
		Required bool    `yaml:"required"`
		Default  *string `yaml:"default"`
	} `yaml:"inputs"`
	Outputs map[string]any `yaml:"outputs"`
}

func loadUpstream(t *testing.T, repo, commit string) upstreamAction {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(pinsDir, repo, commit+".interface.yml"))
	if err != nil {
		t.Fatalf("expected the interface of %s@%s in %s (name, inputs and outputs of its action.yml at that commit): %v", repo, commit, pinsDir, err)
	}
	var a upstreamAction
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// versionComments maps every pinned `owner/name@commit` in the project's
// files to the versions its comments name, with where each is.
func versionComments(t *testing.T, files []string) map[string]map[string]string {
	t.Helper()
	line := regexp.MustCompile(`uses:\s*([^\s#]+@[0-9a-f]{40})\s*#\s*(v\S+)`)
	out := map[string]map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(b), "\n") {
			if m := line.FindStringSubmatch(l); m != nil {
				if out[m[1]] == nil {
					out[m[1]] = map[string]string{}
				}
				out[m[1]][m[2]] = fmt.Sprintf("%s:%d", f, i+1)
			}
		}
	}
	return out
}

// stepOutputRead is an expression reading a step's output.
var stepOutputRead = regexp.MustCompile(`steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)`)

// scope is the steps of one job or composite action, with the text that may
// read their outputs.
type scope struct {
	file  string
	steps []Step
	reads []string
}

func pinScopes(t *testing.T) []scope {
	t.Helper()
	var out []scope
	stepTexts := func(steps []Step) []string {
		var s []string
		for _, st := range steps {
			s = append(s, st.If, st.Run)
			for _, v := range st.With {
				s = append(s, v)
			}
			for _, v := range st.Env {
				s = append(s, v)
			}
		}
		return s
	}
	for _, a := range loadActions(t) {
		reads := stepTexts(a.Runs.Steps)
		for _, o := range a.Outputs {
			reads = append(reads, o.Value)
		}
		out = append(out, scope{a.Path, a.Runs.Steps, reads})
	}
	for _, w := range allWorkflows(t) {
		for _, j := range w.Jobs {
			reads := stepTexts(j.Steps)
			for _, v := range j.Outputs {
				reads = append(reads, v)
			}
			out = append(out, scope{w.Path, j.Steps, reads})
		}
	}
	return out
}

// TestPinnedActionsAreTheirReleasedVersions keeps every third-party pin
// honest: the commit is the one its version comment's tag resolved to
// upstream (pinsDir/SOURCE.md), and the inputs the step passes and the
// outputs later steps read exist in that commit's action.yml.
func TestPinnedActionsAreTheirReleasedVersions(t *testing.T) {
	t.Parallel()
	pins := loadPins(t)
	scopes := pinScopes(t)
	var files []string
	seen := map[string]bool{}
	for _, s := range scopes {
		if !seen[s.file] {
			seen[s.file] = true
			files = append(files, s.file)
		}
	}
	comments := versionComments(t, files)
	checked := 0
	reported := map[string]bool{}
	// report says each problem once: the stage jobs share one step list.
	report := func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !reported[msg] {
			reported[msg] = true
			t.Error(msg)
		}
	}
	for _, sc := range scopes {
		byID := map[string]upstreamAction{}
		for _, st := range sc.steps {
			repo, ref, ok := RemoteAction(st.Uses)
			if !ok || !PinnedToCommit(ref) {
				continue // TestRemoteActionsArePinnedToACommit reports it
			}
			checked++
			key := repo + "@" + ref
			p, ok := pins[key]
			if !ok {
				report("%s:%d: %s is not in %s/SOURCE.md: check which release tag resolves to it upstream, add the row and the upstream interface", sc.file, st.Line, key, pinsDir)
				continue
			}
			for c, at := range comments[key] {
				if c != p.tag {
					report("%s: %s carries the comment %q, but upstream tag %s resolves to it", at, key, c, p.tag)
				}
			}
			up := loadUpstream(t, repo, ref)
			for k := range st.With {
				if _, ok := up.Inputs[k]; !ok {
					report("%s:%d: %s %s has no input %q (its inputs: %s)", sc.file, st.Line, repo, p.tag, k, keys(up.Inputs))
				}
			}
			for k, in := range up.Inputs {
				if _, given := st.With[k]; in.Required && in.Default == nil && !given {
					report("%s:%d: %s %s requires the input %q, which the step does not pass", sc.file, st.Line, repo, p.tag, k)
				}
			}
			if st.ID != "" {
				byID[st.ID] = up
			}
		}
		for _, text := range sc.reads {
			for _, m := range stepOutputRead.FindAllStringSubmatch(text, -1) {
				up, ok := byID[m[1]]
				if !ok {
					continue // a local step's output
				}
				if _, ok := up.Outputs[m[2]]; !ok {
					report("%s: steps.%s.outputs.%s: the pinned action has no output %q (its outputs: %s)", sc.file, m[1], m[2], m[2], keys(up.Outputs))
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("expected pinned third-party actions in the project's files, found none: the files were not read")
	}
}

func keys[V any](m map[string]V) string {
	var k []string
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	return strings.Join(k, ", ")
}
