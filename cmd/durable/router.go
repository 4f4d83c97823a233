package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/adapters/router"
)

func newRouterCmd() *cobra.Command {
	cfg := router.Config{}
	cmd := &cobra.Command{
		Use:   "router",
		Short: "Run the built-in weighted HTTP router (the embedded default's data plane)",
		Long: `Runs the router as its own process so that restarting the reconciler drops no request.
The reconciler sets each service's split across infra-sets through the admin API; the router
keeps the last split in --state and restores it when it restarts.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return router.Run(ctx, cfg, func(listen, admin net.Addr) {
				fmt.Fprintf(cmd.OutOrStdout(), "router listening on %s, admin API on %s\n", listen, admin)
			})
		},
	}
	cmd.Flags().StringVar(&cfg.Listen, "listen", "127.0.0.1:8080", "address for the traffic")
	cmd.Flags().StringVar(&cfg.Admin, "admin", "127.0.0.1:7071", "address of the admin API (keep it on loopback)")
	cmd.Flags().StringVar(&cfg.StateFile, "state", "", "file keeping the splits across restarts (none when empty)")
	return cmd
}
