// Command loadbench drives the open-model engine at a fixed rate against
// one URL and prints what it achieved: the send rate, how many requests
// left late, the latency percentiles and the CPU the process used per
// request. It is the harness behind docs/benchmarks.md; run it
// by hand, not in go test.
//
//	go run ./internal/load/loadbench -url http://127.0.0.1:8089/ -rate 1000 -duration 30s [-transport net/http]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"syscall"
	"time"

	"github.com/maestro-conductor/releasegate/internal/load"
)

func main() {
	url := flag.String("url", "", "target URL (loopback)")
	rate := flag.Float64("rate", 1000, "requests per second")
	dur := flag.Duration("duration", 10*time.Second, "how long")
	inflight := flag.Int("max-in-flight", 1024, "in-flight bound")
	tol := flag.Duration("late-tolerance", 10*time.Millisecond, "late tolerance")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	traceFile := flag.String("trace", "", "write an execution trace of the run to this file (go tool trace)")
	transport := flag.String("transport", "lean", "lean (the engine's own HTTP/1.1 connections) or net/http")
	flag.Parse()
	if *url == "" {
		fmt.Fprintln(os.Stderr, "loadbench: -url is required")
		os.Exit(2)
	}
	if *transport != "lean" && *transport != "net/http" {
		fmt.Fprintf(os.Stderr, "loadbench: -transport %q: expected lean or net/http\n", *transport)
		os.Exit(2)
	}
	cl := load.NewClient(*inflight, 5*time.Second, load.LoopbackOnly)
	e := load.New(load.Config{Client: cl, MaxInFlight: *inflight, Timeout: 5 * time.Second, LateTolerance: *tol, NetHTTPOnly: *transport == "net/http"})
	defer record(*cpuprofile, pprof.StartCPUProfile, pprof.StopCPUProfile)()
	defer record(*traceFile, trace.Start, trace.Stop)()
	var before, after syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	run, err := e.Run(context.Background(), []load.Stream{{Tenant: "bench", Stages: []load.Stage{{Rate: *rate, Duration: *dur}},
		Template: &load.Template{URL: *url}}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		pprof.StopCPUProfile()
		os.Exit(3)
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()-before.Utime.Nano()) + time.Duration(after.Stime.Nano()-before.Stime.Nano())
	s := run.Streams[0]
	el := time.Duration(run.ElapsedUS) * time.Microsecond
	p50, _ := s.Latency.Quantile(0.5)
	p99, _ := s.Latency.Quantile(0.99)
	sched := time.Duration(s.ScheduleUS) * time.Microsecond
	fmt.Printf("%s: target %.0f/s for %s: planned %d sent %d ok %d errors %v\n", *transport, *rate, *dur, s.Planned, s.Sent, s.OK, s.Errors)
	fmt.Printf("send rate over the schedule %.1f/s (%.2f%% of target); late >%s: %d (%.2f%%), max lag %s; wall %s\n",
		float64(s.Sent)/sched.Seconds(), 100*float64(s.Sent)/sched.Seconds()/(*rate), *tol, s.Late, 100*float64(s.Late)/float64(max(s.Planned, 1)),
		time.Duration(s.MaxLagUS)*time.Microsecond, el.Round(time.Millisecond))
	fmt.Printf("latency p50 %s p99 %s max %s; cpu %s = %.1f µs/request\n", p50, p99, s.Latency.Max(), cpu.Round(time.Millisecond), float64(cpu.Microseconds())/float64(max(s.Sent, 1)))
	if sf := run.Shortfall(); sf != "" {
		fmt.Println("SHORTFALL:", sf)
	}
}

// record starts a profile or trace into file (unless file is empty) and
// returns what stops it.
func record(file string, start func(io.Writer) error, stop func()) func() {
	if file == "" {
		return func() {}
	}
	f, err := os.Create(file)
	if err == nil {
		err = start(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(3)
	}
	return stop
}
