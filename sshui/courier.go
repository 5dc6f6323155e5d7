package sshui

import (
	"sync"

	"parley/core"

	tea "github.com/charmbracelet/bubbletea"
)

// program is what the courier needs of a running session program.
type program struct {
	outbox  *core.Outbox
	deliver func([]core.Event) // folds a burst in and draws
	send    func(tea.Msg)      // blocks until the program takes it or has ended
	ended   <-chan struct{}
}

// courier delivers a session's hub events to its program, a whole burst
// at a time, and hands it the session's end. No goroutine waits for
// events: the outbox calls kick when some are queued, and a goroutine
// runs only while there are events to fold in and draw. The hub never
// blocks on it: while a burst is being drawn, new events wait in the
// outbox and the same goroutine takes them next. It never handles window
// changes: it may be stuck writing to a client that stopped reading, and
// the channel's requests must still be read, or the session could never
// notice the channel closing.
type courier struct {
	srv *Server
	p   program

	mu      sync.Mutex
	running bool // a goroutine is delivering; after the end, for good
	again   bool // events came while it was

	buf []core.Event // for the next burst, kept by the goroutine delivering
}

// startCourier delivers p's events from now on.
func (s *Server) startCourier(p program) {
	c := &courier{srv: s, p: p}
	p.outbox.OnReady(c.kick)
}

// kick is called by the outbox when events are waiting or the session
// has ended, in the hub's goroutine: it must not block.
func (c *courier) kick() {
	c.mu.Lock()
	if c.running {
		c.again = true
		c.mu.Unlock()
		return
	}
	c.running = true
	c.mu.Unlock()
	go c.run()
}

func (c *courier) run() {
	defer c.srv.recoverPanic("session courier")
	reserveStack(0)
	for {
		select {
		case <-c.p.outbox.Done():
			c.p.send(endedMsg(c.p.outbox.Drain()))
			return
		case <-c.p.ended:
			return
		default:
		}
		evs := c.p.outbox.DrainInto(c.buf)
		if len(evs) > 0 {
			c.p.deliver(evs)
		}
		c.buf = core.KeepEvents(evs)
		c.mu.Lock()
		if !c.again {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.again = false
		c.mu.Unlock()
	}
}

// drawStack is about the stack a delivery needs: folding events in,
// laying the frame out and writing it through the SSH library.
const drawStack = 14 << 10

// reserveStack grows a courier's stack to drawStack at once, while
// nearly nothing is on it to copy. A new goroutine starts with a small
// stack; growing it in steps in the middle of a delivery, with the whole
// call chain to copy and adjust each time, took a tenth of the server's
// CPU under load. i is 0; it only keeps the buffer from being optimised
// away.
//
//go:noinline
func reserveStack(i int) byte {
	var pad [drawStack]byte
	pad[i] = 1
	return pad[len(pad)-1-i]
}
