package e2e

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the generated part of docs/actions.md")

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../.."

// gateJobs are the jobs of release.yml whose outputs carry one group of
// gates each; abuse merges the results of its shards, abuse-shard.
var gateJobs = []string{"provenance", "slo", "abuse", "infra", "jobs", "cost"}

// shards is the size of the synthetic matrix in release.yml.
const shards = 2

// gateActions are the composite actions users call one gate at a time.
var gateActions = []string{
	"actions/check-slo/action.yml",
	"actions/ci-budget-throttle/action.yml",
	"actions/evidence-bundle/action.yml",
	"actions/synthetic-multi-tenant/action.yml",
	"actions/verify-provenance/action.yml",
}

func loadActions(t *testing.T) []*Action {
	t.Helper()
	paths, err := Actions(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]string{"action.yml"}, gateActions...)
	if !slices.Equal(paths, want) {
		t.Fatalf("expected the actions %v, found %v", want, paths)
	}
	var out []*Action
	for _, p := range paths {
		a, err := LoadAction(repoRoot, p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// allWorkflows loads the project's workflows and the e2e caller workflows.
func allWorkflows(t *testing.T) []*Workflow {
	t.Helper()
	var out []*Workflow
	for _, dir := range []string{".github/workflows", "testdata/e2e/workflows"} {
		paths, err := Workflows(repoRoot, dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			w, err := LoadWorkflow(repoRoot, p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, w)
		}
	}
	if len(out) < 3 {
		t.Fatalf("expected release.yml, ci.yml and an e2e caller workflow, found %d workflow files", len(out))
	}
	return out
}

// located is a step with the file it is in, for messages.
type located struct {
	file string
	step Step
}

func allSteps(t *testing.T) []located {
	t.Helper()
	var out []located
	for _, a := range loadActions(t) {
		for _, s := range a.Runs.Steps {
			out = append(out, located{a.Path, s})
		}
	}
	for _, w := range allWorkflows(t) {
		for _, j := range w.Jobs {
			for _, s := range j.Steps {
				out = append(out, located{w.Path, s})
			}
		}
	}
	return out
}

// expression matches a GitHub Actions expression.
var expression = regexp.MustCompile(`\$\{\{.*?\}\}`)

func TestNoExpressionInsideRunScripts(t *testing.T) {
	t.Parallel()
	for _, l := range allSteps(t) {
		if l.step.Run == "" {
			continue
		}
		if m := expression.FindString(l.step.Run); m != "" {
			t.Errorf("%s:%d: expected values to reach the script through env:, found %s inside run: (script injection); map it in env: and use the variable",
				l.file, l.step.Line, m)
		}
	}
}

func TestRemoteActionsArePinnedToACommit(t *testing.T) {
	t.Parallel()
	n := 0
	for _, l := range allSteps(t) {
		repo, ref, ok := RemoteAction(l.step.Uses)
		if !ok {
			continue
		}
		n++
		if !PinnedToCommit(ref) {
			t.Errorf("%s:%d: expected %s pinned to a full 40-hex commit SHA, found @%s; pin it and keep the version in a comment",
				l.file, l.step.Line, repo, ref)
		}
	}
	if n == 0 {
		t.Fatal("expected remote actions (checkout, setup-go) in the files, found none: the files were not read")
	}
}

func TestPinnedActionsCarryAVersionComment(t *testing.T) {
	t.Parallel()
	files := []string{}
	for _, a := range loadActions(t) {
		files = append(files, a.Path)
	}
	for _, w := range allWorkflows(t) {
		files = append(files, w.Path)
	}
	line := regexp.MustCompile(`uses:\s*([^\s#]+@[0-9a-f]{40})(\s*#\s*v\d\S*)?`)
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(b), "\n") {
			if m := line.FindStringSubmatch(l); m != nil && m[2] == "" {
				t.Errorf("%s:%d: expected a version comment after the pinned %s (e.g. # v4.2.2), found none", f, i+1, m[1])
			}
		}
	}
}

