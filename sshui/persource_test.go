package sshui

import (
	"net"
	"testing"
	"time"

	"parley/core"
	"parley/internal/testkit"

	gossh "golang.org/x/crypto/ssh"
)

// dialRawFrom opens a TCP connection to addr from the loopback address
// ip, closed with the test.
func dialRawFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: testkit.WaitLimit}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// logInFrom logs in from the loopback address ip and reports the error.
func logInFrom(t *testing.T, ip, addr, user string) error {
	t.Helper()
	c := dialRawFrom(t, ip, addr)
	conn, chans, reqs, err := gossh.NewClientConn(c, addr, testkit.KeyLogin(t, user))
	if err != nil {
		return err
	}
	gossh.NewClient(conn, chans, reqs).Close()
	return nil
}

// A handful of addresses holding silent connections cannot fill the
// handshake gate for everyone: each holds at most its share, a user from
// another address logs in at the first try while they hold it, and once
// their connections ran into the deadline those addresses are refused at
// once for the penalty while the user logs in again.
func TestFewAddressesCannotHoldTheHandshakeGate(t *testing.T) {
	limits := core.DefaultLimits()
	limits.ExemptIPs = nil
	guard, err := core.NewConnGuard(limits)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, nil, func(c *Config) {
		c.Guard = guard
		c.MaxHandshakes = 12
		c.EarlyDropHandshakes = 6
		c.HandshakesPerIP = 3
		c.HandshakeTimeout = 3 * time.Second // the victim's own handshake must fit in it on a busy machine
		c.HandshakePenalty = time.Hour
	})

	// Six addresses try to hold six silent connections each.
	attackers := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"}
	var held []net.Conn
	admitted := map[string]int{}
	for _, ip := range attackers {
		for range 6 {
			c := dialRawFrom(t, ip, ts.addr)
			if _, err := readVersion(c); err == nil {
				admitted[ip]++
				held = append(held, c)
			}
		}
	}
	for ip, n := range admitted {
		if n > 3 {
			t.Fatalf("%s holds %d handshakes, more than its 3", ip, n)
		}
	}
	if err := logInFrom(t, "127.0.0.9", ts.addr, "victim"); err != nil {
		t.Fatalf("a user from another address was locked out during the flood: %v", err)
	}

	for i, c := range held {
		if i == 0 {
			continue // possibly closed to make room for the victim already
		}
		waitClosed(t, c, "a silent connection")
	}
	for _, ip := range attackers {
		c := dialRawFrom(t, ip, ts.addr)
		if line, err := readVersion(c); err == nil {
			t.Fatalf("%s, which held handshakes to the deadline, got a new one: %q", ip, line)
		}
	}
	if err := logInFrom(t, "127.0.0.9", ts.addr, "victim"); err != nil {
		t.Fatalf("the user from another address cannot log in again: %v", err)
	}
}

// The penalty grows each time an address runs into the deadline again,
// up to ten times the base, and logging in wipes it.
func TestHandshakePenaltyGrowsAndLoginClearsIt(t *testing.T) {
	g := newHandshakeGate(Config{MaxHandshakes: 10, EarlyDropHandshakes: 10, HandshakesPerIP: 2,
		HandshakeTimeout: time.Hour, HandshakePenalty: time.Minute})
	now := time.Unix(1000, 0)
	g.now = func() time.Time { return now }
	conn := func() net.Conn {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		return &addrConn{Conn: a, remote: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1}}
	}
	for strike := 1; strike <= 12; strike++ {
		h, why := g.enter(conn())
		if why != "" {
			t.Fatalf("strike %d: refused: %s", strike, why)
		}
		h.expire()
		h.done()
		want := time.Duration(min(strike, 10)) * time.Minute
		now = now.Add(want - time.Second)
		if _, why := g.enter(conn()); why != refusedPenalty {
			t.Fatalf("strike %d: a connection within the %s penalty: %q", strike, want, why)
		}
		now = now.Add(time.Second)
	}
	h, _ := g.enter(conn())
	h.authenticated()
	h, _ = g.enter(conn())
	h.expire()
	h.done()
	now = now.Add(time.Minute)
	if _, why := g.enter(conn()); why != "" {
		t.Fatalf("after a login the penalty did not start again from the base: %q", why)
	}
}

// addrConn is a connection with a chosen remote address.
type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c *addrConn) RemoteAddr() net.Addr { return c.remote }
