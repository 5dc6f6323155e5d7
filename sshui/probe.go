package sshui

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// askCursor asks the terminal where its cursor is (DSR 6); it answers
// with a cursor position report, ESC [ row ; col R.
const askCursor = "\x1b[6n"

// terminalProbe tells a terminal that reads its output from one that
// may not. A client whose SSH layer keeps answering keepalives while the
// program behind it reads nothing (a hung terminal, a script that never
// reads its pipe) looks alive to the connection, and the SSH window lets
// it swallow megabytes first; but a question written with the output is
// answered only once the terminal has read what came before it. Now and
// then a frame carries one. An answer that is overdue is only a hint
// (scripts with ssh -tt and some web terminals read but never answer):
// lost decides, from the channel's own flow control, what it means, and
// says whether it ended the session. Until an answer comes, no more
// questions are asked and lost is asked again every timeout.
type terminalProbe struct {
	timeout time.Duration // for an answer; questions go out at most this often
	lost    func() bool   // called while an answer is overdue; true: the session is cut off

	mu      sync.Mutex
	waiting *time.Timer   // set while a question is unanswered
	asked   time.Time     // when the last question went out
	settled chan struct{} // closed on the answer settle waits for
	quiet   bool          // an answer is overdue: no more questions until it comes
	stopped bool
}

func newTerminalProbe(timeout time.Duration, lost func() bool) *terminalProbe {
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
	if p.stopped || p.quiet || p.waiting != nil || now.Sub(p.asked) < p.timeout {
		return false
	}
	p.asked = now
	p.waiting = time.AfterFunc(p.timeout, p.overdue)
	return true
}

func (p *terminalProbe) overdue() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.quiet = true
	p.mu.Unlock()
	if p.lost() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.stopped && p.quiet {
		p.waiting = time.AfterFunc(p.timeout, p.overdue)
	}
}

// answered records a cursor position report from the terminal.
func (p *terminalProbe) answered() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waiting != nil {
		p.waiting.Stop()
		p.waiting = nil
	}
	p.quiet = false
	if p.settled != nil {
		close(p.settled)
		p.settled = nil
	}
}

// settle asks no more questions and waits, at most d, for the answer to
// one still out: the session is ending, and an answer that came after it
// would land at the user's shell prompt.
func (p *terminalProbe) settle(d time.Duration) {
	if p == nil {
		return
	}
	p.mu.Lock()
	out := p.waiting != nil && !p.stopped && !p.quiet
	p.stopped = true
	var settled chan struct{}
	if out {
		settled = make(chan struct{})
		p.settled = settled
	}
	p.mu.Unlock()
	if !out {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-settled:
	case <-t.C:
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
	return p.waiting != nil && !p.quiet && (!p.stopped || p.settled != nil)
}

// writeWatch notes when a write to the client began that has not yet
// returned. The SSH channel holds a write once the client's window is
// full: the channel's own evidence that the client stopped reading.
type writeWatch struct {
	w     io.Writer
	since atomic.Int64 // unix nanoseconds; 0 while no write is under way
}

func (ww *writeWatch) Write(b []byte) (int, error) {
	ww.since.Store(time.Now().UnixNano())
	defer ww.since.Store(0)
	return ww.w.Write(b)
}

// heldFor says how long the write under way has been held, 0 if none is.
func (ww *writeWatch) heldFor(now time.Time) time.Duration {
	since := ww.since.Load()
	if since == 0 {
		return 0
	}
	return now.Sub(time.Unix(0, since))
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

// Question is the question the next frame ends with, "" for none (see
// ask); it lets the screen carry the probe's questions.
func (p *terminalProbe) Question(now time.Time) string {
	if p.ask(now) {
		return askCursor
	}
	return ""
}
