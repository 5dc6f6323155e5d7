package admin

import (
	"context"
	"log/slog"
	"time"
)

// LogStats writes a one-line summary every interval until ctx ends: what
// is online now and what happened since the previous line. It never logs
// message text, names or codes. An interval of zero or less turns it off.
func (s *Server) LogStats(ctx context.Context, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var last totals
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			last = s.logStats(ctx, last)
		}
	}
}

// logStats logs one summary and returns the totals it was taken at.
func (s *Server) logStats(ctx context.Context, last totals) totals {
	c := s.counts()
	s.mu.Lock()
	now := s.totals
	s.mu.Unlock()
	s.opts.Logger.LogAttrs(ctx, slog.LevelInfo, "stats",
		slog.Int("users", c.Users),
		slog.Int("ssh", c.Sessions["ssh"]),
		slog.Int("web", c.Sessions["web"]),
		slog.Int("rooms", c.Rooms),
		slog.Int("private_chats", c.PrivateChats),
		slog.Int("messages", now.messages-last.messages),
		slog.Int("dropped", now.dropped-last.dropped),
		slog.Int("refused", now.refused-last.refused),
		slog.Int("slow_disconnects", now.slow-last.slow),
		slog.Int("flood_disconnects", now.flood-last.flood),
		slog.Duration("uptime", time.Duration(c.Uptime*float64(time.Second)).Truncate(time.Second)),
	)
	return now
}
