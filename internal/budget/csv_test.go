package budget

import (
	"bytes"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

func readFile(t *testing.T, name string, basis Basis) (*Report, error) {
	t.Helper()
	f, err := os.Open("../../testdata/budget/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return ReadUsageCSV(f, basis)
}

func TestReadUsageCSVSummarized(t *testing.T) {
	t.Parallel()
	rep, err := readFile(t, "summarized.csv", Gross)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Records) != 5 || rep.Skipped != 3 || !rep.Daily {
		t.Fatalf("got %d records, %d skipped, daily=%v; want 5 Actions minute rows, 3 other rows skipped, daily", len(rep.Records), rep.Skipped, rep.Daily)
	}
	first := rep.Records[0]
	if first.SKU != "linux" || first.Minutes != 1460 || first.USD != 8.76 || !first.Time.Equal(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("first record = %+v", first)
	}
	net, err := readFile(t, "summarized.csv", Net)
	if err != nil {
		t.Fatal(err)
	}
	if g, n := Total(rep.Records, USD, time.Time{}, exampleEnd), Total(net.Records, USD, time.Time{}, exampleEnd); !(n < g) {
		t.Errorf("net %v should be below gross %v: included minutes are discounted", n, g)
	}
	bom, err := readFile(t, "bom.csv", Gross)
	if err != nil || len(bom.Records) != 2 {
		t.Errorf("a UTF-8 byte order mark must be ignored: %v, %v", bom, err)
	}
}

func TestReadUsageCSVExample(t *testing.T) {
	t.Parallel()
	f, err := os.Open(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := ReadUsageCSV(f, Gross)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Daily || len(rep.Records) < 5000 {
		t.Errorf("example export: %d records, daily=%v; want thousands of hourly records", len(rep.Records), rep.Daily)
	}
}

func TestReadUsageCSVFailsClosed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		file  string
		is    error
		lines []string
	}{
		{"an empty file is no data, not zero spend", "", gate.ErrNoData, nil},
		{"a header without rows is no data", "header-only.csv", gate.ErrNoData, nil},
		{"an export without Actions minutes is no data", "no-actions.csv", gate.ErrNoData, nil},
		{"a file that is not a usage report is bad input", "not-a-report.csv", gate.ErrBadInput, []string{"line 1: header lacks date, product, sku"}},
		{"every corrupt row is reported with its line", "corrupt.csv", gate.ErrBadInput, []string{
			"line 3: column date:", "line 4: column quantity: \"-5\" is negative", "line 5: column gross_amount: \"NaN\" is not a finite number",
			"line 6: malformed CSV: wrong number of fields", "line 7: column sku: empty", "line 7: column repository: empty"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var err error
			if c.file == "" {
				_, err = ReadUsageCSV(strings.NewReader(""), Gross)
			} else {
				_, err = readFile(t, c.file, Gross)
			}
			if !errors.Is(err, c.is) {
				t.Fatalf("err = %v, want %v", err, c.is)
			}
			for _, l := range c.lines {
				if !strings.Contains(err.Error(), l) {
					t.Errorf("error does not mention %q:\n%v", l, err)
				}
			}
			var ce *csvError
			if c.is == gate.ErrBadInput && !errors.As(err, &ce) {
				t.Errorf("bad input should be a *CSVError, got %T", err)
			}
		})
	}
}

func TestWriteUsageCSVRoundTrips(t *testing.T) {
	t.Parallel()
	in := []Record{{Time: time.Date(2026, 11, 2, 13, 0, 0, 0, time.UTC), Org: "o", Repo: "o/r", Workflow: ".github/workflows/ci.yml", SKU: "linux_4_core", Minutes: 7, USD: 0.084}}
	var b bytes.Buffer
	if err := writeUsageCSV(&b, in); err != nil {
		t.Fatal(err)
	}
	rep, err := ReadUsageCSV(&b, Gross)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Daily || len(rep.Records) != 1 || rep.Records[0] != in[0] {
		t.Errorf("round trip: %+v, want %+v", rep.Records, in)
	}
}

func FuzzReadUsageCSV(f *testing.F) {
	for _, name := range []string{"summarized.csv", "corrupt.csv", "bom.csv", "not-a-report.csv"} {
		b, err := os.ReadFile("../../testdata/budget/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("date,product,sku,quantity,unit_type,gross_amount,repository\n2026-11-01T10:00:00Z,actions,x,1e308,minutes,1e308,r\n"))
	f.Add([]byte("date,product,sku,quantity,unit_type,applied_cost_per_quantity,repository\n2026-11-01,actions,x,1e308,minutes,1e308,r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := ReadUsageCSV(bytes.NewReader(b), Gross)
		if err != nil {
			if !errors.Is(err, gate.ErrBadInput) && !errors.Is(err, gate.ErrNoData) {
				t.Fatalf("error is neither bad input nor no data: %v", err)
			}
			return
		}
		if len(rep.Records) == 0 {
			t.Fatal("success without records")
		}
		for _, r := range rep.Records {
			if !(r.Minutes >= 0 && r.USD >= 0) || math.IsInf(r.USD, 0) || math.IsInf(r.Minutes, 0) || r.Repo == "" || r.SKU == "" {
				t.Fatalf("invalid record accepted: %+v", r)
			}
		}
	})
}
