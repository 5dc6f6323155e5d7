package core

import "time"

// bucket is a token bucket: burst tokens, refilled at rate per second.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) allow(now time.Time, burst int, rate float64) bool {
	b.refill(now, burst, rate)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (b *bucket) refill(now time.Time, burst int, rate float64) {
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens += dt * rate
	}
	if b.tokens > float64(burst) {
		b.tokens = float64(burst)
	}
	b.last = now
}

// window counts events in the last minute.
type window struct{ hits []time.Time }

// full prunes old hits and reports whether max hits are within the minute,
// and when the oldest of them expires.
func (w *window) full(now time.Time, max int) (bool, time.Duration) {
	cut := 0
	for cut < len(w.hits) && now.Sub(w.hits[cut]) >= time.Minute {
		cut++
	}
	w.hits = w.hits[cut:]
	if len(w.hits) < max {
		return false, 0
	}
	return true, time.Minute - now.Sub(w.hits[0])
}

func (w *window) add(now time.Time) { w.hits = append(w.hits, now) }
