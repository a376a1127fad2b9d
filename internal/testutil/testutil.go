// Package testutil holds helpers shared by tests: access to the real
// services (PostgreSQL, Prometheus) that .ci/run and `make test` start.
package testutil

import (
	"os"
	"testing"
)

// RequireEnv returns the value of the environment variable name, which
// points a test at a real service. When it is unset the test is skipped on
// a laptop, but fails under CI (CI=true), where `make test` must have
// started the service: a test that needs a real service never passes
// without it.
func RequireEnv(t testing.TB, name, what string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is unset: %s is required under CI; `make test` starts it (see scripts/services)", name, what)
	}
	t.Skipf("%s is unset: run `make test` to start %s", name, what)
	return ""
}
