// Package connlimit bounds the connections a listener hands to its server:
// how many may be open at once from one address and from all of them, so
// that a flood on one listener cannot take the file descriptors, memory
// and goroutines the others need. It also gives HTTP requests that carry
// a body a read deadline, which net/http's header timeout does not cover.
package connlimit

import (
	"net"
	"net/netip"
	"sync"
)

// Limits are one listener's bounds. Zero values mean no bound.
type Limits struct {
	// PerAddress caps the connections open at once from one address
	// (IPv6: one /64, which one host usually holds).
	PerAddress int
	// Total caps the connections open at once from all addresses.
	Total int
	// Exempt addresses are free of PerAddress (loopback for local
	// tests, a reverse proxy that every browser comes through); they
	// still count toward Total.
	Exempt []netip.Prefix
	// Refused, when set, is told of every connection closed unserved,
	// with the limit it hit ("per address" or "total").
	Refused func(addr netip.Addr, limit string)
}

// Listener accepts connections within its limits; the others are closed
// as soon as they are accepted. Errors of the listener it wraps go to
// the caller unchanged: net/http and the SSH server back off on
// temporary ones (such as running out of file descriptors) rather than
// spin.
type Listener struct {
	net.Listener
	limits Limits

	mu    sync.Mutex
	open  map[netip.Prefix]int
	total int
}

// Listen wraps ln with limits.
func Listen(ln net.Listener, limits Limits) *Listener {
	return &Listener{Listener: ln, limits: limits, open: map[netip.Prefix]int{}}
}

// Accept returns the next connection within the limits.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if release, ok := l.admit(c.RemoteAddr()); ok {
			return &conn{Conn: c, release: release}, nil
		}
		c.Close()
	}
}

// Open is how many connections are open now.
func (l *Listener) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total
}

func (l *Listener) admit(addr net.Addr) (release func(), ok bool) {
	ip := AddrOf(addr)
	key, counted := netip.Prefix{}, false
	if ip.IsValid() && l.limits.PerAddress > 0 && !l.exempt(ip) {
		key, counted = Prefix(ip), true
	}
	l.mu.Lock()
	refusal := ""
	switch {
	case l.limits.Total > 0 && l.total >= l.limits.Total:
		refusal = "total"
	case counted && l.open[key] >= l.limits.PerAddress:
		refusal = "per address"
	}
	if refusal != "" {
		l.mu.Unlock()
		if l.limits.Refused != nil {
			l.limits.Refused(ip, refusal)
		}
		return nil, false
	}
	l.total++
	if counted {
		l.open[key]++
	}
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.total--
		if counted {
			if l.open[key]--; l.open[key] <= 0 {
				delete(l.open, key)
			}
		}
	}, true
}

func (l *Listener) exempt(ip netip.Addr) bool {
	for _, p := range l.limits.Exempt {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Prefix is the part of ip that per-address limits count: the whole
// IPv4 address, or the /64 of an IPv6 one.
func Prefix(ip netip.Addr) netip.Prefix {
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// AddrOf is the IP address of a, invalid for a connection without one.
func AddrOf(a net.Addr) netip.Addr {
	if tcp, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(tcp.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// conn gives its slot back when it closes, once.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

// Share is the automatic cap of a listener allowed part of the process's
// file limit: files × num / den, or fallback when the limit is unknown.
// The shares of all listeners leave the rest of the limit in reserve
// for the files and connections that are not theirs.
func Share(files, num, den, fallback int) int {
	if files <= 0 {
		return fallback
	}
	return max(files*num/den, 1)
}
