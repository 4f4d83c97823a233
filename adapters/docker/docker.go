// Package docker is the runtime adapter that runs infra-sets as containers
// on a Docker engine. Each container carries labels naming its infra-set,
// service, release and instance index, so observation and re-adoption after
// a reconciler restart work from the engine's labels alone. Images are
// pulled by digest, ports are published on 127.0.0.1 only, or on the host's
// address an agent is given (--bind-address).
//
// It knows nothing of Git, CUE, policies or the journal.
package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/docker/settings"
	"github.com/durable-delivery/durable/adapters/httpcheck"
)

// Labels every container of this adapter carries.
const (
	labelOwner    = "io.durable.owner"
	labelSet      = "io.durable.infra-set"
	labelService  = "io.durable.service"
	labelRelease  = "io.durable.release"
	labelInstance = "io.durable.instance"
)

// engineTimeout bounds one call to the engine that lists or removes
// containers, when the caller's deadline is later or absent (a stop has
// the grace on top): an engine that accepts and never answers fails
// Observe and Remove then. A pull is bounded by the caller alone: it may
// rightly take long. A variable so that tests can shorten it.
var engineTimeout = 10 * time.Second

func init() {
	adapters.RegisterRuntime("docker", func(config json.RawMessage, host adapters.Host) (adapters.Runtime, error) {
		var cfg settings.Docker
		if err := adapters.DecodeConfig(config, &cfg); err != nil {
			return nil, fmt.Errorf("docker: %w", err)
		}
		engine := ""
		if cfg.Host != "" {
			d, err := host.Config.DockerHost(cfg.Host)
			if err != nil {
				return nil, fmt.Errorf("docker: %w: %w", err, adapters.ErrInvalid)
			}
			engine = d.Host
		}
		return New(Config{Docker: cfg, Engine: engine, BindAddress: host.BindAddress})
	})
}

// Config configures the adapter: the settings a target gives it, decoded
// strictly from the target's runtime settings, and a logger.
type Config struct {
	settings.Docker
	// Engine is the engine's address, "unix:///PATH" or "tcp://HOST:PORT",
	// as the host file gives it for Docker.Host; empty is DOCKER_HOST or
	// the default.
	Engine string
	// BindAddress is the host's IP address instances' ports are published
	// on (an agent's --bind-address, which a load balancer on another host
	// reaches); empty is 127.0.0.1.
	BindAddress string
	// Logger receives the adapter's logs; nil means slog.Default().
	Logger *slog.Logger
}

// Runtime runs infra-sets as containers.
type Runtime struct {
	cfg    Config
	bind   netip.Addr // where ports are published
	engine *client.Client
	log    *slog.Logger
	mu     sync.Mutex // one Ensure or Remove at a time
}

var _ adapters.Runtime = (*Runtime)(nil)

// New connects to the engine.
func New(cfg Config) (*Runtime, error) {
	opts := []client.Opt{client.FromEnv}
	if cfg.Engine != "" {
		opts = append(opts, client.WithHost(cfg.Engine))
	}
	bind := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	if cfg.BindAddress != "" {
		var err error
		if bind, err = netip.ParseAddr(cfg.BindAddress); err != nil || bind.Zone() != "" || bind.IsUnspecified() || bind.IsMulticast() {
			return nil, fmt.Errorf("docker: bind address %q: give this host's IP address ports are published on (an endpoint others reach), e.g. 10.0.0.11: %w", cfg.BindAddress, adapters.ErrInvalid)
		}
		bind = bind.Unmap()
	}
	engine, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker: engine client: %w", err)
	}
	if cfg.Owner == "" {
		cfg.Owner = "durable"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Runtime{cfg: cfg, bind: bind, engine: engine, log: cfg.Logger}, nil
}

// Close releases the engine connection; containers keep running.
func (r *Runtime) Close() error { return r.engine.Close() }

// instance is one of this adapter's containers as the engine reports it.
type instance struct {
	id      string
	set     string
	service string
	release string
	index   int
	running bool
	created int64
	host    netip.Addr // the address its port is published on
	port    uint16
	pid     int
}

func (in instance) endpoint() string { return netip.AddrPortFrom(in.host, in.port).String() }

// published is where a container's port is published: on the runtime's
// bind address, else (a container published before the runtime had one)
// on an IPv4 address.
func (r *Runtime) published(in *instance, ip netip.Addr, port uint16) {
	if port == 0 || !ip.IsValid() || in.host == r.bind {
		return
	}
	if ip.Unmap() == r.bind || ip.Is4() && in.port == 0 {
		in.host, in.port = ip.Unmap(), port
	}
}

