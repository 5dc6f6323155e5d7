// Package admin is Parley's operator side: the handler of the admin
// listener (Prometheus metrics, health and readiness, pprof and the live
// monitor) and the core.Observer that feeds it. It is meant for a
// loopback address; an optional token guards it when exposed further.
package admin

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"parley/core"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Defaults for the zero values of Options.
const (
	DefaultMaxViewers  = 4
	DefaultViewerQueue = 256
	// MinTokenLength keeps guessable tokens out: the admin listener may
	// face the network.
	MinTokenLength = 16
)

// Options configure the admin side.
type Options struct {
	// Token, when set, is required for everything but /healthz and
	// /readyz: as "Authorization: Bearer TOKEN", or through the cookie
	// that signing in at /login sets for a browser.
	Token string
	// Version is the build's version, shown in parley_build_info.
	Version string
	// MaxViewers caps the live monitor's concurrent viewers.
	MaxViewers int
	// ViewerQueue is how many monitor events wait for one viewer before
	// that viewer misses some.
	ViewerQueue int
	// Logger receives the periodic stats line; slog.Default() if nil.
	Logger *slog.Logger
}

// Server is the admin listener's handler and the hub's observer. Create it
// before the hub, pass it to core.WithObserver, then Attach the hub.
type Server struct {
	opts    Options
	started time.Time
	hub     atomic.Pointer[core.Hub]
	reg     *prometheus.Registry
	metrics *metrics
	feed    *feed
	mux     *http.ServeMux

	draining atomic.Bool
	checks   []func() error // more reasons /readyz may answer 503

	mu       sync.Mutex
	sessions map[string]int // live sessions by transport
	totals   totals
	warnings []string // for the operator, in /readyz's body
}

// totals are running sums for the periodic stats line.
type totals struct {
	messages, dropped, slow, flood, refused int
}

// New checks opts and builds the metrics registry, the monitor feed and
// the routes.
func New(opts Options) (*Server, error) {
	if opts.Token != "" && len(opts.Token) < MinTokenLength {
		return nil, errors.New("admin token must be at least 16 characters (try: openssl rand -hex 32)")
	}
	if opts.MaxViewers < 0 || opts.ViewerQueue < 0 {
		return nil, errors.New("admin monitor limits must not be negative")
	}
	if opts.MaxViewers == 0 {
		opts.MaxViewers = DefaultMaxViewers
	}
	if opts.ViewerQueue == 0 {
		opts.ViewerQueue = DefaultViewerQueue
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{
		opts:     opts,
		started:  time.Now(),
		reg:      prometheus.NewRegistry(),
		sessions: map[string]int{},
	}
	s.metrics = newMetrics(s)
	s.feed = newFeed(opts.MaxViewers, opts.ViewerQueue, s.metrics.viewerDrops.Inc)
	s.routes()
	return s, nil
}

// Attach gives the server the hub whose rooms and users it counts.
func (s *Server) Attach(h *core.Hub) { s.hub.Store(h) }

// Warn adds a line for the operator to /readyz's body, once; the server
// stays ready.
func (s *Server) Warn(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Contains(s.warnings, text) {
		s.warnings = append(s.warnings, text)
	}
}

// readyText is /readyz's body: "ready", then any warnings.
func (s *Server) readyText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	text := "ready"
	for _, w := range s.warnings {
		text += "\nwarning: " + w
	}
	return text
}

// SetDraining turns /readyz to 503: shutdown has begun.
func (s *Server) SetDraining() { s.draining.Store(true) }

// AddReadiness makes /readyz answer 503, with check's error as the body,
// whenever check fails (a cluster node cut off from the others, say).
// Call it before the admin listener serves.
func (s *Server) AddReadiness(check func() error) { s.checks = append(s.checks, check) }

// Register adds c to the metrics /metrics serves.
func (s *Server) Register(c prometheus.Collector) error { return s.reg.Register(c) }

// Close ends the live monitor's streams, so that the HTTP server's
// Shutdown does not wait for them.
func (s *Server) Close() { s.feed.close() }

