package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/maestro-conductor/releasegate/internal/evidence"
	"github.com/maestro-conductor/releasegate/internal/fsx"
	gledger "github.com/maestro-conductor/releasegate/internal/gates/ledger"
	"github.com/maestro-conductor/releasegate/internal/ledger"
	"github.com/maestro-conductor/releasegate/internal/provenance"
)

// signCheckpointKeyless signs the in-toto statement of a signed checkpoint
// (the whole signed note; name is its file name) keyless and returns the
// Sigstore bundle as JSON.
func signCheckpointKeyless(ctx context.Context, s evidence.BundleSigner, signed []byte, name string) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	st, err := ledger.CheckpointStatement(signed, name)
	if err != nil {
		return nil, err
	}
	b, err := s.SignBundle(cctx, ledger.CheckpointPayloadType, st)
	if err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// keylessCheckpointFlags are verify-root's flags for the optional keyless
// Sigstore bundle of a checkpoint.
type keylessCheckpointFlags struct {
	bundle, trustedRoot string
	id                  provenance.Identity
}

func (k *keylessCheckpointFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.bundle, "bundle", "", "keyless Sigstore bundle of the checkpoint (<checkpoint>.sigstore.json from ledger root --keyless); checked offline")
	fs.StringVar(&k.trustedRoot, "trusted-root", "", "with --bundle: Sigstore trusted_root.json the bundle's certificate must chain to (read offline)")
	registerIdentityFlags(fs, &k.id)
}

// keylessCheckpoint is a verified keyless signature of a checkpoint.
type keylessCheckpoint struct {
	bundle string
	sig    *provenance.Signature
}

func (k *keylessCheckpoint) String() string {
	s := fmt.Sprintf("keyless signature %s: signs this checkpoint exactly, by %s (issuer %s), certificate chains to the trusted root", k.bundle, k.sig.Signer, k.sig.Issuer)
	if k.sig.Log != nil {
		s += fmt.Sprintf(", Rekor entry %d", k.sig.Log.Index)
	}
	return s
}

// verify checks the bundle, when given, against the trusted root and the
// identity, and that its payload is exactly signed (the --checkpoint
// file's bytes). It returns nil and ExitOK without --bundle; bad flags or
// an unreadable bundle are ExitBadInput, a signature that does not verify
// ExitFail.
func (k *keylessCheckpointFlags) verify(o *IO, checkpointPath string, signed []byte) (*keylessCheckpoint, error) {
	if k.bundle == "" {
		if k.trustedRoot != "" || k.id != (provenance.Identity{}) {
			return nil, inputf("--trusted-root and --certificate-* check a keyless bundle: pass it with --bundle")
		}
		return nil, nil
	}
	if k.trustedRoot == "" {
		return nil, inputf("--bundle needs --trusted-root: the Sigstore trusted_root.json its certificate must chain to")
	}
	if errs := k.id.Validate(); len(errs) > 0 {
		return nil, inputf("--bundle: keyless identity: %w", errors.Join(errs...))
	}
	tr, err := provenance.LoadTrustedRoot(k.trustedRoot)
	if err != nil {
		return nil, inputf("--trusted-root: %w", err)
	}
	data, err := fsx.ReadFile(context.Background(), k.bundle, fsx.MaxDocSize)
	if err != nil {
		return nil, inputf("--bundle: %w", err)
	}
	v, err := provenance.NewVerifier(provenance.Options{TrustedRoot: tr, SkipSCTUnsafe: o.skipSCTUnsafe})
	if err != nil {
		return nil, asInput(err)
	}
	sig, err := gledger.VerifyBundle(v, data, signed, k.id)
	switch {
	case err == nil:
		return &keylessCheckpoint{bundle: k.bundle, sig: sig}, nil
	case errors.Is(err, ledger.ErrOtherCheckpoint), errors.Is(err, provenance.ErrMismatchSubject):
		return nil, failed(o, fmt.Sprintf("keyless bundle %s does not sign checkpoint %s: %v", k.bundle, checkpointPath, err))
	case errors.Is(err, provenance.ErrMismatchIdentity):
		return nil, failed(o, fmt.Sprintf("keyless bundle %s: %v: %v", k.bundle, provenance.ErrMismatchIdentity, err))
	case errors.Is(err, provenance.ErrSignature):
		return nil, failed(o, fmt.Sprintf("keyless bundle %s: %v; check that --trusted-root is the Sigstore instance that issued the certificate and that the bundle is unchanged", k.bundle, err))
	case errors.Is(err, provenance.ErrMalformedBundle), errors.Is(err, ledger.ErrBadCheckpoint):
		return nil, inputf("--bundle %s: %w", k.bundle, err)
	}
	return nil, fmt.Errorf("--bundle %s: %w", k.bundle, err)
}
