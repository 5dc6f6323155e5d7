package sshui

import (
	"bufio"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parley/core"
	"parley/internal/testkit"

	gossh "golang.org/x/crypto/ssh"
)

// dialRaw opens a plain TCP connection to the SSH server, closed with the test.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testkit.WaitLimit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readVersion reads the server's identification line, which it sends
// only to connections it has admitted.
func readVersion(c net.Conn) (string, error) {
	_ = c.SetReadDeadline(time.Now().Add(testkit.WaitLimit))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(line, "SSH-2.0-") {
		return "", errors.New("not an SSH identification: " + line)
	}
	return line, nil
}

// waitClosed waits until the server closes c, reading whatever it sends.
func waitClosed(t *testing.T, c net.Conn, who string) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(testkit.WaitLimit))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server kept the connection open for %s", who, testkit.WaitLimit)
	}
	return time.Since(start)
}

// releaseThenLogIn closes the connections held in the handshake and
// waits until a real client logs in again.
func releaseThenLogIn(t *testing.T, addr string, held []net.Conn) {
	t.Helper()
	for _, c := range held {
		c.Close()
	}
	testkit.Eventually(t, "a real client to get in once the half-open connections went", func() bool {
		c, err := gossh.Dial("tcp", addr, testkit.KeyLogin(t, "late"))
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// TestStalledHandshakesAreClosedAtTheDeadline opens connections that
// never send a version string or stop in the middle of the key exchange,
// and checks the server closes them at the handshake deadline, while
// users who logged in (with a key or without) stay well past it.
func TestStalledHandshakesAreClosedAtTheDeadline(t *testing.T) {
	const deadline = 700 * time.Millisecond
	ts := startServer(t, nil, func(c *Config) {
		c.HandshakeTimeout = deadline
		c.IdleTimeout = 10 * time.Minute
	})

	silent := dialRaw(t, ts.addr)
	midway := dialRaw(t, ts.addr)
	if _, err := readVersion(midway); err != nil {
		t.Fatal(err)
	}
	// A version string and the start of a key exchange packet, then nothing.
	if _, err := midway.Write([]byte("SSH-2.0-stalled\r\n\x00\x00\x01\x00\x05\x14")); err != nil {
		t.Fatal(err)
	}

	keyed := testkit.Dial(t, ts.addr, "keyed", 100, 30)
	keyed.WaitFor("#lobby")
	client, err := gossh.Dial("tcp", ts.addr, testkit.KeylessLogin("guest"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, _, _, err := openShell(client, nil); err != nil {
		t.Fatal(err)
	}

	t.Logf("silent connection closed after %s", waitClosed(t, silent, "silent client").Round(time.Millisecond))
	t.Logf("stalled key exchange closed after %s", waitClosed(t, midway, "stalled client").Round(time.Millisecond))

	time.Sleep(3 * deadline)
	keyed.TypeLine("still here")
	keyed.WaitFor("still here")
	if _, _, err := client.SendRequest("keepalive@openssh.com", true, nil); err != nil {
		t.Fatalf("the keyless user's connection was closed after logging in: %v", err)
	}
}

// TestHalfOpenConnectionsAreCapped fills the handshake gate with
// connections that never speak: beyond it new connections are closed
// before the server says anything, a real client cannot get in, and
// once the half-open ones go a real client logs in again.
func TestHalfOpenConnectionsAreCapped(t *testing.T) {
	const limit = 4
	ts := startServer(t, nil, func(c *Config) {
		c.MaxHandshakes = limit
		c.EarlyDropHandshakes = limit // no random drops before the cap
		c.HandshakeTimeout = 10 * time.Minute
		c.IdleTimeout = 10 * time.Minute
	})

	var held []net.Conn
	for i := 0; i < limit; i++ {
		c := dialRaw(t, ts.addr)
		if _, err := readVersion(c); err != nil {
			t.Fatalf("half-open connection %d within the cap: %v", i, err)
		}
		held = append(held, c)
	}
	extra := dialRaw(t, ts.addr)
	if line, err := readVersion(extra); err == nil {
		t.Fatalf("a connection beyond the cap was admitted: %q", line)
	}
	waitClosed(t, extra, "connection beyond the cap")
	if c, err := gossh.Dial("tcp", ts.addr, testkit.KeyLogin(t, "late")); err == nil {
		c.Close()
		t.Fatal("a client logged in while the handshake gate was full")
	}

	releaseThenLogIn(t, ts.addr, held)
	user := testkit.Dial(t, ts.addr, "alice", 100, 30)
	user.WaitFor("#lobby")
}

// TestAuthTriesAreBounded checks the limit on failed authentication
// attempts reaches the SSH library, with its default and when set.
func TestAuthTriesAreBounded(t *testing.T) {
	hub, err := core.NewHub(core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Stop()
	for _, tc := range []struct{ set, want int }{{0, 3}, {5, 5}} {
		srv, err := New(hub, Config{HostKeyDir: t.TempDir(), MaxAuthTries: tc.set})
		if err != nil {
			t.Fatal(err)
		}
		if got := srv.srv.ServerConfigCallback(nil).MaxAuthTries; got != tc.want {
			t.Errorf("MaxAuthTries set to %d: the SSH server allows %d tries, want %d", tc.set, got, tc.want)
		}
	}
}

// TestEarlyDropRisesFromStartToFull draws the early drops with fixed
// rolls: with fewer than start connections in the handshake none is
// dropped, however unlucky the roll; at start the chance is the rate;
// halfway to full it is halfway to certain; at full every one is
// dropped, however lucky.
func TestEarlyDropRisesFromStartToFull(t *testing.T) {
	const start, rate, full = 4, 30, 10
	var roll int
	g := newHandshakeGate(Config{MaxHandshakes: full, EarlyDropHandshakes: start, EarlyDropPercent: rate, HandshakesPerIP: full,
		HandshakeTimeout: time.Hour, dropRoll: func() int { return roll }})
	conn, _ := net.Pipe()
	defer conn.Close()
	var held []*handshake
	defer func() {
		for _, h := range held {
			h.done()
		}
	}()
	// admitted reports whether a new connection gets in with the given
	// roll; one that does stays in the handshake.
	admitted := func(r int) bool {
		roll = r
		h, why := g.enter(conn)
		ok := why == ""
		if ok {
			held = append(held, h)
		}
		return ok
	}
	for i := 0; i < start; i++ {
		if !admitted(0) {
			t.Fatalf("with %d in the handshake, below start, a connection was dropped", i)
		}
	}
	if admitted(rate - 1) {
		t.Fatalf("at start, a roll of %d (under the %d%% rate) was admitted", rate-1, rate)
	}
	if !admitted(rate) {
		t.Fatalf("at start, a roll of %d (not under the %d%% rate) was dropped", rate, rate)
	}
	for len(held) < start+(full-start)/2 {
		if !admitted(99) {
			t.Fatalf("with %d in the handshake, below full, the luckiest roll was dropped", len(held))
		}
	}
	halfway := rate + (100-rate)/2 // 65%
	if admitted(halfway - 1) {
		t.Fatalf("halfway from start to full, a roll of %d was admitted", halfway-1)
	}
	if !admitted(halfway) {
		t.Fatalf("halfway from start to full, a roll of %d was dropped", halfway)
	}
	for len(held) < full {
		if !admitted(99) {
			t.Fatalf("with %d in the handshake, below full, the luckiest roll was dropped", len(held))
		}
	}
	if admitted(99) {
		t.Fatal("at full, a connection was admitted")
	}
	held[0].done()
	held = held[1:]
	if !admitted(99) {
		t.Fatal("a slot given back was not taken again")
	}
}

// TestHandshakesAreDroppedEarly holds connections in the handshake over
// real TCP: with an unlucky roll the first one beyond start is closed
// before the server says anything, with a lucky one connections get in
// up to the cap, and a real client logs in once they go.
func TestHandshakesAreDroppedEarly(t *testing.T) {
	var lucky atomic.Bool
	ts := startServer(t, nil, func(c *Config) {
		c.MaxHandshakes = 6
		c.EarlyDropHandshakes = 3
		c.HandshakeTimeout = 10 * time.Minute
		c.dropRoll = func() int {
			if lucky.Load() {
				return 99
			}
			return 0
		}
	})
	var held []net.Conn
	hold := func() error {
		c := dialRaw(t, ts.addr)
		if _, err := readVersion(c); err != nil {
			return err
		}
		held = append(held, c)
		return nil
	}
	for i := 0; i < 3; i++ {
		if err := hold(); err != nil {
			t.Fatalf("connection %d, below start: %v", i, err)
		}
	}
	if err := hold(); err == nil {
		t.Fatal("an unlucky connection beyond start was admitted")
	}
	lucky.Store(true)
	for i := 3; i < 6; i++ {
		if err := hold(); err != nil {
			t.Fatalf("a lucky connection %d, below the cap: %v", i, err)
		}
	}
	if err := hold(); err == nil {
		t.Fatal("a connection at the cap was admitted, however lucky")
	}
	lucky.Store(false)
	releaseThenLogIn(t, ts.addr, held)
}
