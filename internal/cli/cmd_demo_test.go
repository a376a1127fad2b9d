package cli

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/maestro-conductor/releasegate/internal/gates/command"
	_ "github.com/maestro-conductor/releasegate/internal/gates/httpprobe"
)

func demoIO() (*IO, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return &IO{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
		LookupEnv: func(string) (string, bool) { return "", false }}, &out, &errb
}

// TestDemoPolicies runs the example policies against the in-process demo
// service: the passing one exits 0, the failing one 1 with the slow job
// killed at its deadline.
func TestDemoPolicies(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		code   int
		inOut  string
	}{
		{"the demo policy passes", "../../examples/demo/release-policy.yml", ExitOK, "8 gates: 8 pass"},
		{"the failing demo policy blocks the release on the slow job", "../../examples/demo/failing-policy.yml", ExitFail, "ran past its deadline of 1s and was killed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, out, errb := demoIO()
			code := o.Main(context.Background(), []string{"demo", "--policy", tt.policy, "--checks", "never"})
			if code != tt.code || !strings.Contains(out.String(), tt.inOut) {
				t.Errorf("exit %d, want %d; stdout lacks %q:\n%s\nstderr:\n%s", code, tt.code, tt.inOut, out, errb)
			}
		})
	}
}

func TestDemoBadInput(t *testing.T) {
	for name, args := range map[string][]string{
		"a non-loopback address": {"demo", "serve", "--addr", "0.0.0.0:0"},
		"an unknown flag":        {"demo", "serve", "--port", "1"},
		"a stray argument":       {"demo", "start"},
		"a missing policy":       {"demo", "--policy", "no-such-policy.yml"},
		"a negative duration":    {"demo", "serve", "--for", "-1s"},
	} {
		t.Run(name, func(t *testing.T) {
			o, _, errb := demoIO()
			if code := o.Main(context.Background(), args); code != ExitBadInput {
				t.Errorf("exit %d, want %d; stderr %s", code, ExitBadInput, errb)
			}
		})
	}
}

// syncBuffer lets the test read stdout while the command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoServe: the URL is the first line of stdout, the service answers
// there, and --for stops it.
func TestDemoServe(t *testing.T) {
	out := &syncBuffer{}
	o := &IO{Stdout: out, Stderr: io.Discard, Getenv: func(string) string { return "" }}
	done := make(chan int, 1)
	go func() { done <- o.Main(context.Background(), []string{"demo", "serve", "--for", "2s"}) }()
	var url string
	for deadline := time.Now().Add(5 * time.Second); url == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if line, err := bufio.NewReader(strings.NewReader(out.String())).ReadString('\n'); err == nil {
			url = strings.TrimSpace(line)
		}
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line %q is not the service URL", url)
	}
	resp, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/health = %d", resp.StatusCode)
	}
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo serve --for 2s did not stop")
	}
}
