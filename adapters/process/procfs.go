package process

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one running instance as read from /proc.
type proc struct {
	pid     int
	started uint64 // clock ticks after boot: orders instances by age, tells a reused pid
	uid     int    // the uid it runs as; -1 if its real and effective uids differ
	set     string
	service string
	release string
	index   int
	host    netip.Addr // where it serves: HOST as it was given, 127.0.0.1 before HOST was
	port    int
	// leader tells an instance (it leads its own session) from a process
	// the instance started, which inherits the markers but not the session.
	leader bool
}

func (p proc) endpoint() string { return netip.AddrPortFrom(p.host, uint16(p.port)).String() }

// scan reads /proc for the live instances of root, oldest first. An
// instance is a session leader carrying root's marker: its own children
// inherit the marker but not the leadership, so they are not counted. Each
// is checked against the record written when it was started: adopted are
// the instances that match, refused the marked processes that do not.
func (r *Runtime) scan() (adopted []proc, refused []refusal, err error) {
	all, err := scanMarked(r.root)
	for _, p := range all {
		if !p.leader {
			continue
		}
		if verr := r.verify(p); verr != nil {
			refused = append(refused, refusal{proc: p, reason: verr.Error()})
			continue
		}
		adopted = append(adopted, p)
	}
	return adopted, refused, err
}

// refusal is a process that carries an instance's markers but is not the
// instance that was started: it is neither adopted nor signalled.
type refusal struct {
	proc
	reason string
}

// warn logs the refused processes of set (all sets if set is empty).
func (r *Runtime) warn(refused []refusal, set string) {
	for _, f := range refused {
		if set == "" || f.set == set {
			r.log.Warn("not adopting a process that claims an instance", "set", f.set, "instance", f.index,
				"pid", f.pid, "uid", f.uid, "reason", f.reason)
		}
	}
}

// staleGrace is how long a refused process of this runtime's own user gets
// to exit after SIGTERM.
const staleGrace = 2 * time.Second

// stopStale stops the refused processes of set that belong to a user this
// runtime starts instances as, or did (see signallable): an instance that
// no longer runs its recorded program or as the user instances run as now,
// or whose record is gone, or a same-user impostor (which that user could
// stop anyway). Left running, each Ensure would start another beside them.
// Another user's processes are never signalled.
func (r *Runtime) stopStale(ctx context.Context, refused []refusal, set string) {
	if len(refused) == 0 {
		return
	}
	var stale []proc
	ours := r.signallable(set)
	for _, f := range refused {
		if f.set == set && ours(f.uid) {
			stale = append(stale, f.proc)
		}
	}
	stopAll(ctx, stale, staleGrace)
}

// scanMarked reads /proc for every live process that carries root's
// marker, instances and what they started, oldest first. Zombies and
// processes this user cannot read are left out. What the processes claim
// is not checked: see Runtime.scan.
func scanMarked(root string) ([]proc, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("process: read /proc: %w", err)
	}
	marker := []byte(envRoot + "=" + root + "\x00")
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.HasPrefix(env, marker) && !bytes.Contains(env, append([]byte{0}, marker...)) {
			continue
		}
		p, ok := parseEnviron(env, root)
		if !ok {
			continue
		}
		st, ok := readStat(pid)
		if !ok || st.dead() {
			continue
		}
		uid, ok := readOwner(pid)
		if !ok {
			continue
		}
		p.pid, p.started, p.leader, p.uid = pid, st.started, st.session == pid, uid
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b proc) int {
		return cmp.Or(cmp.Compare(a.started, b.started), cmp.Compare(a.pid, b.pid))
	})
	return out, nil
}

// parseEnviron reads an instance's markers from its NUL-separated
// environment (where exec left each name once).
func parseEnviron(env []byte, root string) (proc, bool) {
	vars := map[string]string{}
	for _, kv := range bytes.Split(env, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			vars[k] = v
		}
	}
	if vars[envRoot] != root || vars[envSet] == "" {
		return proc{}, false
	}
	index, err := strconv.Atoi(vars[envInstance])
	if err != nil || index < 0 {
		return proc{}, false
	}
	port, err := strconv.Atoi(vars[envPort])
	if err != nil || port <= 0 || port > 65535 {
		return proc{}, false
	}
	// Instances started before the runtime gave HOST served on loopback.
	host := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	if h, ok := vars[envHost]; ok {
		if host, err = netip.ParseAddr(h); err != nil {
			return proc{}, false
		}
	}
	if host.IsUnspecified() { // an image's own HOST, from before the runtime gave one
		host = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return proc{set: vars[envSet], service: vars[envService], release: vars[envRelease], index: index, host: host, port: port}, true
}

// stat is what the runtime reads of /proc/PID/stat.
type stat struct {
	state   string
	session int
	started uint64
}

func (s stat) dead() bool { return s.state == "Z" || s.state == "X" }

func readStat(pid int) (stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'. After it: state ppid pgrp session … starttime (the 20th).
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return stat{}, false
	}
	session, err1 := strconv.Atoi(f[3])
	started, err2 := strconv.ParseUint(f[19], 10, 64)
	if err1 != nil || err2 != nil {
		return stat{}, false
	}
	return stat{state: f[0], session: session, started: started}, true
}

func procStart(pid int) (uint64, bool) {
	st, ok := readStat(pid)
	return st.started, ok
}

// running reports whether p still runs: the same process (not a later one
// that reused its pid), not a zombie.
func (p proc) running() bool {
	st, ok := readStat(p.pid)
	return ok && !st.dead() && st.started == p.started
}

// signal sends sig to p, and to its whole process group (what it started)
// when p is an instance, if p is still the process that was observed.
func (p proc) signal(sig syscall.Signal) {
	if !p.running() {
		return
	}
	if p.leader {
		_ = syscall.Kill(-p.pid, sig)
	}
	_ = syscall.Kill(p.pid, sig)
}

// killWait bounds waiting for a process to die after SIGKILL.
const killWait = 5 * time.Second

// stopAll stops the processes at once: SIGTERM, then SIGKILL after grace or
// as soon as ctx ends. It returns when they are gone or killWait after the
// SIGKILL.
func stopAll(ctx context.Context, procs []proc, grace time.Duration) {
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stop(ctx, p, grace)
		}()
	}
	wg.Wait()
}

func stop(ctx context.Context, p proc, grace time.Duration) {
	p.signal(syscall.SIGTERM)
	if waitGone(ctx, p, grace) {
		return
	}
	p.signal(syscall.SIGKILL)
	waitGone(context.Background(), p, killWait)
}

// waitGone polls until p no longer runs, for at most limit or until ctx
// ends, and reports whether it is gone.
func waitGone(ctx context.Context, p proc, limit time.Duration) bool {
	timer := time.NewTimer(limit)
	defer timer.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for p.running() {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return false
		case <-tick.C:
		}
	}
	return true
}
