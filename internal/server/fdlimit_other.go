//go:build !unix

package server

// FileLimit is the process's limit of open files, if it has one.
func FileLimit() (uint64, bool) { return 0, false }
