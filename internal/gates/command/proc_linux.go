//go:build linux

package commandgate

import (
	"os/exec"
	"runtime"
	"syscall"
)

// start starts the command so that the kernel kills it (SIGKILL) when
// releasegate dies, even by kill -9: the parent-death signal. The kernel
// sends it when the *thread* that started the child exits, not the process,
// and the Go runtime may end threads; so the command is started and waited
// for by a goroutine locked to its OS thread, which therefore lives until
// the command has been reaped. The returned channel yields cmd.Wait's error.
func start(cmd *exec.Cmd) (<-chan error, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	started := make(chan error, 1)
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		done <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return done, nil
}
