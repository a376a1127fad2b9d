//go:build unix

package command

import (
	"os/exec"
	"syscall"
)

// setGroup starts the command in a new process group, so that it and every
// child it starts can be signalled together.
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// terminateGroup asks the command's process group to stop.
func terminateGroup(cmd *exec.Cmd) { signalGroup(cmd, syscall.SIGTERM) }

// killGroup kills the command's process group.
func killGroup(cmd *exec.Cmd) { signalGroup(cmd, syscall.SIGKILL) }

func signalGroup(cmd *exec.Cmd, sig syscall.Signal) {
	if cmd.Process == nil || cmd.Process.Pid <= 0 {
		return
	}
	// The group id is the leader's pid; the group outlives the leader
	// while any member is alive. ESRCH (no such group) is expected.
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}
