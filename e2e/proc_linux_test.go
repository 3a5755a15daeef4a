//go:build e2e && linux

package e2e

import "syscall"

// sysProcAttr kills the child if the test binary dies without cleaning up
// (a panic or a go test -timeout).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
