package evidence

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// kindResult is a hand-built result of a gate of the given kind, as the
// sbom, vulnerabilities and tests gates return them: this package keys on
// the kind name and the Result's fields only.
func kindResult(id, kind string, st gate.Status, inputs map[string][]byte, checks ...gate.Check) gate.Result {
	r := gate.Result{Schema: gate.SchemaVersion, Gate: id, Kind: kind, Required: true, Status: st, Summary: kind + " " + string(st),
		Checks: checks, StartedAt: time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC), FinishedAt: time.Date(2026, 12, 5, 1, 0, 1, 0, time.UTC)}
	if len(r.Checks) == 0 {
		r.Checks = []gate.Check{{Name: kind, Status: st, Message: kind}}
	}
	for _, name := range slices.Sorted(maps.Keys(inputs)) {
		r.Inputs = append(r.Inputs, gate.Input{Name: name, Digest: Digest(inputs[name])})
	}
	return r
}

func testsChecks(passed, failed, errs, skipped, flaky int64) []gate.Check {
	pass := gate.StatusPass
	return []gate.Check{
		{Name: "tests run", Status: pass, Observed: gate.Int(passed + failed), Message: "ran"},
		{Name: "tests passed", Status: pass, Observed: gate.Int(passed), Message: "passed"},
		{Name: "failures", Status: pass, Observed: gate.Int(failed), Message: "failed"},
		{Name: "errors", Status: pass, Observed: gate.Int(errs), Message: "errors"},
		{Name: "skipped", Status: pass, Observed: gate.Int(skipped), Message: "skipped"},
		{Name: "flaky tests", Status: pass, Observed: gate.Int(flaky), Message: "flaky"},
		// a tenant's check is not summed again
		{Name: "tests passed", Tenant: "acme", Status: pass, Observed: gate.Int(passed), Message: "tenant"},
	}
}

func TestKindChecks(t *testing.T) {
	t.Parallel()
	pass, warn, fail, errSt := gate.StatusPass, gate.StatusWarn, gate.StatusFail, gate.StatusError
	tests := []struct {
		name    string
		results []gate.Result
		want    map[string]bool
	}{
		{"no gate of the three kinds: every key false, never true",
			[]gate.Result{kindResult("other", "command", pass, nil)},
			map[string]bool{CheckSBOMScanPassed: false, CheckSecurityScanPassed: false, CheckTestsPassed: false}},
		{"every kind passed",
			[]gate.Result{kindResult("sbom", KindSBOM, pass, nil), kindResult("scan", KindVulnerabilities, pass, nil), kindResult("unit", KindTests, pass, nil)},
			map[string]bool{CheckSBOMScanPassed: true, CheckSecurityScanPassed: true, CheckTestsPassed: true}},
		{"a warning is not a clean pass",
			[]gate.Result{kindResult("sbom", KindSBOM, pass, nil), kindResult("scan", KindVulnerabilities, warn, nil), kindResult("unit", KindTests, warn, nil)},
			map[string]bool{CheckSBOMScanPassed: true, CheckSecurityScanPassed: false, CheckTestsPassed: false}},
		{"one failing scan of two fails the key",
			[]gate.Result{kindResult("scan-a", KindVulnerabilities, pass, nil), kindResult("scan-b", KindVulnerabilities, fail, nil), kindResult("sbom", KindSBOM, pass, nil)},
			map[string]bool{CheckSBOMScanPassed: true, CheckSecurityScanPassed: false, CheckTestsPassed: false}},
		{"a gate in error is not a pass",
			[]gate.Result{kindResult("sbom", KindSBOM, errSt, nil)},
			map[string]bool{CheckSBOMScanPassed: false}},
		{"a skipped gate is not a pass",
			[]gate.Result{kindResult("unit", KindTests, gate.StatusSkip, nil)},
			map[string]bool{CheckTestsPassed: false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := &Manifest{Checks: map[string]bool{}}
			addKindChecks(m, tt.results)
			for k, v := range tt.want {
				if got, ok := m.Checks[k]; !ok || got != v {
					t.Errorf("checks[%s] = %t (present %t), want %t", k, got, ok, v)
				}
			}
		})
	}
}

