//go:build unix

package fsx

import "syscall"

// openFlags make opening a FIFO return at once instead of waiting for a
// writer; Open then refuses it.
const openFlags = syscall.O_NONBLOCK
