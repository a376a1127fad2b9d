package release

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

func TestStageStatus(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pass, fail := write("pass.json", `{"status":"pass"}`), write("fail.json", `{"status":"fail"}`)
	odd, bad := write("odd.json", `{"status":"maybe"}`), write("bad.json", `{`)
	worst, each, err := StageStatus(t.Context(), []GroupReport{{"slo", pass}, {"jobs", fail}})
	if err != nil || worst != gate.StatusFail || len(each) != 2 || each[0] != gate.StatusPass {
		t.Errorf("expected fail over pass and fail, found %s %v %v", worst, each, err)
	}
	for _, p := range []string{odd, bad, filepath.Join(dir, "missing.json")} {
		if _, _, err := StageStatus(t.Context(), []GroupReport{{"slo", pass}, {"jobs", p}}); !errors.Is(err, gate.ErrBadInput) {
			t.Errorf("%s: expected bad input, found %v", filepath.Base(p), err)
		}
	}
}
