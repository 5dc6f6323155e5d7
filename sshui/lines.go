package sshui

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"parley/core"
	"parley/sshui/tui"
)

// Line mode serves a session without a PTY (ssh -T, a pipe, a script) or
// with TERM=dumb (screen readers, simple terminals): one plain line per
// event, such as "15:04 #lobby alice: text", with notices and errors
// marked, and every input line a message or a command as in the
// terminal UI. It writes no escape sequence at all. End of input ends the
// session once its lines have gone to the core.

// lineOut writes whole lines to the client, from the event and the input
// goroutines in turn.
type lineOut struct {
	mu  sync.Mutex
	w   io.Writer
	eol string // "\r\n" on a PTY, whose terminal is raw; else "\n"
}

func (o *lineOut) line(text string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = io.WriteString(o.w, tui.SafeText(text)+o.eol)
}

// echo writes typed input back to a PTY, whose terminal does not.
func (o *lineOut) echo(b string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = io.WriteString(o.w, b)
}

// lineView turns the core's events into lines. It keeps the titles of the
// user's conversations, as events name conversations by id.
type lineView struct {
	out     *lineOut
	self    uint64
	titles  map[string]string
	closing string // why the core ended the session, when it said
}

func (v *lineView) label(id string) string {
	if t, ok := v.titles[id]; ok {
		return t
	}
	return id
}

func (v *lineView) message(msg *core.Message) {
	if msg == nil {
		return
	}
	prefix := msg.Time.Format("15:04") + " " + v.label(msg.Conv) + " "
	switch msg.Kind {
	case core.System:
		v.out.line(prefix + "-- " + msg.Text)
	case core.Action:
		v.out.line(prefix + "* " + msg.From.Name + " " + msg.Text)
	default:
		v.out.line(prefix + msg.From.Name + ": " + msg.Text)
	}
}

func (v *lineView) notice(text string) { v.out.line("notice: " + text) }

func (v *lineView) apply(ev core.Event) {
	switch ev.Kind {
	case core.EventMessage:
		v.message(ev.Msg)
	case core.EventConvOpened:
		if ev.View == nil {
			return
		}
		title := ev.View.Title
		if ev.View.Kind == core.Private {
			title = "@" + title
		}
		v.titles[ev.View.ID] = title
		for _, msg := range ev.View.History {
			v.message(msg)
		}
		if by := ev.View.OpenedBy; by.ID != 0 && by.ID != v.self {
			v.notice(fmt.Sprintf("%s opened a private chat with you: /reply TEXT answers, /switch %s makes it current", by.Name, by.Name))
		}
	case core.EventConvClosed:
		why := ""
		if ev.Text != "" {
			why = ": " + ev.Text
		}
		v.notice(v.label(ev.Conv) + " closed" + why)
		delete(v.titles, ev.Conv)
	case core.EventCurrent:
		if ev.Conv == "" {
			v.notice("you are in no conversation: /join #room or /join CODE")
		} else {
			v.notice("you are talking in " + v.label(ev.Conv))
		}
	case core.EventMemberJoined, core.EventMemberLeft:
		v.message(ev.Msg)
	case core.EventRenamed:
		if t, ok := v.titles[ev.Conv]; ok && t == "@"+ev.Text {
			v.titles[ev.Conv] = "@" + ev.Member.Name
		}
		v.message(ev.Msg)
	case core.EventSelf:
		v.notice("you are now called " + ev.Member.Name)
	case core.EventInfo:
		v.out.line("info: " + ev.Text)
		for _, l := range ev.Lines {
			v.out.line("  " + l)
		}
	case core.EventNotice:
		v.notice(ev.Text)
	case core.EventMissed:
		v.notice(fmt.Sprintf("you missed %d updates while your connection was behind", ev.N))
	case core.EventClosing:
		v.notice(ev.Text)
		v.closing = ev.Text
	}
}

// errQuit is Ctrl-C typed in line mode on a PTY.
var errQuit = errors.New("quit")

// lineReader reads input lines of at most max characters. On a PTY it
// echoes what is typed, handles backspace, and reads Ctrl-C as quit and
// Ctrl-D on an empty line as the end of input.
type lineReader struct {
	r      *bufio.Reader
	max    int
	echo   *lineOut // nil without a PTY
	skipLF bool     // the last line ended with \r: a \n right after it is part of it
}

