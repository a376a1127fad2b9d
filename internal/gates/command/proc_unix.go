//go:build unix

package commandgate

import (
	"os"
	"os/exec"
	"syscall"
)

// watchdogScript is the leader of the command's process group. It ignores
// the signals the group is sent to stop politely, and waits for end of file
// on its stdin — the read end of a pipe whose only write end releasegate
// holds, which the kernel closes when releasegate dies, however it dies
// (kill -9 included) — then kills its whole group: the command and every
// child it started there. It is its group's leader from before the command
// starts, so there is no moment when the command runs unwatched, and the
// group's id cannot be reused while it lives.
const watchdogScript = `trap '' TERM INT HUP; read -r _; kill -KILL 0`

// group is the process group a command runs in, with its watchdog.
type group struct {
	pgid int
	wd   *exec.Cmd // nil when no watchdog could be started
	w    *os.File  // releasegate's end of the watchdog's pipe
}

// newGroup prepares cmd to run in a new process group, so that it and every
// child it starts can be signalled together, led by a watchdog that kills
// the group when releasegate dies. The watchdog is best effort: where
// /bin/sh cannot be started, the command leads its own group, and on Linux
// the kernel still kills the command itself when releasegate dies
// (proc_linux.go). Call started once cmd has started.
func newGroup(cmd *exec.Cmd) *group {
	g := &group{}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	r, w, err := os.Pipe()
	if err != nil {
		return g
	}
	wd := exec.Command("/bin/sh", "-c", watchdogScript, "releasegate-watchdog")
	wd.Stdin = r
	wd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = wd.Start()
	r.Close() // the watchdog holds the read end; releasegate only the write end
	if err != nil {
		w.Close()
		return g
	}
	g.pgid, g.wd, g.w = wd.Process.Pid, wd, w
	cmd.SysProcAttr.Pgid = g.pgid // join the watchdog's group
	return g
}

// started records the group of a command that leads its own.
func (g *group) started(cmd *exec.Cmd) {
	if g.pgid == 0 && cmd.Process != nil {
		g.pgid = cmd.Process.Pid
	}
}

// terminate asks the group to stop.
func (g *group) terminate() { g.signal(syscall.SIGTERM) }

// kill kills the group.
func (g *group) kill() { g.signal(syscall.SIGKILL) }

func (g *group) signal(sig syscall.Signal) {
	if g.pgid <= 0 {
		return
	}
	// The group outlives its leader while any member is alive; ESRCH (no
	// such group) is expected.
	_ = syscall.Kill(-g.pgid, sig)
}

// close kills what is left of the group, the watchdog included, and reaps
// the watchdog; call it once the command has been reaped.
func (g *group) close() {
	g.kill()
	if g.wd != nil {
		_ = g.wd.Wait()
		g.w.Close()
	}
}
