// Package sshui is Parley's SSH side: a Wish server that runs one Bubble
// Tea program per session over the shared core.
//
// It serves session channels itself instead of through wish/bubbletea
// and the SSH library's session, because those spin on a closed
// window-change channel, can hang when a resize arrives before the shell,
// block the hub on p.Send and query the client's terminal. Here the PTY
// is emulated, window changes go into a latest-size box as the channel's
// requests are read (see shellChannel), and hub events are delivered
// from the session's outbox straight to the model, skipping Bubble Tea's
// message loop; keys still go through it. The model draws its own frames,
// writing only what changed (see screen).
//
// No mouse mode is enabled: the terminal keeps its own text selection and
// copying, which a mouse mode would take away; scrolling is PgUp/PgDn.
package sshui

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"parley/core"
	"parley/internal/logguard"
	"parley/sshui/tui"

	"github.com/charmbracelet/ssh"
	"github.com/charmbracelet/wish"
	gossh "golang.org/x/crypto/ssh"
)

// HostKeyFile is the name of the host key inside Config.HostKeyDir.
const HostKeyFile = "ssh_host_ed25519_key"

// Config holds the SSH server's settings. Zero values mean defaults.
type Config struct {
	Addr       string // listen address, e.g. ":2222"
	HostKeyDir string // created if missing (0700); holds HostKeyFile (0600)
	// IdleTimeout bounds how long a dead peer keeps its connection: the
	// server sends keepalives at a third of it, so a live but quiet user
	// is never cut off. 0 means 2 minutes.
	IdleTimeout time.Duration
	Logger      *slog.Logger // nil means slog.Default(); never gets message text or codes

	// Guard applies the per-address connection limits before the SSH
	// handshake; the binary shares one with the web side. nil means a
	// guard with the core's default limits.
	Guard *core.ConnGuard
	// MaxHandshakes caps the connections still in the SSH handshake
	// (not yet authenticated), from all addresses together; beyond it new
	// connections are closed at once. 0 means 128.
	MaxHandshakes int
	// EarlyDropHandshakes and EarlyDropPercent make the cap soft: with
	// EarlyDropHandshakes connections in the handshake, a new one is
	// refused with a chance of EarlyDropPercent, rising linearly to
	// certain at MaxHandshakes (OpenSSH's MaxStartups start:rate:full).
	// 0 means half of MaxHandshakes, and 30 percent.
	EarlyDropHandshakes int
	EarlyDropPercent    int
	// dropRoll draws the early drops, uniform in [0, 100); nil means
	// math/rand. Tests fix it to make drops predictable.
	dropRoll func() int
	// HandshakesPerIP caps the connections in the handshake from one
	// address (IPv6: one /64); the Guard's exempt addresses are free of
	// it. 0 means 8.
	HandshakesPerIP int
	// HandshakePenalty is how long an address whose connection ran into
	// HandshakeTimeout gets no new handshake, times the number of times
	// it did so in a row (at most 10). 0 means 30s; negative, none.
	HandshakePenalty time.Duration
	// HandshakeTimeout is how long a connection may take from its first
	// byte to being authenticated before it is closed. 0 means 20s.
	HandshakeTimeout time.Duration
	// Algorithms are the key exchanges, ciphers and MACs offered, in
	// order of preference; an empty list means Parley's default for it
	// (DefaultAlgorithms).
	Algorithms Algorithms
	// MaxAuthTries caps the failed authentication attempts of one
	// connection. 0 means 3.
	MaxAuthTries int
	// SessionsPerConn caps the sessions one SSH connection may open at
	// once (OpenSSH multiplexing). 0 means 2.
	SessionsPerConn int
	// ShellTimeout is how long a session channel may take from being
	// opened to starting its shell before it is closed. 0 means 10s.
	ShellTimeout time.Duration
	// EarlyInputBytes caps the input a session channel may send before
	// its shell starts (keys typed ahead); a channel sending more is
	// closed. 0 means 16384.
	EarlyInputBytes int
	// MaxWidth and MaxHeight clamp the terminal size a client announces,
	// so a forged size cannot make rendering huge. 0 means 512×200.
	MaxWidth, MaxHeight int
	// ResizeInterval is the least time between two re-layouts of a
	// session for window changes; the latest size always wins. 0 means
	// 100ms (at most 10 a second).
	ResizeInterval time.Duration
	// MaxInputRunes caps the input line; a longer paste is refused with
	// a notice. 0 means 16384.
	MaxInputRunes int
	// Scrollback is how many messages each conversation keeps on screen
	// beyond the core's history. 0 means 1000.
	Scrollback int
	// FPS caps the frames drawn per second; a screen is drawn only when
	// something on it changed. 0 means 20.
	FPS int
	// QuietFPS caps the frames per second drawn for members joining and
	// leaving alone, so a crowd arriving in a big room does not redraw
	// every member's screen for each arrival. 0 means 2.
	QuietFPS int
	// AnswerTimeout bounds how long a client may go without reading its
	// output: with output, at most this often, the terminal is asked
	// where its cursor is, and a session whose terminal has not answered
	// within AnswerTimeout while the channel holds a write to it is cut
	// off (one that reads but does not answer is asked no more). 0 means
	// 30s; negative, never ask.
	AnswerTimeout time.Duration
	// StopGrace is how long a session the core cut off may take to say
	// goodbye before its channel, then its connection, are closed. 0 means 2s.
	StopGrace time.Duration
}

