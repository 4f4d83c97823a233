package reconcile

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/durable-delivery/durable/reconcile/store"
	"github.com/durable-delivery/durable/schema"
)

// maxSecretBytes bounds one secret file.
const maxSecretBytes = 64 << 10

// resolveSecrets reads a service's secrets on this host. Errors name the
// field and where the secret was looked for, never a value.
func resolveSecrets(svc schema.Service) (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	for _, name := range sortedKeys(svc.Run.SecretEnv) {
		ref := svc.Run.SecretEnv[name]
		field := fmt.Sprintf("services.%s.run.secretEnv.%s", svc.Name, name)
		switch {
		case (ref.File == "") == (ref.Env == ""):
			errs = append(errs, fmt.Errorf("%s: give exactly one of file or env", field))
		case ref.File != "":
			v, err := readSecretFile(ref.File)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w; put the secret in that file on the reconciler's host", field, err))
				continue
			}
			out[name] = v
		default:
			v, ok := os.LookupEnv(ref.Env)
			if !ok {
				errs = append(errs, fmt.Errorf("%s: the reconciler has no environment variable %s; set it where durable run starts", field, ref.Env))
				continue
			}
			out[name] = v
		}
	}
	return out, errors.Join(errs...)
}

func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("secret file %s: %w", path, errors.Unwrap(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretBytes+1))
	if err != nil {
		return "", fmt.Errorf("secret file %s: read: %w", path, errors.Unwrap(err))
	}
	if len(b) > maxSecretBytes {
		return "", fmt.Errorf("secret file %s is over %d bytes", path, maxSecretBytes)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// secretsDigest is a keyed digest of a service's resolved secrets: it
// changes when a value does, and says nothing of the values without the
// host's key.
func (r *Reconciler) secretsDigest(values map[string]string) (string, error) {
	if len(values) == 0 {
		return "", nil
	}
	key, err := r.secretKey()
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(mac, "%s\x00%d\x00%s\x00", n, len(values[n]), values[n])
	}
	return hex.EncodeToString(mac.Sum(nil))[:32], nil
}

// secretKey is this host's key for secret digests, made on first use in
// the state directory.
func (r *Reconciler) secretKey() ([]byte, error) {
	dir := r.cfg.Host.StateDir
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, "secret-digest.key")
	if b, err := os.ReadFile(path); err == nil && len(b) == 32 {
		return b, nil
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("secret digest key: %w", err)
	}
	return key, nil
}

// withSecrets resolves every service's secrets and records their digest on
// the service, so that its release id follows them.
func (r *Reconciler) withSecrets(ds *schema.DesiredState) error {
	var errs []error
	for name, svc := range ds.Services {
		values, err := resolveSecrets(svc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if svc.SecretsDigest, err = r.secretsDigest(values); err != nil {
			errs = append(errs, err)
			continue
		}
		ds.Services[name] = svc
	}
	return errors.Join(errs...)
}

// refreshSecrets notices a secret changed on the host since the desired
// state was loaded: the service's release changes, and the new release is
// rolled out like any other. A secret that can no longer be read changes
// nothing (reported).
func (r *Reconciler) refreshSecrets(ctx context.Context) {
	r.mu.Lock()
	ds, rev := r.desired, r.revision
	r.mu.Unlock()
	if ds == nil {
		return
	}
	changed := false
	next := *ds
	next.Services = map[string]schema.Service{}
	for name, svc := range ds.Services {
		next.Services[name] = svc
		if len(svc.Run.SecretEnv) == 0 {
			continue
		}
		values, err := resolveSecrets(svc)
		if err != nil {
			r.log.Warn("read secrets; what runs is unchanged", "service", name, "err", err)
			continue
		}
		digest, err := r.secretsDigest(values)
		if err != nil || digest == svc.SecretsDigest {
			continue
		}
		svc.SecretsDigest = digest
		next.Services[name] = svc
		if err := r.putRelease(ctx, svc, rev.Commit); err != nil {
			r.log.Error("journal release", "err", err)
			return
		}
		r.journal(ctx, store.Entry{Kind: store.EntryEvent, Service: name, Release: svc.ReleaseID(),
			Message: fmt.Sprintf("a secret of %s changed on this host: new release %s", name, short(svc.ReleaseID()))})
		changed = true
	}
	if !changed {
		return
	}
	// The journal's revision says what is desired now, for status and for
	// a restart.
	rev.Releases = map[string]string{}
	for name, svc := range next.Services {
		rev.Releases[name] = svc.ReleaseID()
	}
	b, err := json.Marshal(&next)
	if err != nil {
		r.log.Error("encode desired state", "err", err)
		return
	}
	rev.DesiredState = b
	if err := r.store.PutRevision(ctx, rev); err != nil {
		r.log.Error("journal revision", "err", err)
		return
	}
	r.mu.Lock()
	r.desired, r.revision = &next, rev
	r.mu.Unlock()
}