func TestSumTestTotals(t *testing.T) {
	t.Parallel()
	if got := SumTestTotals([]gate.Result{kindResult("x", "command", gate.StatusPass, nil)}); got != nil {
		t.Errorf("totals without a tests gate = %+v, want nil", got)
	}
	rs := []gate.Result{
		kindResult("unit", KindTests, gate.StatusPass, nil, testsChecks(40, 0, 0, 2, 1)...),
		kindResult("e2e", KindTests, gate.StatusFail, nil, testsChecks(10, 3, 1, 0, 0)...),
		kindResult("broken", KindTests, gate.StatusError, nil, gate.Check{Name: "x", Status: gate.StatusError, Message: "x"}),
	}
	got := SumTestTotals(rs)
	want := TestTotals{Gates: []string{"unit", "e2e", "broken"}, Passed: 50, Failed: 3, Errors: 1, Skipped: 2, Flaky: 1, Complete: false}
	if strings.Join(got.Gates, ",") != strings.Join(want.Gates, ",") || got.Passed != want.Passed || got.Failed != want.Failed ||
		got.Errors != want.Errors || got.Skipped != want.Skipped || got.Flaky != want.Flaky || got.Complete != want.Complete {
		t.Errorf("totals = %+v, want %+v", got, want)
	}
	if s := got.String(); !strings.HasPrefix(s, "50 passing, 3 failed") || !strings.Contains(s, "incomplete") {
		t.Errorf("String = %q", s)
	}
}

// judgedOptions are the fixture options plus a hand-built gate of each
// judged kind with its input files.
func judgedOptions(t *testing.T) (Options, map[string][]byte) {
	t.Helper()
	files := map[string][]byte{
		"sbom/app.cdx.json":      []byte(`{"bomFormat":"CycloneDX","specVersion":"1.6"}`),
		"scans/grype.sarif":      []byte(`{"version":"2.1.0","runs":[]}`),
		"scans/app.openvex.json": []byte(`{"@context":"https://openvex.dev/ns/v0.2.0"}`),
		"reports/go-test.json":   []byte(`{"Action":"pass","Package":"p"}` + "\n"),
	}
	o := testOptions(t, true)
	o.Results = append(o.Results,
		kindResult("sbom", KindSBOM, gate.StatusPass, map[string][]byte{"sbom/app.cdx.json": files["sbom/app.cdx.json"]}),
		// the vulnerabilities gate names its inputs "ROLE PATH"
		kindResult("vulns", KindVulnerabilities, gate.StatusPass, map[string][]byte{"report scans/grype.sarif": files["scans/grype.sarif"], "vex scans/app.openvex.json": files["scans/app.openvex.json"]}),
		kindResult("unit-tests", KindTests, gate.StatusPass, map[string][]byte{"reports/go-test.json": files["reports/go-test.json"]}, testsChecks(53, 0, 0, 0, 1)...),
	)
	return o, files
}

func TestJudgedInputsInTheBundle(t *testing.T) {
	t.Parallel()
	o, files := judgedOptions(t)
	dir := t.TempDir()
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	var missing []string
	if o.Judged, missing, err = ReadJudgedInputs(context.Background(), o.Results, dir); err != nil || len(missing) != 0 {
		t.Fatal(err, missing)
	}
	if len(o.Judged) != 4 {
		t.Fatalf("judged %d files, want 4", len(o.Judged))
	}
	ev, err := Create(o)
	if err != nil {
		t.Fatal(err)
	}
	m := ev.Manifest
	for _, k := range []string{CheckSBOMScanPassed, CheckSecurityScanPassed, CheckTestsPassed} {
		if !m.Checks[k] {
			t.Errorf("checks[%s] = false, want true", k)
		}
	}
	if m.Tests == nil || m.Tests.Passed != 53 || m.Tests.Flaky != 1 || !m.Tests.Complete {
		t.Errorf("tests = %+v, want 53 passing, 1 flaky, complete", m.Tests)
	}
	inBundle := map[string][]byte{}
	for _, f := range ev.Files {
		inBundle[f.Name] = f.Data
	}
	for _, in := range m.Inputs {
		if in.Gate != "sbom" && in.Gate != "vulns" && in.Gate != "unit-tests" {
			continue
		}
		want := "inputs/" + in.Gate + "/" + filepath.Base(in.Name)
		if in.File != want {
			t.Errorf("input %s: file %q, want %q", in.Name, in.File, want)
		}
		_, path, _ := strings.Cut(in.Name, " ")
		if !bytes.Equal(inBundle[want], files[in.Name]) && !bytes.Equal(inBundle[want], files[path]) {
			t.Errorf("%s in the bundle differs from the judged file", want)
		}
	}
	// the manifest lists them with their digests, so verify checks them
	v, err := Verify(ev.TarGz, VerifyOptions{Key: o.Signer.(*Signer).Public(), Artifacts: o.Artifacts})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if v.Result != ResultPassed {
		t.Errorf("result %s", v.Result)
	}
	listed := map[string]string{}
	for _, f := range v.Manifest.Files {
		listed[f.Path] = f.Digest
	}
	if d := listed["inputs/sbom/app.cdx.json"]; d != Digest(files["sbom/app.cdx.json"]) {
		t.Errorf("manifest digest of the SBOM copy = %q", d)
	}
	cl := string(inBundle[ChecklistFile])
	for _, want := range []string{"✅ **SBOM generated**: `sbom_scan_passed: true`", "✅ **Security scan reports clean**: `security_scan_passed: true`",
		"✅ **Test reports**: `tests_passed: true`; gates unit-tests ✅; 53 passing, 0 failed, 0 errors, 0 skipped, 1 flaky",
		"in the bundle as `inputs/vulns/app.openvex.json`", "## Test reports", "**Functional test results (passing)**: 53"} {
		if !strings.Contains(cl, want) {
			t.Errorf("checklist lacks %q", want)
		}
	}
}

