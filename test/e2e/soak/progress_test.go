//go:build soak

package soak

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/durable-delivery/durable/test/e2e/e2etest"
)

// Progress is what a soak did so far, kept in its state directory after
// every kill so that a soak stopped (or killed) is resumed by the next run.
type Progress struct {
	// Kills and Cycles are the kills and the rollout cycles done.
	Kills  int `json:"kills"`
	Cycles int `json:"cycles"`
	// Landed counts the kills by where they landed (the journal's word),
	// Aimed by where they were aimed.
	Landed map[e2etest.Place]int `json:"landed"`
	Aimed  map[e2etest.Place]int `json:"aimed"`
	// Log is every kill, in order.
	Log        []Kill      `json:"log"`
	Violations []Violation `json:"violations"`
	// Seconds is the time the runs took, all of them.
	Seconds float64 `json:"seconds"`
	Runs    int     `json:"runs"`
	// Requests and FailedRequests are what the load sent, all runs.
	Requests       int `json:"requests"`
	FailedRequests int `json:"failedRequests"`
	// runStarted is when this run started, after Seconds of the runs
	// before it.
	runStarted    time.Time
	secondsBefore float64
}

// Kill is one SIGKILL of the reconciler.
type Kill struct {
	N      int           `json:"n"`
	Cycle  int           `json:"cycle"`
	Aimed  e2etest.Place `json:"aimed"`
	Seen   e2etest.Place `json:"seen,omitempty"`
	Landed e2etest.Place `json:"landed"`
	At     time.Time     `json:"at"`
}

// Violation is a rule found broken, with what shows it.
type Violation struct {
	Kill   int       `json:"kill"`
	Cycle  int       `json:"cycle"`
	Rule   string    `json:"rule"`
	Detail string    `json:"detail"`
	At     time.Time `json:"at"`
	// Log is the reconciler's log, copied into the state directory.
	Log string `json:"log,omitempty"`
}

// progressFile is the file of a state directory that holds the progress.
const progressFile = "progress.json"

// loadProgress reads the progress kept in dir, or starts one.
func loadProgress(dir string) (*Progress, error) {
	p := &Progress{Landed: map[e2etest.Place]int{}, Aimed: map[e2etest.Place]int{}, runStarted: time.Now()}
	b, err := os.ReadFile(filepath.Join(dir, progressFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return p, os.MkdirAll(dir, 0o755)
	case err != nil:
		return nil, fmt.Errorf("read the soak's progress: %w", err)
	}
	if err := json.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, progressFile), err)
	}
	p.secondsBefore = p.Seconds
	return p, nil
}

// save writes the progress to dir, whole or not at all (through a rename).
func (p *Progress) save(dir string) error {
	p.Seconds = p.secondsBefore + time.Since(p.runStarted).Seconds()
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, progressFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write the soak's progress: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, progressFile))
}

// summary is what the soak did, for a person.
func (p *Progress) summary(target int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "soak: %d of %d kills in %d rollout cycles over %d run(s), %s", p.Kills, target, p.Cycles, p.Runs,
		(time.Duration(p.Seconds) * time.Second).String())
	if p.Seconds > 0 {
		fmt.Fprintf(&b, " (%.1f kills/min)", float64(p.Kills)/(p.Seconds/60))
	}
	b.WriteString("\nkills by where they landed (aimed):\n")
	places := make([]e2etest.Place, 0, len(p.Landed)+len(p.Aimed))
	for pl := range p.Landed {
		places = append(places, pl)
	}
	for pl := range p.Aimed {
		if p.Landed[pl] == 0 {
			places = append(places, pl)
		}
	}
	slices.Sort(places)
	for _, pl := range places {
		fmt.Fprintf(&b, "  %-24s %5d  (%d)\n", pl, p.Landed[pl], p.Aimed[pl])
	}
	fmt.Fprintf(&b, "requests through the routers: %d, failed %d\n", p.Requests, p.FailedRequests)
	fmt.Fprintf(&b, "violations: %d\n", len(p.Violations))
	for _, v := range p.Violations {
		fmt.Fprintf(&b, "  kill %d (cycle %d) %s: %s", v.Kill, v.Cycle, v.Rule, v.Detail)
		if v.Log != "" {
			fmt.Fprintf(&b, " [log %s]", v.Log)
		}
		b.WriteString("\n")
	}
	return b.String()
}
