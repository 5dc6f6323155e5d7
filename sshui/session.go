package sshui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"parley/core"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/ssh"
	"github.com/muesli/termenv"
	gossh "golang.org/x/crypto/ssh"
)

// NeedsTerminal is the one line a session without a PTY gets.
const NeedsTerminal = "Parley needs an interactive terminal: use ssh -t"

// windowBox keeps the latest terminal size of one session. The PTY
// handler drains the session's window-change channel into it, so a
// resize sent before the shell never blocks the request loop, and a
// closed channel ends the session instead of spinning.
type windowBox struct {
	term string
	mu   sync.Mutex
	w, h int
	wake chan struct{} // one slot: a size change is waiting
	// applied counts the sizes passed to the program, for the log.
	applied atomic.Int64
	done    chan struct{} // closed when the session channel closes
}

func (b *windowBox) size() (w, h int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w, b.h
}

// clampWindow bounds a client's announced size; zero means unknown.
func clampWindow(w, h, maxW, maxH int) (int, int) {
	if w <= 0 || h <= 0 {
		return 80, 24
	}
	return min(w, maxW), min(h, maxH)
}

// ptyHandler wraps the emulated-PTY handler: it records the session's
// terminal and keeps its size current until the channel closes.
func (s *Server) ptyHandler(emulate ssh.PtyHandler) ssh.PtyHandler {
	return func(ctx ssh.Context, sess ssh.Session, pty ssh.Pty) (func() error, error) {
		closer, err := emulate(ctx, sess, pty)
		if err != nil {
			return nil, err
		}
		// Pty() is safe here: this runs in the session's request loop.
		_, winch, _ := sess.Pty()
		box := &windowBox{term: pty.Term, wake: make(chan struct{}, 1), done: make(chan struct{})}
		box.w, box.h = clampWindow(pty.Window.Width, pty.Window.Height, s.cfg.MaxWidth, s.cfg.MaxHeight)
		s.windows.Store(sess, box)
		go func() {
			defer s.recoverPanic("window changes")
			defer close(box.done)
			defer s.windows.Delete(sess)
			for win := range winch {
				w, h := clampWindow(win.Width, win.Height, s.cfg.MaxWidth, s.cfg.MaxHeight)
				box.mu.Lock()
				changed := w != box.w || h != box.h
				box.w, box.h = w, h
				box.mu.Unlock()
				if changed {
					select {
					case box.wake <- struct{}{}:
					default:
					}
				}
			}
		}()
		return closer, nil
	}
}

func (s *Server) middleware(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		func() {
			defer s.recoverPanic("session")
			s.serveSession(sess)
		}()
		next(sess)
	}
}

// termSession is one running terminal session.
type termSession struct {
	srv  *Server
	sess ssh.Session

	mu       sync.Mutex
	core     *core.Session
	finished bool   // the handler is done: nothing left to end
	ended    bool   // the session was told to end
	goodbye  string // shown once the program has ended
	timers   []*time.Timer
	cancel   func()
}

// end makes the session finish, showing reason: the core's session is
// closed, so the program sees its outbox end and quits by itself; if it
// is stuck (a client that stopped reading), the channel and then the
// connection are closed after StopGrace each.
func (ts *termSession) end(reason string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.ended || ts.finished {
		return
	}
	ts.ended = true
	ts.goodbye = reason
	if ts.core != nil {
		cs := ts.core
		go cs.Close(reason)
	}
	grace := ts.srv.cfg.StopGrace
	ts.timers = append(ts.timers, time.AfterFunc(grace, func() {
		ts.mu.Lock()
		cancel := ts.cancel
		ts.mu.Unlock()
		if cancel != nil {
			cancel()
		}
		ts.sess.Close()
	}), time.AfterFunc(2*grace, func() {
		if c, ok := ts.sess.Context().Value(ssh.ContextKeyConn).(gossh.Conn); ok {
			c.Close()
		}
	}))
}

// finish marks the handler done and stops pending escalations, so a late
// Disconnect from the core cannot close a connection that has moved on.
func (ts *termSession) finish() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.finished = true
	for _, t := range ts.timers {
		t.Stop()
	}
}

