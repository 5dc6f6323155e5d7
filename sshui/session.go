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
	"unicode/utf8"

	"parley/core"
	"parley/sshui/tui"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"
	gossh "golang.org/x/crypto/ssh"
)

// clampWindow bounds a client's announced size; zero means unknown.
func clampWindow(w, h, maxW, maxH int) (int, int) {
	if w <= 0 || h <= 0 {
		return 80, 24
	}
	return min(w, maxW), min(h, maxH)
}

// termSession is one running terminal session.
type termSession struct {
	srv  *Server
	sess *shellChannel

	mu       sync.Mutex
	core     *core.Session
	finished bool   // the handler is done: nothing left to end
	ended    bool   // the session was told to end
	goodbye  string // shown once the program has ended
	why      string // what the others read of the end
	timers   []*time.Timer
	cancel   func()
}

// end makes the session finish, showing reason: the core's session is
// closed, so the program sees its outbox end and quits by itself; if it
// is stuck (a client that stopped reading), the channel and then the
// connection are closed after StopGrace each.
func (ts *termSession) end(reason string) { ts.stop(reason, reason, (*core.Session).Close) }

// cutOff ends a session whose client stopped reading its output, which
// the core counts with the sessions that fell behind. The user is told
// toUser; the others read toOthers, which speaks of them in the third
// person.
func (ts *termSession) cutOff(toUser, toOthers string) {
	ts.stop(toUser, toOthers, (*core.Session).CloseSlow)
}

func (ts *termSession) stop(toUser, toOthers string, closeCore func(*core.Session, string)) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.ended || ts.finished {
		return
	}
	ts.ended = true
	ts.goodbye, ts.why = toUser, toOthers
	if ts.core != nil {
		cs := ts.core
		go closeCore(cs, toOthers)
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
		ts.sess.conn.Close()
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

// serveSession runs the chat on one session channel; box is nil when the
// client asked for no terminal. Without one, or with TERM=dumb, the chat
// runs in line mode.
func (s *Server) serveSession(sess *shellChannel, box *windowBox) {
	lines := box == nil || box.term == "dumb"
	eol, term := "\r\n", ""
	if box == nil {
		eol = "\n" // no terminal to turn \n into a new line
	} else {
		term = box.term
	}
	ts := &termSession{srv: s, sess: sess}
	if !s.register(ts) {
		fmt.Fprint(sess, "Parley is shutting down."+eol)
		return
	}
	defer s.unregister(ts)
	defer ts.finish()

	keyFP := ""
	if pk := sess.PublicKey(); pk != nil {
		keyFP = gossh.FingerprintSHA256(pk)
	}
	cs, err := s.hub.Connect(core.ConnectInfo{LoginName: sess.User(), Transport: core.SSH, IP: remoteIP(sess.RemoteAddr()), Fingerprint: keyFP, Disconnect: ts.end})
	if err != nil {
		if errors.Is(err, core.ErrBanned) {
			s.log.Info("ssh session refused: banned", "remote", sess.RemoteAddr().String(), "key", keyFP)
		}
		fmt.Fprintf(sess, "Parley: %s%s", err, eol)
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
		cs.Close(ts.why)
	}
	start := time.Now()
	s.log.Info("ssh session started", "remote", sess.RemoteAddr().String(), "login", sess.User(), "key", keyFP, "term", term, "line_mode", lines)

	var reason string
	if lines {
		reason = s.runLines(ts, cs, box != nil)
	} else {
		reason = s.runProgram(ts, cs, box)
	}
	cs.Close(reason)
	ts.mu.Lock()
	goodbye := ts.goodbye
	ts.mu.Unlock()
	switch {
	case goodbye != "":
	case reason == "quit":
		goodbye = "bye"
	case reason != "connection lost":
		goodbye = reason
	}
	if goodbye != "" && reason != "connection lost" {
		if !lines {
			fmt.Fprint(sess, eol) // below the screen
		}
		fmt.Fprintf(sess, "Parley: %s%s", goodbye, eol)
	}
	resizes := int64(0)
	if box != nil {
		resizes = box.applied.Load()
	}
	s.log.Info("ssh session ended", "remote", sess.RemoteAddr().String(), "reason", reason, "resizes", resizes, "duration", time.Since(start).Round(time.Second).String())
}

// runProgram runs the Bubble Tea program of one session and returns why
// it ended, for the others to read.
func (s *Server) runProgram(ts *termSession, cs *core.Session, box *windowBox) string {
	ctx, cancel := context.WithCancel(ts.sess.ctx)
	defer cancel()
	ts.mu.Lock()
	ts.cancel = cancel
	ts.mu.Unlock()

	// The model draws through its own screen, which writes only what
	// changed and only when something did; Bubble Tea's renderer would
	// repaint whole lines on a timer, in every session, all the time.
	out := &writeWatch{w: ts.sess}
	probe := s.probeFor(ts, out)
	defer probe.stop()
	w, h := box.size()
	term := tui.Terminal{Out: out, Width: w, Height: h, Profile: profileFor(box.term, ts.sess.Environ())}
	if probe != nil {
		term.Asker = probe
	}
	var p *tea.Program
	send := func(msg tea.Msg) { p.Send(msg) }
	m := tui.New(cs, s.cfg.screen(), term, send)
	p = tea.NewProgram(m,
		tea.WithInput(&inputGuard{r: ts.sess, probe: probe, paste: func(pm tui.PasteMsg) { p.Send(pm) }, pasteMax: s.cfg.MaxInputRunes * utf8.UTFMax}),
		tea.WithoutBracketedPaste(),
		tea.WithOutput(io.Discard),
		tea.WithoutRenderer(),
		tea.WithContext(ctx),
		tea.WithoutSignalHandler(),
		tea.WithFilter(func(_ tea.Model, msg tea.Msg) tea.Msg {
			if _, ok := msg.(tea.SuspendMsg); ok {
				return tea.ResumeMsg{}
			}
			return msg
		}),
	)

	var lost atomic.Bool
	if !box.attach(w, h, func(w, h int) { p.Send(tea.WindowSizeMsg{Width: w, Height: h}) }, func() {
		lost.Store(true)
		cancel()
	}) {
		return "connection lost"
	}
	s.startCourier(program{outbox: cs.Outbox(), deliver: m.Deliver, send: send, ended: ctx.Done()})
	_, err := p.Run()
	quit, closing := m.Finish()
	probe.settle(min(s.cfg.AnswerTimeout, settleLimit))
	box.detach()
	if lost.Load() {
		return "connection lost"
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		s.log.Warn("ssh session program failed", "err", err)
	}
	if quit {
		return "quit"
	}
	return ts.endedBecause(closing)
}

// endedBecause says why a session the core or the connection ended did
// end: what the session was told, else closing (the core's word, which
// can arrive before its Disconnect call does), else a lost connection.
func (ts *termSession) endedBecause(closing string) string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	switch {
	case ts.goodbye != "":
		return ts.goodbye
	case closing != "":
		return closing
	}
	return "connection lost"
}

