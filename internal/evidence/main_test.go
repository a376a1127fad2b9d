package evidence

import (
	"flag"
	"os"
	"testing"
)

// TestMain lowers the default time the fuzzer spends minimizing each new
// interesting input from 60s to 5s, before flags are parsed, so an explicit
// -fuzzminimizetime still wins. A tarball is at least 1 KiB of tar blocks,
// and Go's byte minimizer tries O(n²) candidates: with the default, a short
// -fuzztime run is spent minimizing instead of fuzzing (see FuzzReadTarGz).
func TestMain(m *testing.M) {
	if f := flag.Lookup("test.fuzzminimizetime"); f != nil {
		if err := f.Value.Set("5s"); err == nil {
			f.DefValue = "5s"
		}
	}
	os.Exit(m.Run())
}
