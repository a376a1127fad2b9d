package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/maestro-conductor/releasegate/internal/actions"
	"github.com/maestro-conductor/releasegate/internal/gate"
)

// check checks, before any gate runs, that the results can be written
// where opts say: the flags are valid, --out exists (it is created, with
// its parents) and is writable, and inside GitHub Actions the step summary
// and outputs files are writable. A run whose results could not be written
// must fail before it changed anything — ci-budget --enforce throttles,
// keyless signing writes to a transparency log — not after. It returns a
// bad-input error that says nothing was run.
func (opts OutputOptions) check(o *IO) error {
	err := opts.validate()
	if err == nil && opts.OutDir != "" {
		err = prepareDir("--out", opts.OutDir)
	}
	if err == nil && opts.MetricsOut != "" {
		err = prepareDir("--metrics-out", filepath.Dir(opts.MetricsOut))
	}
	if err == nil && actions.Detect(o.Getenv) {
		for _, name := range []string{"GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT"} {
			if p := o.Getenv(name); p != "" && err == nil {
				err = prepareFile(name, p)
			}
		}
	}
	if err != nil {
		return inputf("%w; nothing was run", err)
	}
	return nil
}

// prepareDir creates dir and its parents and checks that a file can be
// created in it. flag names the setting in the error.
func prepareDir(flag, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return &gate.InputError{Input: flag + " " + dir, Err: fmt.Errorf("cannot create the directory: %w; pass a directory that can be created", unwrapPath(err))}
	}
	f, err := os.CreateTemp(dir, ".releasegate-write-check-*")
	if err != nil {
		return &gate.InputError{Input: flag + " " + dir, Err: fmt.Errorf("cannot write in the directory: %w; pass a writable directory", unwrapPath(err))}
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// prepareFile checks that path can be written: its directory is created,
// an existing file is opened for appending (never truncated here), a new
// one is created and removed again. A device or pipe (/dev/stdout) is the
// caller's choice and left alone.
func prepareFile(flag, path string) error {
	bad := func(err error) error { return &gate.InputError{Input: flag + " " + path, Err: err} }
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return bad(errors.New("is a directory; expected a file to write"))
	case err == nil && !st.Mode().IsRegular():
		return nil
	case err == nil:
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return bad(fmt.Errorf("cannot write the file: %w", unwrapPath(err)))
		}
		return f.Close()
	case !errors.Is(err, fs.ErrNotExist):
		return bad(unwrapPath(err))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return bad(fmt.Errorf("cannot create its directory: %w", unwrapPath(err)))
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return bad(fmt.Errorf("cannot create the file: %w", unwrapPath(err)))
	}
	f.Close()
	return os.Remove(path)
}

// unwrapPath drops the operation and path of a *fs.PathError, which the
// messages above already name.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkSyntheticFiles checks the --prom and --summary files of a
// synthetic run can be written, before the load runs.
func checkSyntheticFiles(promPath, summaryPath string) error {
	for _, f := range []struct{ flag, path string }{{"--prom", promPath}, {"--summary", summaryPath}} {
		if f.path == "" {
			continue
		}
		if err := prepareFile(f.flag, f.path); err != nil {
			return inputf("%w; nothing was run", err)
		}
	}
	return nil
}
