package reconcile

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"io/fs"
	"sync"

	"github.com/durable-delivery/durable/schema"
)

// treeCacheSize is how many evaluated trees are kept: a revert goes back
// one or a few commits. treeCacheBytes bounds their compressed JSON
// together: a tree of 10,000 services is about 10 MB of JSON and 0.6 MB
// compressed, so a fleet of that size keeps its last 16 trees in 10 MB
// (uncompressed, 64 MB kept six, and were a third of the reconciler's heap).
const (
	treeCacheSize  = 16
	treeCacheBytes = 16 << 20
)

// treeCache keeps the desired states of the Git trees evaluated last, by
// tree hash, as JSON. Evaluating a tree is the slowest part of taking a
// revision (CUE, in an isolated child: 150 ms for the demo); a `git
// revert` makes a commit whose tree was evaluated before, so the instant
// rollback skips it. The tree hash names the files' content, and the
// evaluation depends on nothing else, so a hit is what evaluating again
// would give (TestTreeCacheAgreesWithEvaluation generates the cases); all
// that depends on the host or the commit (host names, secrets, policies,
// approvals, signatures, admission) is still done for every revision.
type treeCache struct {
	mu    sync.Mutex
	trees map[string][]byte
	order []string // oldest first
	bytes int      // of the compressed JSON kept
	// limit bounds bytes; 0 is treeCacheBytes.
	limit int
}

// load is LoadState for the tree, from the cache when it holds it. tree ""
// (a source that names none) is never cached. Only successful evaluations
// are kept.
func (c *treeCache) load(ctx context.Context, tree string, fsys fs.FS, eval func(context.Context, fs.FS) (*schema.DesiredState, error)) (*schema.DesiredState, error) {
	if tree != "" {
		c.mu.Lock()
		data, ok := c.trees[tree]
		c.mu.Unlock()
		if ok {
			var ds schema.DesiredState
			if err := json.NewDecoder(flate.NewReader(bytes.NewReader(data))).Decode(&ds); err == nil {
				return &ds, nil
			}
		}
	}
	ds, err := eval(ctx, fsys)
	if err != nil || tree == "" {
		return ds, err
	}
	c.put(tree, ds)
	return ds, nil
}

// put keeps the desired state of tree; one that does not encode is not
// kept (it is evaluated again next time).
func (c *treeCache) put(tree string, ds *schema.DesiredState) {
	data, err := compressJSON(ds)
	if err != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.trees == nil {
		c.trees = map[string][]byte{}
	}
	if old, ok := c.trees[tree]; ok {
		c.bytes -= len(old)
	} else {
		c.order = append(c.order, tree)
	}
	c.trees[tree] = data
	c.bytes += len(data)
	// The newest is kept whatever its size: it is the likeliest to be
	// asked again (a revert of a revert).
	limit := c.limit
	if limit == 0 {
		limit = treeCacheBytes
	}
	for len(c.order) > 1 && (len(c.order) > treeCacheSize || c.bytes > limit) {
		c.bytes -= len(c.trees[c.order[0]])
		delete(c.trees, c.order[0])
		c.order = c.order[1:]
	}
}

// Evaluated records the desired state of a tree evaluated elsewhere, the
// same way (the dashboard's rollback evaluates the tree it commits), so
// that taking the revision that carries it skips the evaluation: a
// rollback's commit is then as quick to take as a revert's.
func (r *Reconciler) Evaluated(tree string, ds *schema.DesiredState) {
	if tree != "" && ds != nil {
		r.trees.put(tree, ds)
	}
}

// compressJSON is ds's JSON, compressed for speed rather than size: a
// tree of 10,000 services takes 40 ms. It is written a service at a time
// (schema.WriteJSON), never whole in a buffer.
func compressJSON(ds *schema.DesiredState) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		return nil, err
	}
	if err := schema.WriteJSON(zw, ds); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
