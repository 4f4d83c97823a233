package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/reconcile"
	"github.com/durable-delivery/durable/reconcile/source"
	"github.com/durable-delivery/durable/reconcile/store"
	"github.com/durable-delivery/durable/server"
)

func newRunCmd() *cobra.Command {
	var (
		repo, branch, stateDir, listen, logFormat string
		interval                                  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "run --repo REPO",
		Short: "Run the reconciler on a desired-state repository",
		Long: `Watches REPO (a local path, or a file://, http(s):// or ssh:// URL) and converges the
targets it declares. The journal, the source cache and the adapters' state live in --state.
The API (status, journal, trigger) listens on --listen.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if repo == "" {
				return usageError{errors.New("--repo is required: the desired-state repository to watch")}
			}
			if interval < time.Second {
				return usageError{fmt.Errorf("--interval %s is too short: use 1s or more", interval)}
			}
			log, err := newLogger(cmd, logFormat)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runReconciler(ctx, log, repo, branch, stateDir, listen, interval)
		},
	}
	cmd.Flags().StringVar(&repo, "repo", "", "desired-state repository: a path or a file, http(s) or ssh URL")
	cmd.Flags().StringVar(&branch, "branch", "main", "branch to follow")
	cmd.Flags().StringVar(&stateDir, "state", ".durable", "directory for the journal, the source cache and the adapters' state")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:7070", "address of the API")
	cmd.Flags().DurationVar(&interval, "interval", 30*time.Second, "how often to poll the repository (±10% jitter)")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}

func newLogger(cmd *cobra.Command, format string) (*slog.Logger, error) {
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format %q: use text or json", format)}
}

func runReconciler(ctx context.Context, log *slog.Logger, repo, branch, stateDir, listen string, interval time.Duration) error {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	st, err := store.OpenBolt(filepath.Join(stateDir, "journal.db"), store.BoltOptions{})
	if err != nil {
		return err
	}
	defer st.Close()
	src, err := source.New(source.Config{URL: repo, Branch: branch, Dir: filepath.Join(stateDir, "source"), Interval: interval})
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return err
	}
	rec, err := reconcile.New(ctx, reconcile.Config{Host: adapters.Host{StateDir: abs}, Logger: log}, st, src)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("API: %w", err)
	}
	srv := &http.Server{Handler: server.Handler(rec, st), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("API", "err", err)
		}
	}()
	log.Info("reconciler running", "repo", repo, "branch", branch, "state", stateDir, "api", "http://"+l.Addr().String())
	err = rec.Run(ctx)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	return err
}
