// Package process is the runtime adapter that runs an artifact as local
// processes: it fetches the image by digest, unpacks it into a
// content-addressed directory and starts each instance on a free port of
// its bind address (127.0.0.1, or the host's address on an agent), given in
// HOST and PORT.
//
// Instances outlive the reconciler (each leads a session of its own). What
// runs is found from reality alone: every instance carries marker variables
// in its environment, read back from /proc, so a restarted reconciler
// re-adopts its instances instead of starting duplicates. The adapter must
// never keep a list of what it runs as the truth, never write outside its
// root, and never run an image that is not pinned by digest; it knows
// nothing of Git, CUE, policies or the journal.
package process

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/httpcheck"
	"github.com/durable-delivery/durable/adapters/process/settings"
)

// DefaultMaxUnpackBytes bounds an image's unpacked size.
const DefaultMaxUnpackBytes = 1 << 30

// scaleDownGrace is how long an instance beyond the wanted replicas, or a
// duplicate, has to finish its work after SIGTERM.
const scaleDownGrace = 5 * time.Second

func init() {
	adapters.RegisterRuntime("process", func(config json.RawMessage, host adapters.Host) (adapters.Runtime, error) {
		var cfg settings.Process
		if err := adapters.DecodeConfig(config, &cfg); err != nil {
			return nil, fmt.Errorf("process runtime: %w: %w", adapters.ErrInvalid, err)
		}
		if cfg.MaxUnpackBytes < 0 {
			return nil, fmt.Errorf("process runtime: maxUnpackBytes is %d: give a positive byte count, or leave it out for 1 GiB: %w", cfg.MaxUnpackBytes, adapters.ErrInvalid)
		}
		if host.StateDir == "" {
			return nil, fmt.Errorf("process runtime: the host gives no state directory: %w", adapters.ErrInvalid)
		}
		return New(Config{Process: cfg, Root: filepath.Join(host.StateDir, "process"), RunAs: host.RunAs, BindAddress: host.BindAddress})
	})
}

// Config configures a Runtime: the settings a target gives it (a
// MaxUnpackBytes of 0 means DefaultMaxUnpackBytes), its root and its logger.
type Config struct {
	settings.Process
	// Root is the directory the runtime owns: unpacked images, instance
	// logs. It also tells this runtime's instances from any other's.
	Root string
	// Logger receives the runtime's logs; nil means slog.Default().
	Logger *slog.Logger
	// RunAs is the user the instances run as; nil is the runtime's own.
	// Another user than the runtime's needs a runtime running as root.
	RunAs *adapters.RunAs
	// BindAddress is the IP address the instances are given to serve on
	// (HOST), and their endpoints'; empty is 127.0.0.1.
	BindAddress string
}

// Runtime runs infra-sets as local processes. Its methods are safe for
// concurrent use; Close stops its background work.
type Runtime struct {
	root  string
	uid   int // the runtime's user: owns root and the records, signals the instances
	runAs int // the user the instances run as: uid, or Config.RunAs
	// cred starts instances as Config.RunAs, its groups cleared; nil when
	// they run as the runtime's own user.
	cred           *syscall.Credential
	maxUnpackBytes int64
	bind           netip.Addr // the address instances serve on
	log            *slog.Logger

	images keyedLocks // one fetch and unpack per digest at a time
	sets   keyedLocks // one Ensure or Remove per set at a time

	closed    chan struct{} // closed by Close
	closeOnce sync.Once

	reaperMu   sync.Mutex
	children   chan child    // to the reaper; nil until the first start
	reaperDone chan struct{} // closed when the reaper returns
}

var _ adapters.Runtime = (*Runtime)(nil)