// DefaultConfig is the SSH server's settings where a Config leaves them
// zero. The config file's defaults are these, so they are written once.
func DefaultConfig() Config {
	return Config{
		IdleTimeout:      2 * time.Minute,
		AnswerTimeout:    30 * time.Second,
		HandshakeTimeout: 20 * time.Second,
		ResizeInterval:   100 * time.Millisecond,
		MaxHandshakes:    128,
		EarlyDropPercent: 30,
		HandshakesPerIP:  8,
		HandshakePenalty: 30 * time.Second,
		MaxAuthTries:     3,
		SessionsPerConn:  2,
		EarlyInputBytes:  16384,
		ShellTimeout:     10 * time.Second,
		MaxWidth:         512,
		MaxHeight:        200,
		MaxInputRunes:    16384,
		Scrollback:       1000,
		FPS:              20,
		QuietFPS:         2,
		StopGrace:        2 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	def := func(v *int, dv int) {
		if *v <= 0 {
			*v = dv
		}
	}
	dur := func(v *time.Duration, dv time.Duration) {
		if *v <= 0 {
			*v = dv
		}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.AnswerTimeout == 0 {
		c.AnswerTimeout = d.AnswerTimeout
	}
	if c.HandshakePenalty == 0 {
		c.HandshakePenalty = d.HandshakePenalty
	}
	dur(&c.IdleTimeout, d.IdleTimeout)
	dur(&c.StopGrace, d.StopGrace)
	dur(&c.HandshakeTimeout, d.HandshakeTimeout)
	dur(&c.ResizeInterval, d.ResizeInterval)
	dur(&c.ShellTimeout, d.ShellTimeout)
	def(&c.MaxHandshakes, d.MaxHandshakes)
	def(&c.EarlyDropHandshakes, max(c.MaxHandshakes/2, 1))
	c.EarlyDropHandshakes = min(c.EarlyDropHandshakes, c.MaxHandshakes)
	def(&c.EarlyDropPercent, d.EarlyDropPercent)
	c.EarlyDropPercent = min(c.EarlyDropPercent, 100)
	def(&c.HandshakesPerIP, d.HandshakesPerIP)
	c.Algorithms = c.Algorithms.withDefaults()
	def(&c.MaxAuthTries, d.MaxAuthTries)
	def(&c.SessionsPerConn, d.SessionsPerConn)
	def(&c.EarlyInputBytes, d.EarlyInputBytes)
	def(&c.MaxWidth, d.MaxWidth)
	def(&c.MaxHeight, d.MaxHeight)
	def(&c.MaxInputRunes, d.MaxInputRunes)
	def(&c.Scrollback, d.Scrollback)
	def(&c.FPS, d.FPS)
	def(&c.QuietFPS, d.QuietFPS)
	return c
}

// screen is the part of the settings the terminal UI takes.
func (c Config) screen() tui.Settings {
	return tui.Settings{MaxInputRunes: c.MaxInputRunes, Scrollback: c.Scrollback, FPS: c.FPS, QuietFPS: c.QuietFPS}
}

// Server is the SSH front end of one hub.
type Server struct {
	hub    *core.Hub
	cfg    Config
	log    *slog.Logger
	srv    *ssh.Server
	signer gossh.Signer
	guard  *core.ConnGuard
	gate   *handshakeGate
	// refusals logs refused connections, a few a minute: a flood of
	// them must not flood the log.
	refusals *logguard.Sampler

	couriers *courierPool // delivers hub events to every session

	mu       sync.Mutex
	closing  bool
	starting []*startedListener // handed to Serve before Shutdown
	sessions map[*termSession]struct{}
	wg       sync.WaitGroup // running session handlers
}

// courierStuckAfter is how often the courier pool looks for runners stuck
// in one delivery, while others wait: a delivery takes tens of
// microseconds, unless its client stopped reading.
const courierStuckAfter = 5 * time.Millisecond

// New loads the host key from cfg.HostKeyDir, creating it on first use,
// and prepares a server for hub.
func New(hub *core.Hub, cfg Config) (*Server, error) {
	if hub == nil {
		return nil, errors.New("sshui: nil hub")
	}
	cfg = cfg.withDefaults()
	signer, err := loadOrCreateHostKey(cfg.HostKeyDir)
	if err != nil {
		return nil, err
	}
	guard := cfg.Guard
	if guard == nil {
		if guard, err = core.NewConnGuard(core.DefaultLimits()); err != nil {
			return nil, err
		}
	}
	cfg.Guard = guard
	s := &Server{hub: hub, cfg: cfg, log: cfg.Logger, signer: signer, sessions: map[*termSession]struct{}{}, guard: guard,
		gate: newHandshakeGate(cfg), refusals: logguard.New(cfg.Logger), couriers: newCourierPool(runtime.GOMAXPROCS(0), courierStuckAfter)}
	srv, err := wish.NewServer(
		func(srv *ssh.Server) error { srv.AddHostKey(signer); return nil },
		wish.WithAddress(cfg.Addr),
		wish.WithPublicKeyAuth(func(ssh.Context, ssh.PublicKey) bool { return true }),
		wish.WithKeyboardInteractiveAuth(func(ctx ssh.Context, _ gossh.KeyboardInteractiveChallenge) bool {
			authenticated(ctx)
			return true
		}),
		wish.WithIdleTimeout(cfg.IdleTimeout),
	)
	if err != nil {
		return nil, err
	}
	srv.ServerConfigCallback = func(ctx ssh.Context) *gossh.ServerConfig {
		return &gossh.ServerConfig{
			Config: gossh.Config{
				KeyExchanges: cfg.Algorithms.KeyExchanges,
				Ciphers:      cfg.Algorithms.Ciphers,
				MACs:         cfg.Algorithms.MACs,
			},
			MaxAuthTries: cfg.MaxAuthTries,
			// Called once the client has proved it holds the key, unlike
			// the public key handler, which also answers mere offers.
			VerifiedPublicKeyCallback: func(_ gossh.ConnMetadata, _ gossh.PublicKey, perms *gossh.Permissions, _ string) (*gossh.Permissions, error) {
				authenticated(ctx)
				return perms, nil
			},
		}
	}
	srv.Version = Banner
	srv.ChannelHandlers = map[string]ssh.ChannelHandler{"session": s.sessionChannel}
	srv.ConnCallback = s.admitConn
	s.srv = srv
	return s, nil
}

// loadOrCreateHostKey reads the ed25519 host key in dir, or creates it.
func loadOrCreateHostKey(dir string) (gossh.Signer, error) {
	if dir == "" {
		return nil, errors.New("sshui: no host key directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("host key directory: %w", err)
	}
	path := filepath.Join(dir, HostKeyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createHostKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("host key: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("host key %s is accessible by others (mode %o): chmod 600 it", path, fi.Mode().Perm())
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	return signer, nil
}

func createHostKey(path string) (gossh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating host key: %w", err)
	}
	if _, err := f.Write(pem.EncodeToMemory(block)); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing host key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("writing host key: %w", err)
	}
	return gossh.NewSignerFromKey(priv)
}

// Fingerprint is the SHA256 fingerprint of the host key, as ssh shows it.
func (s *Server) Fingerprint() string { return gossh.FingerprintSHA256(s.signer.PublicKey()) }

// HostKeyFingerprint is the fingerprint of the host key in dir, which is
// created there if missing, as New would: a node tells the others of it
// before its server exists.
func HostKeyFingerprint(dir string) (string, error) {
	signer, err := loadOrCreateHostKey(dir)
	if err != nil {
		return "", err
	}
	return gossh.FingerprintSHA256(signer.PublicKey()), nil
}

// Serve accepts connections on ln until Shutdown; it then returns nil,
// at once if Shutdown came first.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	l := &startedListener{Listener: ln, started: make(chan struct{})}
	s.starting = append(s.starting, l)
	s.mu.Unlock()
	defer l.markStarted()
	if err := s.srv.Serve(l); !errors.Is(err, ssh.ErrServerClosed) {
		return err
	}
	return nil
}

// startedListener tells when the SSH library first asks it for a
// connection: by then the library has registered it, so a Shutdown that
// waits for this no longer races with that registration (the library
// counts its listeners in a WaitGroup that Shutdown waits on, and one
// registered after Shutdown would be served forever).
type startedListener struct {
	net.Listener
	once    sync.Once
	started chan struct{}
}

func (l *startedListener) markStarted() { l.once.Do(func() { close(l.started) }) }

func (l *startedListener) Accept() (net.Conn, error) {
	l.markStarted()
	return l.Listener.Accept()
}

// ListenAndServe listens on Config.Addr and serves.
func (s *Server) ListenAndServe() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return err
	}
	return s.Serve(ln)
}

