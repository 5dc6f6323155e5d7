package sshui

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	gossh "golang.org/x/crypto/ssh"

	"parley/internal/testkit"
)

// checkNoLeaks waits until every user has left the hub and every
// goroutine started after ignore has ended.
func checkNoLeaks(t *testing.T, ts *testServer, ignore goleak.Option) {
	t.Helper()
	testkit.Eventually(t, "every user to leave the hub", func() bool { n, _, _ := ts.hub.Counts(); return n == 0 })
	// The test terminals' pumps of emulator replies end only with the test.
	clientSide := goleak.IgnoreAnyFunction(testkit.ReplyPump)
	testkit.NoLeaks(t, ignore, clientSide)
}

// TestKilledClientIsCleanedUp kills (SIGKILL) a client process while it
// is typing as fast as it can: the others are told it left, and nothing
// of its session keeps running.
func TestKilledClientIsCleanedUp(t *testing.T) {
	ts := startServer(t, nil, nil)
	ignore := goleak.IgnoreCurrent()
	alice := joinLobby(t, ts, "alice")[0]

	child := exec.Command(os.Args[0], "-test.run=^TestTypingClient$")
	child.Env = append(os.Environ(), "PARLEY_TYPING_ADDR="+ts.addr)
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	if err := waitLine(stdout, "typing"); err != nil {
		_ = child.Process.Kill()
		_ = child.Wait()
		t.Fatal(err)
	}
	alice.WaitFor("typist joined")
	time.Sleep(200 * time.Millisecond) // keys in flight
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()

	alice.WaitFor("typist left (connection lost)")
	alice.WaitFor("#lobby · 1 member")
	alice.Close()
	checkNoLeaks(t, ts, ignore)
}

// TestTypingClient is the child process of TestKilledClientIsCleanedUp:
// it logs in as typist and types without pause until it is killed.
func TestTypingClient(t *testing.T) {
	addr := os.Getenv("PARLEY_TYPING_ADDR")
	if addr == "" {
		t.Skip("the client side of TestKilledClientIsCleanedUp")
	}
	client, err := gossh.Dial("tcp", addr, testkit.KeylessLogin("typist"))
	if err != nil {
		t.Fatal(err)
	}
	_, stdin, stdout, err := openShell(client, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	fmt.Println("typing")
	for {
		// A word, then Ctrl-U so the line never fills up.
		if _, err := io.WriteString(stdin, "keys keep coming \x15"); err != nil {
			t.Fatal(err)
		}
	}
}

// TestResetConnectionIsCleanedUp drops a user's connection with a TCP
// reset, no SSH goodbye: the others are told, nothing keeps running.
func TestResetConnectionIsCleanedUp(t *testing.T) {
	ts := startServer(t, nil, nil)
	ignore := goleak.IgnoreCurrent()
	alice := joinLobby(t, ts, "alice")[0]
	link := testkit.NewFaultyLink(t, ts.addr)
	bob := testkit.Dial(t, link.Addr(), "bob", 100, 30)
	alice.WaitFor("#lobby · 2 members")
	bob.WaitFor("#lobby · 2 members")

	link.Reset()
	alice.WaitFor("bob left (connection lost)")
	alice.WaitFor("#lobby · 1 member")
	bob.Close()
	alice.Close()
	checkNoLeaks(t, ts, ignore)
}

// TestHalfOpenConnectionIsCleanedUp makes a user's connection go silent
// in both directions without closing, in a busy room whose traffic keeps
// the server writing to it: the keepalives find out, the others are told
// within a few idle timeouts, and nothing keeps running.
func TestHalfOpenConnectionIsCleanedUp(t *testing.T) {
	const idle = 1500 * time.Millisecond
	ts := startServer(t, nil, func(c *Config) { c.IdleTimeout = idle })
	ignore := goleak.IgnoreCurrent()
	alice := joinLobby(t, ts, "alice")[0]
	link := testkit.NewFaultyLink(t, ts.addr)
	bob := testkit.Dial(t, link.Addr(), "bob", 100, 30)
	alice.WaitFor("#lobby · 2 members")
	bob.WaitFor("#lobby · 2 members")

	link.Blackhole()
	start := time.Now()
	stopTalking := make(chan struct{})
	talked := make(chan struct{})
	go func() {
		defer close(talked)
		for i := 0; ; i++ {
			select {
			case <-stopTalking:
				return
			case <-time.After(700 * time.Millisecond):
			}
			alice.Type(fmt.Sprintf("busy room %d\r", i))
		}
	}()
	alice.WaitFor("bob left (connection lost)")
	took := time.Since(start)
	close(stopTalking)
	<-talked
	t.Logf("the half-open connection was noticed after %s (idle timeout %s)", took.Round(10*time.Millisecond), idle)
	// The bound is the defence itself, and generous: the keepalives find
	// a dead peer within about two thirds of the idle timeout. Without
	// them the room's traffic keeps moving the idle deadline, and only
	// the SSH channel's window, filling up after many seconds, stops it.
	if limit := 5 * idle; took > limit {
		t.Fatalf("the half-open connection stayed for %s, more than %s", took, limit)
	}
	alice.WaitFor("#lobby · 1 member")
	bob.Close()
	alice.Close()
	checkNoLeaks(t, ts, ignore)
}

// A client heard from lately is alive: only clients that have sent
// nothing for a third of the idle timeout are asked for a keepalive, so a
// busy server does not ask every live client every interval.
func TestKeepalivesGoOnlyToSilentClients(t *testing.T) {
	const idle = 600 * time.Millisecond
	ts := startServer(t, nil, func(c *Config) { c.IdleTimeout = idle })
	dial := func(name string) (*gossh.Client, *atomic.Int32) {
		t.Helper()
		nc, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		conn, chans, reqs, err := gossh.NewClientConn(nc, ts.addr, testkit.KeylessLogin(name))
		if err != nil {
			t.Fatal(err)
		}
		asked := new(atomic.Int32)
		counted := make(chan *gossh.Request)
		go func() {
			defer close(counted)
			for req := range reqs {
				if req.Type == "keepalive@openssh.com" {
					asked.Add(1)
				}
				counted <- req
			}
		}()
		client := gossh.NewClient(conn, chans, counted)
		t.Cleanup(func() { client.Close() })
		return client, asked
	}
	talker, talkerAsked := dial("talker")
	quiet, quietAsked := dial("quiet")
	_, keys, talkerOut, err := openShell(talker, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, quietOut, err := openShell(quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, talkerOut)
	go io.Copy(io.Discard, quietOut)

	for end := time.Now().Add(10 * idle / 3); time.Now().Before(end); time.Sleep(idle / 12) {
		if _, err := io.WriteString(keys, "x\x7f"); err != nil {
			t.Fatal(err)
		}
	}
	q, k := quietAsked.Load(), talkerAsked.Load()
	t.Logf("over 10 keepalive intervals the silent client was asked %d times, the typing one %d", q, k)
	if q < 5 || k > q/3 {
		t.Fatalf("the silent client was asked %d times and the typing one %d; want the silent one asked every interval and the typing one hardly ever", q, k)
	}
}
