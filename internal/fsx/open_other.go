//go:build !unix

package fsx

// openFlags: there are no FIFOs to guard against here beyond the check of
// the file's type before opening.
const openFlags = 0
