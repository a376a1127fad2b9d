//go:build !unix

package command

import "os/exec"

// setGroup is a no-op where process groups are not available.
func setGroup(cmd *exec.Cmd) {}

// terminateGroup kills the command; children may survive on this platform.
func terminateGroup(cmd *exec.Cmd) { killGroup(cmd) }

// killGroup kills the command; children may survive on this platform.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
