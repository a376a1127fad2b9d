package ledger

import (
	"errors"
	"strings"
	"testing"
)

func signedCheckpoint(t *testing.T, tenant string, size int64) []byte {
	t.Helper()
	key, _, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	c := Checkpoint{Tenant: tenant, Size: size, Day: "2026-11-28", DayFirst: 1, DayLast: size}
	signed, err := Sign(c, key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func TestCheckStatement(t *testing.T) {
	t.Parallel()
	acme, beta := signedCheckpoint(t, "acme", 3), signedCheckpoint(t, "beta", 5)
	st, err := CheckpointStatement(acme, "acme-2026-11-28.checkpoint")
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckStatement(st, acme); err != nil {
		t.Fatalf("the statement of a checkpoint does not check against it: %v", err)
	}
	tests := []struct {
		name    string
		payload string
		signed  []byte
		is      error
		want    string
	}{
		{"another checkpoint's statement", string(st), beta, ErrOtherCheckpoint,
			"expected the checkpoint of beta 2026-11-28 (size 5)"},
		{"a checkpoint changed by one byte", string(st), append(acme[:len(acme):len(acme)], '\n'), ErrOtherCheckpoint, "got the checkpoint of acme 2026-11-28 (size 3)"},
		{"another predicate type", strings.Replace(string(st), CheckpointPredicateType, "https://slsa.dev/provenance/v1", 1), acme, ErrOtherCheckpoint, "predicate type"},
		{"an unknown field", strings.Replace(string(st), `"_type"`, `"x":1,"_type"`, 1), acme, ErrBadCheckpoint, "unknown field"},
		{"two subjects", strings.Replace(string(st), `"subject":[`, `"subject":[{"name":"x","digest":{}},`, 1), acme, ErrBadCheckpoint, "2 subjects"},
		{"not JSON", "day 2026-11-28", acme, ErrBadCheckpoint, "expected an in-toto statement"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := CheckStatement([]byte(tc.payload), tc.signed)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; expected %v with %q", err, tc.is, tc.want)
			}
		})
	}
}

func FuzzCheckStatement(f *testing.F) {
	signed := []byte("releasegate.ledger/acme\n1\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nday 2026-11-28 1 1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— k sig\n")
	st, err := CheckpointStatement(signed, "acme-2026-11-28.checkpoint")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(st)
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[]}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		err := CheckStatement(payload, signed)
		if err != nil && !errors.Is(err, ErrOtherCheckpoint) && !errors.Is(err, ErrBadCheckpoint) {
			t.Fatalf("unclassified error: %v", err)
		}
	})
}