// Shutdown refuses new connections, ends every session, waits for them
// until ctx is done, then closes every connection left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	running := make([]*termSession, 0, len(s.sessions))
	for ts := range s.sessions {
		running = append(running, ts)
	}
	starting := s.starting
	s.starting = nil
	s.mu.Unlock()
	for _, l := range starting {
		<-l.started
	}

	// ssh.Server.Shutdown closes the listeners at once, then waits for
	// connections to close by themselves, which idle ones never do: it
	// only runs until the sessions are over.
	listenersCtx, closeConns := context.WithCancel(context.Background())
	listenersDone := make(chan struct{})
	go func() {
		_ = s.srv.Shutdown(listenersCtx)
		close(listenersDone)
	}()
	for _, ts := range running {
		ts.end("the server is shutting down")
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	closeConns()
	<-listenersDone
	s.srv.Close()
	if err != nil {
		select {
		case <-done:
		case <-time.After(s.cfg.StopGrace):
		}
	}
	return err
}

// register tracks a session handler unless the server is shutting down.
func (s *Server) register(ts *termSession) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	s.sessions[ts] = struct{}{}
	return true
}

func (s *Server) unregister(ts *termSession) {
	s.mu.Lock()
	delete(s.sessions, ts)
	s.mu.Unlock()
	s.wg.Done()
}

