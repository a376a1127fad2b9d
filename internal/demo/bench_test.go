package demo

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkItemsLoopback measures the demo service over real loopback
// HTTP (keep-alive, GOMAXPROCS parallel clients), through the whole tenant
// chain: metrics, tenant lookup, faults and the handler. It tells the load
// tests how much the target itself can take.
func BenchmarkItemsLoopback(b *testing.B) {
	srv, err := Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := srv.URL() + "/t/acme/items"
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// BenchmarkMetrics measures rendering /metrics for 3 tenants × 2 routes.
func BenchmarkMetrics(b *testing.B) {
	s, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, t := range s.Tenants() {
		for range 100 {
			s.Metrics().Observe(t, "/t/{tenant}/items", "GET", 200, 1e6)
			s.Metrics().Observe(t, "/t/{tenant}/items", "POST", 201, 2e6)
		}
	}
	r := httptest.NewRequest("GET", "/metrics", nil)
	b.ReportAllocs()
	for b.Loop() {
		s.Metrics().ServeHTTP(discardWriter{}, r)
	}
}

type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (discardWriter) WriteHeader(int)             {}
