package sshui

import (
	"sync"
	"time"
)

// askCursor asks the terminal where its cursor is (DSR 6); it answers
// with a cursor position report, ESC [ row ; col R.
const askCursor = "\x1b[6n"

// terminalProbe tells a terminal that reads its output from one that
// does not. A client whose SSH layer keeps answering keepalives while the
// program behind it reads nothing (a hung terminal, a script that never
// reads its pipe) looks alive to the connection, and the SSH window lets
// it swallow megabytes first; but a question written with the output is
// answered only once the terminal has read what came before it. Now and
// then a frame carries one, and a session whose terminal does not answer
// in time is cut off.
type terminalProbe struct {
	timeout time.Duration // for an answer; questions go out at most this often
	lost    func()        // called once, when an answer is overdue

	mu      sync.Mutex
	waiting *time.Timer // set while a question is unanswered
	asked   time.Time   // when the last question went out
	stopped bool
}

func newTerminalProbe(timeout time.Duration, lost func()) *terminalProbe {
	return &terminalProbe{timeout: timeout, lost: lost}
}

// ask says whether the output about to be written should carry a
// question: none is unanswered and the last went out long enough ago.
// A true answer starts the clock.
func (p *terminalProbe) ask(now time.Time) bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped || p.waiting != nil || now.Sub(p.asked) < p.timeout {
		return false
	}
	p.asked = now
	p.waiting = time.AfterFunc(p.timeout, p.overdue)
	return true
}

func (p *terminalProbe) overdue() {
	p.mu.Lock()
	lost := !p.stopped
	p.stopped = true
	p.mu.Unlock()
	if lost {
		p.lost()
	}
}

// answered records a cursor position report from the terminal.
func (p *terminalProbe) answered() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waiting != nil && p.waiting.Stop() {
		p.waiting = nil
	}
}

// awaiting says whether a question is unanswered, so that the input
// reader holds back what may be the first bytes of its answer.
func (p *terminalProbe) awaiting() bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waiting != nil && !p.stopped
}

// stop ends the probing with the session.
func (p *terminalProbe) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	if p.waiting != nil {
		p.waiting.Stop()
	}
}
