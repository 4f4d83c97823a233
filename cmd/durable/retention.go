package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/durable-delivery/durable/journal"
)

// defaultRetention is --journal-retention's default: a month, enough to
// look back on the last incidents and release trains, short enough that a
// busy repository's revisions (each keeps its whole desired state and
// policies) do not pile up.
const defaultRetention = 30 * 24 * time.Hour

// Bounds of --journal-retention (but 0, which keeps everything): under an
// hour is no history at all; over a century is forever, and overflows.
const (
	minRetention = time.Hour
	maxRetention = 100 * 365 * 24 * time.Hour
)

// retentionFlag is a duration written as Go writes one (720h, 90m) or in
// days (30d).
type retentionFlag struct{ d *time.Duration }

func (f retentionFlag) String() string {
	if f.d == nil {
		return ""
	}
	if *f.d%(24*time.Hour) == 0 && *f.d > 0 {
		return strconv.FormatInt(int64(*f.d/(24*time.Hour)), 10) + "d"
	}
	return f.d.String()
}

func (f retentionFlag) Type() string { return "duration" }

func (f retentionFlag) Set(s string) error {
	d, err := parseRetention(s)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

func parseRetention(s string) (time.Duration, error) {
	fix := "use 0 (keep everything), or a duration from 1h to 36500d such as 720h or 30d"
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseUint(days, 10, 32)
		if err != nil || n > uint64(maxRetention/(24*time.Hour)) {
			return 0, fmt.Errorf("%q is not a number of days up to 36500: %s", s, fix)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q: %v: %s", s, err, fix)
		}
	}
	if d != 0 && (d < minRetention || d > maxRetention) {
		return 0, fmt.Errorf("%s is out of range: %s", s, fix)
	}
	return d, nil
}

func addRetentionFlag(fs *pflag.FlagSet, d *time.Duration) {
	*d = defaultRetention
	fs.Var(retentionFlag{d}, "journal-retention", "compact journal records older than this that no live release needs, at start and hourly (e.g. 720h or 30d; 0 keeps everything)")
}

// retainer is a journal that compacts itself (journal.Bolt, journal.Etcd).
type retainer interface {
	Retain(ctx context.Context, r journal.Retention)
}

// keepJournal runs the journal's retention in the background until the
// returned function, which stops it and waits for it, is called.
func keepJournal(ctx context.Context, log *slog.Logger, st retainer, keep time.Duration) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { st.Retain(ctx, journal.Retention{Keep: keep, Log: log}) })
	if keep > 0 {
		log.Info("journal retention", "olderThan", keep, "every", journal.DefaultRetentionEvery)
	}
	return func() {
		cancel()
		wg.Wait()
	}
}
