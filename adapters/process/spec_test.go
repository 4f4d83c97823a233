package process

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/adapters"
)

func TestEnsureRefusesABadSpec(t *testing.T) {
	t.Parallel()
	// Refused before any fetch: the registry here is never reached.
	artifact := "127.0.0.1:1/web@sha256:" + strings.Repeat("0", 64)
	tests := []struct {
		name   string
		change func(*adapters.InfraSetSpec)
		want   string
	}{
		{"empty id", func(s *adapters.InfraSetSpec) { s.ID = "" }, "id is empty"},
		{"huge id", func(s *adapters.InfraSetSpec) { s.ID = strings.Repeat("x", 5000) }, "5000 bytes"},
		{"id with a newline", func(s *adapters.InfraSetSpec) { s.ID = "web\nDURABLE_INFRA_SET=other" }, "control character"},
		{"negative replicas", func(s *adapters.InfraSetSpec) { s.Replicas = -1 }, "replicas is -1"},
		{"a fork bomb of replicas", func(s *adapters.InfraSetSpec) { s.Replicas = 1_000_000 }, "between 0 and 256"},
		{"a memory limit it cannot apply", func(s *adapters.InfraSetSpec) { s.Resources.MemoryBytes = 1 << 28 }, "cannot limit an instance's CPUs or memory"},
		{"env sets PORT", func(s *adapters.InfraSetSpec) { s.Env = map[string]string{"PORT": "80"} }, "env PORT is set by the process runtime"},
		{"env forges a marker", func(s *adapters.InfraSetSpec) { s.Env = map[string]string{envRoot: "/elsewhere"} }, envRoot},
		{"env name with =", func(s *adapters.InfraSetSpec) { s.Env = map[string]string{"A=B": "x"} }, `"A=B"`},
		{"env value with NUL", func(s *adapters.InfraSetSpec) { s.Env = map[string]string{"A": "x\x00y"} }, "NUL"},
		{"release with NUL", func(s *adapters.InfraSetSpec) { s.Release = "r\x00" }, "release holds a NUL"},
		{"unpinned artifact", func(s *adapters.InfraSetSpec) { s.Artifact = "127.0.0.1:1/web:latest" }, "pinned by digest"},
		{"artifact with a bad digest", func(s *adapters.InfraSetSpec) { s.Artifact = "127.0.0.1:1/web@sha256:abc" }, "pinned by digest"},
	}
	rt := newRuntime(t, t.TempDir())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := demoSpec("web-bad", 1)
			spec.Artifact = artifact
			tt.change(&spec)
			_, err := rt.Ensure(context.Background(), spec)
			if !errors.Is(err, adapters.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Ensure: %v, want ErrInvalid saying %q", err, tt.want)
			}
		})
	}
	if sets := observe(t, rt); len(sets) != 0 {
		t.Errorf("refused specs started instances: %+v", sets)
	}
}

func TestSetDirNamesAreDistinctAndStayInSets(t *testing.T) {
	t.Parallel()
	ids := []string{"web", "web/a", "web_a", "web%2Fa", "web%a", ".", "..", ".hidden", "a.b", "-",
		"../../etc", strings.Repeat("é", 100), strings.Repeat("é", 101), strings.Repeat("x", 200)}
	seen := map[string]string{}
	for _, id := range ids {
		got := setDirName(id)
		if other, dup := seen[got]; dup {
			t.Errorf("ids %q and %q share the directory %q", id, other, got)
		}
		seen[got] = id
		if got == "" || got == "." || got == ".." || strings.ContainsAny(got, "/\x00") || len(got) > maxDirName {
			t.Errorf("id %q names the directory %q", id, got)
		}
	}
}

// TestRemoveNeverLeavesTheSet checks that ids which look like paths remove
// nothing but their own (absent) set.
func TestRemoveNeverLeavesTheSet(t *testing.T) {
	t.Parallel()
	rt := newRuntime(t, t.TempDir())
	for _, d := range []string{"images/sha256-keep/rootfs", "sets/keep"} {
		if err := os.MkdirAll(filepath.Join(rt.root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{".", "..", "../..", "/", "sets", "*"} {
		if err := rt.Remove(context.Background(), id, 0); err != nil {
			t.Errorf("Remove(%q): %v", id, err)
		}
	}
	if err := rt.Remove(context.Background(), "", 0); !errors.Is(err, adapters.ErrInvalid) {
		t.Errorf("Remove of an empty id: %v, want ErrInvalid", err)
	}
	got := tree(t, rt.root)
	want := []string{".", "images", "images/sha256-keep", "images/sha256-keep/rootfs", "sets", "sets/keep"}
	if !slices.Equal(got, want) {
		t.Errorf("after Remove of path-like ids the root holds %v, want %v", got, want)
	}
}

func TestRegisteredFactory(t *testing.T) {
	t.Parallel()
	state := t.TempDir()
	host := adapters.Host{StateDir: state}
	for _, config := range []string{``, `{}`, `{"maxUnpackBytes": 1048576}`} {
		rt, err := adapters.NewRuntime("process", json.RawMessage(config), host)
		if err != nil {
			t.Fatalf("config %q: %v", config, err)
		}
		p, ok := rt.(*Runtime)
		if !ok || p.root != filepath.Join(state, "process") {
			t.Errorf("config %q: a %T rooted at %v", config, rt, p)
		}
		if strings.Contains(config, "1048576") && p.maxUnpackBytes != 1<<20 {
			t.Errorf("maxUnpackBytes = %d, want %d", p.maxUnpackBytes, 1<<20)
		}
		if err := rt.(io.Closer).Close(); err != nil {
			t.Error(err)
		}
	}
	for _, tt := range []struct {
		config string
		host   adapters.Host
		want   string
	}{
		{`{"maxUnpackByte": 5}`, host, "unknown field"},
		{`{"maxUnpackBytes": -1}`, host, "maxUnpackBytes is -1"},
		{`{"maxUnpackBytes": "big"}`, host, "maxUnpackBytes"},
		{`[`, host, "adapter configuration"},
		{`{}`, adapters.Host{}, "no state directory"},
	} {
		_, err := adapters.NewRuntime("process", json.RawMessage(tt.config), tt.host)
		if !errors.Is(err, adapters.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("config %q: %v, want ErrInvalid saying %q", tt.config, err, tt.want)
		}
	}
}
