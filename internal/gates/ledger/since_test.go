package ledgergate

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
	"github.com/maestro-conductor/releasegate/internal/ledger"
)

// published signs 2026-11-28 for both tenants into f.dir/roots and appends
// three more entries each on 2026-11-29, after the checkpoints.
func published(t *testing.T, f fixture) string {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join(f.dir, "roots")
	os.Mkdir(dir, 0o755)
	if _, err := f.st.PublishRoots(ctx, ledger.PublishOptions{Day: "2026-11-28", SignerKey: f.priv, OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	var recs []ledger.Record
	for i := range 3 {
		for _, tn := range []string{"acme", "beta"} {
			recs = append(recs, ledger.Record{Tenant: tn, Time: now.Add(time.Duration(i) * time.Minute), Payload: json.RawMessage(`{"new":1}`)})
		}
	}
	if _, err := f.st.Append(ctx, recs, ledger.AppendOptions{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestGateSince(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		prepare func(t *testing.T, f fixture, s *Spec)
		want    gate.Status
		message string
	}{
		{"every tenant from its checkpoint", func(t *testing.T, f fixture, s *Spec) {}, gate.StatusPass, "4 entries verified (seq 5..8)"},
		{"one checkpoint file: its tenant only", func(t *testing.T, f fixture, s *Spec) {
			s.Since = filepath.Join(s.Since, ledger.CheckpointFile("beta", "2026-11-28"))
		}, gate.StatusPass, "since the signed checkpoint of 2026-11-28 (size 5"},
		{"a tenant without a checkpoint is verified in full", func(t *testing.T, f fixture, s *Spec) {
			os.Remove(filepath.Join(s.Since, ledger.CheckpointFile("beta", "2026-11-28")))
		}, gate.StatusPass, "8 entries verified (seq 1..8)"},
		{"a break after the checkpoint fails at its seq", func(t *testing.T, f fixture, s *Spec) {
			tamper(t, f, `DELETE FROM ledger_chain WHERE tenant = 'beta' AND seq = 7`)
		}, gate.StatusFail, "seq 7 (seq-gap)"},
		{"a rewritten head fails", func(t *testing.T, f fixture, s *Spec) {
			tamper(t, f, `DELETE FROM ledger_chain WHERE tenant = 'acme' AND seq = 5`)
		}, gate.StatusFail, "history before the checkpoint was rewritten"},
		{"a rolled-back ledger fails", func(t *testing.T, f fixture, s *Spec) {
			tamper(t, f, `DELETE FROM ledger_chain WHERE tenant = 'acme' AND seq >= 4`)
		}, gate.StatusFail, "rolled back"},
		{"a checkpoint of another key fails", func(t *testing.T, f fixture, s *Spec) {
			_, other, _ := ledger.GenerateKey()
			s.PublicKey = filepath.Join(f.dir, "other.pub")
			os.WriteFile(s.PublicKey, []byte(other), 0o644)
		}, gate.StatusFail, "signature does not verify"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, 5)
			s := Spec{DB: f.dsn, MinEntries: 1, Since: published(t, f), PublicKey: f.pub}
			c.prepare(t, f, &s)
			res, err := run(t, s)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkOutcome(t, res, c.want, c.message)
		})
	}
}

func TestGateSinceBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 5)
	dir := published(t, f)
	acme := filepath.Join(dir, ledger.CheckpointFile("acme", "2026-11-28"))
	if _, err := run(t, Spec{DB: f.dsn, Since: acme, PublicKey: f.pub, Tenants: []string{"beta"}}); !errors.Is(err, ledger.ErrOtherOrigin) {
		t.Errorf("another tenant's checkpoint file: %v, want ErrOtherOrigin", err)
	}
	empty := t.TempDir()
	var ie *gate.InputError
	if _, err := run(t, Spec{DB: f.dsn, Since: empty, PublicKey: f.pub}); !errors.As(err, &ie) || ie.Input != "with.since" {
		t.Errorf("a directory without checkpoints: %v, want an input error on with.since", err)
	}
	b, _ := os.ReadFile(acme)
	broken := filepath.Join(t.TempDir(), "x.checkpoint")
	os.WriteFile(broken, b[:len(b)/2], 0o644)
	if _, err := run(t, Spec{DB: f.dsn, Since: broken, PublicKey: f.pub}); !errors.Is(err, ledger.ErrBadCheckpoint) {
		t.Errorf("a malformed checkpoint: %v, want ErrBadCheckpoint", err)
	}
	for _, s := range []Spec{{DB: f.dsn, Since: dir}, {DB: f.dsn, Since: dir, PublicKey: f.pub, Limit: 3}} {
		if errs := s.Validate(); len(errs) == 0 {
			t.Errorf("%+v: Validate accepted it", s)
		}
	}
}
