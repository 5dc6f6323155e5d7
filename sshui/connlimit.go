package sshui

import (
	"fmt"
	"net"
	"sync"
	"time"
)

// connLimiter caps the connections of each client address: how many may
// be open at once and how many may start within a minute. Exempt
// addresses (loopback by default) are not limited, so local load tests
// and a local reverse proxy work.
type connLimiter struct {
	maxOpen, perMinute int
	exempt             map[string]bool

	mu     sync.Mutex
	open   map[string]int
	recent map[string][]time.Time // connection starts within the last minute
}

func newConnLimiter(maxOpen, perMinute int, exempt []string) *connLimiter {
	l := &connLimiter{maxOpen: maxOpen, perMinute: perMinute, exempt: map[string]bool{}, open: map[string]int{}, recent: map[string][]time.Time{}}
	for _, ip := range exempt {
		l.exempt[ip] = true
	}
	return l
}

// sweepAt bounds the memory kept for addresses that stopped connecting.
const sweepAt = 10000

// admit counts a new connection from ip, or says why it is refused.
func (l *connLimiter) admit(ip string, now time.Time) error {
	if l.exempt[ip] {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.recent) > sweepAt {
		for other := range l.recent {
			l.prune(other, now)
		}
	}
	l.prune(ip, now)
	if l.open[ip] >= l.maxOpen {
		return fmt.Errorf("%d connections open", l.open[ip])
	}
	if len(l.recent[ip]) >= l.perMinute {
		return fmt.Errorf("%d new connections within a minute", len(l.recent[ip]))
	}
	l.open[ip]++
	l.recent[ip] = append(l.recent[ip], now)
	return nil
}

func (l *connLimiter) prune(ip string, now time.Time) {
	times := l.recent[ip]
	i := 0
	for i < len(times) && now.Sub(times[i]) >= time.Minute {
		i++
	}
	if i == len(times) {
		delete(l.recent, ip)
		return
	}
	l.recent[ip] = times[i:]
}

func (l *connLimiter) release(ip string) {
	if l.exempt[ip] {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

// countedConn releases its address's slot once, when it closes.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

func remoteIP(addr net.Addr) string {
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}
