package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Action is the part of an action.yml the project's rules are about.
type Action struct {
	// Path is the file, relative to the repository root.
	Path        string
	Name        string                  `yaml:"name"`
	Description string                  `yaml:"description"`
	Author      string                  `yaml:"author"`
	Branding    map[string]string       `yaml:"branding"`
	Inputs      map[string]ActionInput  `yaml:"inputs"`
	Outputs     map[string]ActionOutput `yaml:"outputs"`
	Runs        struct {
		Using string `yaml:"using"`
		Steps []Step `yaml:"steps"`
	} `yaml:"runs"`

	// InputOrder and OutputOrder keep the order of the file, for the docs.
	InputOrder  []string `yaml:"-"`
	OutputOrder []string `yaml:"-"`
}

// ActionInput is one input of an action.
type ActionInput struct {
	Description string `yaml:"description"`
	Required    bool   `yaml:"required"`
	Default     string `yaml:"default"`
}

// ActionOutput is one output of a composite action.
type ActionOutput struct {
	Description string `yaml:"description"`
	Value       string `yaml:"value"`
}

// Step is a step of a job or of a composite action.
type Step struct {
	ID    string            `yaml:"id"`
	Name  string            `yaml:"name"`
	If    string            `yaml:"if"`
	Uses  string            `yaml:"uses"`
	Run   string            `yaml:"run"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
	With  map[string]string `yaml:"with"`
	// Line is where the step starts in its file.
	Line int `yaml:"-"`
}

// Workflow is the part of a workflow file the project's rules are about.
type Workflow struct {
	// Path is the file, relative to the repository root.
	Path        string
	Name        string         `yaml:"name"`
	On          yaml.Node      `yaml:"on"`
	Permissions yaml.Node      `yaml:"permissions"`
	Concurrency Concurrency    `yaml:"concurrency"`
	Jobs        map[string]Job `yaml:"jobs"`
}

// Concurrency is a workflow's concurrency setting.
type Concurrency struct {
	Group            string `yaml:"group"`
	CancelInProgress bool   `yaml:"cancel-in-progress"`
}

// Events returns the workflow's triggers with their settings (nil for a
// trigger given without settings), whichever form on: takes.
func (w *Workflow) Events() map[string]any {
	out := map[string]any{}
	switch w.On.Kind {
	case yaml.ScalarNode:
		out[w.On.Value] = nil
	case yaml.SequenceNode:
		for _, n := range w.On.Content {
			out[n.Value] = nil
		}
	case yaml.MappingNode:
		_ = w.On.Decode(&out)
	}
	return out
}

// Job is one job of a workflow.
type Job struct {
	Name        string            `yaml:"name"`
	Needs       StringList        `yaml:"needs"`
	If          string            `yaml:"if"`
	Uses        string            `yaml:"uses"`
	Environment yaml.Node         `yaml:"environment"`
	Permissions yaml.Node         `yaml:"permissions"`
	Outputs     map[string]string `yaml:"outputs"`
	Strategy    struct {
		Matrix yaml.Node `yaml:"matrix"`
	} `yaml:"strategy"`
	Steps []Step `yaml:"steps"`
}

// StrategyMatrix is the matrix when it is one expression (fromJSON(…)),
// empty when it is a mapping.
func (j Job) StrategyMatrix() string {
	if j.Strategy.Matrix.Kind == yaml.ScalarNode {
		return j.Strategy.Matrix.Value
	}
	return ""
}

// StringList decodes a YAML scalar or sequence of strings (as in needs:).
type StringList []string

// UnmarshalYAML accepts `needs: a` and `needs: [a, b]`.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = StringList{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

// LoadAction reads the action.yml at root/rel.
func LoadAction(root, rel string) (*Action, error) {
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	a := &Action{Path: rel}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(a); err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	a.InputOrder = mappingKeys(&doc, "inputs")
	a.OutputOrder = mappingKeys(&doc, "outputs")
	setStepLines(&doc, []string{"runs", "steps"}, a.Runs.Steps)
	return a, nil
}

// LoadWorkflow reads the workflow file at root/rel.
func LoadWorkflow(root, rel string) (*Workflow, error) {
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	w := &Workflow{Path: rel}
	if err := doc.Decode(w); err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	for id, j := range w.Jobs {
		setStepLines(&doc, []string{"jobs", id, "steps"}, j.Steps)
	}
	return w, nil
}

// Actions lists the action.yml files of the repository at root: the root
// action and every actions/<name>/action.yml, sorted.
func Actions(root string) ([]string, error) {
	paths := []string{"action.yml"}
	m, err := filepath.Glob(filepath.Join(root, "actions", "*", "action.yml"))
	if err != nil {
		return nil, err
	}
	for _, p := range m {
		rel, _ := filepath.Rel(root, p)
		paths = append(paths, filepath.ToSlash(rel))
	}
	sort.Strings(paths[1:])
	return paths, nil
}

// Workflows lists the workflow files under dir (relative to root), sorted.
func Workflows(root, dir string) ([]string, error) {
	var out []string
	for _, pat := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, dir, pat))
		if err != nil {
			return nil, err
		}
		for _, p := range m {
			rel, _ := filepath.Rel(root, p)
			out = append(out, filepath.ToSlash(rel))
		}
	}
	sort.Strings(out)
	return out, nil
}

// mappingKeys returns the keys of the mapping at the top-level key, in order.
func mappingKeys(doc *yaml.Node, key string) []string {
	n := lookup(doc, key)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var keys []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		keys = append(keys, n.Content[i].Value)
	}
	return keys
}

// lookup follows keys through nested mappings from the document node.
func lookup(doc *yaml.Node, keys ...string) *yaml.Node {
	n := doc
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range keys {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
				break
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func setStepLines(doc *yaml.Node, path []string, steps []Step) {
	n := lookup(doc, path...)
	if n == nil || n.Kind != yaml.SequenceNode {
		return
	}
	for i := range steps {
		if i < len(n.Content) {
			c := n.Content[i]
			if c.Kind == yaml.AliasNode {
				c = c.Alias
			}
			steps[i].Line = c.Line
		}
	}
}

// remoteRef matches `uses: owner/repo[/path]@ref`.
var remoteRef = regexp.MustCompile(`^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)(/[^@]*)?@(.+)$`)

// fullSHA is a full 40-hex commit id.
var fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)

// RemoteAction reports whether uses names a remote action (or reusable
// workflow) and returns its repository and ref. Local (./…) and docker://
// references are not remote.
func RemoteAction(uses string) (repo, ref string, ok bool) {
	if uses == "" || strings.HasPrefix(uses, "./") || strings.HasPrefix(uses, "docker://") {
		return "", "", false
	}
	m := remoteRef.FindStringSubmatch(uses)
	if m == nil {
		return "", "", false
	}
	return m[1], m[3], true
}

// PinnedToCommit reports whether ref is a full commit SHA.
func PinnedToCommit(ref string) bool { return fullSHA.MatchString(ref) }
