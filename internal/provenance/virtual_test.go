package provenance

import (
	"testing"

	"github.com/sigstore/sigstore-go/pkg/testing/ca"
)

func newVirtual(t *testing.T) *ca.VirtualSigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatal(err)
	}
	return vs
}