// New returns a runtime rooted at cfg.Root, creating the directory. Call
// Close when done with it: a runtime that has started instances reaps them
// in the background until then.
func New(cfg Config) (*Runtime, error) {
	if cfg.Root == "" {
		return nil, fmt.Errorf("process runtime: no root directory given: %w", adapters.ErrInvalid)
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("process runtime root %s: %w", cfg.Root, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("process runtime root: %w", err)
	}
	// The markers are compared as written, so the root is the one path of
	// this directory, symlinks resolved.
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return nil, fmt.Errorf("process runtime root: %w", err)
	}
	// The instances' records are trusted as this user wrote them: no other
	// user may write in root or in the directory of the sets.
	uid := os.Geteuid()
	if err := checkPrivateDir(root, uid); err != nil {
		return nil, fmt.Errorf("process runtime root: %w: %w", err, adapters.ErrInvalid)
	}
	if err := mkPrivateDir(filepath.Join(root, "sets"), 0o755, uid); err != nil {
		return nil, fmt.Errorf("process runtime root: %w: %w", err, adapters.ErrInvalid)
	}
	runAs, cred, err := credential(cfg.RunAs, uid, root)
	if err != nil {
		return nil, fmt.Errorf("process runtime: %w: %w", err, adapters.ErrInvalid)
	}
	bind, err := bindAddress(cfg.BindAddress)
	if err != nil {
		return nil, fmt.Errorf("process runtime: %w: %w", err, adapters.ErrInvalid)
	}
	if cfg.MaxUnpackBytes <= 0 {
		cfg.MaxUnpackBytes = DefaultMaxUnpackBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Runtime{
		root:           root,
		uid:            uid,
		runAs:          runAs,
		cred:           cred,
		maxUnpackBytes: cfg.MaxUnpackBytes,
		bind:           bind,
		log:            cfg.Logger.With("runtime", "process", "root", root),
		closed:         make(chan struct{}),
	}
	r.removeAbandonedUnpacks()
	return r, nil
}

// Close stops reaping the instances this runtime started. It never stops
// an instance: they keep running, and a new runtime on the same root
// re-adopts them. Ensure fails after Close; Observe and Remove still work.
func (r *Runtime) Close() error {
	r.closeOnce.Do(func() { close(r.closed) })
	r.reaperMu.Lock()
	done := r.reaperDone
	r.reaperMu.Unlock()
	if done != nil {
		<-done
	}
	return nil
}

// track hands a started child to the reaper, starting the reaper with the
// first child. After Close the child is not tracked.
func (r *Runtime) track(c child) {
	r.reaperMu.Lock()
	if r.children == nil {
		select {
		case <-r.closed:
			r.reaperMu.Unlock()
			return
		default:
		}
		r.children, r.reaperDone = make(chan child), make(chan struct{})
		go func(children <-chan child, done chan<- struct{}) {
			defer close(done)
			reap(r.closed, children, r.log)
		}(r.children, r.reaperDone)
	}
	children := r.children
	r.reaperMu.Unlock()
	select {
	case children <- c:
	case <-r.closed:
	}
}

// Ensure makes the set run spec.Replicas instances and reports them, with
// the verdict of one health check each. It does not wait for health.
func (r *Runtime) Ensure(ctx context.Context, spec adapters.InfraSetSpec) (adapters.InfraSetStatus, error) {
	status := adapters.InfraSetStatus{ID: spec.ID, Service: spec.Service, Release: spec.Release}
	if err := checkSpec(spec); err != nil {
		return status, err
	}
	select {
	case <-r.closed:
		return status, fmt.Errorf("process: ensure %s: the runtime is closed: %w", spec.ID, adapters.ErrUnavailable)
	default:
	}
	if err := ctx.Err(); err != nil {
		return status, fmt.Errorf("process: ensure %s: %w", spec.ID, err)
	}
	img, err := r.image(ctx, spec.Artifact)
	if err != nil {
		return status, fmt.Errorf("process: ensure %s: %w", spec.ID, err)
	}
	instances, err := r.converge(ctx, spec, img)
	if err != nil {
		return status, fmt.Errorf("process: ensure %s: %w", spec.ID, err)
	}
	httpcheck.Run(ctx, instances, spec.Health)
	status.Instances = instances
	return status, nil
}

// converge starts the missing instance indexes of the set and stops the
// extra ones, holding the set's lock.
func (r *Runtime) converge(ctx context.Context, spec adapters.InfraSetSpec, img unpacked) ([]adapters.Instance, error) {
	unlock, err := r.sets.lock(ctx, spec.ID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	procs, refused, err := r.scan()
	if err != nil {
		return nil, err
	}
	r.warn(refused, spec.ID)
	r.stopStale(ctx, refused, spec.ID)
	byIndex := map[int]proc{}
	var extra []proc
	for _, p := range procs { // oldest first: the oldest of duplicates is kept
		if p.set != spec.ID {
			continue
		}
		if _, dup := byIndex[p.index]; dup || p.index >= spec.Replicas {
			extra = append(extra, p)
			continue
		}
		byIndex[p.index] = p
	}
	if len(extra) > 0 {
		r.log.Info("stopping extra instances", "set", spec.ID, "count", len(extra), "replicas", spec.Replicas)
		stopAll(ctx, extra, scaleDownGrace)
	}
	instances := make([]adapters.Instance, 0, spec.Replicas)
	for i := range spec.Replicas {
		p, ok := byIndex[i]
		if !ok {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if p, err = r.start(ctx, spec, img, i); err != nil {
				return nil, err
			}
		}
		instances = append(instances, adapters.Instance{Index: i, Endpoint: p.endpoint(), PID: p.pid})
	}
	return instances, nil
}

// Observe lists every set this runtime's root runs, read from /proc and
// checked against the records of the instances. It does not check health
// (it does not know the checks): every instance says so in its Reason. A
// process that claims an instance but is not the one started (another
// user's, another program, a reused pid) is listed as an unhealthy instance
// without an endpoint, its Reason saying why it is not adopted.
func (r *Runtime) Observe(ctx context.Context) ([]adapters.InfraSetStatus, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("process: observe: %w", err)
	}
	procs, refused, err := r.scan()
	if err != nil {
		return nil, err
	}
	r.warn(refused, "")
	bySet := map[string]*adapters.InfraSetStatus{}
	var order []string
	add := func(p proc, in adapters.Instance) {
		s := bySet[p.set]
		if s == nil {
			s = &adapters.InfraSetStatus{ID: p.set, Service: p.service, Release: p.release}
			bySet[p.set] = s
			order = append(order, p.set)
		}
		s.Instances = append(s.Instances, in)
	}
	for _, p := range procs {
		add(p, adapters.Instance{Index: p.index, Endpoint: p.endpoint(), PID: p.pid, Reason: "health not checked by observe"})
	}
	for _, f := range refused {
		add(f.proc, adapters.Instance{Index: f.index, PID: f.pid, Reason: "not adopted: " + f.reason})
	}
	out := make([]adapters.InfraSetStatus, 0, len(order))
	for _, id := range order {
		out = append(out, *bySet[id])
	}
	return out, nil
}

// Remove stops every process of the set, its instances and what they
// started (SIGTERM, SIGKILL after grace or when ctx ends), and deletes the
// set's directory. Removing an absent set is not an error.
func (r *Runtime) Remove(ctx context.Context, id string, grace time.Duration) error {
	if err := checkSetID(id); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("process: remove %s: %w", id, err)
	}
	unlock, err := r.sets.lock(ctx, id)
	if err != nil {
		return fmt.Errorf("process: remove %s: %w", id, err)
	}
	defer unlock()
	// Every process carrying the set's marker, of a user the runtime starts
	// instances as or did: the instances, and what they started, even
	// orphans of an instance that crashed.
	procs, err := scanMarked(r.root)
	if err != nil {
		return err
	}
	ours := r.signallable(id)
	mine := slices.DeleteFunc(procs, func(p proc) bool { return p.set != id || !ours(p.uid) })
	stopAll(ctx, mine, grace)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("process: remove %s: %w", id, err)
	}
	if left, err := scanMarked(r.root); err == nil {
		for _, p := range left {
			if p.set == id && ours(p.uid) {
				return fmt.Errorf("process: remove %s: pid %d of instance %d survived SIGKILL: %w", id, p.pid, p.index, adapters.ErrUnavailable)
			}
		}
	}
	if err := os.RemoveAll(r.setDir(id)); err != nil {
		return fmt.Errorf("process: remove %s: %w", id, err)
	}
	if len(mine) > 0 {
		r.log.Info("infra-set removed", "set", id, "processes", len(mine))
	}
	return nil
}

// bindAddress parses the address instances serve on: an IP address, none
// being 127.0.0.1.
func bindAddress(s string) (netip.Addr, error) {
	if s == "" {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" || a.IsUnspecified() || a.IsMulticast() {
		return netip.Addr{}, fmt.Errorf("bind address %q: give this host's IP address instances serve on (an endpoint others reach), e.g. 10.0.0.11", s)
	}
	return a.Unmap(), nil
}

func (r *Runtime) setDir(id string) string { return filepath.Join(r.root, "sets", setDirName(id)) }
