package webrtcsignal

import "sync"

// directQueue holds what the writer sends besides the session's events:
// replies and call signaling. It is bounded, and holds no memory while
// empty, which it nearly always is: a channel of the same bound would
// cost every browser its whole buffer.
type directQueue struct {
	mu    sync.Mutex
	items []any
	limit int
	ready chan struct{} // signalled when items wait
}

func newDirectQueue(limit int) directQueue {
	return directQueue{limit: limit, ready: make(chan struct{}, 1)}
}

// push queues m, or reports false when the queue is full.
func (q *directQueue) push(m any) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) >= q.limit {
		return false
	}
	q.items = append(q.items, m)
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return true
}

// take removes and returns everything waiting.
func (q *directQueue) take() []any {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}
