package gate

import (
	"context"
	"testing"
	"time"
)

type typedSpec struct{ N int }

type typedGate struct{ n int }

func (typedGate) Name() string                         { return "typed" }
func (typedGate) Run(context.Context) (*Result, error) { return &Result{}, nil }

func TestRegisterTyped(t *testing.T) {
	t.Parallel()
	RegisterTyped(Typed[typedSpec]{Name: "typed-test", Group: "jobs", Summary: "a test kind",
		Default: func() typedSpec { return typedSpec{N: 7} },
		New:     func(m Meta, s typedSpec, env Env) (Gate, error) { return typedGate{n: s.N}, nil }})
	k, ok := Lookup("typed-test")
	if !ok {
		t.Fatal("the kind was not registered")
	}
	spec := k.Spec()
	if s, ok := spec.(*typedSpec); !ok || s.N != 7 {
		t.Fatalf("expected a *typedSpec with the default 7, found %#v", spec)
	}
	g, err := k.New(Meta{ID: "x"}, spec, Env{})
	if err != nil || g.(typedGate).n != 7 {
		t.Fatalf("expected a gate built from the settings, found %v, %v", g, err)
	}
	for _, bad := range []any{nil, typedSpec{}, (*typedSpec)(nil), &struct{}{}} {
		if _, err := k.New(Meta{ID: "x"}, bad, Env{}); err == nil {
			t.Errorf("settings %#v: expected an error naming the types", bad)
		}
	}
}

func TestEnvHelpers(t *testing.T) {
	t.Parallel()
	env := Env{PolicyDir: "/repo/.github"}
	for in, want := range map[string]string{"": "", "/abs/f": "/abs/f", "rules.yml": "/repo/.github/rules.yml", "../x": "/repo/x"} {
		if got := env.Path(in); got != want {
			t.Errorf("Path(%q): expected %q, found %q", in, want, got)
		}
	}
	if got := (Env{}).Path("rules.yml"); got != "rules.yml" {
		t.Errorf("without a policy dir: expected the path as given, found %q", got)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if got := (Env{Clock: func() time.Time { return at }}).Now(); !got.Equal(at) {
		t.Errorf("Now with a clock: expected %v, found %v", at, got)
	}
	if got := (Env{}).Now(); time.Since(got) > time.Minute {
		t.Errorf("Now without a clock: expected the time, found %v", got)
	}
	if got := Digest([]byte("abc")); got != "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("Digest: found %s", got)
	}
}
