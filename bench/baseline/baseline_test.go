package baseline

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/ssh"
)

func start(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return srv, ln.Addr().String()
}

type client struct {
	conn  *ssh.Client
	stdin io.Writer
	out   *bufio.Reader
}

// open connects a session with a PTY and a shell, as a terminal would.
func open(t *testing.T, addr string) *client {
	t.Helper()
	conn, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User:            "tester",
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	sess, err := conn.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm", 24, 80, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	c := &client{conn: conn, stdin: stdin, out: bufio.NewReader(stdout)}
	if got := c.line(t); got != "connected" {
		t.Fatalf("greeting = %q", got)
	}
	return c
}

// line reads one line of output, failing after a generous bound.
func (c *client) line(t *testing.T) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		s, _ := c.out.ReadString('\n')
		got <- s
	}()
	select {
	case s := <-got:
		return strings.TrimRight(s, "\r\n")
	case <-time.After(10 * time.Second):
		t.Fatal("no line within 10s")
		return ""
	}
}

func TestLineReachesEverySession(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv, addr := start(t, DefaultConfig())
	a, b := open(t, addr), open(t, addr)
	if n := srv.Sessions(); n != 2 {
		t.Fatalf("Sessions() = %d, want 2", n)
	}
	fmt.Fprint(a.stdin, "hello\r\rsecond line\n")
	for _, c := range []*client{a, b} {
		for _, want := range []string{"hello", "second line"} {
			if got := c.line(t); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
	}
	a.conn.Close()
	b.conn.Close()
	srv.Close()
}

func TestLongLineIsCut(t *testing.T) {
	cfg := DefaultConfig()
	cfg.LineBytes = 8
	_, addr := start(t, cfg)
	a := open(t, addr)
	fmt.Fprint(a.stdin, "0123456789abcdef\rnext\r")
	for _, want := range []string{"01234567", "next"} {
		if got := a.line(t); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

// A session that never reads its output fills its SSH window, then its
// queue; from then on its lines are dropped, and the others are not held up.
func TestStalledReaderDoesNotStallOthers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QueueLines = 16
	srv, addr := start(t, cfg)
	open(t, addr) // stalled: never read again
	sender, reader := open(t, addr), open(t, addr)
	const lines = 3000 // 3 MB: more than an SSH channel window and the queue
	long := strings.Repeat("x", 990)
	go io.Copy(io.Discard, sender.out)
	for i := range lines {
		// One line at a time, so the reading session never falls behind.
		if _, err := fmt.Fprintf(sender.stdin, "%04d%s\r", i, long); err != nil {
			t.Fatal(err)
		}
		if got, want := reader.line(t), fmt.Sprintf("%04d%s", i, long); got != want {
			t.Fatalf("line %d: got %.10q…, want %.10q…", i, got, want)
		}
	}
	if srv.Dropped() == 0 {
		t.Fatal("the stalled session's lines were not dropped")
	}
}

func TestNewRejectsBadLimits(t *testing.T) {
	cfg := DefaultConfig()
	cfg.QueueLines = 0
	if _, err := New(cfg); err == nil {
		t.Fatal("New accepted a zero queue")
	}
}