// list returns this adapter's containers, running or not, oldest first.
func (r *Runtime) list(ctx context.Context, set string) ([]instance, error) {
	f := make(client.Filters).Add("label", labelOwner+"="+r.cfg.Owner)
	if set != "" {
		f.Add("label", labelSet+"="+set)
	}
	ctx, cancel := context.WithTimeout(ctx, engineTimeout)
	defer cancel()
	res, err := r.engine.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("docker: list containers on engine %s: the engine is unreachable or not answering (check that dockerd runs there, and the host file's docker host): %w: %w",
			r.engine.DaemonHost(), adapters.ErrUnavailable, err)
	}
	var out []instance
	for _, c := range res.Items {
		index, err := strconv.Atoi(c.Labels[labelInstance])
		if err != nil {
			continue
		}
		in := instance{id: c.ID, set: c.Labels[labelSet], service: c.Labels[labelService], release: c.Labels[labelRelease],
			index: index, running: c.State == container.StateRunning, created: c.Created}
		for _, p := range c.Ports {
			r.published(&in, p.IP, p.PublicPort)
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].created < out[j].created })
	return out, nil
}

// Ensure makes the set run spec.Replicas running containers and reports them.
func (r *Runtime) Ensure(ctx context.Context, spec adapters.InfraSetSpec) (adapters.InfraSetStatus, error) {
	status := adapters.InfraSetStatus{ID: spec.ID, Service: spec.Service, Release: spec.Release}
	if _, err := name.NewDigest(spec.Artifact); err != nil {
		return status, fmt.Errorf("docker: artifact %q must be pinned by digest (REPOSITORY@sha256:…): %w", spec.Artifact, adapters.ErrInvalid)
	}
	if spec.ID == "" || spec.Port <= 0 {
		return status, fmt.Errorf("docker: infra-set id and port are required: %w", adapters.ErrInvalid)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	current, err := r.list(ctx, spec.ID)
	if err != nil {
		return status, err
	}
	byIndex := map[int]instance{}
	for _, in := range current {
		_, dup := byIndex[in.index]
		if !in.running || dup || in.index >= spec.Replicas {
			// Dead, a duplicate of an index, or beyond the replicas: removed
			// (a crashed container is replaced, not left half-alive).
			if err := r.removeContainer(ctx, in.id, 5*time.Second); err != nil {
				return status, err
			}
			continue
		}
		byIndex[in.index] = in
	}
	if len(byIndex) < spec.Replicas {
		if err := r.pull(ctx, spec.Artifact); err != nil {
			return status, err
		}
	}
	for i := range spec.Replicas {
		if _, ok := byIndex[i]; ok {
			continue
		}
		in, err := r.start(ctx, spec, i)
		if err != nil {
			return status, err
		}
		byIndex[i] = in
	}
	for i := range spec.Replicas {
		in := byIndex[i]
		status.Instances = append(status.Instances, adapters.Instance{Index: i, Endpoint: in.endpoint(), PID: in.pid})
	}
	httpcheck.Run(ctx, status.Instances, spec.Health)
	return status, nil
}

// pull fetches the image by digest; an image already present is not pulled.
func (r *Runtime) pull(ctx context.Context, artifact string) error {
	if _, err := r.engine.ImageInspect(ctx, artifact); err == nil {
		return nil
	}
	resp, err := r.engine.ImagePull(ctx, artifact, client.ImagePullOptions{})
	if err != nil {
		return fmt.Errorf("docker: pull %s on engine %s: %w: %w", artifact, r.engine.DaemonHost(), adapters.ErrUnavailable, err)
	}
	defer resp.Close()
	if err := resp.Wait(ctx); err != nil {
		return fmt.Errorf("docker: pull %s on engine %s (the engine or its registry did not serve it): %w: %w", artifact, r.engine.DaemonHost(), adapters.ErrUnavailable, err)
	}
	return nil
}

// start creates and starts instance index of the set, its port published on
// the bind address at a port the engine chooses.
func (r *Runtime) start(ctx context.Context, spec adapters.InfraSetSpec, index int) (instance, error) {
	port, err := network.ParsePort(strconv.Itoa(spec.Port) + "/tcp")
	if err != nil {
		return instance{}, fmt.Errorf("docker: port %d: %w", spec.Port, adapters.ErrInvalid)
	}
	labels := map[string]string{}
	for k, v := range r.cfg.Labels {
		labels[k] = v
	}
	labels[labelOwner], labels[labelSet], labels[labelService] = r.cfg.Owner, spec.ID, spec.Service
	labels[labelRelease], labels[labelInstance] = spec.Release, strconv.Itoa(index)
	env := []string{"PORT=" + strconv.Itoa(spec.Port), "HOST=0.0.0.0"}
	keys := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+spec.Env[k])
	}
	stopTimeout := 10
	cfg := &container.Config{Image: spec.Artifact, Env: env, Labels: labels,
		ExposedPorts: network.PortSet{port: {}}, StopTimeout: &stopTimeout}
	if len(spec.Args) > 0 {
		cfg.Cmd = spec.Args
	}
	host := &container.HostConfig{
		PortBindings:  network.PortMap{port: {{HostIP: r.bind}}},
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped},
		Resources:     container.Resources{NanoCPUs: spec.Resources.NanoCPUs, Memory: spec.Resources.MemoryBytes},
	}
	if r.cfg.Network != "" {
		host.NetworkMode = container.NetworkMode(r.cfg.Network)
	}
	created, err := r.engine.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cfg, HostConfig: host})
	if err != nil {
		return instance{}, fmt.Errorf("docker: create %s instance %d: %w", spec.ID, index, err)
	}
	if _, err := r.engine.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		_ = r.removeContainer(ctx, created.ID, 0)
		return instance{}, fmt.Errorf("docker: start %s instance %d: %w", spec.ID, index, err)
	}
	res, err := r.engine.ContainerInspect(ctx, created.ID, client.ContainerInspectOptions{})
	if err != nil {
		return instance{}, fmt.Errorf("docker: inspect %s instance %d: %w", spec.ID, index, err)
	}
	in := instance{id: created.ID, set: spec.ID, service: spec.Service, release: spec.Release, index: index, running: true}
	if st := res.Container.State; st != nil {
		in.pid = st.Pid
	}
	if ns := res.Container.NetworkSettings; ns != nil {
		for _, b := range ns.Ports[port] {
			if p, err := strconv.Atoi(b.HostPort); err == nil && p > 0 && p <= 65535 {
				r.published(&in, b.HostIP, uint16(p))
			}
		}
	}
	if in.port == 0 {
		return in, fmt.Errorf("docker: %s instance %d has no port published on %s", spec.ID, index, r.bind)
	}
	r.log.Info("container started", "set", spec.ID, "instance", index, "container", created.ID[:12], "endpoint", in.endpoint())
	return in, nil
}

