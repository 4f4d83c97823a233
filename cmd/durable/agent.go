package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/adapters/agent"
	"github.com/durable-delivery/durable/internal/listener"
)

func newAgentCmd() *cobra.Command {
	var cfg agent.Config
	var lc listener.Config
	var hostConfig, runAs string
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Serve this host's adapters to remote reconcilers over mutual TLS",
		Long: `Runs on each host of a fleet and serves its adapters — the process runtime, the routers'
admin APIs and HAProxy sockets its host file names, the HTTP health checks of the instances —
to reconcilers over HTTPS with mutual TLS 1.3 (docs/agent.md). A reconciler is served when its
client certificate chains to --client-ca and carries a name given with --allow.

Instances keep running when the agent stops; the agent started again on the same --state
re-adopts them. They serve on --bind-address, this host's address a load balancer reaches.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			slog.SetDefault(log) // the adapters log through the default
			host, err := loadHostConfig(log, hostConfig)
			if err != nil {
				return err
			}
			cfg.Host, cfg.Logger = host, log
			if cfg.RunAs, err = lookupRunAs(cmd, runAs); err != nil {
				return err
			}
			if err := checkAgentRunAs(log, cfg); err != nil {
				return err
			}
			a, err := agent.New(cfg)
			if err != nil {
				return usageError{err}
			}
			l, err := agent.Listen(lc)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "agent listening on %s, instances on %s\n", l.URL(), bindOrLoopback(cfg.BindAddress))
			return agent.Serve(ctx, a, l)
		},
	}
	lc.Flag = "--listen"
	f := cmd.Flags()
	f.StringVar(&lc.Address, "listen", "127.0.0.1:7443", "address of the agent's API: HOST:PORT, always with TLS")
	f.StringVar(&lc.TLSCert, "tls-cert", "", "PEM certificate of this agent, naming this host as the inventory does (durable certs issue)")
	f.StringVar(&lc.TLSKey, "tls-key", "", "PEM key of --tls-cert")
	f.StringVar(&lc.ClientCA, "client-ca", "", "PEM CA bundle a reconciler's client certificate must chain to")
	f.StringSliceVar(&cfg.Allow, "allow", nil, "name of a reconciler's client certificate (common name or DNS name) that may call the agent; repeat or comma-separate")
	f.StringVar(&cfg.StateDir, "state", "/var/lib/durable-agent", "directory the runtimes keep their state in (unpacked images, instance records and logs)")
	f.StringVar(&cfg.BindAddress, "bind-address", "", "this host's IP address instances serve on, given to them in HOST (default 127.0.0.1)")
	f.StringVar(&runAs, "run-as", "", "user (name or uid) the process runtime starts instances as, its groups cleared (default: the agent's own user; needs root for another)")
	f.StringVar(&hostConfig, "host-config", "", "the operator's host file: the routers, HAProxy sockets and Docker engines a call may name (docs/operating.md, \"Host configuration\")")
	return cmd
}

// checkAgentRunAs makes sure the instances' user can reach what is unpacked
// in --state, and warns when they would run as root.
func checkAgentRunAs(log *slog.Logger, cfg agent.Config) error {
	if cfg.RunAs != nil && int(cfg.RunAs.UID) != os.Geteuid() {
		if err := os.MkdirAll(cfg.StateDir, 0o755); err != nil {
			return err
		}
		if err := cfg.RunAs.CheckReach(cfg.StateDir); err != nil {
			return fmt.Errorf("--run-as %s: the instances run what is unpacked in --state: %w", cfg.RunAs.Name, err)
		}
	}
	if os.Geteuid() == 0 && (cfg.RunAs == nil || cfg.RunAs.UID == 0) {
		log.Warn("the agent runs as root, and so do the process runtime's instances; give --run-as USER (an unprivileged user, e.g. nobody)")
	}
	return nil
}

func bindOrLoopback(addr string) string {
	if addr == "" {
		return "127.0.0.1"
	}
	return addr
}
