package sshui

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"parley/core"
	"parley/sshui/tui"

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
// at a time, and hands it the session's end. No goroutine of the session
// waits for events: the outbox calls kick when some are queued, and the
// server's couriers pool runs the delivery. The hub never blocks on it:
// while a burst is being drawn, new events wait in the outbox and are
// delivered next. It never handles window changes: it may be stuck
// writing to a client that stopped reading, and the channel's requests
// must still be read, or the session could never notice the channel
// closing.
type courier struct {
	srv *Server
	p   program

	// kicks not yet answered by a delivery: the courier is queued or
	// delivering while it is above zero, and stays so after the end.
	kicks atomic.Int64

	buf []core.Event // for the next burst, kept between deliveries
}

// startCourier delivers p's events from now on.
func (s *Server) startCourier(p program) {
	c := &courier{srv: s, p: p}
	p.outbox.OnReady(c.kick)
}

// kick is called by the outbox when events are waiting or the session
// has ended, in the hub's goroutine: it must not block.
func (c *courier) kick() {
	if c.kicks.Add(1) == 1 {
		c.srv.couriers.queue(c)
	}
}

// deliver hands the program what is waiting: one burst of events, or the
// session's end. Events that came meanwhile wait their turn behind the
// other sessions'.
func (c *courier) deliver() {
	defer c.srv.recoverPanic("session courier")
	kicks := c.kicks.Load() // the events of these are all drained below
	select {
	case <-c.p.outbox.Done():
		c.p.send(tui.EndedMsg(c.p.outbox.Drain()))
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
	if c.kicks.Add(-kicks) > 0 {
		c.srv.couriers.queue(c)
	}
}

// courierPool runs the deliveries of every session on a few goroutines,
// as many as there are processors, which start when deliveries are
// waiting and end when none are. A message to a thousand viewers is a
// thousand deliveries: a goroutine for each, started with a cold stack
// that had to be grown, cost a tenth of the server's CPU.
//
// A delivery may block, writing to a client that stopped reading, until
// that session is cut off. A runner whose delivery has not ended after
// two looks of the watchdog, stuckAfter apart, no longer counts, and
// another starts in its place; it ends once its delivery does and enough
// others are running.
type courierPool struct {
	limit      int           // runners delivering at once, stuck ones left out
	stuckAfter time.Duration // the watchdog's period

	mu       sync.Mutex
	waiting  []delivery // oldest first, from waiting[head]
	head     int
	runners  []*runner
	stuck    int
	watch    *time.Timer
	watching bool
}

// delivery is what the pool runs: a courier's turn.
type delivery interface{ deliver() }

// runner is one goroutine of the pool.
type runner struct {
	busy  bool   // delivering
	done  uint64 // deliveries begun
	seen  uint64 // done at the watchdog's last look
	stuck bool
}

func newCourierPool(limit int, stuckAfter time.Duration) *courierPool {
	p := &courierPool{limit: max(1, limit), stuckAfter: stuckAfter}
	p.watch = time.AfterFunc(time.Hour, p.look)
	p.watch.Stop()
	return p
}

// queue puts d behind the deliveries waiting; it never blocks.
func (p *courierPool) queue(d delivery) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waiting = append(p.waiting, d)
	if len(p.runners)-p.stuck < p.limit {
		p.startLocked()
	} else if !p.watching {
		p.watching = true
		p.watch.Reset(p.stuckAfter)
	}
}

func (p *courierPool) startLocked() {
	r := &runner{}
	p.runners = append(p.runners, r)
	go p.run(r)
}

// run delivers until nothing waits, or until enough other runners do.
func (p *courierPool) run(r *runner) {
	reserveStack(0)
	p.mu.Lock()
	for {
		r.busy = false
		if r.stuck {
			r.stuck = false
			p.stuck--
		}
		if p.head == len(p.waiting) || len(p.runners)-p.stuck > p.limit {
			break
		}
		d := p.waiting[p.head]
		p.waiting[p.head] = nil
		p.head++
		if p.head == len(p.waiting) {
			p.waiting, p.head = p.waiting[:0], 0
		}
		r.busy = true
		r.done++
		p.mu.Unlock()
		d.deliver()
		p.mu.Lock()
	}
	p.runners = slices.DeleteFunc(p.runners, func(o *runner) bool { return o == r })
	if len(p.runners) == 0 && cap(p.waiting) > 1024 {
		p.waiting = nil // a crowd's queue is not kept once it is done
	}
	p.mu.Unlock()
}

// look is the watchdog: while deliveries wait with every runner busy, it
// marks the runners that have been in one delivery since its last look
// as stuck and starts others in their place.
func (p *courierPool) look() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.watching = false
	for _, r := range p.runners {
		if r.busy && !r.stuck && r.done == r.seen {
			r.stuck = true
			p.stuck++
		}
		r.seen = r.done
	}
	for p.head < len(p.waiting) && len(p.runners)-p.stuck < p.limit {
		p.startLocked()
	}
	if p.head < len(p.waiting) {
		p.watching = true
		p.watch.Reset(p.stuckAfter)
	}
}

// drawStack is about the stack a delivery needs: folding events in,
// laying the frame out and writing it through the SSH library.
const drawStack = 14 << 10

// reserveStack grows a runner's stack to drawStack at once, while nearly
// nothing is on it to copy: a new goroutine starts with a small stack,
// and growing it in steps in the middle of a delivery, with the whole
// call chain to copy and adjust each time, is slow. i is 0; it only
// keeps the buffer from being optimised away.
//
//go:noinline
func reserveStack(i int) byte {
	var pad [drawStack]byte
	pad[i] = 1
	return pad[len(pad)-1-i]
}
