package process

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/durable-delivery/durable/adapters"
	"github.com/durable-delivery/durable/schema"
)

// TestMaxUnpackBytesFromTheDesiredState sets maxUnpackBytes where a user
// does, in a target of the desired state, and builds the runtime as the
// reconciler does, from the target's runtime settings: an image larger
// than the limit is refused, the error naming the setting.
func TestMaxUnpackBytesFromTheDesiredState(t *testing.T) {
	t.Parallel()
	artifact := pushImage(t, "settings/big", tarOf(t, file("small", "12345"), file("big", strings.Repeat("x", 2000))))
	ds, err := schema.Load(fstest.MapFS{"durable.cue": {Data: []byte(`package infra

services: web: artifact: "` + artifact + `"
targets: local: {
	runtime: {kind: "process", maxUnpackBytes: 1000}
	traffic: {kind: "router", admin: "edge"}
}
pipeline: stages: [{name: "local", targets: ["local"]}]
`)}})
	if err != nil {
		t.Fatalf("load the desired state: %v", err)
	}
	target := ds.Targets["local"]
	rt, err := adapters.NewRuntime(target.Runtime.Kind, target.Runtime.Config, adapters.Host{StateDir: t.TempDir()})
	if err != nil {
		t.Fatalf("build the runtime from %s: %v", target.Runtime.Config, err)
	}
	t.Cleanup(func() { rt.(io.Closer).Close() })

	spec := demoSpec("big", 1)
	spec.Artifact = ds.Services["web"].Artifact
	_, err = rt.Ensure(context.Background(), spec)
	if !errors.Is(err, adapters.ErrInvalid) || !strings.Contains(err.Error(), "larger than 1000 bytes") || !strings.Contains(err.Error(), "maxUnpackBytes") {
		t.Fatalf("Ensure of an image over the target's maxUnpackBytes: %v, want ErrInvalid naming 1000 bytes and maxUnpackBytes", err)
	}
}