// admitConn applies the per-address limits and the handshake gate
// before the SSH handshake.
func (s *Server) admitConn(ctx ssh.Context, conn net.Conn) net.Conn {
	release, err := s.guard.Admit(conn.RemoteAddr().String())
	if err != nil {
		s.refusals.Warn("ssh connection refused", "remote", remoteIP(conn.RemoteAddr()), "why", err.Error())
		return nil
	}
	hs, why := s.gate.enter(conn)
	if hs == nil {
		release()
		s.refusals.Warn("ssh connection refused", "remote", remoteIP(conn.RemoteAddr()), "why", why)
		return nil
	}
	ctx.SetValue(handshakeKey{}, hs)
	cc := &countedConn{Conn: conn, release: release, handshake: hs, slack: deadlineSlack(s.cfg.IdleTimeout)}
	ctx.SetValue(countedConnKey{}, cc)
	return cc
}

// countedConn gives its address's slot, and its handshake slot if still
// held, back when it closes, and notes when the peer was last heard from.
type countedConn struct {
	net.Conn
	release   func()
	handshake *handshake
	heard     atomic.Int64  // when bytes last came in, in Unix nanoseconds
	deadline  atomic.Int64  // the deadline last applied, in Unix nanoseconds; 0 for none
	slack     time.Duration // how far the deadline may move later before it is applied again
}

