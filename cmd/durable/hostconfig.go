package main

import (
	"fmt"
	"log/slog"

	"github.com/durable-delivery/durable/adapters/hostconfig"
)

// loadHostConfig reads --host-config. Without one the reconciler runs
// targets that bind nothing on the host by name (the process runtime, the
// reconciler's own Docker engine): every other revision is refused, saying
// how to write the file.
func loadHostConfig(log *slog.Logger, file string) (*hostconfig.Config, error) {
	if file == "" {
		log.Warn("no --host-config: targets can name no exec plug-in, Docker engine, HAProxy socket or router; write a host file and pass it (docs/operating.md, \"Host configuration\")")
		return nil, nil
	}
	c, err := hostconfig.Load(file)
	if err != nil {
		return nil, fmt.Errorf("--host-config:\n%w", err)
	}
	log.Info("host file read", "file", file, "plugins", len(c.Plugins), "docker", len(c.Docker), "haproxy", len(c.HAProxy), "routers", len(c.Routers))
	return c, nil
}
