package exec

import (
	"strings"
	"sync"
)

// maxStderr is how much of a long-lived plug-in's standard error is kept
// for errors: the end of it.
const maxStderr = 64 << 10

// stderrTail keeps the last maxStderr bytes written to it. Writing never
// blocks on a reader, so a plug-in that writes much to standard error
// never stalls on a full pipe.
type stderrTail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *stderrTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(p) >= maxStderr {
		t.buf = append(t.buf[:0], p[len(p)-maxStderr:]...)
		return len(p), nil
	}
	if over := len(t.buf) + len(p) - maxStderr; over > 0 {
		t.buf = t.buf[:copy(t.buf, t.buf[over:])]
	}
	t.buf = append(t.buf, p...)
	return len(p), nil
}

// String is what was kept, trimmed, valid UTF-8.
func (t *stderrTail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(strings.ToValidUTF8(string(t.buf), "\uFFFD"))
}
