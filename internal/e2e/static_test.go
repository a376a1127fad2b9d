package e2e

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the generated part of docs/actions.md")

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../.."

// stageJobs are the jobs of release.yml that run groups of gates, all with
// the one list of steps (the anchor group-steps).
var stageJobs = []string{"provenance", "gates", "cost"}

// setupAction installs the binary; every other action runs its script.
const setupAction = "actions/setup/action.yml"

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
	want := append([]string{"action.yml", setupAction}, gateActions...)
	slices.Sort(want[1:])
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
	binary, err := os.ReadFile(filepath.Join(repoRoot, "actions", "setup", "setup.sh"))
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
				t.Errorf("%s: input %q: expected actions/lib/run.sh or actions/setup/setup.sh to read %s, found it unused", a.Path, name, env)
			}
		}
	}
}

func TestActionsExposeStatusAndResult(t *testing.T) {
	t.Parallel()
	for _, a := range loadActions(t) {
		if a.Path == setupAction {
			continue
		}
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

// TestActionsObtainTheBinaryLikeSetup checks that every action obtains the
// binary with the steps of actions/setup: plan, Go only for a build,
// install; so each one downloads and verifies the release of its own ref.
func TestActionsObtainTheBinaryLikeSetup(t *testing.T) {
	t.Parallel()
	actions := loadActions(t)
	var setup *Action
	for _, a := range actions {
		if a.Path == setupAction {
			setup = a
		}
	}
	if setup == nil || len(setup.Runs.Steps) != 3 {
		t.Fatalf("expected %s with 3 steps", setupAction)
	}
	for _, a := range actions {
		if len(a.Runs.Steps) < 3 {
			t.Errorf("%s: expected the setup steps first, found %d steps", a.Path, len(a.Runs.Steps))
			continue
		}
		for i, want := range setup.Runs.Steps {
			got := a.Runs.Steps[i]
			if got.ID != want.ID || got.If != want.If || got.Uses != want.Uses ||
				got.Env["INPUT_RELEASEGATE_PATH"] != want.Env["INPUT_RELEASEGATE_PATH"] || got.Env["INPUT_BUILD_FROM_SOURCE"] != want.Env["INPUT_BUILD_FROM_SOURCE"] {
				t.Errorf("%s: step %d: expected it like %s's %q (id %q, if %q, uses %q), found id %q, if %q, uses %q",
					a.Path, i+1, setupAction, want.Name, want.ID, want.If, want.Uses, got.ID, got.If, got.Uses)
			}
			if want.Run != "" && !strings.Contains(got.Run, "setup.sh\" "+strings.Fields(want.Run)[2]) {
				t.Errorf("%s: step %d: expected it to run setup/setup.sh %s, found %q", a.Path, i+1, strings.Fields(want.Run)[2], got.Run)
			}
		}
		if a.Path == setupAction {
			continue
		}
		for _, s := range a.Runs.Steps[3:] {
			if s.ID == "run" && s.Env["RELEASEGATE"] != "${{ steps.bin.outputs.path }}" {
				t.Errorf("%s: expected the run step to take the binary from the setup steps, found %q", a.Path, s.Env["RELEASEGATE"])
			}
		}
	}
}

// TestProductionFilesHaveNoTestBranches is the check: no file users
// run branches on act.
func TestProductionFilesHaveNoTestBranches(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("grep", "-rn", "env.ACT", "action.yml", "actions", ".github/workflows/release.yml")
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err == nil || len(out) > 0 {
		t.Errorf("expected no env.ACT in the production files, found:\n%s", out)
	}
	for _, f := range []string{"action.yml", ".github/workflows/release.yml", "actions/setup/setup.sh", "actions/lib/run.sh"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		if regexp.MustCompile(`\bACT\b|E2E_`).Match(b) {
			t.Errorf("%s: expected no reference to act or the end-to-end harness, found one", f)
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
	call, _ := w.Events()["workflow_call"].(map[string]any)
	dispatch, _ := w.Events()["workflow_dispatch"].(map[string]any)
	inputs, _ := call["inputs"].(map[string]any)
	for name, typ := range map[string]string{"policy": "string", "version": "string", "image": "string", "artifacts": "string",
		"environment": "string", "evidence_public_key": "string", "shards": "number", "attest_vsa": "boolean",
		"build_from_source": "boolean", "releasegate_path": "string"} {
		in, ok := inputs[name].(map[string]any)
		if !ok || in["type"] != typ {
			t.Errorf("expected workflow_call input %s of type %s, found %v", name, typ, inputs[name])
		}
	}
	if _, ok := inputs["releasegate_ref"]; ok {
		t.Errorf("expected no releasegate_ref input: the workflow finds its own ref, found one")
	}
	// One definition: workflow_dispatch takes the same inputs.
	if !reflect.DeepEqual(dispatch["inputs"], call["inputs"]) {
		t.Errorf("expected workflow_dispatch's inputs equal to workflow_call's, found\n%v\nand\n%v", dispatch["inputs"], call["inputs"])
	}
	secrets, _ := call["secrets"].(map[string]any)
	for _, name := range []string{"token", "prometheus_token", "signing_key", "signing_key_password"} {
		if _, ok := secrets[name]; !ok {
			t.Errorf("expected workflow_call secret %s, found %v", name, secrets)
		}
	}
	outputs, _ := call["outputs"].(map[string]any)
	for _, name := range []string{"status", "evidence_artifact", "evidence_digest"} {
		if _, ok := outputs[name]; !ok {
			t.Errorf("expected workflow_call output %s, found %v", name, outputs)
		}
	}
	if p := permissions(w.Permissions); !slices.Equal(p, []string{}) {
		t.Errorf("expected top-level permissions: {}, found %v", p)
	}
	if !strings.Contains(w.Concurrency.Group, "github.ref") {
		t.Errorf("expected a concurrency group per ref, found %q", w.Concurrency.Group)
	}

	type want struct {
		needs  []string
		always bool
		perms  []string
	}
	gatePerms := []string{"checks=write", "contents=read", "statuses=write"}
	jobs := map[string]want{
		"plan":           {nil, false, []string{"contents=read", "id-token=write"}},
		"provenance":     {[]string{"plan"}, false, gatePerms},
		"gates":          {[]string{"plan", "provenance"}, false, gatePerms},
		"merge":          {[]string{"gates", "plan"}, false, gatePerms},
		"cost":           {[]string{"merge", "plan"}, false, gatePerms},
		"evidence":       {[]string{"cost", "merge", "plan", "provenance"}, true, []string{"contents=read"}},
		"release-assets": {[]string{"evidence", "plan"}, true, []string{"contents=write"}},
		"attest-vsa":     {[]string{"evidence", "plan"}, true, []string{"attestations=write", "contents=read", "id-token=write"}},
		"verdict":        {[]string{"cost", "evidence", "gates", "merge", "plan", "provenance"}, true, []string{}},
		"sign-off":       {[]string{"verdict"}, false, []string{}},
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
	}
	if len(w.Jobs) != len(jobs) {
		t.Errorf("expected exactly %d jobs in release.yml, found %d", len(jobs), len(w.Jobs))
	}
	checkStages(t, w)
	checkHandOver(t, w)
	so := w.Jobs["sign-off"]
	if !strings.Contains(so.If, "inputs.environment != ''") || so.Environment.Value == "" {
		t.Errorf("sign-off: expected it to run only with an environment and to use it, found if %q environment %q", so.If, so.Environment.Value)
	}
}

// checkStages checks that the stage jobs share one list of steps, that the
// middle stage's matrix is planned by releasegate from the shards input,
// and that shards post no check runs.
func checkStages(t *testing.T, w *Workflow) {
	t.Helper()
	first := w.Jobs[stageJobs[0]].Steps
	for _, id := range stageJobs[1:] {
		if !reflect.DeepEqual(stepsWithoutLines(w.Jobs[id].Steps), stepsWithoutLines(first)) {
			t.Errorf("job %s: expected the steps of job %s (one definition of a stage), found others", id, stageJobs[0])
		}
	}
	var gate *Step
	for i, st := range first {
		if st.ID == "gate" {
			gate = &first[i]
		}
	}
	if gate == nil || gate.Uses != "./.releasegate" || gate.With["only"] != "${{ matrix.group }}" ||
		gate.Env["RELEASEGATE_SYNTHETIC_SHARD"] != "${{ matrix.shard }}" || gate.Env["PROMETHEUS_TOKEN"] != "${{ secrets.prometheus_token }}" {
		t.Fatalf("expected a step gate using ./.releasegate for matrix.group and matrix.shard with PROMETHEUS_TOKEN, found %+v", gate)
	}
	if gate.With["checks"] != "${{ matrix.shard == '' && 'auto' || 'never' }}" {
		t.Errorf("expected shards to post no check runs (the merge posts them), found checks: %q", gate.With["checks"])
	}
	if gate.With["out_dir"] != "${{ runner.temp }}/releasegate-result" {
		t.Errorf("expected the gate step to write its results to a file, found out_dir %q", gate.With["out_dir"])
	}
	if m := w.Jobs["gates"].StrategyMatrix(); m != "${{ fromJSON(needs.plan.outputs.matrix) }}" {
		t.Errorf("job gates: expected strategy.matrix from the plan job's matrix output, found %q", m)
	}
	planned := false
	for _, st := range w.Jobs["plan"].Steps {
		if st.ID == "plan" && strings.Contains(st.Run, "workflow plan --shards") && st.Env["SHARDS"] == "${{ inputs.shards }}" {
			planned = true
		}
	}
	if !planned {
		t.Errorf("job plan: expected a step plan running releasegate workflow plan --shards with SHARDS from inputs.shards, found none")
	}
	if !strings.Contains(w.Jobs["merge"].If, "!cancelled()") {
		t.Errorf("job merge: expected it to merge also after a failed leg (if: !cancelled() …), found if: %q", w.Jobs["merge"].If)
	}
}

func stepsWithoutLines(steps []Step) []Step {
	out := slices.Clone(steps)
	for i := range out {
		out[i].Line = 0
	}
	return out
}

// checkHandOver checks that no job hands a report over in an output or in
// env:, that every job that reads another's results downloads them and
// checks their digest with releasegate, and that what is handed over is an
// artifact name and a digest.
func checkHandOver(t *testing.T, w *Workflow) {
	t.Helper()
	for id, j := range w.Jobs {
		for name, v := range j.Outputs {
			if strings.Contains(v, ".outputs.result") || name == "result" {
				t.Errorf("job %s: expected no report in outputs, found %s: %s", id, name, v)
			}
		}
		for _, st := range j.Steps {
			for k, v := range st.Env {
				if strings.Contains(v, "outputs.result") {
					t.Errorf("%s:%d: job %s: expected no report in env:, found %s: %s", w.Path, st.Line, id, k, v)
				}
			}
		}
	}
	for _, id := range []string{"provenance", "cost", "merge", "evidence"} {
		o := w.Jobs[id].Outputs
		if o["artifact"] == "" || o["digest"] == "" {
			t.Errorf("job %s: expected outputs artifact and digest, found %v", id, o)
		}
	}
	for _, id := range []string{"merge", "evidence", "release-assets", "attest-vsa"} {
		downloads, checks := 0, 0
		for _, st := range w.Jobs[id].Steps {
			if strings.HasPrefix(st.Uses, "actions/download-artifact@") {
				downloads++
			}
			if strings.Contains(st.Run, "workflow receive") || strings.Contains(st.Run, "workflow collect") {
				checks++
			}
		}
		if downloads == 0 || checks == 0 {
			t.Errorf("job %s: expected it to download artifacts and check them with releasegate workflow receive/collect, found %d downloads and %d checks", id, downloads, checks)
		}
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
