package process

import (
	"context"
	"sync"
)

// keyedLocks serialises work on one key (an image digest, an infra-set id)
// while letting different keys proceed at once. Waiting honours the
// caller's context. An entry lives only while someone holds or waits for
// it, so the map does not grow with every key ever seen.
type keyedLocks struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	held chan struct{} // one slot: full while held
	refs int           // holders and waiters
}

// lock waits for key and returns the function that releases it.
func (k *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{held: make(chan struct{}, 1)}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()

	select {
	case l.held <- struct{}{}:
		return func() {
			<-l.held
			k.forget(key, l)
		}, nil
	case <-ctx.Done():
		k.forget(key, l)
		return nil, ctx.Err()
	}
}

func (k *keyedLocks) forget(key string, l *keyedLock) {
	k.mu.Lock()
	defer k.mu.Unlock()
	l.refs--
	if l.refs == 0 {
		delete(k.locks, key)
	}
}
