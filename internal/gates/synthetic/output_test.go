package syntheticgate

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/load"
	"github.com/maestro-conductor/releasegate/internal/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/synthetic")

// fixedResult is a deterministic judged result: two tenants of 300
// requests (enough for every default threshold), one slow.
func fixedResult() *gate.Result {
	mk := func(tenant string, lat time.Duration, n int, fail int) *load.StreamResult {
		s := &load.StreamResult{Tenant: tenant, Scenario: ScenarioSLO, Planned: int64(n), Sent: int64(n), Responses: int64(n),
			Status: map[int]int64{200: int64(n - fail)}, Errors: map[string]int64{}, FirstThrottledUS: -1, LastThrottledUS: -1, LastFailedUS: -1,
			SlotUS: 1e6, Timeline: []load.Slot{{OK: int64(n - fail), Failed: int64(fail)}}, ScheduleUS: 1e6}
		if fail > 0 {
			s.Status[http.StatusInternalServerError] = int64(fail)
		}
		for i := range n {
			s.Latency.Record(lat + time.Duration(i)*100*time.Microsecond)
		}
		s.OK = int64(n - fail)
		s.Good = s.OK
		if lat > 300*time.Millisecond {
			s.Good = 0
		}
		return s
	}
	th := Spec{Tenants: []string{"x"}}.withDefaults().Thresholds
	rec := &Record{Judge: Judge{Scenario: ScenarioSLO, Tenants: []string{"acme", "globex"}, Rate: 20, Thresholds: th},
		Shards: []string{"1/1"}, Run: &load.Run{Streams: []*load.StreamResult{mk("acme", 5*time.Millisecond, 300, 0), mk("glo|bex", 400*time.Millisecond, 300, 30)}}}
	rec.Judge.Tenants = []string{"acme", "glo|bex"}
	r, err := verdict(gate.Meta{ID: "tenants-slo", Kind: Kind}, Judged(rec))
	if err != nil {
		panic(err)
	}
	return r
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (run go test -update after checking):\n%s", path, got)
	}
}

func TestRenderersGolden(t *testing.T) {
	t.Parallel()
	r := fixedResult()
	if r.Status != gate.StatusFail {
		t.Fatalf("status %s, want fail for the slow tenant", r.Status)
	}
	var prom, md bytes.Buffer
	if err := WritePrometheus(&prom, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "../../../testdata/synthetic/run.golden.prom", prom.Bytes())
	golden(t, "../../../testdata/synthetic/summary.golden.md", md.Bytes())
}

func TestRecordSurvivesJSON(t *testing.T) {
	t.Parallel()
	r := fixedResult()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back gate.Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	rec, err := RecordOf(&back)
	if err != nil {
		t.Fatal(err)
	}
	again, err := verdict(gate.Meta{ID: r.Gate, Kind: r.Kind}, Judged(rec))
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Checks) != len(r.Checks) || again.Status != r.Status {
		t.Fatalf("re-judged after JSON: %d checks %s, before %d %s", len(again.Checks), again.Status, len(r.Checks), r.Status)
	}
	for i := range r.Checks {
		if again.Checks[i].Message != r.Checks[i].Message {
			t.Errorf("check %d message changed:\n%s\n%s", i, again.Checks[i].Message, r.Checks[i].Message)
		}
	}
	_ = policy.Duration(0)
}

// FuzzMergeResultFile feeds arbitrary JSON to what `synthetic merge`
// does with a file: decode, extract the record, merge and render. It must
// never panic, and anything merged must render.
func FuzzMergeResultFile(f *testing.F) {
	b, _ := json.Marshal(fixedResult())
	f.Add(b)
	f.Add([]byte(`{"gate":"g","kind":"synthetic","details":{"synthetic":{"run":{"streams":[{"timeline":[{}]}]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r gate.Result
		if json.Unmarshal(data, &r) != nil {
			return
		}
		r.Kind = Kind
		m, err := Merge([]gate.Result{r})
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WritePrometheus(&buf, m); err != nil {
			t.Fatal(err)
		}
		if err := WriteMarkdown(&buf, m); err != nil {
			t.Fatal(err)
		}
	})
}