// deadlineSlack is how far the SSH library's idle deadline may move later
// before it is applied again: an eighth of the idle timeout, at most a
// second.
func deadlineSlack(idle time.Duration) time.Duration { return min(time.Second, idle/8) }

// SetDeadline applies the deadline the SSH library sets before every
// read and write to enforce the idle timeout, unless it only moves the
// last one later by less than the slack. Each call costs the runtime a
// timer update, on every frame to every session; the idle timeout ends
// at most the slack early.
func (c *countedConn) SetDeadline(t time.Time) error {
	var next int64
	if !t.IsZero() {
		next = t.UnixNano()
	}
	if last := c.deadline.Load(); last != 0 && next >= last && next-last < int64(c.slack) {
		return nil
	}
	c.deadline.Store(next)
	return c.Conn.SetDeadline(t)
}

type countedConnKey struct{}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.heard.Store(time.Now().UnixNano())
	}
	return n, err
}

// silentFor is how long the peer has sent nothing.
func (c *countedConn) silentFor() time.Duration {
	return time.Duration(time.Now().UnixNano() - c.heard.Load())
}

func (c *countedConn) Close() error {
	c.handshake.done()
	c.release()
	return c.Conn.Close()
}

func remoteIP(addr net.Addr) string {
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

// connState is what the server tracks per SSH connection.
type connState struct {
	mu        sync.Mutex
	sessions  int
	keepalive bool
}

type connStateKey struct{}

// sessionChannel caps the sessions per connection, starts the
// connection's keepalive with its first session, then serves the channel.
func (s *Server) sessionChannel(_ *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	defer s.recoverPanic("session channel")
	s.mu.Lock()
	st, _ := ctx.Value(connStateKey{}).(*connState)
	if st == nil {
		st = &connState{}
		ctx.SetValue(connStateKey{}, st)
	}
	s.mu.Unlock()

	st.mu.Lock()
	if st.sessions >= s.cfg.SessionsPerConn {
		st.mu.Unlock()
		_ = nc.Reject(gossh.ResourceShortage, fmt.Sprintf("at most %d sessions per connection", s.cfg.SessionsPerConn))
		return
	}
	st.sessions++
	startKeepalive := !st.keepalive
	st.keepalive = true
	st.mu.Unlock()
	defer func() {
		st.mu.Lock()
		st.sessions--
		st.mu.Unlock()
	}()
	if startKeepalive {
		s.keepalive(ctx, conn)
	}
	s.serveChannel(conn, nc, ctx)
}

// keepalive asks the client for a reply when it has sent nothing for a
// third of IdleTimeout, and closes the connection when none comes: the
// idle deadline alone would either cut off quiet users or, reset by our
// own writes, keep dead peers. A client heard from lately (typing, or
// answering the terminal probe) is alive and is not asked, so a busy
// server does not ask a thousand live clients every interval. It runs on
// a timer, so no goroutine waits between probes, and the timer stops
// with the connection, so nothing of it is kept after.
func (s *Server) keepalive(ctx ssh.Context, conn *gossh.ServerConn) {
	every := s.cfg.IdleTimeout / 3
	heard, _ := ctx.Value(countedConnKey{}).(*countedConn)
	var mu sync.Mutex
	var probe *time.Timer
	mu.Lock()
	defer mu.Unlock()
	probe = time.AfterFunc(every, func() {
		defer s.recoverPanic("keepalive")
		if heard != nil {
			if quiet := heard.silentFor(); quiet < every {
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				probe.Reset(every - quiet)
				mu.Unlock()
				return
			}
		}
		silent := time.AfterFunc(every, func() {
			s.log.Info("ssh peer stopped answering keepalives", "remote", conn.RemoteAddr().String())
			conn.Close()
		})
		_, _, err := conn.SendRequest("keepalive@openssh.com", true, nil)
		if silent.Stop() && err == nil && ctx.Err() == nil {
			mu.Lock()
			probe.Reset(every)
			mu.Unlock()
		}
	})
	context.AfterFunc(ctx, func() {
		mu.Lock()
		probe.Stop()
		mu.Unlock()
	})
}

func (s *Server) recoverPanic(where string) {
	if r := recover(); r != nil {
		s.log.Error("sshui: recovered panic", "where", where, "panic", fmt.Sprint(r))
	}
}
