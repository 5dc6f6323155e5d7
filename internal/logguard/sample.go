// Package logguard keeps what an attacker controls from flooding the
// log: warnings anyone can repeat at will (refused connections, bad TLS
// handshakes) are sampled, and every value is clipped to a bounded length
// (a login name or TERM of 100 KB would otherwise make a 100 KB line).
package logguard

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Default bounds: five records a minute per message.
const (
	DefaultBurst    = 5
	DefaultInterval = time.Minute
)

// Sampler logs at most burst records per interval for each message. The
// messages must be constants: the sampler keeps a count for each.
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

// Writer returns a writer that logs each write as a warning msg, with
// the text written as "detail": for a log.Logger of a library, such as
// http.Server's ErrorLog.
func (s *Sampler) Writer(msg string) io.Writer { return writer{s, msg} }

type writer struct {
	s   *Sampler
	msg string
}

func (w writer) Write(p []byte) (int, error) {
	w.s.Warn(w.msg, "detail", strings.TrimSpace(string(p)))
	return len(p), nil
}

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
