//go:build !unix

package commandgate

import "os/exec"

// group stands for a process group where there are none: only the command
// itself can be stopped, and its children may outlive it, or releasegate
// when it is killed (see docs/operations.md).
type group struct{ cmd *exec.Cmd }

func newGroup(cmd *exec.Cmd) *group { return &group{cmd: cmd} }

func (g *group) started(cmd *exec.Cmd) {}

// terminate kills the command: there is no polite stop here.
func (g *group) terminate() { g.kill() }

// kill kills the command.
func (g *group) kill() {
	if g.cmd.Process != nil {
		_ = g.cmd.Process.Kill()
	}
}

func (g *group) close() { g.kill() }
