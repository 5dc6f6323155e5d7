package sshui

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// forwardResizes passes a session's size changes to its program, which
// started at w×h, until the program ends (runDone) or the channel closes
// (then it closes lost and cancels the program). A client may send
// thousands of window changes a second, and each one the program sees is
// a full re-layout: so only the latest size is passed, at most once per
// ResizeInterval.
func (s *Server) forwardResizes(box *windowBox, w, h int, p *tea.Program, runDone <-chan struct{}, lost chan<- struct{}, cancel func()) {
	defer s.recoverPanic("resize forwarder")
	var last time.Time
	sentW, sentH := w, h
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-runDone:
			return false
		case <-box.done:
			close(lost)
			cancel()
			return false
		case <-t.C:
			return true
		}
	}
	for {
		select {
		case <-runDone:
			return
		case <-box.done:
			close(lost)
			cancel()
			return
		case <-box.wake:
		}
		if d := s.cfg.ResizeInterval - time.Since(last); d > 0 && !wait(d) {
			return
		}
		w, h = box.size()
		if w == sentW && h == sentH {
			continue
		}
		sentW, sentH, last = w, h, time.Now()
		box.applied.Add(1)
		p.Send(tea.WindowSizeMsg{Width: w, Height: h})
	}
}
