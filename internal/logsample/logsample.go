// Package logsample keeps warnings that an attacker can repeat at will
// (refused connections, timed-out handshakes) from flooding the log: each
// message is logged a few times per interval, and the count of those left
// out goes with the next one logged.
package logsample

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Default bounds: five records a minute per message.
const (
	DefaultBurst    = 5
	DefaultInterval = time.Minute
)

// Sampler logs at most burst records per interval for each message.
type Sampler struct {
	log      *slog.Logger
	burst    int
	interval time.Duration
	now      func() time.Time

	mu    sync.Mutex
	kinds map[string]*kind
}

type kind struct {
	start      time.Time // of the current interval
	logged     int       // records logged in the current interval
	suppressed int       // records left out since the last one logged
}

// New returns a sampler writing to log with the default bounds.
func New(log *slog.Logger) *Sampler {
	return NewWith(log, DefaultBurst, DefaultInterval, time.Now)
}

// NewWith returns a sampler with its own bounds and clock.
func NewWith(log *slog.Logger, burst int, interval time.Duration, now func() time.Time) *Sampler {
	return &Sampler{log: log, burst: burst, interval: interval, now: now, kinds: map[string]*kind{}}
}

// Warn logs msg with args at warning level, unless msg was logged burst
// times already in this interval. A record logged after some were left
// out says how many, as "suppressed".
func (s *Sampler) Warn(msg string, args ...any) { s.logAt(slog.LevelWarn, msg, args) }

// Info is Warn at info level.
func (s *Sampler) Info(msg string, args ...any) { s.logAt(slog.LevelInfo, msg, args) }

func (s *Sampler) logAt(level slog.Level, msg string, args []any) {
	if !s.log.Enabled(context.Background(), level) {
		return
	}
	s.mu.Lock()
	now := s.now()
	k := s.kinds[msg]
	if k == nil {
		k = &kind{start: now}
		s.kinds[msg] = k
	}
	if now.Sub(k.start) >= s.interval {
		k.start, k.logged = now, 0
	}
	if k.logged >= s.burst {
		k.suppressed++
		s.mu.Unlock()
		return
	}
	k.logged++
	suppressed := k.suppressed
	k.suppressed = 0
	s.mu.Unlock()
	if suppressed > 0 {
		args = append(args[:len(args):len(args)], "suppressed", suppressed)
	}
	s.log.Log(context.Background(), level, msg, args...)
}
