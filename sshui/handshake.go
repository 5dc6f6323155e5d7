package sshui

import (
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/charmbracelet/ssh"
)

// handshakeGate bounds the connections that have not finished the SSH
// handshake: at most full of them at once, each for at most timeout. A
// peer that opens connections and never speaks, or stops in the middle
// of the key exchange, so holds one slot for a bounded time and cannot
// starve the real clients of the server's memory and goroutines.
//
// Before the hard cap it drops new connections at random, like OpenSSH's
// MaxStartups start:rate:full: none while fewer than start are in the
// handshake, rate percent of them at start, rising linearly to all of
// them at full. A flood then gets refused early and gradually, while a
// real client still has a fair chance to get in during one.
type handshakeGate struct {
	timeout     time.Duration
	start, full int
	rate        int        // percent dropped at start
	roll        func() int // uniform in [0, 100)

	mu      sync.Mutex
	pending int
}

func newHandshakeGate(cfg Config) *handshakeGate {
	roll := cfg.dropRoll
	if roll == nil {
		roll = func() int { return rand.IntN(100) }
	}
	return &handshakeGate{timeout: cfg.HandshakeTimeout, start: cfg.EarlyDropHandshakes, full: cfg.MaxHandshakes,
		rate: cfg.EarlyDropPercent, roll: roll}
}

// dropPercent is the chance, in percent, that a new connection is
// refused while pending others are in the handshake.
func (g *handshakeGate) dropPercent(pending int) int {
	switch {
	case pending >= g.full:
		return 100
	case pending < g.start:
		return 0
	}
	return g.rate + (100-g.rate)*(pending-g.start)/(g.full-g.start)
}

// enter takes a slot for conn and arms its deadline, or reports false
// when the connection is dropped. The returned handshake gives the slot
// back once the peer is authenticated or the connection closes.
func (g *handshakeGate) enter(conn net.Conn) (*handshake, bool) {
	g.mu.Lock()
	if p := g.dropPercent(g.pending); p > 0 && (p >= 100 || g.roll() < p) {
		g.mu.Unlock()
		return nil, false
	}
	g.pending++
	g.mu.Unlock()
	h := &handshake{gate: g}
	// An absolute deadline, not conn.SetDeadline: the SSH library moves
	// the connection's deadline on every read to apply the idle timeout.
	h.timer = time.AfterFunc(g.timeout, func() { conn.Close() })
	return h, true
}

// handshake is one connection's slot in the gate.
type handshake struct {
	gate  *handshakeGate
	timer *time.Timer
	once  sync.Once
}

// done lifts the deadline and frees the slot; later calls do nothing.
func (h *handshake) done() {
	h.once.Do(func() {
		h.timer.Stop()
		h.gate.mu.Lock()
		h.gate.pending--
		h.gate.mu.Unlock()
	})
}

type handshakeKey struct{}

// authenticated ends the handshake of the connection ctx belongs to.
func authenticated(ctx ssh.Context) {
	if h, ok := ctx.Value(handshakeKey{}).(*handshake); ok {
		h.done()
	}
}
