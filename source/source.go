// Package source watches the desired-state repository: it fetches one branch
// of a Git repository into a cache it owns and hands out each fetched commit
// as a Snapshot, its whole tree held in memory and bounded in size.
//
// It must never check out a worktree, follow a symlink out of the tree, read
// more than its caps allow, or interpret the files it returns: deciding what
// a revision means is the caller's job.
package source

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// Defaults applied by New to zero Config fields.
const (
	DefaultBranch   = "main"
	DefaultInterval = 30 * time.Second
	DefaultJitter   = 0.1
	DefaultMaxFiles = 5000
	DefaultMaxBytes = 64 << 20
)

// Config says which repository and branch to watch and how.
type Config struct {
	// URL is a local path, or a file://, http://, https:// or ssh:// URL.
	URL string
	// Branch is the branch to follow (default "main").
	Branch string
	// Dir is a cache directory the source owns: a bare repository is kept
	// there between fetches. It must be empty or a cache made by a Source.
	Dir string
	// Interval is the time between polls in Watch (default 30s).
	Interval time.Duration
	// Jitter spreads polls by ±Jitter×Interval (default 0.1; must be below 1).
	Jitter float64
	// MaxFiles caps the number of files in a snapshot (default 5000).
	MaxFiles int
	// MaxBytes caps the total size of a snapshot's files (default 64 MiB).
	MaxBytes int64
	// Credentials name the files that authenticate to a private
	// repository; an ssh:// URL needs an SSH key.
	Credentials Credentials
	// FullHistory fetches the branch's whole history rather than its head
	// alone, for verifying every commit since the last applied one.
	FullHistory bool
	// CommitKey, when set, is an SSH private key (as ssh-keygen writes it)
	// that signs the commits the source writes — rollbacks, approvals,
	// reverts — as `git commit -S` with gpg.format=ssh would, so that a
	// trust file wanting signed commits accepts them once its allowed
	// signers list the key's public half.
	CommitKey string
	// Fetched, when set, is told how long each fetch Watch makes took and
	// how it failed (nil: it did not), on Watch's goroutine: it must
	// return at once (metrics count it).
	Fetched func(took time.Duration, err error)
}

// Source fetches and watches one branch of one repository. Its methods are
// safe for concurrent use; fetches are serialised on the cache.
type Source struct {
	cfg Config
	// url is cfg.URL normalised to a URL go-git understands; shown is the
	// same with any password removed, for messages.
	url, shown string
	parsed     *url.URL

	// signer signs the commits the source writes (nil: unsigned).
	signer git.Signer

	mu   sync.Mutex // guards repo and serialises fetches on Dir
	repo *git.Repository

	trigger chan struct{}
}

// New checks cfg, applies defaults and returns a Source. It does not touch
// the network or the cache directory.
func New(cfg Config) (*Source, error) {
	if cfg.Branch == "" {
		cfg.Branch = DefaultBranch
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Jitter == 0 {
		cfg.Jitter = DefaultJitter
	}
	if cfg.MaxFiles == 0 {
		cfg.MaxFiles = DefaultMaxFiles
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	var errs []error
	u, err := normalizeURL(cfg.URL)
	if err != nil {
		errs = append(errs, err)
	} else if err := checkCredentials(u, &cfg.Credentials); err != nil {
		errs = append(errs, err)
	} else if _, err := authMethod(u, cfg.Credentials); err != nil {
		errs = append(errs, err) // read once now: a reconciler that cannot fetch does not start
	}
	if err := plumbing.NewBranchReferenceName(cfg.Branch).Validate(); err != nil || strings.HasPrefix(cfg.Branch, "refs/") {
		errs = append(errs, fmt.Errorf("source branch %q is not a valid branch name; give a plain name such as \"main\"", cfg.Branch))
	}
	if cfg.Dir == "" {
		errs = append(errs, errors.New("source cache directory is empty; give the source a directory of its own, e.g. /var/lib/durable/source"))
	}
	if cfg.Interval < 0 {
		errs = append(errs, fmt.Errorf("source interval %s is negative", cfg.Interval))
	}
	if cfg.Jitter < 0 || cfg.Jitter >= 1 {
		errs = append(errs, fmt.Errorf("source jitter %g is out of range; use a fraction in [0, 1), e.g. 0.1 for ±10%%", cfg.Jitter))
	}
	if cfg.MaxFiles < 0 {
		errs = append(errs, fmt.Errorf("source file cap %d is negative", cfg.MaxFiles))
	}
	if cfg.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("source byte cap %d is negative", cfg.MaxBytes))
	}
	var signer git.Signer
	if cfg.CommitKey != "" {
		var err error
		if signer, err = CommitSigner(cfg.CommitKey); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("source cache directory %s: %w", cfg.Dir, err)
	}
	cfg.Dir = dir
	return &Source{cfg: cfg, url: u.String(), shown: u.Redacted(), parsed: u, signer: signer, trigger: make(chan struct{}, 1)}, nil
}

// normalizeURL accepts a local path or a URL of a supported scheme and
// returns it as a URL; a local path becomes an absolute file:// URL.
func normalizeURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("source URL is empty; give a local path or a file://, http(s):// or ssh:// URL")
	}
	if !strings.Contains(raw, "://") {
		abs, err := filepath.Abs(raw)
		if err != nil {
			return nil, fmt.Errorf("source path %s: %w", raw, err)
		}
		return &url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("source URL %q does not parse: %w", raw, err)
	}
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("source URL %s names host %q; a file:// URL is local: file:///absolute/path", u.Redacted(), u.Host)
		}
		if !strings.HasPrefix(u.Path, "/") {
			return nil, fmt.Errorf("source URL %s has no absolute path; write file:///absolute/path", u.Redacted())
		}
		u.Host = ""
	case "http", "https", "ssh":
		if u.Host == "" {
			return nil, fmt.Errorf("source URL %s has no host", u.Redacted())
		}
	default:
		return nil, fmt.Errorf("source URL %s has unsupported scheme %q; use a local path or file://, http://, https:// or ssh://", u.Redacted(), u.Scheme)
	}
	return u, nil
}

// URL is the watched repository's URL, without any password.
func (s *Source) URL() string { return s.shown }

// Branch is the watched branch.
func (s *Source) Branch() string { return s.cfg.Branch }
