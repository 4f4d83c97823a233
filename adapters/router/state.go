package router

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/durable-delivery/durable/adapters"
)

// loadState reads the splits kept in path; a missing file is an empty table.
func loadState(path string, m *metrics) (*table, error) {
	t := &table{routes: map[string]*route{}}
	if path == "" {
		return t, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return t, nil
	}
	if err != nil {
		return nil, fmt.Errorf("router state %s: %w", path, err)
	}
	var splits map[string]adapters.Split
	if err := json.Unmarshal(b, &splits); err != nil {
		return nil, fmt.Errorf("router state %s is corrupt (%v): move it aside; the reconciler restores the splits", path, err)
	}
	for name, split := range splits {
		if err := validateSplit(split); err != nil || split.Service != name {
			return nil, fmt.Errorf("router state %s: service %q: invalid split (%v): move the file aside; the reconciler restores the splits", path, name, err)
		}
		t.routes[name] = newRoute(split, m)
	}
	return t, nil
}

// saveState writes the table to path atomically: a crash leaves the old file
// or the new one, never half of one.
func saveState(path string, t *table) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(t.splits(), "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".router-state-*")
	if err != nil {
		return fmt.Errorf("router state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("router state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("router state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("router state: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("router state: %w", err)
	}
	return nil
}
