package pack

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Dir is where a packed folder's content sits in the image, and the
// program's working directory.
const Dir = "/app"

// Limits of the environment an image carries: Linux refuses to start a
// program whose one string exceeds 128 KiB, and a few hundred variables is
// already more than a program is configured with.
const (
	maxEnvEntry = 32 << 10
	maxEnvTotal = 128 << 10
	maxEnvCount = 256
)

// ErrInvalid marks an input pack refuses; the message names it and says
// what to do instead.
var ErrInvalid = errors.New("invalid pack input")

// Spec is what an image runs, the same on every platform.
type Spec struct {
	// Entrypoint is the program's path in the image; a relative path is
	// under Dir.
	Entrypoint string
	// Args are the program's default arguments (the image's Cmd).
	Args []string
	// Env holds NAME=VALUE variables the program starts with.
	Env []string
	// Labels are the image's labels.
	Labels map[string]string
}

// Input is what one platform's image holds.
type Input struct {
	Platform v1.Platform
	// Content is a folder whose content goes under Dir, or one file that
	// goes to Dir/<its name>; empty for none.
	Content string
	// Binary, if set, is a file that goes to the entrypoint's path.
	Binary string
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// reservedEnv are set by the runtimes for each instance, over the image's.
var reservedEnv = []string{"PORT", "HOST"}

// checkSpec refuses an entrypoint or environment the runtimes could not
// honour, and returns the entrypoint as an absolute path.
func checkSpec(s Spec) (string, error) {
	if s.Entrypoint == "" {
		return "", fmt.Errorf("no entrypoint: give the program's path in the image (e.g. %s/web): %w", Dir, ErrInvalid)
	}
	if strings.ContainsRune(s.Entrypoint, 0) {
		return "", fmt.Errorf("entrypoint %q holds a NUL byte: %w", s.Entrypoint, ErrInvalid)
	}
	entry := s.Entrypoint
	if !path.IsAbs(entry) {
		entry = path.Join(Dir, entry)
	}
	entry = path.Clean(entry)
	if entry == "/" || strings.HasSuffix(s.Entrypoint, "/") {
		return "", fmt.Errorf("entrypoint %q names a folder; name the program: %w", s.Entrypoint, ErrInvalid)
	}
	total := 0
	seen := map[string]bool{}
	if len(s.Env) > maxEnvCount {
		return "", fmt.Errorf("%d environment variables: at most %d; read the rest from a file the program loads: %w", len(s.Env), maxEnvCount, ErrInvalid)
	}
	for _, kv := range s.Env {
		if err := checkEnv(kv, seen); err != nil {
			return "", err
		}
		total += len(kv)
	}
	if total > maxEnvTotal {
		return "", fmt.Errorf("environment of %d bytes: at most %d: %w", total, maxEnvTotal, ErrInvalid)
	}
	return entry, nil
}

// checkEnv refuses one NAME=VALUE that is malformed, oversized, repeated or
// set by the runtimes.
func checkEnv(kv string, seen map[string]bool) error {
	k, v, ok := strings.Cut(kv, "=")
	shown := kv
	if len(shown) > 40 {
		shown = shown[:40] + "…"
	}
	switch {
	case !ok || !envName.MatchString(k):
		return fmt.Errorf("environment %q: write NAME=VALUE, the name of letters, digits and _ not starting with a digit: %w", shown, ErrInvalid)
	case len(kv) > maxEnvEntry:
		return fmt.Errorf("environment %s: %d bytes, at most %d: %w", k, len(kv), maxEnvEntry, ErrInvalid)
	case strings.ContainsRune(v, 0):
		return fmt.Errorf("environment %s: the value holds a NUL byte: %w", k, ErrInvalid)
	case slices.Contains(reservedEnv, k) || strings.HasPrefix(k, "DURABLE_"):
		return fmt.Errorf("environment %s: the runtimes set it for each instance (PORT, HOST, DURABLE_*); leave it out: %w", k, ErrInvalid)
	case seen[k]:
		return fmt.Errorf("environment %s: given twice: %w", k, ErrInvalid)
	}
	seen[k] = true
	return nil
}

// ParsePlatform reads OS/ARCH[/VARIANT], e.g. linux/arm64.
func ParsePlatform(s string) (v1.Platform, error) {
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || slices.Contains(parts, "") {
		return v1.Platform{}, fmt.Errorf("platform %q: write OS/ARCH[/VARIANT], e.g. linux/amd64: %w", s, ErrInvalid)
	}
	for _, p := range parts {
		if !envName.MatchString(p) {
			return v1.Platform{}, fmt.Errorf("platform %q: %q is not a name of letters, digits and _: %w", s, p, ErrInvalid)
		}
	}
	p := v1.Platform{OS: parts[0], Architecture: parts[1]}
	if len(parts) == 3 {
		p.Variant = parts[2]
	}
	return p, nil
}
