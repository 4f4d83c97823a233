package process

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/durable-delivery/durable/adapters"
)

const (
	// maxSetIDBytes bounds an infra-set id: it travels in every instance's
	// environment and names a directory.
	maxSetIDBytes = 200
	// maxReplicas bounds how many processes one set may ask for.
	maxReplicas = 256
	// maxDirName keeps a set's directory name well under NAME_MAX.
	maxDirName = 200
)

// reserved are the variables the runtime sets itself: a spec may not set
// them, as they are how the runtime finds its instances.
var reserved = []string{envPort, envRoot, envSet, envService, envRelease, envInstance}

// checkSetID refuses an id that cannot be an environment value or a
// directory name.
func checkSetID(id string) error {
	switch {
	case id == "":
		return fmt.Errorf("process: the infra-set id is empty: give every set a name: %w", adapters.ErrInvalid)
	case len(id) > maxSetIDBytes:
		return fmt.Errorf("process: infra-set id %.40q… is %d bytes, over the limit of %d: use a shorter id: %w", id, len(id), maxSetIDBytes, adapters.ErrInvalid)
	case strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("process: infra-set id %q holds a control character: use printable characters: %w", id, adapters.ErrInvalid)
	}
	return nil
}

// checkSpec refuses an instruction the runtime cannot carry out as given,
// naming the field to fix.
func checkSpec(spec adapters.InfraSetSpec) error {
	if err := checkSetID(spec.ID); err != nil {
		return err
	}
	if spec.Replicas < 0 || spec.Replicas > maxReplicas {
		return fmt.Errorf("process: infra-set %s: replicas is %d: it must be between 0 and %d: %w", spec.ID, spec.Replicas, maxReplicas, adapters.ErrInvalid)
	}
	if spec.Resources != (adapters.Resources{}) {
		return fmt.Errorf("process: infra-set %s: the process runtime cannot limit an instance's CPUs or memory: remove run.resources, or run the service on a docker target: %w", spec.ID, adapters.ErrInvalid)
	}
	for _, v := range []struct{ field, value string }{{"service", spec.Service}, {"release", spec.Release}} {
		if strings.ContainsRune(v.value, 0) {
			return fmt.Errorf("process: infra-set %s: %s holds a NUL byte: %w", spec.ID, v.field, adapters.ErrInvalid)
		}
	}
	for k, v := range spec.Env {
		switch {
		case k == "" || strings.ContainsAny(k, "=\x00"):
			return fmt.Errorf("process: infra-set %s: env name %q is not a valid variable name: %w", spec.ID, k, adapters.ErrInvalid)
		case strings.ContainsRune(v, 0):
			return fmt.Errorf("process: infra-set %s: env %s holds a NUL byte: %w", spec.ID, k, adapters.ErrInvalid)
		}
		for _, r := range reserved {
			if k == r {
				return fmt.Errorf("process: infra-set %s: env %s is set by the process runtime itself: remove it from the service's env: %w", spec.ID, k, adapters.ErrInvalid)
			}
		}
	}
	return nil
}

// setDirName turns a set id into one directory name, distinct for distinct
// ids: bytes outside [A-Za-z0-9_.-] are escaped as %XX ('%' included), and a
// leading '.' too, so that no id names "." or "..". An id whose escaped
// form is too long is named by its hash behind a '#', a character that the
// escaping never leaves in place.
func setDirName(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		c := id[i]
		plain := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' && i > 0
		if plain {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if b.Len() > maxDirName {
		sum := sha256.Sum256([]byte(id))
		return "#" + hex.EncodeToString(sum[:])
	}
	return b.String()
}
