package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/durable-delivery/durable/adapters"
)

// fenceFile keeps, under --state, the highest fencing token seen per shard.
const fenceFile = "fences.json"

// maxShards bounds the shards an agent keeps tokens of.
const maxShards = 1024

// fences are the highest fencing tokens an agent has seen, per shard, on
// disk before any call with a higher one acts: a reconciler deposed by a
// newer owner is refused even after the agent restarts.
type fences struct {
	path string

	mu   sync.Mutex
	high map[string]uint64
}

// loadFences reads the tokens kept in dir; none is an empty set.
func loadFences(dir string) (*fences, error) {
	f := &fences{path: filepath.Join(dir, fenceFile), high: map[string]uint64{}}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("agent: --state %s: %w", dir, err)
	}
	b, err := os.ReadFile(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("agent: read the fencing tokens: %w", err)
	}
	if err := json.Unmarshal(b, &f.high); err != nil {
		return nil, fmt.Errorf("agent: %s is not the agent's fencing tokens (%v): restore it, or remove it only when no reconciler of a deposed term can still call", f.path, err)
	}
	return f, nil
}

// admit lets a call with token for shard through, keeping a higher token
// on disk first; a lower one is adapters.ErrFenced.
func (f *fences) admit(shard string, token uint64) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	high := f.high[shard]
	switch {
	case token < high:
		return high, fmt.Errorf("shard %s: token %d is below %d, a newer owner's: %w", shard, token, high, adapters.ErrFenced)
	case token == high:
		return high, nil
	case high == 0 && len(f.high) >= maxShards:
		return 0, fmt.Errorf("shard %s: the agent keeps tokens of %d shards at most: %w", shard, maxShards, adapters.ErrInvalid)
	}
	f.high[shard] = token
	if err := f.save(); err != nil {
		f.high[shard] = high
		return high, fmt.Errorf("keep fencing token %d of shard %s: %v: %w", token, shard, err, adapters.ErrUnavailable)
	}
	return token, nil
}

// save writes the tokens to a new file, synced, and renames it over the
// old one.
func (f *fences) save() error {
	b, err := json.Marshal(f.high)
	if err != nil {
		return err
	}
	tmp := f.path + ".new"
	file, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := file.Write(b); err != nil {
		file.Close()
		return err
	}
	if err := file.Sync(); err != nil {
		file.Close()
		return err
	}
	if err := file.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, f.path); err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(f.path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}
