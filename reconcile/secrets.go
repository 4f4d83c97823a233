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
	"maps"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/durable-delivery/durable/api"
	"github.com/durable-delivery/durable/journal"
	"github.com/durable-delivery/durable/schema"
	"github.com/durable-delivery/durable/secrets/onhost"
	"github.com/durable-delivery/durable/secrets/sops"
)

// resolveSecrets reads a service's secrets on this host: files in the
// operator's secrets directory, the reconciler's variables the operator
// allows, and values of SOPS files decrypted with the
// reconciler's age identities. Errors name the field and where the secret
// was looked for, never a value.
func (r *Reconciler) resolveSecrets(svc schema.Service) (map[string]string, error) {
	values, _, err := r.readSecrets(svc)
	return values, err
}

// readSecrets also returns the encrypted SOPS files it read, by path, so
// that they can be kept for the service's release.
// Every value read is redacted from then on (secrets/redact).
func (r *Reconciler) readSecrets(svc schema.Service) (map[string]string, map[string][]byte, error) {
	values, files, err := readSecrets(svc, r.cfg.HostSecrets, func(ref *schema.SopsRef) ([]byte, *sops.Document, error) {
		if len(ref.Ciphertext) == 0 {
			return r.keptSopsDocument(svc.ReleaseID(), ref.File)
		}
		doc, err := r.decryptSops(ref.File, ref.Ciphertext)
		return ref.Ciphertext, doc, err
	})
	for name, v := range values {
		r.redactor.Add("secretEnv."+name, v)
	}
	return values, files, err
}

// decryptSops decrypts a SOPS file with the reconciler's identities.
func (r *Reconciler) decryptSops(file string, ciphertext []byte) (*sops.Document, error) {
	doc, err := sops.Decrypt(file, ciphertext, r.cfg.SopsIdentities)
	if errors.Is(err, sops.ErrNoIdentities) {
		err = fmt.Errorf("%w; start durable run with --sops-age-key-file FILE (or SOPS_AGE_KEY_FILE, or the key in SOPS_AGE_KEY)", err)
	}
	return doc, err
}

// maxSopsDocuments bounds the decrypted files kept in memory.
const maxSopsDocuments = 64

// keptSopsDocument is the decrypted file kept for a journaled release.
// Every pass builds the runtime's instructions for every live set, and a
// release's SOPS values are fixed by its id: the file is read and
// decrypted once, then kept in memory (at most maxSopsDocuments of them).
func (r *Reconciler) keptSopsDocument(release, file string) ([]byte, *sops.Document, error) {
	key := r.sopsFilePath(release, file)
	r.mu.Lock()
	kept, ok := r.sopsDocs[key]
	r.mu.Unlock()
	if ok {
		return kept.ciphertext, kept.doc, nil
	}
	ciphertext, err := r.keptSopsFile(release, file)
	if err != nil {
		return nil, nil, err
	}
	doc, err := r.decryptSops(file, ciphertext)
	if err != nil {
		return nil, nil, err
	}
	r.mu.Lock()
	if r.sopsDocs == nil || len(r.sopsDocs) >= maxSopsDocuments {
		r.sopsDocs = map[string]sopsDocument{}
	}
	r.sopsDocs[key] = sopsDocument{ciphertext, doc}
	r.mu.Unlock()
	return ciphertext, doc, nil
}

// sopsDocument is an encrypted file kept for a release and its decryption.
type sopsDocument struct {
	ciphertext []byte
	doc        *sops.Document
}

// openSops gives the encrypted file a SOPS reference names and its
// decrypted document.
type openSops func(ref *schema.SopsRef) ([]byte, *sops.Document, error)

func readSecrets(svc schema.Service, host *onhost.Secrets, open openSops) (map[string]string, map[string][]byte, error) {
	out := map[string]string{}
	files := map[string][]byte{}
	// Each file is decrypted once, whatever the number of its keys used.
	docs := map[string]*sops.Document{}
	failed := map[string]error{}
	var errs []error
	for _, name := range sortedKeys(svc.Run.SecretEnv) {
		ref := svc.Run.SecretEnv[name]
		field := fmt.Sprintf("services.%s.run.secretEnv.%s", svc.Name, name)
		switch {
		case len(ref.Sources()) != 1:
			errs = append(errs, fmt.Errorf("%s: give exactly one of file, env or sops", field))
		case ref.File != "":
			v, err := host.File(ref.File)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.file: %w", field, err))
				continue
			}
			out[name] = v
		case ref.Env != "":
			v, err := host.Env(ref.Env)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.env: %w", field, err))
				continue
			}
			out[name] = v
		default:
			file := path.Clean(ref.Sops.File)
			doc, err := docs[file], failed[file]
			if doc == nil && err == nil {
				var ciphertext []byte
				if ciphertext, doc, err = open(ref.Sops); err != nil {
					failed[file] = err
				} else {
					docs[file], files[file] = doc, ciphertext
				}
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", field, err))
				continue
			}
			v, err := doc.Value(ref.Sops.Key)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", field, err))
				continue
			}
			out[name] = v
		}
	}
	return out, files, errors.Join(errs...)
}