// StoppedReading is why, as the others read it, a session whose terminal
// stopped answering the probe was cut off; stoppedReadingYou is what its
// user reads.
const (
	StoppedReading    = "too slow: their terminal stopped reading"
	stoppedReadingYou = "too slow: your terminal stopped reading"
)

// probeFor gives a session its terminal probe, or nil when it is off.
// Every terminal shown the screen is asked, whatever its TERM says: one
// that could not answer could not show the screen either, which moves its
// cursor with the same kind of sequences. (TERM=dumb gets line mode,
// which asks nothing.) An overdue answer cuts the session off only when
// the channel holds a write to it (out): a client that reads but does not
// answer stays, and is asked no more, but is checked again every
// AnswerTimeout until it answers.
func (s *Server) probeFor(ts *termSession, out *writeWatch) *terminalProbe {
	if s.cfg.AnswerTimeout <= 0 {
		return nil
	}
	told := false // that the terminal does not answer
	return newTerminalProbe(s.cfg.AnswerTimeout, func() bool {
		remote := ts.sess.RemoteAddr().String()
		if out.heldFor(time.Now()) < heldWrite {
			if !told {
				told = true
				s.log.Info("ssh terminal does not answer but reads: no more questions", "remote", remote, "timeout", s.cfg.AnswerTimeout.String())
			}
			return false
		}
		s.log.Info("ssh terminal stopped reading", "remote", remote, "timeout", s.cfg.AnswerTimeout.String())
		ts.cutOff(stoppedReadingYou, StoppedReading)
		return true
	})
}

// heldWrite is how long the channel must have held a write to a client
// whose terminal left a question unanswered to show it stopped reading;
// a reading client's writes return in far less.
const heldWrite = time.Second

// settleLimit bounds the wait, at the end of a session, for the answer
// to a question still out.
const settleLimit = 2 * time.Second

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
