package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// session is one simulated user: an SSH connection with a PTY whose output
// is read (unless it is stalled) and scanned for tokens.
type session struct {
	idx     int
	stalled bool
	run     *run

	client *ssh.Client
	ssh    *ssh.Session
	wmu    sync.Mutex
	stdin  io.Writer
	stdout io.Reader

	started   time.Time
	firstText chan struct{} // closed when the first printed character arrives
	connected time.Duration // started → first printed character; set before firstText closes
	bytes     atomic.Int64
	ended     chan struct{} // closed when the reader stops
	endedAt   atomic.Int64  // unix nanoseconds; 0 while the stream is open

	// Owned by the reader goroutine until ended is closed.
	seen       []uint64 // bitset of token ids already seen
	deliveries []delivery
}

// delivery is the first sighting of a token on a session.
type delivery struct {
	id      int32
	latency time.Duration
}

// dial connects one session and requests its PTY and shell. The whole
// exchange is bounded by the connect timeout.
func dial(r *run, idx int, stalled bool) (*session, error) {
	cfg := r.cfg
	s := &session{
		idx: idx, stalled: stalled, run: r,
		started:   time.Now(),
		firstText: make(chan struct{}),
		ended:     make(chan struct{}),
		seen:      make([]uint64, (len(r.sentAt)+63)/64),
	}
	conn, err := net.DialTimeout("tcp", cfg.Target, cfg.ConnectTimeout)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(s.started.Add(cfg.ConnectTimeout))
	var frozen *frozenConn
	if stalled {
		frozen = &frozenConn{Conn: conn, closed: make(chan struct{})}
		conn = frozen
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, cfg.Target, r.clientConfig(idx))
	if err != nil {
		conn.Close()
		return nil, err
	}
	s.client = ssh.NewClient(c, chans, reqs)
	if err := s.open(); err != nil {
		s.client.Close()
		return nil, err
	}
	conn.SetDeadline(time.Time{})
	if frozen != nil {
		frozen.freeze()
	}
	go s.read()
	return s, nil
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

func (s *session) open() error {
	cfg := s.run.cfg
	var err error
	if s.ssh, err = s.client.NewSession(); err != nil {
		return err
	}
	if err := s.ssh.RequestPty(cfg.Term, cfg.Height, cfg.Width, ssh.TerminalModes{ssh.ECHO: 1}); err != nil {
		return fmt.Errorf("pty: %w", err)
	}
	if s.stdin, err = s.ssh.StdinPipe(); err != nil {
		return err
	}
	if s.stdout, err = s.ssh.StdoutPipe(); err != nil {
		return err
	}
	if err := s.ssh.Shell(); err != nil {
		return fmt.Errorf("shell: %w", err)
	}
	return nil
}

// read consumes the output stream until it ends. A stalled session only
// waits for its connection to close.
func (s *session) read() {
	defer func() {
		s.endedAt.Store(time.Now().UnixNano())
		close(s.ended)
	}()
	if s.stalled {
		s.client.Wait()
		return
	}
	sc := newScanner(s.run.prefix, s.found, func(b []byte) { s.write(b) })
	buf := make([]byte, 8192)
	for {
		n, err := s.stdout.Read(buf)
		if n > 0 {
			s.bytes.Add(int64(n))
			sc.Write(buf[:n])
			if s.connected == 0 && sc.printed {
				s.connected = time.Since(s.started)
				close(s.firstText)
			}
		}
		if err != nil {
			return
		}
	}
}

// found records the first sighting of a token sent by another session.
func (s *session) found(id int) {
	r := s.run
	if id >= len(r.sentAt) || r.senderOf(id) == s.idx {
		return
	}
	sent := r.sentAt[id].Load()
	if sent == 0 {
		return
	}
	word, bit := id/64, uint64(1)<<(id%64)
	if s.seen[word]&bit != 0 {
		return
	}
	s.seen[word] |= bit
	s.deliveries = append(s.deliveries, delivery{int32(id), time.Duration(time.Now().UnixNano() - sent)})
	r.delivered.Add(1)
}

// write types b into the session; writes from the sender and from query
// answers never interleave.
func (s *session) write(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.stdin.Write(b)
	return err
}

// waitFirstText waits for the session's first printed character, up to
// until: a terminal user sees something, not just mode switches.
func (s *session) waitFirstText(until time.Time) error {
	select {
	case <-s.firstText:
		return nil
	case <-s.ended:
		return errors.New("connection closed before any output")
	case <-time.After(time.Until(until)):
		return errors.New("no output before the connect timeout")
	}
}