func TestActionsMapEveryInputThroughEnv(t *testing.T) {
	t.Parallel()
	inputName := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	lib, err := os.ReadFile(filepath.Join(repoRoot, "actions", "lib", "run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	binary, err := os.ReadFile(filepath.Join(repoRoot, "actions", "lib", "binary.sh"))
	if err != nil {
		t.Fatal(err)
	}
	scripts := string(lib) + string(binary)
	for _, a := range loadActions(t) {
		if a.Runs.Using != "composite" {
			t.Errorf("%s: expected runs.using composite, found %q", a.Path, a.Runs.Using)
		}
		for _, name := range a.InputOrder {
			if !inputName.MatchString(name) {
				t.Errorf("%s: input %q: expected lowercase letters, digits and underscores (hyphens are kept by go-githubactions and unusable in env names)", a.Path, name)
			}
			if a.Inputs[name].Description == "" {
				t.Errorf("%s: input %q has no description", a.Path, name)
			}
			// Each input reaches the scripts as INPUT_<NAME>, as the runner
			// does for JavaScript actions, and the scripts read it.
			env := "INPUT_" + strings.ToUpper(name)
			want := "${{ inputs." + name + " }}"
			mapped := false
			for _, s := range a.Runs.Steps {
				if s.Env[env] == want {
					mapped = true
				}
			}
			if !mapped {
				t.Errorf("%s: input %q: expected it mapped in a step's env: as %s: %s, found no such mapping", a.Path, name, env, want)
			}
			if !strings.Contains(scripts, env+" ") && !strings.Contains(scripts, "${"+env) {
				t.Errorf("%s: input %q: expected actions/lib/run.sh or binary.sh to read %s, found it unused", a.Path, name, env)
			}
		}
	}
}

func TestActionsExposeStatusAndResult(t *testing.T) {
	t.Parallel()
	for _, a := range loadActions(t) {
		if a.Name == "" || a.Description == "" || a.Author == "" {
			t.Errorf("%s: expected name, description and author, found %q, %q, %q", a.Path, a.Name, a.Description, a.Author)
		}
		if a.Branding["icon"] == "" || a.Branding["color"] == "" {
			t.Errorf("%s: expected branding with icon and color, found %v", a.Path, a.Branding)
		}
		if !slices.Equal(a.OutputOrder, []string{"status", "result"}) {
			t.Errorf("%s: expected outputs status and result, found %v", a.Path, a.OutputOrder)
		}
		// A binary that reported nothing (crashed, command missing) must
		// read as error downstream, never as an empty status.
		if v := a.Outputs["status"].Value; !strings.Contains(v, "steps.run.outputs.status || 'error'") {
			t.Errorf("%s: expected the status output to fall back to 'error', found %q", a.Path, v)
		}
		if v := a.Outputs["result"].Value; !strings.Contains(v, "steps.run.outputs.result") {
			t.Errorf("%s: expected the result output from the run step, found %q", a.Path, v)
		}
		var run *Step
		for i := range a.Runs.Steps {
			if a.Runs.Steps[i].ID == "run" {
				run = &a.Runs.Steps[i]
			}
		}
		if run == nil {
			t.Errorf("%s: expected a step with id run that runs the binary, found none", a.Path)
			continue
		}
		if !strings.Contains(run.Run, "run.sh") || run.Env["RELEASEGATE"] == "" {
			t.Errorf("%s: expected the run step to call actions/lib/run.sh with RELEASEGATE from the build step, found run %q env %v", a.Path, run.Run, run.Env)
		}
	}
}

func TestActionsRunTheirGateCommand(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		"action.yml":                                "run",
		"actions/check-slo/action.yml":              "run",
		"actions/ci-budget-throttle/action.yml":     "run",
		"actions/evidence-bundle/action.yml":        "evidence create",
		"actions/synthetic-multi-tenant/action.yml": "run",
		"actions/verify-provenance/action.yml":      "run",
	}
	// A gate action runs its group of the policy unless told otherwise.
	group := map[string]string{
		"actions/check-slo/action.yml":              "slo",
		"actions/ci-budget-throttle/action.yml":     "cost",
		"actions/synthetic-multi-tenant/action.yml": "abuse",
		"actions/verify-provenance/action.yml":      "provenance",
	}
	for _, a := range loadActions(t) {
		for _, s := range a.Runs.Steps {
			if s.ID != "run" {
				continue
			}
			if got := strings.TrimSpace(s.Run[strings.Index(s.Run, "run.sh\"")+len("run.sh\""):]); got != want[a.Path] {
				t.Errorf("%s: expected the command %q, found %q", a.Path, want[a.Path], got)
			}
		}
		if g, ok := group[a.Path]; ok && a.Inputs["only"].Default != g {
			t.Errorf("%s: expected input only to default to the group %q, found %q", a.Path, g, a.Inputs["only"].Default)
		}
	}
}

// permissions decodes a permissions node: "" when absent, "{}" when empty,
// otherwise "scope=level" pairs sorted.
func permissions(n yaml.Node) []string {
	if n.Kind == 0 {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	var m map[string]string
	_ = n.Decode(&m)
	out := []string{}
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

func TestReleaseWorkflowShape(t *testing.T) {
	t.Parallel()
	w, err := LoadWorkflow(repoRoot, ".github/workflows/release.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"workflow_call", "workflow_dispatch"} {
		if _, ok := w.Events()[ev]; !ok {
			t.Errorf("expected release.yml to run on %s, found %v", ev, w.Events())
		}
	}
	call, _ := w.Events()["workflow_call"].(map[string]any)
	inputs, _ := call["inputs"].(map[string]any)
	for _, name := range []string{"policy", "version", "image", "artifacts", "environment", "evidence_public_key", "releasegate_ref", "releasegate_path"} {
		in, ok := inputs[name].(map[string]any)
		if !ok || in["type"] != "string" {
			t.Errorf("expected workflow_call input %s of type string, found %v", name, inputs[name])
		}
	}
	secrets, _ := call["secrets"].(map[string]any)
	for _, name := range []string{"token", "prometheus_token", "signing_key", "signing_key_password"} {
		if _, ok := secrets[name]; !ok {
			t.Errorf("expected workflow_call secret %s, found %v", name, secrets)
		}
	}
	if p := permissions(w.Permissions); !slices.Equal(p, []string{}) {
		t.Errorf("expected top-level permissions: {}, found %v", p)
	}

	type want struct {
		needs  []string
		always bool
		perms  []string
	}
	gatePerms := []string{"checks=write", "contents=read", "statuses=write"}
	jobs := map[string]want{
		"provenance":  {nil, false, gatePerms},
		"slo":         {[]string{"provenance"}, false, gatePerms},
		"abuse-shard": {[]string{"provenance"}, false, gatePerms},
		"abuse":       {[]string{"abuse-shard"}, false, gatePerms},
		"infra":       {[]string{"provenance"}, false, gatePerms},
		"jobs":        {[]string{"provenance"}, false, gatePerms},
		"cost":        {[]string{"abuse", "infra", "jobs", "slo"}, false, gatePerms},
		"evidence":    {[]string{"abuse", "cost", "infra", "jobs", "provenance", "slo"}, true, []string{"contents=read"}},
		"verdict":     {[]string{"abuse", "cost", "evidence", "infra", "jobs", "provenance", "slo"}, true, []string{}},
		"sign-off":    {[]string{"verdict"}, false, []string{}},
	}
	for id, wj := range jobs {
		j, ok := w.Jobs[id]
		if !ok {
			t.Errorf("expected a job %s in release.yml, found none", id)
			continue
		}
		needs := slices.Clone([]string(j.Needs))
		slices.Sort(needs)
		if !slices.Equal(needs, wj.needs) {
			t.Errorf("job %s: expected needs %v, found %v", id, wj.needs, needs)
		}
		if got := strings.Contains(j.If, "always()"); got != wj.always {
			t.Errorf("job %s: expected always() in if: to be %v, found if: %q", id, wj.always, j.If)
		}
		if p := permissions(j.Permissions); !slices.Equal(p, wj.perms) {
			t.Errorf("job %s: expected permissions %v, found %v", id, wj.perms, p)
		}
		switch id {
		case "verdict", "sign-off":
		case "abuse-shard":
			// Each matrix leg sets an output of its own: one shared name
			// would keep only the last leg's result.
			for i := 1; i <= shards; i++ {
				if want := fmt.Sprintf("${{ steps.shard.outputs.result_%d }}", i); j.Outputs[fmt.Sprintf("result_%d", i)] != want {
					t.Errorf("job %s: expected output result_%d: %s, found %v", id, i, want, j.Outputs)
				}
			}
		default:
			if j.Outputs["status"] == "" || j.Outputs["result"] == "" {
				t.Errorf("job %s: expected outputs status and result for the evidence and verdict jobs, found %v", id, j.Outputs)
			}
		}
	}
	if len(w.Jobs) != len(jobs) {
		t.Errorf("expected exactly %d jobs in release.yml, found %d", len(jobs), len(w.Jobs))
	}
	for _, id := range gateJobs {
		job := id
		if id == "abuse" {
			job = "abuse-shard"
		}
		found := false
		for _, st := range w.Jobs[job].Steps {
			if st.Uses == "./.releasegate" && st.With["only"] == id {
				found = true
			}
		}
		if !found {
			t.Errorf("job %s: expected a step using ./.releasegate with only: %s, found none", job, id)
		}
	}
	checkSyntheticMatrix(t, w)
	// Each releasegate step loads the whole policy, so each must see every
	// secret the policy may name.
	for id, j := range w.Jobs {
		for _, st := range j.Steps {
			if strings.HasPrefix(st.Uses, "./.releasegate") && st.Env["PROMETHEUS_TOKEN"] != "${{ secrets.prometheus_token }}" {
				t.Errorf("%s:%d: job %s: expected PROMETHEUS_TOKEN from secrets.prometheus_token in the env of %s, found %q",
					w.Path, st.Line, id, st.Uses, st.Env["PROMETHEUS_TOKEN"])
			}
		}
	}
	// Given the public key, the evidence job verifies what it signed.
	verifies := false
	for _, st := range w.Jobs["evidence"].Steps {
		if strings.HasSuffix(st.Uses, "/actions/evidence-bundle") && st.With["public_key"] == "${{ inputs.evidence_public_key }}" {
			verifies = true
		}
	}
	if !verifies {
		t.Errorf("evidence: expected the evidence-bundle step to get public_key from inputs.evidence_public_key, found none")
	}
	so := w.Jobs["sign-off"]
	if !strings.Contains(so.If, "inputs.environment != ''") || so.Environment.Value == "" {
		t.Errorf("sign-off: expected it to run only with an environment and to use it, found if %q environment %q", so.If, so.Environment.Value)
	}
	// The evidence job receives every gate job's result through outputs.
	var collect string
	for _, s := range w.Jobs["evidence"].Steps {
		for _, v := range s.Env {
			collect += v + "\n"
		}
	}
	for _, id := range gateJobs {
		if !strings.Contains(collect, fmt.Sprintf("needs.%s.outputs.result", id)) {
			t.Errorf("evidence: expected needs.%s.outputs.result in its env, found none", id)
		}
	}
	for _, s := range append(w.Jobs["evidence"].Steps, w.Jobs["verdict"].Steps...) {
		if strings.Contains(s.Uses, "upload-artifact") || strings.Contains(s.Uses, "download-artifact") {
			t.Errorf("%s:%d: expected results through job outputs, found %s", w.Path, s.Line, s.Uses)
		}
	}
}

// checkSyntheticMatrix checks that the abuse group runs as a matrix of
// shards whose results the abuse job merges with releasegate synthetic
// merge.
func checkSyntheticMatrix(t *testing.T, w *Workflow) {
	t.Helper()
	leg := w.Jobs["abuse-shard"]
	var got []int
	if n, ok := leg.Strategy.Matrix["shard"]; !ok || n.Decode(&got) != nil || !slices.Equal(got, []int{1, 2}) {
		t.Errorf("job abuse-shard: expected strategy.matrix.shard [1, 2], found %v", got)
	}
	sharded := false
	for _, st := range leg.Steps {
		if st.Uses == "./.releasegate" && st.Env["RELEASEGATE_SYNTHETIC_SHARD"] == fmt.Sprintf("${{ matrix.shard }}/%d", shards) {
			sharded = true
		}
	}
	if !sharded {
		t.Errorf("job abuse-shard: expected its ./.releasegate step to run shard ${{ matrix.shard }}/%d (env RELEASEGATE_SYNTHETIC_SHARD), found none", shards)
	}
	merge := w.Jobs["abuse"]
	if !strings.Contains(merge.If, "!cancelled()") {
		t.Errorf("job abuse: expected it to merge also after a failed shard (if: !cancelled() …), found if: %q", merge.If)
	}
	merged := false
	for _, st := range merge.Steps {
		if st.ID != "gate" || !strings.Contains(st.Run, "run.sh synthetic merge") {
			continue
		}
		merged = true
		for i := 1; i <= shards; i++ {
			if want := fmt.Sprintf("${{ needs.abuse-shard.outputs.result_%d }}", i); st.Env[fmt.Sprintf("SHARD_%d", i)] != want {
				t.Errorf("%s:%d: job abuse: expected SHARD_%d: %s in the merge step's env, found %v", w.Path, st.Line, i, want, st.Env)
			}
		}
	}
	if !merged {
		t.Errorf("job abuse: expected a step with id gate that runs actions/lib/run.sh synthetic merge, found none")
	}
	if v := merge.Outputs["result"]; v != "${{ steps.gate.outputs.result }}" {
		t.Errorf("job abuse: expected output result from the merge step, found %q", v)
	}
}

func TestActionlint(t *testing.T) {
	t.Parallel()
	args := []string{"tool", "-modfile=tools/go.mod", "actionlint", "-no-color"}
	for _, dir := range []string{".github/workflows", "testdata/e2e/workflows"} {
		paths, err := Workflows(repoRoot, dir)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, paths...)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("expected actionlint to find no problems, found:\n%s(%v)", out, err)
	}
}

func TestActionsDoc(t *testing.T) {
	t.Parallel()
	path := filepath.Join(repoRoot, "docs", "actions.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := SpliceGenerated(string(b), RenderActionsReference(loadActions(t)))
	if !ok {
		t.Fatalf("docs/actions.md: expected the markers %q and %q, found them missing", BeginGenerated, EndGenerated)
	}
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != string(b) {
		t.Errorf("docs/actions.md does not match the action files; run go test ./internal/e2e -run TestActionsDoc -update")
	}
}