func (s *Server) serveSession(sess ssh.Session) {
	v, ok := s.windows.LoadAndDelete(sess)
	if !ok {
		fmt.Fprintln(sess, NeedsTerminal)
		_ = sess.Exit(1)
		return
	}
	box := v.(*windowBox)
	ts := &termSession{srv: s, sess: sess}
	if !s.register(ts) {
		fmt.Fprint(sess, "Parley is shutting down.\r\n")
		return
	}
	defer s.unregister(ts)
	defer ts.finish()

	// The server sets the key only from the method that authenticated the
	// connection, never from one a client merely offered.
	keyFP := ""
	if pk := sess.PublicKey(); pk != nil {
		keyFP = gossh.FingerprintSHA256(pk)
	}
	cs, err := s.hub.Connect(core.ConnectInfo{LoginName: sess.User(), Transport: "ssh", IP: remoteIP(sess.RemoteAddr()), Fingerprint: keyFP, Disconnect: ts.end})
	if err != nil {
		if errors.Is(err, core.ErrBanned) {
			s.log.Info("ssh session refused: banned", "remote", sess.RemoteAddr().String(), "key", keyFP)
		}
		fmt.Fprintf(sess, "Parley: %s\r\n", err)
		_ = sess.Exit(1)
		return
	}
	// Closed on every way out, a recovered panic too, so that the user
	// never stays behind in the hub; once closed, closing does nothing.
	defer cs.Close("connection lost")
	ts.mu.Lock()
	ts.core = cs
	ended := ts.ended
	ts.mu.Unlock()
	if ended {
		cs.Close(ts.goodbye)
	}
	start := time.Now()
	s.log.Info("ssh session started", "remote", sess.RemoteAddr().String(), "login", sess.User(), "key", keyFP, "term", box.term)

	reason := s.runProgram(ts, cs, box)
	cs.Close(reason)
	ts.mu.Lock()
	goodbye := ts.goodbye
	ts.mu.Unlock()
	if reason == "quit" && goodbye == "" {
		goodbye = "bye"
	}
	if goodbye != "" && reason != "connection lost" {
		fmt.Fprintf(sess, "\r\nParley: %s\r\n", goodbye)
	}
	s.log.Info("ssh session ended", "remote", sess.RemoteAddr().String(), "reason", reason, "resizes", box.applied.Load(), "duration", time.Since(start).Round(time.Second).String())
}

// runProgram runs the Bubble Tea program of one session and returns why
// it ended, for the others to read.
func (s *Server) runProgram(ts *termSession, cs *core.Session, box *windowBox) string {
	ctx, cancel := context.WithCancel(ts.sess.Context())
	defer cancel()
	ts.mu.Lock()
	ts.cancel = cancel
	ts.mu.Unlock()

	out := &termWriter{w: ts.sess}
	r := newRenderer(box.term, ts.sess.Environ())
	w, h := box.size()
	m := newModel(cs, s.cfg, newStyles(r), out, ctx.Done(), w, h)
	p := tea.NewProgram(m,
		tea.WithInput(&inputGuard{r: ts.sess}),
		tea.WithoutBracketedPaste(),
		tea.WithOutput(out),
		tea.WithContext(ctx),
		tea.WithoutSignalHandler(),
		tea.WithFPS(s.cfg.FPS),
		tea.WithAltScreen(),
		tea.WithFilter(func(_ tea.Model, msg tea.Msg) tea.Msg {
			if _, ok := msg.(tea.SuspendMsg); ok {
				return tea.ResumeMsg{}
			}
			return msg
		}),
	)

	lost := make(chan struct{})
	runDone := make(chan struct{})
	go s.forwardResizes(box, w, h, p, runDone, lost, cancel)
	_, err := p.Run()
	close(runDone)
	select {
	case <-lost:
		return "connection lost"
	default:
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		s.log.Warn("ssh session program failed", "err", err)
	}
	if m.quit {
		return "quit"
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.goodbye != "" {
		return ts.goodbye
	}
	return "connection lost"
}

// termWriter is the program's output. It lets the model ring the bell
// right after a whole frame, never inside one.
type termWriter struct {
	mu   sync.Mutex
	w    io.Writer
	bell atomic.Bool
}

func (t *termWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, err := t.w.Write(p)
	if err == nil && t.bell.Swap(false) {
		_, err = io.WriteString(t.w, "\a")
	}
	return n, err
}

// Ring asks for a terminal bell after the next frame.
func (t *termWriter) Ring() { t.bell.Store(true) }

// newRenderer builds a per-session lipgloss renderer whose colour profile
// comes from the client's TERM. It never queries the terminal: the
// background is assumed dark and the profile is set explicitly.
func newRenderer(term string, environ []string) *lipgloss.Renderer {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(profileFor(term, environ))
	r.SetHasDarkBackground(true)
	return r
}

// profileFor maps TERM (and COLORTERM when a client forwards it) to a
// colour profile. SSH forwards TERM only, so most terminals land on 256
// colours, which the palette is designed for.
func profileFor(term string, environ []string) termenv.Profile {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "COLORTERM="); ok && (v == "truecolor" || v == "24bit") {
			return termenv.TrueColor
		}
	}
	switch {
	case term == "" || term == "dumb":
		return termenv.Ascii
	case strings.Contains(term, "truecolor") || strings.Contains(term, "direct"):
		return termenv.TrueColor
	case term == "linux" || term == "ansi" || strings.HasPrefix(term, "vt"):
		return termenv.ANSI
	default:
		return termenv.ANSI256
	}
}
