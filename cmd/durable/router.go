package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/adapters/router"
)

// defaultRouterAdmin is where the router's admin API listens by default.
const defaultRouterAdmin = "unix:///run/durable/router.sock"

func newRouterCmd() *cobra.Command {
	cfg := router.Config{}
	cmd := &cobra.Command{
		Use:   "router",
		Short: "Run the built-in weighted HTTP router (the embedded default's data plane)",
		Long: `Runs the router as its own process so that restarting the reconciler drops no request.
The reconciler sets each service's split across infra-sets through the admin API; the router
keeps the last split in --state and restores it when it restarts.

The admin API changes where traffic goes: it listens on a Unix socket (mode 0660, group
--socket-group) by default, or on TCP with --token-file. A split may name only the endpoints
--allow-endpoints allows (this host's loopback by default). --metrics-listen serves the
metrics alone, for Prometheus, without admin rights.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return router.Run(ctx, cfg, func(a router.Addrs) {
				fmt.Fprintf(cmd.OutOrStdout(), "router listening on %s, admin API on %s\n", a.Listen, a.Admin)
				if a.Metrics != nil {
					fmt.Fprintf(cmd.OutOrStdout(), "router metrics on %s\n", a.Metrics)
				}
			})
		},
	}
	cmd.Flags().StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "address for the traffic")
	addListenerFlags(cmd.Flags(), addressFlag{"admin", defaultRouterAdmin, "address of the admin API"}, &cfg.Admin, &cfg.AdminTokenFile)
	cmd.Flags().BoolVar(&cfg.InsecureAdmin, "insecure-admin", false, "let a loopback TCP admin API go without --token-file: any local user can then change the traffic")
	cmd.Flags().StringVar(&cfg.MetricsListen, "metrics-listen", "", "also serve the metrics (GET /metrics for Prometheus, GET /v1/metrics as JSON), alone and without credential, on this loopback HOST:PORT or unix:///PATH")
	cmd.Flags().StringSliceVar(&cfg.AllowEndpoints, "allow-endpoints", nil, "endpoints a split may name: CIDRs (10.0.0.0/8) and HOST:PORT or HOST:LOW-HIGH, comma-separated or repeated (default: 127.0.0.0/8, ::1/128, localhost)")
	cmd.Flags().StringVar(&cfg.StateFile, "state", "", "file keeping the splits across restarts (none when empty)")
	return cmd
}
