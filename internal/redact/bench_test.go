package redact

import (
	"fmt"
	"testing"
)

// BenchmarkValueReport redacts a report-sized value: 20,000 checks (100
// checks × 200 tenants), with one secret present and with none.
func BenchmarkValueReport(b *testing.B) {
	type check struct {
		Name, Tenant, Message string
		Observed              float64
	}
	checks := make([]check, 20000)
	for i := range checks {
		checks[i] = check{Name: fmt.Sprintf("check %d", i%100), Tenant: fmt.Sprintf("tenant-%d", i/100),
			Message: "5m burn rate 3.1 > 2.0 (budget exhausted in 9h); check ingest error spike since 14:02", Observed: 3.1}
	}
	var s Set
	s.Add("ghs_benchmarkToken0123456789")
	for _, tc := range []struct {
		name   string
		secret bool
	}{{"no secret in the report", false}, {"one secret in the report", true}} {
		b.Run(tc.name, func(b *testing.B) {
			v := append([]check(nil), checks...)
			if tc.secret {
				v[len(v)/2].Message = "token ghs_benchmarkToken0123456789"
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Value(&s, v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
