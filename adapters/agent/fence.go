package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/adapters/agent/wire"
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

// admit lets a call with these tokens through, keeping the higher ones on
// disk first; any one below its shard's highest is adapters.ErrFenced and
// raises none. It answers the highest token of each shard.
func (f *fences) admit(tokens []wire.Fenced) ([]wire.Fenced, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	high := make([]wire.Fenced, len(tokens))
	raised, added := false, 0
	for i, t := range tokens {
		h, known := f.high[t.Shard]
		switch {
		case t.Token < h:
			return nil, fmt.Errorf("shard %s: token %d is below %d, a newer owner's: %w", t.Shard, t.Token, h, adapters.ErrFenced)
		case !known:
			added++
		}
		raised = raised || t.Token > h
		high[i] = wire.Fenced{Shard: t.Shard, Token: max(t.Token, h)}
	}
	if len(f.high)+added > maxShards {
		return nil, fmt.Errorf("the agent keeps tokens of %d shards at most: %w", maxShards, adapters.ErrInvalid)
	}
	if !raised {
		return high, nil
	}
	old := maps.Clone(f.high)
	for _, t := range high {
		f.high[t.Shard] = t.Token
	}
	if err := f.save(); err != nil {
		f.high = old
		return nil, fmt.Errorf("keep fencing tokens %s: %v: %w", wire.FormatFences(tokens), err, adapters.ErrUnavailable)
	}
	return high, nil
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
