package queue

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"

	"github.com/durable-delivery/durable/reconcile"
	"github.com/durable-delivery/durable/schema"
)

// Config is what a queue runner needs.
type Config struct {
	// Repo is the desired-state repository: a directory of this host
	// (bare or not), or a URL, which the queue mirrors under Mirror and
	// pushes to. Main is the branch proposals land on (default "main").
	Repo, Main string
	Mirror     string
	Store      *Store
	Checker    Checker
	// Signer signs the commits the queue writes (--commit-key); nil
	// leaves them unsigned, which a trust file wanting signatures ejects.
	Signer git.Signer
	// Depth is how many proposals are validated at once, each on top of
	// those ahead (default 1).
	Depth int
	// Observe, when set, is told of every proposal that ends (metrics).
	Observe func(Proposal)
	Log     *slog.Logger
	Now     func() time.Time
}

// Runner processes the queue: each pass resumes a landing, enqueues the
// pushed queue/ branches, and validates and lands the proposals at the
// head.
type Runner struct {
	cfg   Config
	repo  repository
	comp  composer
	mu    sync.Mutex
	tips  map[string]*reconcile.LoadedRevision // the tips applied onto, loaded
	depth int
}

// NewRunner checks cfg and returns a runner.
func NewRunner(cfg Config) (*Runner, error) {
	if cfg.Main == "" {
		cfg.Main = "main"
	}
	if cfg.Depth == 0 {
		cfg.Depth = 1
	}
	if cfg.Depth < 1 || cfg.Depth > 16 {
		return nil, fmt.Errorf("--depth %d: use 1 to 16", cfg.Depth)
	}
	if cfg.Store == nil || cfg.Repo == "" {
		return nil, errors.New("a queue needs its store and its repository")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	repo := repository{dir: cfg.Repo, main: cfg.Main}
	if IsURL(cfg.Repo) {
		if cfg.Mirror == "" {
			return nil, fmt.Errorf("repository %s is a URL: the queue needs a directory to mirror it in", cfg.Repo)
		}
		m, err := mirror(context.Background(), cfg.Mirror, cfg.Repo)
		if err != nil {
			return nil, err
		}
		repo.dir, repo.remote = m.dir, m.remote
	}
	if _, err := repo.open(); err != nil {
		return nil, err
	}
	load := cfg.Checker.Loader.LoadState
	if load == nil {
		load = func(_ context.Context, fsys fs.FS) (*schema.DesiredState, error) { return schema.Load(fsys) }
	}
	comp := composer{repo: repo, signer: cfg.Signer, merge: fieldMerger{repo: repo, load: load, loaded: &treeCache{sides: map[string]side{}}}}
	return &Runner{cfg: cfg, repo: repo, comp: comp, tips: map[string]*reconcile.LoadedRevision{}, depth: cfg.Depth}, nil
}

// Run makes a pass every interval until ctx ends; a pass that fails is
// logged and tried again at the next.
func (r *Runner) Run(ctx context.Context, interval time.Duration) error {
	for {
		if _, err := r.Pass(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			r.cfg.Log.Error("queue pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// Drain makes passes until no proposal is live (durable queue run
// --once) and returns the proposals as they are then.
func (r *Runner) Drain(ctx context.Context) ([]Proposal, error) {
	for {
		if _, err := r.Pass(ctx); err != nil {
			return nil, err
		}
		ps, err := r.cfg.Store.List()
		if err != nil || Live(ps) == 0 {
			return ps, err
		}
	}
}

// Live counts the proposals not done with.
func Live(ps []Proposal) int {
	n := 0
	for _, p := range ps {
		if !p.State.Terminal() {
			n++
		}
	}
	return n
}

// Pass fetches a remote repository's branches, resumes an interrupted
// landing, enqueues new queue/ branches, then validates up to Depth
// proposals from the head and lands those that pass, in order. It returns
// how many landed.
func (r *Runner) Pass(ctx context.Context) (int, error) {
	if err := r.repo.sync(ctx); err != nil {
		return 0, err
	}
	if err := r.resume(ctx); err != nil {
		return 0, err
	}
	if err := r.scan(ctx); err != nil {
		return 0, err
	}
	ps, err := r.cfg.Store.List()
	if err != nil {
		return 0, err
	}
	var head []Proposal
	for _, p := range ps {
		if !p.State.Terminal() && len(head) < r.depth {
			head = append(head, p)
		}
	}
	if len(head) == 0 {
		return 0, nil
	}
	return r.advance(ctx, head)
}

// resume finishes the landing a killed run left: main holds the
// candidate (it landed), main is still where it was (land it), or main
// moved otherwise (validate it again).
func (r *Runner) resume(ctx context.Context) error {
	ps, err := r.cfg.Store.List()
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.State != Landing {
			continue
		}
		if err := r.land(ctx, p); err != nil {
			return fmt.Errorf("resume the landing of %s: %w", p, err)
		}
	}
	return nil
}

// scan enqueues each queue/ branch whose commit the store has not seen
// for that branch.
func (r *Runner) scan(ctx context.Context) error {
	refs, err := r.repo.queueBranches(ctx)
	if err != nil || len(refs) == 0 {
		return err
	}
	ps, err := r.cfg.Store.List()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, p := range ps {
		seen[p.Branch+" "+p.Head] = true
		if !p.State.Terminal() {
			seen[p.Branch] = true
		}
	}
	for _, ref := range refs {
		if seen[ref.name] || seen[ref.name+" "+ref.commit] {
			continue
		}
		p, err := r.cfg.Store.Add(ref.name, ref.commit, r.cfg.Now())
		if err != nil {
			return err
		}
		r.cfg.Log.Info("queued", "proposal", p.String())
	}
	return nil
}

func (r *Runner) set(p Proposal, state State) (Proposal, bool, error) {
	p.State, p.Since = state, r.cfg.Now().UTC()
	p, ok, err := r.cfg.Store.Set(p)
	if err == nil && ok && state.Terminal() && r.cfg.Observe != nil {
		r.cfg.Observe(p)
	}
	return p, ok, err
}

func (r *Runner) eject(p Proposal, v verdict) error {
	p.Reason, p.Reasons = v.Reason, v.Reasons
	_, _, err := r.set(p, Ejected)
	if err == nil {
		r.cfg.Log.Info("ejected", "proposal", p.String(), "reason", string(v.Reason), "why", strings.Join(v.Reasons, "; "))
	}
	return err
}
