package etcdtest

import "syscall"

// dieWithParent makes etcd die with the test process, so that a test
// binary killed mid-run leaves no etcd behind.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
