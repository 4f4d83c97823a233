package harness

import (
	"encoding/json"
	"fmt"
	"os"
)

// HostConfig is what a reconciler's host file names: routers' admin
// addresses, exec plug-ins' commands and HAProxy sockets, by the names the
// repository gives.
type HostConfig struct {
	Routers map[string]string
	Plugins map[string][]string
	HAProxy map[string]string
}

// Write writes the host file durable run --host-config reads (JSON, which is
// YAML too), readable by its owner only.
func (h HostConfig) Write(file string) error {
	type router struct {
		Admin string `json:"admin"`
	}
	type plugin struct {
		Command []string `json:"command"`
	}
	type socket struct {
		Socket string `json:"socket"`
	}
	doc := struct {
		Routers map[string]router `json:"routers,omitempty"`
		Plugins map[string]plugin `json:"plugins,omitempty"`
		HAProxy map[string]socket `json:"haproxy,omitempty"`
	}{Routers: map[string]router{}, Plugins: map[string]plugin{}, HAProxy: map[string]socket{}}
	for name, admin := range h.Routers {
		doc.Routers[name] = router{Admin: admin}
	}
	for name, command := range h.Plugins {
		doc.Plugins[name] = plugin{Command: command}
	}
	for name, path := range h.HAProxy {
		doc.HAProxy[name] = socket{Socket: path}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("host file: %w", err)
	}
	return nil
}
