package sshui

import (
	"net"
	"sync"
	"time"

	"github.com/charmbracelet/ssh"
)

// handshakeGate bounds the connections that have not finished the SSH
// handshake: at most cap of them at once, each for at most timeout. A
// peer that opens connections and never speaks, or stops in the middle
// of the key exchange, so holds one slot for a bounded time and cannot
// starve the real clients of the server's memory and goroutines.
type handshakeGate struct {
	slots   chan struct{}
	timeout time.Duration
}

func newHandshakeGate(capacity int, timeout time.Duration) *handshakeGate {
	return &handshakeGate{slots: make(chan struct{}, capacity), timeout: timeout}
}

// enter takes a slot for conn and arms its deadline, or reports false
// when every slot is taken. The returned handshake gives the slot back
// once the peer is authenticated or the connection closes.
func (g *handshakeGate) enter(conn net.Conn) (*handshake, bool) {
	select {
	case g.slots <- struct{}{}:
	default:
		return nil, false
	}
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
		<-h.gate.slots
	})
}

type handshakeKey struct{}

// authenticated ends the handshake of the connection ctx belongs to.
func authenticated(ctx ssh.Context) {
	if h, ok := ctx.Value(handshakeKey{}).(*handshake); ok {
		h.done()
	}
}
