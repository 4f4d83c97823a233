//go:build !linux

package etcdtest

import "syscall"

// dieWithParent has no equivalent outside Linux: etcd is stopped by the
// test's cleanup only.
func dieWithParent() *syscall.SysProcAttr { return nil }
