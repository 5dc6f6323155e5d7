package sshui

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/charmbracelet/ssh"

	"parley/internal/connlimit"
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
//
// A few addresses must not fill it, as OpenSSH's PerSourceMaxStartups
// and PerSourcePenalties see to: one address (IPv6: one /64) holds at
// most perAddr slots; an address whose connection ran into the deadline
// gets no new slot for penalty, longer each time it does so again; the
// random drops spare an address that holds no slot; and a connection
// from such an address that finds the gate full takes the slot of the
// oldest connection of the address holding the most. A user from an
// address outside the flood so gets in at once.
type handshakeGate struct {
	timeout     time.Duration
	start, full int
	rate        int        // percent dropped at start
	roll        func() int // uniform in [0, 100)
	perAddr     int
	penalty     time.Duration // 0: none
	exempt      func(netip.Addr) bool
	now         func() time.Time

	mu      sync.Mutex
	pending int
	byAddr  map[netip.Prefix]*addrHandshakes
	enters  int // for pruning byAddr now and then
}

// addrHandshakes is what the gate knows of one address.
type addrHandshakes struct {
	pending []*handshake // oldest first
	strikes int          // handshakes that ran into the deadline in a row
	until   time.Time    // no new handshake before this
}

// maxPenaltyStrikes bounds how far a penalty grows: ten times the base.
const maxPenaltyStrikes = 10

func newHandshakeGate(cfg Config) *handshakeGate {
	roll := cfg.dropRoll
	if roll == nil {
		roll = func() int { return rand.IntN(100) }
	}
	exempt := func(netip.Addr) bool { return false }
	if cfg.Guard != nil {
		exempt = cfg.Guard.Exempt
	}
	return &handshakeGate{timeout: cfg.HandshakeTimeout, start: cfg.EarlyDropHandshakes, full: cfg.MaxHandshakes,
		rate: cfg.EarlyDropPercent, roll: roll, perAddr: cfg.HandshakesPerIP, penalty: max(cfg.HandshakePenalty, 0),
		exempt: exempt, now: time.Now, byAddr: map[netip.Prefix]*addrHandshakes{}}
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

// Why a connection was refused a handshake.
const (
	refusedGateFull = "too many connections in the handshake (dropped early or at the cap)"
	refusedPerAddr  = "too many connections in the handshake from this address"
	refusedPenalty  = "this address keeps holding handshakes to the deadline"
)

// enter takes a slot for conn and arms its deadline, or says why the
// connection is refused. The returned handshake gives the slot back
// once the peer is authenticated or the connection closes.
func (g *handshakeGate) enter(conn net.Conn) (*handshake, string) {
	ip := connlimit.AddrOf(conn.RemoteAddr())
	exempt := ip.IsValid() && g.exempt(ip)
	key := netip.Prefix{}
	if ip.IsValid() {
		key = connlimit.Prefix(ip)
	}
	g.mu.Lock()
	now := g.now()
	if g.enters++; g.enters%1024 == 0 {
		g.pruneLocked(now)
	}
	a := g.byAddr[key]
	if a == nil {
		a = &addrHandshakes{}
		g.byAddr[key] = a
	}
	var evict *handshake
	switch holds := len(a.pending); {
	case !exempt && now.Before(a.until):
		g.mu.Unlock()
		return nil, refusedPenalty
	case !exempt && holds >= g.perAddr:
		g.mu.Unlock()
		return nil, refusedPerAddr
	case holds > 0:
		if p := g.dropPercent(g.pending); p > 0 && (p >= 100 || g.roll() < p) {
			g.mu.Unlock()
			return nil, refusedGateFull
		}
	case g.pending >= g.full:
		if evict = g.heaviestLocked(); evict == nil {
			g.mu.Unlock()
			return nil, refusedGateFull
		}
		evict.leaveLocked()
	}
	h := &handshake{gate: g, addr: a, key: key, conn: conn}
	// An absolute deadline, not conn.SetDeadline: the SSH library moves
	// the connection's deadline on every read to apply the idle timeout.
	h.timer = time.AfterFunc(g.timeout, h.expire)
	a.pending = append(a.pending, h)
	g.pending++
	g.mu.Unlock()
	if evict != nil {
		evict.conn.Close()
	}
	return h, ""
}

// heaviestLocked is the oldest handshake of the address holding the
// most, if it holds more than one.
func (g *handshakeGate) heaviestLocked() *handshake {
	var top *addrHandshakes
	for _, a := range g.byAddr {
		if top == nil || len(a.pending) > len(top.pending) {
			top = a
		}
	}
	if top == nil || len(top.pending) < 2 {
		return nil
	}
	return top.pending[0]
}

// pruneLocked forgets addresses that hold nothing and owe nothing.
func (g *handshakeGate) pruneLocked(now time.Time) {
	for k, a := range g.byAddr {
		if len(a.pending) == 0 && !now.Before(a.until) {
			delete(g.byAddr, k)
		}
	}
}

// handshake is one connection's slot in the gate.
type handshake struct {
	gate  *handshakeGate
	addr  *addrHandshakes
	key   netip.Prefix
	conn  net.Conn
	timer *time.Timer
	once  sync.Once
}

// done lifts the deadline and frees the slot; later calls do nothing.
func (h *handshake) done() {
	h.gate.mu.Lock()
	h.leaveLocked()
	h.gate.mu.Unlock()
}

// authenticated ends the handshake of a peer that logged in: its
// address's record of deadlines run into is wiped.
func (h *handshake) authenticated() {
	h.gate.mu.Lock()
	h.addr.strikes = 0
	h.leaveLocked()
	h.gate.mu.Unlock()
}

// expire closes a connection that ran into the deadline and penalises
// its address.
func (h *handshake) expire() {
	g := h.gate
	g.mu.Lock()
	if g.penalty > 0 {
		h.addr.strikes = min(h.addr.strikes+1, maxPenaltyStrikes)
		h.addr.until = g.now().Add(time.Duration(h.addr.strikes) * g.penalty)
	}
	g.mu.Unlock()
	h.conn.Close()
}

func (h *handshake) leaveLocked() {
	h.once.Do(func() {
		h.timer.Stop()
		g, a := h.gate, h.addr
		g.pending--
		for i, p := range a.pending {
			if p == h {
				a.pending = append(a.pending[:i], a.pending[i+1:]...)
				break
			}
		}
		if len(a.pending) == 0 && !g.now().Before(a.until) && a.strikes == 0 {
			delete(g.byAddr, h.key)
		}
	})
}

type handshakeKey struct{}

// authenticated ends the handshake of the connection ctx belongs to.
func authenticated(ctx ssh.Context) {
	if h, ok := ctx.Value(handshakeKey{}).(*handshake); ok {
		h.authenticated()
	}
}
