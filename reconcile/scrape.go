package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// scrapeGroup is one entry of a Prometheus file_sd targets file.
type scrapeGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// writeScrapeTargets writes every live infra-set's instances as a Prometheus
// file_sd targets file (Config.ScrapeTargets), labelled with service, set,
// release, stage and target, so that PromQL can tell a canary from its
// baseline. The file is replaced atomically, and only when it changes.
func (r *Reconciler) writeScrapeTargets(ctx context.Context) error {
	if r.cfg.ScrapeTargets == "" {
		return nil
	}
	sets, err := r.store.InfraSets(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	groups := []scrapeGroup{}
	for _, s := range sets {
		eps := r.endpoints[s.ID]
		if !s.State.Live() || len(eps) == 0 {
			continue
		}
		groups = append(groups, scrapeGroup{Targets: slices.Sorted(slices.Values(eps)), Labels: map[string]string{
			"service": s.Service, "set": s.ID, "release": s.Release, "stage": s.Stage, "target": s.Target}})
	}
	r.mu.Unlock()
	sort.Slice(groups, func(i, j int) bool { return groups[i].Labels["set"] < groups[j].Labels["set"] })
	b, err := json.MarshalIndent(groups, "", "  ")
	if err != nil {
		return err
	}
	r.mu.Lock()
	same := bytes.Equal(r.lastScrape, b)
	r.mu.Unlock()
	if same {
		return nil // written already: no file I/O on every pass
	}
	tmp, err := os.CreateTemp(filepath.Dir(r.cfg.ScrapeTargets), ".scrape-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), r.cfg.ScrapeTargets); err != nil {
		return err
	}
	r.mu.Lock()
	r.lastScrape = b
	r.mu.Unlock()
	return nil
}