// The encrypted files of a release's SOPS secrets are kept in the state
// directory, named by release and path: the journal keeps a release's spec
// without them (they are not part of it), and an instance of the release may
// have to start after a restart, or once the repository holds other
// ciphertext. Encrypted files are no secret (they are committed), but are
// kept readable by the reconciler alone.
func (r *Reconciler) sopsFilePath(release, file string) string {
	dir := r.cfg.Host.StateDir
	if dir == "" {
		dir = os.TempDir()
	}
	sum := sha256.Sum256([]byte(release + "\x00" + path.Clean(file)))
	return filepath.Join(dir, "sops", hex.EncodeToString(sum[:]))
}

// keepSopsFiles keeps the encrypted files of svc's SOPS secrets for its
// release. A release's values are fixed by its secrets digest, so a copy
// already kept (perhaps of another encryption of the same values) stays.
func (r *Reconciler) keepSopsFiles(svc schema.Service, files map[string][]byte) error {
	release := svc.ReleaseID()
	for file, ciphertext := range files {
		dest := r.sopsFilePath(release, file)
		if _, err := os.Stat(dest); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dest), 0o700); err != nil {
			return fmt.Errorf("keep the encrypted file %s: %w", file, err)
		}
		tmp, err := os.CreateTemp(filepath.Dir(dest), ".tmp-*")
		if err != nil {
			return fmt.Errorf("keep the encrypted file %s: %w", file, err)
		}
		_, err = tmp.Write(ciphertext)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), dest)
		}
		if err != nil {
			os.Remove(tmp.Name())
			return fmt.Errorf("keep the encrypted file %s: %w", file, err)
		}
	}
	return nil
}

// keptSopsFile reads the encrypted file kept for a release.
func (r *Reconciler) keptSopsFile(release, file string) ([]byte, error) {
	f, err := os.Open(r.sopsFilePath(release, file))
	if err != nil {
		return nil, fmt.Errorf("%s: the encrypted file of release %s is not kept on this host (%v); a new commit that changes the service makes a release whose file is kept", file, short(release), errors.Unwrap(err))
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, sops.MaxFileBytes+1))
}

// onHost says whether a service has a secret that can change on this host
// without a commit: a file or a variable. A SOPS secret is fixed by the
// revision.
func onHost(svc schema.Service) bool {
	for _, ref := range svc.Run.SecretEnv {
		if ref.File != "" || ref.Env != "" {
			return true
		}
	}
	return false
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
		values, files, err := r.readSecrets(svc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if svc.SecretsDigest, err = r.secretsDigest(values); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := r.keepSopsFiles(svc, files); err != nil {
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
	// The services are copied only once one changed: this runs every
	// pass, and a fleet may be 10,000 services.
	updated := map[string]schema.Service{}
	for name, svc := range ds.Services {
		if !onHost(svc) {
			continue
		}
		values, files, err := r.readSecrets(svc)
		if err != nil {
			r.log.Warn("read secrets; what runs is unchanged", "service", name, "err", err)
			continue
		}
		digest, err := r.secretsDigest(values)
		if err != nil || digest == svc.SecretsDigest {
			continue
		}
		svc.SecretsDigest = digest
		if err := r.keepSopsFiles(svc, files); err != nil {
			r.log.Warn("read secrets; what runs is unchanged", "service", name, "err", err)
			continue
		}
		updated[name] = svc
		if r.cfg.Follow {
			continue // the leader, reading the same secrets, journals it
		}
		if err := r.putRelease(ctx, svc, rev.Commit); err != nil {
			r.log.Error("journal release", "err", err)
			return
		}
		r.journal(ctx, journal.Entry{Kind: api.EntryEvent, Service: name, Release: svc.ReleaseID(),
			Message: fmt.Sprintf("a secret of %s changed on this host: new release %s", name, short(svc.ReleaseID()))})
	}
	if len(updated) == 0 {
		return
	}
	next := *ds
	next.Services = maps.Clone(ds.Services)
	maps.Copy(next.Services, updated)
	if r.cfg.Follow {
		r.mu.Lock()
		r.desired = &next
		r.mu.Unlock()
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
	r.desired, r.revision = &next, withoutState(rev)
	r.mu.Unlock()
}
