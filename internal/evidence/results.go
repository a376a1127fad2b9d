package evidence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/maestro-conductor/releasegate/internal/fsx"
	"github.com/maestro-conductor/releasegate/internal/gate"
)

// MaxResultFileSize bounds one results file.
const MaxResultFileSize = 64 << 20

// Results is what LoadResults found: the gate results and, when a combined
// report was read, its policy and tool.
type Results struct {
	// Results in the order found (report order, or file name order).
	Results []gate.Result
	// Policy is the report's policy input, when a report.json was read.
	Policy gate.Input
	// Tool is the report's tool string, when a report.json was read.
	Tool string
}

// LoadResults reads gate results from path: a directory of <gate>.json files
// as written by `releasegate run --out DIR` (its report.json, when present,
// supplies the policy digest and tool), or one report or result JSON file.
// A file that cannot be read or is not a releasegate result is a
// *gate.InputError naming it; so are two results for the same gate.
func LoadResults(path string) (*Results, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &gate.InputError{Input: path, Err: errors.New("not found; expected a results directory from `releasegate run --out DIR` or a report JSON file")}
		}
		return nil, &gate.InputError{Input: path, Err: err}
	}
	if !st.IsDir() {
		doc, err := readDoc(path)
		if err != nil {
			return nil, err
		}
		out := &Results{}
		if err := out.add(path, doc, map[string]string{}); err != nil {
			return nil, err
		}
		return out, nil
	}
	names, err := filepath.Glob(filepath.Join(path, "*.json"))
	if err != nil {
		return nil, &gate.InputError{Input: path, Err: err}
	}
	sort.Strings(names)
	out := &Results{}
	seen := map[string]string{}
	var reports []*document
	var reportNames []string
	for _, n := range names {
		doc, err := readDoc(n)
		if err != nil {
			return nil, err
		}
		if doc.isReport() {
			if len(reports) > 0 && doc.Policy.Digest != reports[0].Policy.Digest {
				return nil, &gate.InputError{Input: n, Err: fmt.Errorf("report of policy %s, but %s is of policy %s; keep the reports of one policy run per results directory", doc.Policy.Digest, reportNames[0], reports[0].Policy.Digest)}
			}
			reports, reportNames = append(reports, doc), append(reportNames, n)
			continue
		}
		if err := out.add(n, doc, seen); err != nil {
			return nil, err
		}
	}
	if len(reports) > 0 {
		if len(out.Results) == 0 { // only reports (one per gate group in the release workflow): take their results
			for i, r := range reports {
				if err := out.add(reportNames[i], r, seen); err != nil {
					return nil, err
				}
			}
		}
		out.Policy, out.Tool = reports[0].Policy, reports[0].Tool
	}
	if len(out.Results) == 0 {
		return nil, &gate.InputError{Input: path, Err: errors.New("no gate results (*.json) found; run `releasegate run --out " + path + "` first")}
	}
	return out, nil
}

// document is either one gate.Result or a gate.Report.
type document struct {
	gate.Result
	Policy  gate.Input    `json:"policy"`
	Tool    string        `json:"tool"`
	Results []gate.Result `json:"results"`
	raw     map[string]json.RawMessage
}

func (d *document) isReport() bool { _, ok := d.raw["results"]; return ok }

func readDoc(name string) (*document, error) {
	b, err := fsx.ReadFile(context.Background(), name, MaxResultFileSize)
	if err != nil {
		return nil, &gate.InputError{Input: name, Err: fmt.Errorf("%w; expected a gate result", err)}
	}
	return parseDoc(name, b)
}

// parseDoc decodes a result or report document and checks its schema.
func parseDoc(name string, b []byte) (*document, error) {
	var d document
	if err := json.Unmarshal(b, &d.raw); err != nil {
		return nil, &gate.InputError{Input: name, Err: fmt.Errorf("not a JSON object: %v; expected a releasegate result (%s)", err, gate.SchemaVersion)}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, &gate.InputError{Input: name, Err: fmt.Errorf("not a releasegate result: %v", err)}
	}
	if d.Schema != gate.SchemaVersion {
		return nil, &gate.InputError{Input: name, Err: fmt.Errorf("schema %q; expected %q", d.Schema, gate.SchemaVersion)}
	}
	if !d.isReport() {
		if err := checkResult(&d.Result); err != nil {
			return nil, &gate.InputError{Input: name, Err: err}
		}
		return &d, nil
	}
	for i := range d.Results {
		if err := checkResult(&d.Results[i]); err != nil {
			return nil, &gate.InputError{Input: name, Err: fmt.Errorf("results[%d]: %w", i, err)}
		}
	}
	return &d, nil
}

func checkResult(r *gate.Result) error {
	if r.Schema == "" {
		r.Schema = gate.SchemaVersion
	}
	if r.Schema != gate.SchemaVersion {
		return fmt.Errorf("schema %q; expected %q", r.Schema, gate.SchemaVersion)
	}
	if strings.TrimSpace(r.Gate) == "" {
		return errors.New("no gate id; expected \"gate\" to name the policy gate")
	}
	if !r.Status.Valid() {
		return fmt.Errorf("gate %s: status %q; expected one of pass, skip, warn, error, fail", r.Gate, r.Status)
	}
	for _, c := range r.Checks {
		if !c.Status.Valid() {
			return fmt.Errorf("gate %s: check %q has status %q; expected one of pass, skip, warn, error, fail", r.Gate, c.Name, c.Status)
		}
	}
	return nil
}

func (o *Results) add(name string, d *document, seen map[string]string) error {
	rs := []gate.Result{d.Result}
	if d.isReport() {
		rs = d.Results
		o.Policy, o.Tool = d.Policy, d.Tool
	}
	for _, r := range rs {
		if prev, dup := seen[r.Gate]; dup {
			return &gate.InputError{Input: name, Err: fmt.Errorf("duplicate gate id %q (also in %s); each gate must have one result", r.Gate, prev)}
		}
		seen[r.Gate] = name
		o.Results = append(o.Results, r)
	}
	return nil
}
