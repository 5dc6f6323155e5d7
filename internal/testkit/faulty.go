package testkit

import (
	"net"
	"sync"
	"syscall"
	"testing"
)

// FaultyLink is a TCP proxy between one client and the server that can
// fail the way networks do: stop forwarding while both ends stay open
// (a half-open connection), or reset the server's side.
type FaultyLink struct {
	ln         net.Listener
	mu         sync.Mutex
	blackholed bool
	frozen     chan struct{} // closed by Freeze
	freezeOnce sync.Once
	toServer   net.Conn
	fromClient net.Conn
}

// NewFaultyLink proxies one connection to target, closed with the test.
func NewFaultyLink(t testing.TB, target string) *FaultyLink {
	t.Helper()
	l := &FaultyLink{ln: Listen(t), frozen: make(chan struct{})}
	t.Cleanup(func() {
		l.ln.Close()
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, c := range []net.Conn{l.toServer, l.fromClient} {
			if c != nil {
				c.Close()
			}
		}
	})
	go func() {
		client, err := l.ln.Accept()
		if err != nil {
			return
		}
		server, err := thinDialer.Dial("tcp", target)
		if err != nil {
			client.Close()
			return
		}
		l.mu.Lock()
		l.fromClient, l.toServer = client, server
		l.mu.Unlock()
		go l.pipe(server, client, nil)
		go l.pipe(client, server, l.frozen)
	}()
	return l
}

// thinDialer asks for a small socket receive buffer before connecting, so
// the window the server sees is small too and a frozen link backs the
// server's writes up after kilobytes, not megabytes.
var thinDialer = net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
	var err error
	if cerr := c.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<10)
	}); cerr != nil {
		return cerr
	}
	return err
}}

// Addr is where the client connects.
func (l *FaultyLink) Addr() string { return l.ln.Addr().String() }

// pipe copies src to dst until src ends; once blackholed it reads on
// but forwards nothing. Once freeze is closed it stops reading (a nil
// freeze never is).
func (l *FaultyLink) pipe(dst, src net.Conn, freeze <-chan struct{}) {
	buf := make([]byte, 32<<10)
	for {
		select {
		case <-freeze:
			return // src stays open and unread; the cleanup closes it
		default:
		}
		n, err := src.Read(buf)
		l.mu.Lock()
		drop := l.blackholed
		l.mu.Unlock()
		if n > 0 && !drop {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// Blackhole stops forwarding in both directions, closing nothing.
func (l *FaultyLink) Blackhole() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.blackholed = true
}

// Freeze stops reading from the server, closing nothing: like a client
// whose process is suspended, the server's writes back up in its own
// socket buffers rather than in an SSH or WebSocket window.
func (l *FaultyLink) Freeze() {
	l.freezeOnce.Do(func() { close(l.frozen) })
}

// Reset drops the server's side with a TCP reset: no goodbye, no FIN.
func (l *FaultyLink) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if tc, ok := l.toServer.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	l.toServer.Close()
}