// next returns the next line, and whether it was longer than max (its
// text is then dropped). The last line needs no line end.
func (lr *lineReader) next() (line string, tooLong bool, err error) {
	var buf []byte
	runes := 0
	for {
		b, err := lr.r.ReadByte()
		if err != nil {
			if len(buf) > 0 || tooLong {
				return string(buf), tooLong, nil
			}
			return "", false, err
		}
		if lr.skipLF {
			lr.skipLF = false
			if b == '\n' {
				continue
			}
		}
		switch {
		case b == '\r' || b == '\n':
			lr.skipLF = b == '\r'
			if lr.echo != nil {
				lr.echo.echo("\r\n")
			}
			return string(buf), tooLong, nil
		case lr.echo != nil && (b == 0x7f || b == '\b'):
			if n := len(buf); n > 0 {
				_, size := utf8.DecodeLastRune(buf)
				buf = buf[:n-size]
				runes--
				lr.echo.echo("\b \b")
			}
		case lr.echo != nil && b == 0x03:
			return "", false, errQuit
		case lr.echo != nil && b == 0x04 && len(buf) == 0:
			return "", false, io.EOF
		case b < 0x20 && b != '\t':
			// Other control keys mean nothing here.
		case tooLong:
		default:
			if utf8.RuneStart(b) {
				runes++
			}
			if runes > lr.max {
				buf, tooLong = nil, true
				continue
			}
			buf = append(buf, b)
			if lr.echo != nil {
				lr.echo.echo(string(b))
			}
		}
	}
}

// runLines serves the session in line mode until its input ends or the
// core ends it, and returns why it ended, for the others to read.
func (s *Server) runLines(ts *termSession, cs *core.Session, pty bool) string {
	out := &lineOut{w: ts.sess, eol: "\n"}
	if pty {
		out.eol = "\r\n"
	}
	view := &lineView{out: out, self: cs.ID(), titles: map[string]string{}}
	out.line(fmt.Sprintf("Parley: you are %s, your code is %s; lines you type are messages or /commands (/help)", cs.Name(), cs.Code()))
	for _, l := range strings.Split(cs.Welcome(), "\n") {
		if strings.TrimSpace(l) != "" {
			view.notice(l)
		}
	}

	// Events are written by their own goroutine, so a client that stops
	// reading holds up only it: its outbox fills and the core cuts it off.
	// The input's errors go through it too, after the events before them;
	// a nil error asks it to write what waits and stop.
	errs := make(chan error)
	written := make(chan struct{})
	go func() {
		defer close(written)
		defer s.recoverPanic("line mode events")
		ob := cs.Outbox()
		for {
			select {
			case <-ob.Ready():
			case err := <-errs:
				for _, ev := range ob.Drain() {
					view.apply(ev)
				}
				if err == nil {
					return
				}
				out.line("error: " + err.Error())
				continue
			case <-ob.Done():
				for _, ev := range ob.Drain() {
					view.apply(ev)
				}
				return
			}
			for _, ev := range ob.Drain() {
				view.apply(ev)
			}
		}
	}()
	report := func(err error) bool {
		select {
		case errs <- err:
			return true
		case <-written:
			return false
		}
	}

	read := make(chan string, 1)
	go func() {
		defer s.recoverPanic("line mode input")
		var echo *lineOut // a PTY's terminal does not echo
		if pty {
			echo = out
		}
		read <- s.readLines(ts, cs, report, echo)
	}()
	select {
	case reason := <-read:
		// The lines still waiting, then the end; a client that stopped
		// reading has its channel closed after StopGrace.
		stuck := time.AfterFunc(s.cfg.StopGrace, func() { ts.sess.Close() })
		report(nil)
		<-written
		stuck.Stop()
		return reason
	case <-written:
	}
	return ts.endedBecause(view.closing)
}

// readLines passes each input line to the core, reporting why one was
// refused, until the input ends or nothing more is reported.
func (s *Server) readLines(ts *termSession, cs *core.Session, report func(error) bool, echo *lineOut) string {
	lr := &lineReader{r: bufio.NewReader(ts.sess), max: s.cfg.MaxInputRunes, echo: echo}
	for {
		line, tooLong, err := lr.next()
		switch {
		case tooLong:
			if !report(fmt.Errorf("line too long: at most %d characters; it was not sent", s.cfg.MaxInputRunes)) {
				return "quit"
			}
		case strings.TrimSpace(line) != "":
			if err := cs.Input(line); err != nil && !report(err) {
				return "quit"
			}
		}
		if err != nil {
			return "quit"
		}
	}
}
