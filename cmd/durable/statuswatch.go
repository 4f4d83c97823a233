package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/durable-delivery/durable/api"
)

// statusWatch is what durable status --watch reads and how it prints.
type statusWatch struct {
	read     func(context.Context) (api.Status, error)
	format   format
	interval time.Duration
}

// watchStatus prints the status, then reads it every interval and prints
// it again only when what it prints changed (the read's own time aside),
// until ctx ends. A failed read prints its error once, until it changes.
func watchStatus(ctx context.Context, w io.Writer, sw statusWatch) error {
	var last []byte
	tick := time.NewTicker(sw.interval)
	defer tick.Stop()
	for {
		if key, page := sw.page(ctx); !bytes.Equal(key, last) && ctx.Err() == nil {
			if last != nil && sw.format != formatJSON {
				fmt.Fprintf(w, "\n--- %s\n", time.Now().Local().Format(time.RFC3339))
			}
			if _, err := w.Write(page); err != nil {
				return err
			}
			last = key
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// page is one reading of the status as printed, and as compared: the
// same without the time it was read at.
func (sw statusWatch) page(ctx context.Context) (key, page []byte) {
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	st, err := sw.read(rctx)
	if err != nil {
		msg := []byte(fmt.Sprintf("durable: %v\n", err))
		return msg, msg
	}
	render := func(st api.Status) []byte {
		var b bytes.Buffer
		if err := printOutput(&b, sw.format, statusView(st)); err != nil {
			fmt.Fprintf(&b, "durable: %v\n", err)
		}
		return b.Bytes()
	}
	page = render(st)
	st.Time = time.Time{}
	return render(st), page
}
