package sshui

import (
	"parley/core"

	tea "github.com/charmbracelet/bubbletea"
)

// program is what the pump needs of a running session program.
type program struct {
	outbox  *core.Outbox
	deliver func([]core.Event) // folds a burst in and draws
	send    func(tea.Msg)      // blocks until the program takes it or has ended
	ended   <-chan struct{}
}

// pump delivers a session's hub events to its program, a whole burst at
// a time, and hands it the session's end. The hub never blocks on it:
// while it is busy, events wait in the outbox and arrive as the next
// burst. It never drains window changes: it may be stuck writing to a
// client that stopped reading, and the SSH library must still be able to
// hand over requests, or it could never notice the connection closing.
func (s *Server) pump(p program) {
	defer s.recoverPanic("session pump")
	for {
		select {
		case <-p.outbox.Ready():
			p.deliver(p.outbox.Drain())
		case <-p.outbox.Done():
			p.send(endedMsg(p.outbox.Drain()))
			return
		case <-p.ended:
			return
		}
	}
}
