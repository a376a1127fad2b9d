package testreport

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// seed adds the real reports of one kind to the corpus.
func seed(f *testing.F, glob string) {
	paths, err := filepath.Glob(filepath.Join("testdata", "real", "*", glob))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seeds for %s: %v", glob, err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// checkParsed holds for every report Parse accepts or refuses: a refusal
// is ErrMalformed, an accepted report's totals add up.
func checkParsed(t *testing.T, rep *Report, err error) {
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not match ErrMalformed", err)
		}
		return
	}
	tt := rep.Totals()
	if tt.Tests != len(rep.Cases) || tt.Passed+tt.Failed+tt.Errors+tt.Skipped != tt.Tests || tt.Flaky > tt.Passed {
		t.Fatalf("totals do not add up: %+v over %d cases", tt, len(rep.Cases))
	}
	for _, c := range rep.Cases {
		if c.Runs < 1 || len(c.Message) > MaxMessage+len("…") {
			t.Fatalf("case %+v", c)
		}
	}
}

func FuzzParseJUnit(f *testing.F) {
	seed(f, "*.xml")
	f.Add([]byte(`<testsuite name="s"><testcase name="a"><flakyFailure/></testcase><testcase name="a"><failure/></testcase><testcase name="a"/></testsuite>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := ParseJUnit(b)
		checkParsed(t, rep, err)
	})
}

func FuzzParseGoTestJSON(f *testing.F) {
	seed(f, "*.out")
	f.Add([]byte("{\"Action\":\"run\",\"Package\":\"p\",\"Test\":\"T\"}\n{\"Action\":\"fail\",\"Package\":\"p\"}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := ParseGoTestJSON(b)
		checkParsed(t, rep, err)
	})
}
