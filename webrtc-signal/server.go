// Package webrtcsignal is Parley's HTTP side: it serves the browser client,
// the /ws endpoint that makes a browser a full chat user, and the
// signaling of 1:1 video calls between browsers (and terminal users who
// open a one-time call link).
package webrtcsignal

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"parley/core"
	"parley/static"
)

// Server is the HTTP side of one hub.
type Server struct {
	hub      *core.Hub
	cfg      Config
	calls    *registry
	upgrader websocket.Upgrader
	frames   *frameCache
	files    staticFiles
	allowed  map[string]bool // allowed origins, lower case

	mu      sync.Mutex
	conns   map[*conn]struct{}
	byUser  map[uint64]*conn // web users by core user ID
	closing bool
	wg      sync.WaitGroup

	untrustedSeen atomic.Bool // a forwarded request from an untrusted peer came
}

// New creates the web side of hub and installs it as the hub's call service.
func New(hub *core.Hub, cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{
		hub:     hub,
		cfg:     cfg,
		allowed: map[string]bool{},
		conns:   map[*conn]struct{}{},
		byUser:  map[uint64]*conn{},
		frames:  newFrameCache(),
	}
	for _, o := range cfg.AllowedOrigins {
		s.allowed[strings.ToLower(o)] = true
	}
	// Browsers send little, so a small read buffer serves them (larger
	// frames are read past it). Write buffers are lent per frame, and
	// frames shared among recipients need none: an idle browser holds
	// no write buffer.
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   1024,
		WriteBufferSize:  4096,
		WriteBufferPool:  &sync.Pool{},
		CheckOrigin:      s.checkOrigin,
	}
	s.calls = newRegistry(callSettings{
		ringTimeout:    cfg.RingTimeout,
		connectTimeout: cfg.ConnectTimeout,
		linkTTL:        cfg.LinkTTL,
		inviteInterval: cfg.InviteInterval,
		maxCandidates:  cfg.MaxCandidates,
		maxSDP:         cfg.MaxSDP,
		attachWait:     cfg.HelloTimeout,
		publicURL:      cfg.PublicURL,
		iceServers:     func(user uint64) []iceServerJSON { return cfg.iceServersFor(user, time.Now()) },
	}, hub, s.webEndpoint)
	if s.files, err = newStaticFiles(static.FS); err != nil {
		return nil, fmt.Errorf("reading the embedded client: %w", err)
	}
	return s, nil
}

// Calls is the call service the hub's /video needs: install it with
// hub.SetCalls before anyone can connect.
func (s *Server) Calls() core.Calls { return s.calls }

// Handler serves the client, /ws and /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", s.serveWS)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /", s.files)
	return s.secureHeaders(mux)
}

// contentSecurityPolicy allows only the page's own scripts, styles and
// connections; no inline code, no frames, and DOM sinks that take HTML
// are closed by Trusted Types.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; " +
	"form-action 'self'; require-trusted-types-for 'script'; trusted-types 'none'"

func (s *Server) secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Permissions-Policy", "camera=(self), microphone=(self), geolocation=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if s.cfg.HSTS {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		// Browsers may keep the client but ask each time whether it is
		// still current (a 304 by ETag when it is), so an upgrade never
		// leaves a stale page behind.
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// checkOrigin allows requests without an Origin (not a browser, so no
// ambient authority to abuse), from the page's own host, or from an
// allowed origin.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if s.allowed[strings.ToLower(origin)] {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host) && strings.EqualFold(u.Scheme, s.requestScheme(r))
}

// requestScheme is the scheme the browser asked with: https over TLS, or
// what a trusted proxy says in X-Forwarded-Proto, else http. A page
// served over http must not open the socket of the https site, nor the
// other way round.
func (s *Server) requestScheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if _, trusted := s.fromTrustedProxy(r); trusted {
		protos := strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")
		if p := strings.ToLower(strings.TrimSpace(protos[len(protos)-1])); p == "https" {
			return p
		}
	}
	return "http"
}

// clientIP is the address per-IP limits count: the peer, or the address a
// trusted proxy forwarded.
func (s *Server) clientIP(r *http.Request) string {
	peer, trusted := s.fromTrustedProxy(r)
	forwarded := r.Header.Get("X-Forwarded-For")
	if trusted {
		hops := strings.Split(forwarded, ",")
		if fwd, err := netip.ParseAddr(strings.TrimSpace(hops[len(hops)-1])); err == nil {
			return fwd.Unmap().String()
		}
		return peer
	}
	if forwarded != "" && s.cfg.UntrustedProxy != nil && s.untrustedSeen.CompareAndSwap(false, true) {
		if addr, err := netip.ParseAddr(peer); err == nil {
			s.cfg.UntrustedProxy(addr)
		}
	}
	return peer
}

// fromTrustedProxy returns the peer's address and whether it is one of
// the trusted proxies.
func (s *Server) fromTrustedProxy(r *http.Request) (peer string, trusted bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host, false
	}
	addr = addr.Unmap()
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(addr) {
			return addr.String(), true
		}
	}
	return addr.String(), false
}

// admit counts a new connection from ip against the per-address limits
// and returns the function that ends it.
func (s *Server) admit(ip string) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return nil, core.ErrDraining
	}
	release := func() {}
	if s.cfg.Guard != nil {
		var err error
		if release, err = s.cfg.Guard.Admit(ip); err != nil {
			return nil, err
		}
	}
	s.wg.Add(1)
	return func() {
		release()
		s.wg.Done()
	}, nil
}

func (s *Server) register(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[c] = struct{}{}
	if c.sess != nil {
		s.byUser[c.sess.ID()] = c
	}
}

func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	if c.sess != nil && s.byUser[c.sess.ID()] == c {
		delete(s.byUser, c.sess.ID())
	}
}

// webEndpoint finds the browser of a web user, for the call registry.
func (s *Server) webEndpoint(user uint64) endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.byUser[user]; c != nil {
		return c
	}
	return nil
}

// Shutdown closes every WebSocket with "going away" and waits for their
// handlers to finish, or for ctx. http.Server.Shutdown does not do this:
// it neither closes nor waits for hijacked connections.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.calls.closeAll()
	for _, c := range conns {
		c.stop(websocket.CloseGoingAway, "the server is shutting down")
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
