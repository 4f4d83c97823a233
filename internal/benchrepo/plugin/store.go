package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// set is an infra-set as the runtime reports it.
type set struct {
	ID        string     `json:"id"`
	Service   string     `json:"service"`
	Release   string     `json:"release"`
	Instances []instance `json:"instances"`
}

type instance struct {
	Index    int    `json:"index"`
	Endpoint string `json:"endpoint"`
}

// runtimeStore keeps one file per set under dir/sets; every instance is
// endpoint.
type runtimeStore struct {
	dir, endpoint string
}

func (s runtimeStore) handle(req request) (any, error) {
	switch req.Op {
	case "ensure":
		if req.Spec == nil || req.Spec.ID == "" || req.Spec.Replicas < 0 {
			return nil, &failure{"invalid", "ensure needs a spec with an id and replicas ≥ 0"}
		}
		st := set{ID: req.Spec.ID, Service: req.Spec.Service, Release: req.Spec.Release, Instances: []instance{}}
		for i := range req.Spec.Replicas {
			st.Instances = append(st.Instances, instance{i, s.endpoint})
		}
		return st, writeJSON(s.path("sets", st.ID), st)
	case "observe":
		return s.observe()
	case "remove":
		err := os.Remove(s.path("sets", req.ID))
		if errors.Is(err, os.ErrNotExist) {
			err = nil
		}
		return nil, err
	}
	return nil, &failure{"invalid", fmt.Sprintf("unknown runtime op %q", req.Op)}
}

func (s runtimeStore) observe() ([]set, error) {
	names, err := filepath.Glob(filepath.Join(s.dir, "sets", "*.json"))
	if err != nil {
		return nil, err
	}
	sets := []set{}
	for _, name := range names {
		var st set
		if err := readJSON(name, &st); err != nil {
			return nil, err
		}
		sets = append(sets, st)
	}
	return sets, nil
}

func (s runtimeStore) path(kind, name string) string {
	return filepath.Join(s.dir, kind, url.PathEscape(name)+".json")
}

// trafficStore keeps each service's split, as Durable sent it, in a file
// under dir/splits.
type trafficStore struct {
	dir string
}

func (s trafficStore) handle(req request) (any, error) {
	switch req.Op {
	case "set-split":
		var sp struct {
			Service string `json:"service"`
		}
		if err := json.Unmarshal(req.Split, &sp); err != nil || sp.Service == "" {
			return nil, &failure{"invalid", "set-split needs a split naming its service"}
		}
		return nil, writeJSON(s.path(sp.Service), req.Split)
	case "split":
		var split json.RawMessage
		err := readJSON(s.path(req.Service), &split)
		if errors.Is(err, os.ErrNotExist) {
			return nil, &failure{"not-found", "no split for service " + req.Service}
		}
		return split, err
	case "splits":
		return s.splits()
	case "in-flight":
		return 0, nil
	}
	return nil, &failure{"invalid", fmt.Sprintf("unknown traffic op %q", req.Op)}
}

// splits lists every service's split, as "split" reports each.
func (s trafficStore) splits() ([]json.RawMessage, error) {
	names, err := filepath.Glob(filepath.Join(s.dir, "splits", "*.json"))
	if err != nil {
		return nil, err
	}
	all := []json.RawMessage{}
	for _, name := range names {
		var split json.RawMessage
		if err := readJSON(name, &split); err != nil {
			return nil, err
		}
		all = append(all, split)
	}
	return all, nil
}

func (s trafficStore) path(service string) string {
	return filepath.Join(s.dir, "splits", url.PathEscape(service)+".json")
}

// writeJSON replaces path's content atomically, creating its directory.
func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", strings.TrimPrefix(path, "./"), err)
	}
	return nil
}
