package harness

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Narrator prints a story for a person, one line at a time: numbered steps,
// and what is said under them.
type Narrator struct {
	mu    sync.Mutex
	w     io.Writer
	steps int
}

// NewNarrator is a narrator writing to w.
func NewNarrator(w io.Writer) *Narrator {
	return &Narrator{w: w}
}

// Step prints the next numbered step, with the time.
func (n *Narrator) Step(format string, args ...any) {
	n.mu.Lock()
	n.steps++
	fmt.Fprintf(n.w, "\n%s %d. %s\n", time.Now().Format("15:04:05.000"), n.steps, fmt.Sprintf(format, args...))
	n.mu.Unlock()
}

// Say prints a line under the current step.
func (n *Narrator) Say(format string, args ...any) {
	n.mu.Lock()
	fmt.Fprintf(n.w, "%s %s\n", strings.Repeat(" ", 12), fmt.Sprintf(format, args...))
	n.mu.Unlock()
}
