package core

import (
	"sync"
	"time"
)

// Outbox is a session's bounded queue of events. The hub never blocks on
// it: when it is full, events are counted as missed and dropped, and the
// session is told how many on its next drain. A slice rather than a
// channel keeps idle sessions small and lets a consumer take a whole burst
// in one wake-up.
type Outbox struct {
	mu        sync.Mutex
	queue     []Event
	limit     int
	missed    int
	fullSince time.Time
	closed    bool
	ready     chan struct{}
	done      chan struct{}
	notify    func() // see OnReady; nil if unset
}

func newOutbox(limit int) *Outbox {
	return &Outbox{limit: limit, ready: make(chan struct{}, 1), done: make(chan struct{})}
}

// Ready is signalled when events are waiting.
func (o *Outbox) Ready() <-chan struct{} { return o.ready }

// Done is closed when the session has ended.
func (o *Outbox) Done() <-chan struct{} { return o.done }

// OnReady makes the outbox call f whenever it signals Ready, and once
// when the session ends; at once if events wait already or the session
// has ended. It lets a transport start work on demand instead of keeping
// a goroutine per session waiting on Ready. f runs in the hub's goroutine
// that queued the event, without the outbox's lock: it must return
// quickly and never block.
func (o *Outbox) OnReady(f func()) {
	o.mu.Lock()
	o.notify = f
	now := len(o.queue) > 0 || o.missed > 0 || o.closed
	o.mu.Unlock()
	if now {
		f()
	}
}

// Drain takes every waiting event, followed by an EventMissed if some were
// dropped since the last drain.
func (o *Outbox) Drain() []Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	evs := o.queue
	o.queue = nil
	return o.drained(evs)
}

// KeptEvents is how many events' worth of memory DrainInto lets a queue
// or a buffer keep between bursts; a bigger burst's is let go.
const KeptEvents = 4

// DrainInto is Drain into buf, which it empties first. The queue keeps
// its memory for the events to come, so a consumer that hands the same
// buffer back each time (see KeepEvents) makes no garbage per event. In
// a busy room that garbage, a queue per burst per member, was the
// largest steady allocation, and each collection slows the fan-out it
// overlaps.
func (o *Outbox) DrainInto(buf []Event) []Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	buf = append(buf[:0], o.queue...)
	o.queue = KeepEvents(o.queue)
	return o.drained(buf)
}

// KeepEvents empties evs for reuse, or lets it go when it holds more than
// KeptEvents' worth of memory.
func KeepEvents(evs []Event) []Event {
	if cap(evs) > KeptEvents {
		return nil
	}
	clear(evs)
	return evs[:0]
}

// drained ends a drain into evs: the missed events are told, and the
// queue is no longer behind. The caller holds mu.
func (o *Outbox) drained(evs []Event) []Event {
	if o.missed > 0 {
		evs = append(evs, Event{Kind: EventMissed, N: o.missed})
		o.missed = 0
	}
	o.fullSince = time.Time{}
	return evs
}

// push queues ev, or counts it as missed (dropped) when the queue is full.
// It returns how long the queue has been full, so the hub can cut off a
// session that stays behind.
func (o *Outbox) push(ev Event, now time.Time) (behind time.Duration, dropped bool) {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return 0, false
	}
	if len(o.queue) >= o.limit {
		o.missed++
		if o.fullSince.IsZero() {
			o.fullSince = now
		}
		o.mu.Unlock()
		return now.Sub(o.fullSince), true
	}
	o.queue = append(o.queue, ev)
	select {
	case o.ready <- struct{}{}:
	default:
	}
	notify := o.notify
	o.mu.Unlock()
	if notify != nil {
		notify()
	}
	return 0, false
}

// behind reports how long the queue has been full without a drain.
func (o *Outbox) behind(now time.Time) time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fullSince.IsZero() {
		return 0
	}
	return now.Sub(o.fullSince)
}

// Len is the number of waiting events.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.queue)
}

func (o *Outbox) close() {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.closed = true
	close(o.done)
	notify := o.notify
	o.mu.Unlock()
	if notify != nil {
		notify()
	}
}

func (o *Outbox) setLimit(n int) {
	o.mu.Lock()
	o.limit = n
	o.mu.Unlock()
}
