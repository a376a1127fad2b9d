// Package actions is releasegate's GitHub adapter: the Actions runtime
// (outputs, step summary, annotations, masks, through go-githubactions) and
// PR status checks (check runs, falling back to commit statuses, through
// go-github). Domain packages never import it; the CLI calls it with
// finished Reports.
package actions

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sethvargo/go-githubactions"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/report"
)

// maxSummary is GitHub's limit on a step summary (1 MiB); a longer one is
// cut with a note rather than rejected.
const maxSummary = 1 << 20

// MaxResultOutput bounds the `result` step output, in bytes. GitHub keeps
// at most 1 MB per output and 50 MB for all outputs of a run, and a
// composite action fails when it evaluates a much larger output; the
// report of a synthetic run over many tenants is megabytes. A report whose
// JSON is larger is given in its summary form (see resultOutput); the
// whole report is in the files of --out, which the release workflow hands
// over as an artifact.
const MaxResultOutput = 64 << 10

// maxAnnotations bounds the annotations printed for one run; GitHub shows
// only the first 10 errors and 10 warnings per step anyway.
const maxAnnotations = 50

// Detect reports whether the process runs inside GitHub Actions.
func Detect(getenv func(string) string) bool { return getenv("GITHUB_ACTIONS") == "true" }

// Runtime publishes a run's outcome to the Actions runner.
type Runtime struct {
	a      *githubactions.Action
	getenv func(string) string
}

// NewRuntime returns a runtime that writes workflow commands to w and file
// commands to the files named by getenv (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY).
func NewRuntime(w io.Writer, getenv func(string) string) *Runtime {
	return &Runtime{a: githubactions.New(githubactions.WithWriter(w), githubactions.WithGetenv(githubactions.GetenvFunc(getenv))), getenv: getenv}
}

// Mask tells the runner to hide each secret in all later logs. Call it
// before anything that could print them.
func (rt *Runtime) Mask(secrets []string) {
	for _, s := range secrets {
		for _, line := range strings.Split(s, "\n") {
			if strings.TrimSpace(line) != "" {
				rt.a.AddMask(line)
			}
		}
	}
}

// SetOutput sets one step output (GITHUB_OUTPUT), for the workflow's
// plumbing commands.
func (rt *Runtime) SetOutput(name, value string) { rt.a.SetOutput(name, value) }

// Publish sets the `status` and `result` outputs, appends the checklist to
// the step summary and prints annotations for every check that did not pass.
//
// go-githubactions panics when a runner file cannot be written; Publish
// returns that as an error, and skips (and names) a file whose variable is
// unset, so a run outside a real runner still prints its annotations.
func (rt *Runtime) Publish(rep *gate.Report) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("writing to the runner's files failed (%v); outputs and the step summary may be incomplete", r)
		}
	}()
	b, full, err := resultOutput(rep)
	if err != nil {
		return err
	}
	var missing []string
	if rt.getenv("GITHUB_OUTPUT") == "" {
		missing = append(missing, "GITHUB_OUTPUT (outputs status, result)")
	} else {
		rt.a.SetOutput("status", string(rep.Status))
		rt.a.SetOutput("result", string(b))
		if len(b) == 0 {
			rt.a.Noticef("the result output is empty: even without checks the report is over the %d KiB kept in a step output; read report.json of out_dir (--out)", MaxResultOutput>>10)
		} else if len(b) < full {
			rt.a.Noticef("the result output holds each gate's status and summary without its checks: the whole report is %d KiB, over the %d KiB kept in a step output (GitHub keeps 1 MB per output); read report.json of out_dir (--out)", full>>10, MaxResultOutput>>10)
		}
	}
	if rt.getenv("GITHUB_STEP_SUMMARY") == "" {
		missing = append(missing, "GITHUB_STEP_SUMMARY (the step summary)")
	} else {
		var sb strings.Builder
		if err := report.Markdown(&sb, rep); err != nil {
			return err
		}
		rt.a.AddStepSummary(truncate(sb.String(), maxSummary))
	}
	defer func() {
		if err == nil && len(missing) > 0 {
			err = fmt.Errorf("GITHUB_ACTIONS is true but %s not set, so nothing was written there; a runner sets them in every step (outside one, unset GITHUB_ACTIONS)", strings.Join(missing, " and "))
		}
	}()
	anns := report.Annotations(rep)
	for i, an := range anns {
		if i == maxAnnotations {
			rt.a.Warningf("%d more annotations not shown; see the step summary", len(anns)-maxAnnotations)
			break
		}
		fields := map[string]string{"title": an.Title}
		if an.Location.File != "" {
			fields["file"] = an.Location.File
		}
		if an.Location.Line > 0 {
			fields["line"] = strconv.Itoa(an.Location.Line)
		}
		if an.Location.Column > 0 {
			fields["col"] = strconv.Itoa(an.Location.Column)
		}
		a := rt.a.WithFieldsMap(fields)
		if an.Level == "error" {
			a.Errorf("%s", an.Message)
		} else {
			a.Warningf("%s", an.Message)
		}
	}
	return nil
}

// resultOutput is the `result` output of rep: the report's JSON when it is
// at most MaxResultOutput bytes, otherwise the report in its summary form
// (every gate's status, summary and error, without checks and details),
// or nothing when even that is larger. full is the length of the whole
// report's JSON.
func resultOutput(rep *gate.Report) (out []byte, full int, err error) {
	b, err := json.Marshal(rep)
	if err != nil {
		return nil, 0, fmt.Errorf("encode result output: %w", err)
	}
	if len(b) <= MaxResultOutput {
		return b, len(b), nil
	}
	short := *rep
	short.Results = make([]gate.Result, len(rep.Results))
	for i, r := range rep.Results {
		r.Checks, r.Details = nil, nil
		short.Results[i] = r
	}
	s, err := json.Marshal(&short)
	if err != nil {
		return nil, 0, fmt.Errorf("encode result output: %w", err)
	}
	if len(s) > MaxResultOutput {
		return nil, len(b), nil
	}
	return s, len(b), nil
}

// truncate cuts s to at most n bytes on a line boundary, saying so.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const note = "\n\n… truncated: the summary exceeds GitHub's 1 MiB limit; see the JSON result\n"
	cut := s[:n-len(note)]
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i]
	}
	return cut + note
}