func TestJudgedInputsRefused(t *testing.T) {
	t.Parallel()
	o, files := judgedOptions(t)
	dir := t.TempDir()
	// files not here (evidence made on another machine): recorded by digest
	// alone, said in the checklist, never an error that stops the evidence
	judged, missing, err := ReadJudgedInputs(context.Background(), o.Results, dir)
	if err != nil || len(judged) != 0 || len(missing) != 4 {
		t.Fatalf("missing files: judged %d, missing %q, err %v; want 4 missing", len(judged), missing, err)
	}
	ev, err := Create(o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(fileData(ev, ChecklistFile)), "`report scans/grype.sarif` (`sha256:") ||
		!strings.Contains(string(fileData(ev, ChecklistFile)), "not in the bundle: the file was not where the evidence was made") {
		t.Errorf("checklist does not say the judged files are not in the bundle:\n%s", fileData(ev, ChecklistFile))
	}
	// a directory where a report was: not a file the evidence can carry
	if err := os.MkdirAll(filepath.Join(dir, "reports", "go-test.json"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadJudgedInputs(context.Background(), o.Results, dir); !errors.Is(err, gate.ErrBadInput) {
		t.Errorf("a directory: err = %v, want bad input", err)
	}
	// a file changed since it was judged
	o.Judged = []JudgedInput{{Gate: "sbom", Name: "sbom/app.cdx.json", Data: append([]byte("x"), files["sbom/app.cdx.json"]...)}}
	if _, err := Create(o); !errors.Is(err, ErrInputChanged) || !errors.Is(err, gate.ErrBadInput) {
		t.Errorf("changed file: err = %v, want ErrInputChanged and bad input", err)
	}
	// a file no gate judged
	o.Judged = []JudgedInput{{Gate: "sbom", Name: "other.json", Data: []byte("{}")}}
	if _, err := Create(o); !errors.Is(err, gate.ErrBadInput) {
		t.Errorf("unjudged file: err = %v, want bad input", err)
	}
}

func TestNotRunKindsInTheChecklist(t *testing.T) {
	t.Parallel()
	_, ev := mustCreate(t, true)
	cl := ""
	for _, f := range ev.Files {
		if f.Name == ChecklistFile {
			cl = string(f.Data)
		}
	}
	for _, want := range []string{"- [ ] ➖ **SBOM generated**: not run (no gate of kind sbom); `sbom_scan_passed: false`",
		"- [ ] ➖ **Security scan reports clean**: not run (no gate of kind vulnerabilities); `security_scan_passed: false`",
		"- [ ] ➖ **Test reports**: not run (no gate of kind tests); `tests_passed: false`"} {
		if !strings.Contains(cl, want) {
			t.Errorf("checklist lacks %q", want)
		}
	}
	if ev.Manifest.Tests != nil || ev.Manifest.Checks[CheckSBOMScanPassed] {
		t.Errorf("manifest without judged kinds: tests %+v, checks %v", ev.Manifest.Tests, ev.Manifest.Checks)
	}
}

func TestJudgedInputsByURI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := []byte(`{"bomFormat":"CycloneDX"}`)
	p := filepath.Join(dir, "elsewhere.cdx.json")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := kindResult("sbom", KindSBOM, gate.StatusPass, nil)
	r.Inputs = []gate.Input{
		// the sbom gate records the file it read as the URI
		{Name: "sbom dist/app.cdx.json", URI: p, Digest: Digest(data)},
		{Name: "sbom other.cdx.json", URI: "file://" + p, Digest: Digest(data)},
		// a path relative to the working directory, as the gate opened it
		{Name: "sbom third.cdx.json", URI: "testdata/judged.cdx.json", Digest: Digest(data)},
		// remote inputs stay references
		{Name: "sbom from a registry", URI: "https://registry.example/app.cdx.json", Digest: Digest(data)},
	}
	got, missing, err := ReadJudgedInputs(context.Background(), []gate.Result{r}, t.TempDir())
	if err != nil || len(missing) != 0 {
		t.Fatal(err)
	}
	if len(got) != 3 || !bytes.Equal(got[0].Data, data) || got[1].Name != "sbom other.cdx.json" || got[2].Name != "sbom third.cdx.json" {
		t.Errorf("judged = %+v, want the three local files", got)
	}
}

func fileData(ev *Evidence, name string) []byte {
	for _, f := range ev.Files {
		if f.Name == name {
			return f.Data
		}
	}
	return nil
}
