package sshui

import (
	"parley/core"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/ssh"
)

// program is what the pump needs of a running Bubble Tea program.
type program struct {
	outbox *core.Outbox
	send   func(tea.Msg) // blocks until the program takes it or has ended
	ended  <-chan struct{}
}

// pump is the one goroutine a terminal session keeps of its own besides
// its program. From the PTY request on, it drains the window changes into
// box; once the program runs, it also carries the session's hub events to
// it, a whole burst per message. The hub never blocks on it: while the
// program is busy, events wait in the outbox and arrive as the next burst.
func (s *Server) pump(box *windowBox, winch <-chan ssh.Window) {
	defer s.recoverPanic("session pump")
	defer box.close()
	var p program
	var ready, done <-chan struct{}
	for {
		select {
		case win, ok := <-winch:
			if !ok {
				return
			}
			box.set(clampWindow(win.Width, win.Height, s.cfg.MaxWidth, s.cfg.MaxHeight))
		case p = <-box.begin:
			ready, done = p.outbox.Ready(), p.outbox.Done()
		case <-ready:
			p.send(eventsMsg(p.outbox.Drain()))
		case <-done:
			p.send(endedMsg(p.outbox.Drain()))
			ready, done = nil, nil
		case <-p.ended:
			ready, done, p.ended = nil, nil, nil
		}
	}
}
