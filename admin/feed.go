package admin

import (
	"encoding/json"
	"sync"
	"sync/atomic"

	"parley/core"
)

// feed fans monitor events out to the viewers of the live monitor. Each
// viewer has a bounded queue; a viewer that does not keep up misses events
// (and is told how many) instead of holding anyone up.
type feed struct {
	maxViewers, queue int
	onMiss            func()

	mu      sync.Mutex
	viewers map[*viewer]struct{}
	count   atomic.Int32
	done    chan struct{}
	closed  bool
}

type viewer struct {
	events chan []byte
	missed atomic.Int64
}

// newFeed makes a feed for at most maxViewers viewers of queue events
// each; onMiss is called for every event a viewer misses.
func newFeed(maxViewers, queue int, onMiss func()) *feed {
	return &feed{maxViewers: maxViewers, queue: queue, onMiss: onMiss, viewers: map[*viewer]struct{}{}, done: make(chan struct{})}
}

// join adds a viewer, or reports false when the feed is full or closed.
func (f *feed) join() (*viewer, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || len(f.viewers) >= f.maxViewers {
		return nil, false
	}
	v := &viewer{events: make(chan []byte, f.queue)}
	f.viewers[v] = struct{}{}
	f.count.Store(int32(len(f.viewers)))
	return v, true
}

func (f *feed) leave(v *viewer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.viewers, v)
	f.count.Store(int32(len(f.viewers)))
}

func (f *feed) viewerCount() int { return int(f.count.Load()) }

// publish hands one event to every viewer without waiting for any. With
// nobody watching it costs one atomic load.
func (f *feed) publish(ev core.MonitorEvent) {
	if f.count.Load() == 0 {
		return
	}
	b, err := json.Marshal(describe(ev))
	if err != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for v := range f.viewers {
		select {
		case v.events <- b:
		default:
			v.missed.Add(1)
			f.onMiss()
		}
	}
}

// close ends every viewer's stream and refuses new ones.
func (f *feed) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.done)
	}
}
