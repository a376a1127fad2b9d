//go:build !linux

package commandgate

import "os/exec"

// start starts the command; the returned channel yields cmd.Wait's error.
// Only Linux has a parent-death signal: elsewhere the watchdog (unix) is
// what stops the command's group when releasegate dies.
func start(cmd *exec.Cmd) (<-chan error, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return done, nil
}
