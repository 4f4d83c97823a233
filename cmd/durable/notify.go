package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/durable-delivery/durable/notify"
)

// notifyUsage is --notify's help.
const notifyUsage = "notifications file (YAML or JSON) on this host: sinks (signed webhook, Slack, CloudEvents) and the events each is sent — rollouts started, promoted, failed, rolled back, revisions rejected, holds, approvals awaited, drift repaired, dependencies down (docs/operating.md, \"Notifications\")"

// loadNotify reads --notify; without one nothing is notified.
func loadNotify(file string) (*notify.Config, error) {
	if file == "" {
		return nil, nil
	}
	c, err := notify.Load(file)
	if err != nil {
		return nil, fmt.Errorf("--notify:\n%w", err)
	}
	return c, nil
}

// startNotifier, given a notifications file's c, delivers the events the
// journal's records mean (the notifier is a journal.Observer) until ctx
// ends, then drains for a few seconds. It returns the notifier (nil
// without c; its metrics are a prometheus.Collector) and a wait for its end.
func startNotifier(ctx context.Context, log *slog.Logger, c *notify.Config) (*notify.Notifier, func()) {
	if c == nil {
		return nil, func() {}
	}
	n := notify.New(c, notify.Options{Logger: log})
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.Run(ctx)
	}()
	names := make([]string, len(c.Sinks))
	for i, s := range c.Sinks {
		names[i] = s.Name + " (" + string(s.Kind) + ")"
	}
	log.Info("notifications enabled", "file", c.File, "sinks", strings.Join(names, ", "))
	return n, func() { <-done }
}