// Observe lists the sets whose containers run on the engine.
func (r *Runtime) Observe(ctx context.Context) ([]adapters.InfraSetStatus, error) {
	all, err := r.list(ctx, "")
	if err != nil {
		return nil, err
	}
	bySet := map[string]*adapters.InfraSetStatus{}
	var order []string
	for _, in := range all {
		if !in.running {
			continue
		}
		s := bySet[in.set]
		if s == nil {
			s = &adapters.InfraSetStatus{ID: in.set, Service: in.service, Release: in.release}
			bySet[in.set] = s
			order = append(order, in.set)
		}
		s.Instances = append(s.Instances, adapters.Instance{Index: in.index, Endpoint: in.endpoint(), Reason: "health not checked by observe"})
	}
	out := make([]adapters.InfraSetStatus, 0, len(order))
	for _, id := range order {
		out = append(out, *bySet[id])
	}
	return out, nil
}

// Remove stops the set's containers (SIGTERM, SIGKILL after grace) and
// deletes them.
func (r *Runtime) Remove(ctx context.Context, id string, grace time.Duration) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	current, err := r.list(ctx, id)
	if err != nil {
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(current))
	for _, in := range current {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- r.removeContainer(ctx, in.id, grace)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *Runtime) removeContainer(ctx context.Context, id string, grace time.Duration) error {
	secs := int(grace.Seconds())
	ctx, cancel := context.WithTimeout(ctx, grace+engineTimeout)
	defer cancel()
	if _, err := r.engine.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &secs}); err != nil && !isNotFound(err) {
		return fmt.Errorf("docker: stop %s: %w", id[:12], err)
	}
	if _, err := r.engine.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true}); err != nil && !isNotFound(err) {
		return fmt.Errorf("docker: remove %s: %w", id[:12], err)
	}
	return nil
}

var _ io.Closer = (*Runtime)(nil)

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
