//go:build unix

package vuln

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// writeBigSARIF writes a SARIF log shaped like Trivy's and CodeQL's: 1000
// rules with a security-severity, and results results, each with a
// message, a location, a region and fingerprints (about 500 bytes each).
func writeBigSARIF(tb testing.TB, path string, results int) int64 {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprint(w, `{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{"tool":{"driver":{"name":"Trivy","version":"0.58.0","rules":[`)
	const rules = 1000
	for i := range rules {
		if i > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, `{"id":"CVE-2024-%05d","name":"OsPackageVulnerability","shortDescription":{"text":"a vulnerability in package %d"},"defaultConfiguration":{"level":"warning"},"properties":{"precision":"very-high","security-severity":"%.1f","tags":["vulnerability","security"]}}`, i, i, float64(i%100)/10)
	}
	fmt.Fprint(w, `]}},"invocations":[{"executionSuccessful":true,"endTimeUtc":"2026-12-01T10:00:00Z"}],"results":[`)
	for i := range results {
		if i > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, `{"ruleId":"CVE-2024-%05d","ruleIndex":%d,"level":"error","message":{"text":"Package: lib%d\nInstalled Version: 1.%d.0\nVulnerability CVE-2024-%05d\nSeverity: HIGH\nFixed Version: 1.%d.1\nLink: [CVE-2024-%05d](https://avd.aquasec.com/nvd/cve-2024-%05d)"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"usr/lib/lib%d.so","uriBaseId":"ROOTPATH"},"region":{"startLine":1,"startColumn":1,"endLine":1,"endColumn":1}},"message":{"text":"app: lib%d@1.%d.0"}}],"partialFingerprints":{"primaryLocationLineHash":"%016x:1"}}`,
			i%rules, i%rules, i, i, i%rules, i, i%rules, i%rules, i, i, i, uint64(i)*0x9e3779b97f4a7c15)
	}
	fmt.Fprint(w, `]}]}`)
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	st, _ := f.Stat()
	f.Close()
	return st.Size()
}

// cpuTime is the user and system CPU time the process has used, on all
// cores: on a shared machine it says more than the wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakHeap samples the live heap every millisecond until stop is closed
// and returns the highest value seen, in bytes.
func peakHeap(stop <-chan struct{}) *atomic.Uint64 {
	var peak atomic.Uint64
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return &peak
}

// BenchmarkSARIF50MB judges a generated 50 MB SARIF log with 100k
// results at the threshold high: the target is < 2 s and < 200 MiB.
// go test -run XXX -bench SARIF50MB -benchtime 3x ./internal/vuln/
func BenchmarkSARIF50MB(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.sarif")
	size := writeBigSARIF(b, path, 100_000)
	b.SetBytes(size)
	runtime.GC()
	stop := make(chan struct{})
	peak := peakHeap(stop)
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		f, err := ParseFile(context.Background(), path, "", 64<<20)
		if err != nil {
			b.Fatal(err)
		}
		out := Judge([]Named{{Name: "big.sarif", Report: f.Report}}, Criteria{Threshold: SeverityHigh, Now: time.Now()})
		if out.Total != 100_000 || len(out.Counted) == 0 {
			b.Fatalf("total %d counted %d", out.Total, len(out.Counted))
		}
	}
	b.StopTimer()
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	close(stop)
	b.ReportMetric(float64(size)/(1<<20), "file-MiB")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}