// Handler serves the admin routes.
func (s *Server) Handler() http.Handler { return s.mux }

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		plain(w, http.StatusOK, "ok")
	})
	m.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			plain(w, http.StatusServiceUnavailable, "draining")
			return
		}
		for _, check := range s.checks {
			if err := check(); err != nil {
				plain(w, http.StatusServiceUnavailable, err.Error())
				return
			}
		}
		plain(w, http.StatusOK, s.readyText())
	})
	m.HandleFunc("GET /login", s.serveLogin)
	m.HandleFunc("POST /login", s.signIn)

	m.Handle("GET /metrics", s.guard(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg})))
	m.Handle("GET /{$}", s.page(http.RedirectHandler("/monitor", http.StatusSeeOther)))
	m.Handle("GET /monitor", s.page(http.HandlerFunc(serveMonitorPage)))
	m.HandleFunc("GET /monitor/{file}", serveMonitorAsset) // the page's own script and style: nothing secret
	m.Handle("GET /monitor/events", s.guard(http.HandlerFunc(s.serveFeed)))
	m.Handle("GET /debug/pprof/", s.guard(http.HandlerFunc(pprof.Index)))
	m.Handle("GET /debug/pprof/cmdline", s.guard(http.HandlerFunc(pprof.Cmdline)))
	m.Handle("GET /debug/pprof/profile", s.guard(http.HandlerFunc(pprof.Profile)))
	m.Handle("GET /debug/pprof/symbol", s.guard(http.HandlerFunc(pprof.Symbol)))
	m.Handle("GET /debug/pprof/trace", s.guard(http.HandlerFunc(pprof.Trace)))
	s.mux = m
}

func plain(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(text + "\n"))
}

// The core.Observer methods: counters for /metrics, totals for the stats
// line, and the monitor feed. Each is a few atomic operations or a map
// update under a short lock; none blocks.

// SessionStarted counts a new session.
func (s *Server) SessionStarted(transport core.Transport) {
	s.metrics.started.WithLabelValues(string(transport)).Inc()
	s.mu.Lock()
	s.sessions[string(transport)]++
	s.mu.Unlock()
}

// SessionEnded counts a session's end and why.
func (s *Server) SessionEnded(transport core.Transport, why core.EndReason) {
	t := string(transport)
	s.metrics.ended.WithLabelValues(t, why.String()).Inc()
	s.mu.Lock()
	if s.sessions[t]--; s.sessions[t] <= 0 {
		delete(s.sessions, t)
	}
	switch why {
	case core.EndSlow:
		s.totals.slow++
	case core.EndFlood:
		s.totals.flood++
	}
	s.mu.Unlock()
}

// MessagePosted counts a message by kind.
func (s *Server) MessagePosted(kind core.MessageKind) {
	s.metrics.messages.WithLabelValues(kindLabel(kind)).Inc()
	s.mu.Lock()
	s.totals.messages++
	s.mu.Unlock()
}

// FannedOut records how long one fan-out took and how wide it was.
func (s *Server) FannedOut(recipients int, took time.Duration) {
	s.metrics.fanOutSeconds.Observe(took.Seconds())
	s.metrics.fanOutRecipients.Observe(float64(recipients))
}

// Dropped counts events that full outboxes dropped.
func (s *Server) Dropped(n int) {
	s.metrics.dropped.Add(float64(n))
	s.mu.Lock()
	s.totals.dropped += n
	s.mu.Unlock()
}

// Refused counts rate-limit hits and wrong guesses.
func (s *Server) Refused(why core.Refusal) {
	switch why {
	case core.RefusedWrongCode:
		s.metrics.wrongGuesses.WithLabelValues("code").Inc()
	case core.RefusedWrongPassword:
		s.metrics.wrongGuesses.WithLabelValues("password").Inc()
	default:
		s.metrics.rateLimited.WithLabelValues(why.String()).Inc()
	}
	s.mu.Lock()
	s.totals.refused++
	s.mu.Unlock()
}

// Monitor passes an event to the live monitor's viewers, and counts calls.
func (s *Server) Monitor(ev core.MonitorEvent) {
	if ev.Kind == core.MonitorCall {
		s.metrics.calls.WithLabelValues(ev.Call.String()).Inc()
	}
	s.feed.publish(ev)
}

func kindLabel(k core.MessageKind) string {
	switch k {
	case core.Text:
		return "text"
	case core.Action:
		return "action"
	case core.System:
		return "system"
	}
	return "unknown"
}

// counts is a snapshot for the monitor page and the stats line.
type counts struct {
	Users        int            `json:"users"`
	Sessions     map[string]int `json:"sessions"`
	Rooms        int            `json:"rooms"`
	PrivateChats int            `json:"private_chats"`
	Viewers      int            `json:"viewers"`
	Uptime       float64        `json:"uptime_seconds"`
}

func (s *Server) counts() counts {
	c := counts{Sessions: map[string]int{"ssh": 0, "web": 0}, Viewers: s.feed.viewerCount(), Uptime: time.Since(s.started).Seconds()}
	if h := s.hub.Load(); h != nil {
		c.Users, c.Rooms, c.PrivateChats = h.Counts()
	}
	s.mu.Lock()
	for t, n := range s.sessions {
		c.Sessions[t] = n
	}
	s.mu.Unlock()
	return c
}
