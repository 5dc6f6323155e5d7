package main

import (
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshLink is a session's SSH connection with a PTY, whose output is read
// as a terminal reads it (unless the session is stalled) and scanned for
// tokens.
type sshLink struct {
	s      *session
	client *ssh.Client
	ssh    *ssh.Session
	wmu    sync.Mutex
	stdin  io.Writer
	stdout io.Reader
}

// dialSSH connects one session and requests its PTY and shell. The whole
// exchange is bounded by the connect timeout.
func dialSSH(s *session) (*sshLink, error) {
	r := s.run
	cfg := r.cfg
	target := cfg.Targets[s.node]
	conn, err := net.DialTimeout("tcp", target, cfg.ConnectTimeout)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(s.started.Add(cfg.ConnectTimeout))
	var frozen *frozenConn
	if s.stalled {
		frozen = &frozenConn{Conn: conn, closed: make(chan struct{})}
		conn = frozen
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, target, r.clientConfig(s.idx))
	if err != nil {
		conn.Close()
		return nil, err
	}
	l := &sshLink{s: s, client: ssh.NewClient(c, chans, reqs)}
	if err := l.open(); err != nil {
		l.client.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	if frozen != nil {
		frozen.freeze()
	}
	go l.read()
	return l, nil
}

// stalledReadBuffer is the socket receive buffer of a stalled session,
// small so that the server feels the stall within a short run.
const stalledReadBuffer = 4096

// frozenConn is the connection of a stalled session. Once frozen it stops
// reading the socket altogether, like a client whose process is suspended:
// the server's writes back up into its own buffers, not into the tool's
// SSH channel window.
type frozenConn struct {
	net.Conn
	frozen atomic.Bool
	once   sync.Once
	closed chan struct{}
}

func (c *frozenConn) freeze() {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		tc.SetReadBuffer(stalledReadBuffer)
	}
	c.frozen.Store(true)
}

func (c *frozenConn) Read(b []byte) (int, error) {
	if c.frozen.Load() {
		<-c.closed
		return 0, net.ErrClosed
	}
	return c.Conn.Read(b)
}

func (c *frozenConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (l *sshLink) open() error {
	cfg := l.s.run.cfg
	var err error
	if l.ssh, err = l.client.NewSession(); err != nil {
		return err
	}
	if err := l.ssh.RequestPty(cfg.Term, cfg.Height, cfg.Width, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		return fmt.Errorf("pty: %w", err)
	}
	if l.stdin, err = l.ssh.StdinPipe(); err != nil {
		return err
	}
	if l.stdout, err = l.ssh.StdoutPipe(); err != nil {
		return err
	}
	if err := l.ssh.Shell(); err != nil {
		return fmt.Errorf("shell: %w", err)
	}
	return nil
}

// read consumes the output stream until it ends. A stalled session only
// waits for its connection to close.
func (l *sshLink) read() {
	s := l.s
	if s.stalled {
		s.stop(l.client.Wait())
		return
	}
	sc := newScanner(s.run.prefix, s.found, func(b []byte) { l.write(b) })
	buf := make([]byte, 8192)
	for {
		n, err := l.stdout.Read(buf)
		if n > 0 {
			s.bytes.Add(int64(n))
			sc.Write(buf[:n])
			if sc.printed {
				s.sawText()
			}
		}
		if err != nil {
			s.stop(err)
			return
		}
	}
}

// send types line and Enter.
func (l *sshLink) send(line string) error { return l.write([]byte(line + "\r")) }

// write types b into the session; writes from the sender and from query
// answers never interleave.
func (l *sshLink) write(b []byte) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	_, err := l.stdin.Write(b)
	return err
}

func (l *sshLink) close() { l.client.Close() }
