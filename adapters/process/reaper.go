package process

import (
	"errors"
	"log/slog"
	"strconv"
	"syscall"
	"time"
)

// reapEvery is how often the reaper collects the exit of the children this
// runtime started. Until then an exited child is a zombie, which scan
// already ignores: the pace only bounds how long the zombie lingers.
const reapEvery = 250 * time.Millisecond

// child is an instance this runtime started, to be reaped when it exits.
type child struct {
	pid   int
	set   string
	index int
}

// reap collects the exit status of every child handed to it, so that none
// lingers as a zombie, until stop is closed (Close). It never signals a child:
// instances outlive the reaper, and a child still running when it stops is
// reaped by init once this process exits.
func reap(stop <-chan struct{}, children <-chan child, log *slog.Logger) {
	tick := time.NewTicker(reapEvery)
	defer tick.Stop()
	tracked := map[int]child{}
	for {
		select {
		case <-stop:
			return
		case c := <-children:
			tracked[c.pid] = c
		case <-tick.C:
			for pid, c := range tracked {
				var ws syscall.WaitStatus
				got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
				switch {
				case errors.Is(err, syscall.EINTR):
				case err != nil:
					// ECHILD: someone else reaped it; nothing left to collect.
					delete(tracked, pid)
				case got == pid:
					delete(tracked, pid)
					log.Info("instance exited", "set", c.set, "instance", c.index, "pid", pid, "status", exitStatus(ws))
				}
			}
		}
	}
}

func exitStatus(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + ws.Signal().String()
	}
	return "exit " + strconv.Itoa(ws.ExitStatus())
}
