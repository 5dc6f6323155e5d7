// Package baseline is a bare SSH chat server with no user interface: every
// line typed in any session is written to every session. It measures what
// SSH and fan-out alone cost on a machine, so that Parley's figures can be
// judged as a ratio to it, measured in the same run.
package baseline

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// Config holds the server's limits.
type Config struct {
	// QueueLines bounds the lines waiting to be written to one session;
	// past it, lines for that session are dropped and counted, so one slow
	// reader never stalls the others.
	QueueLines int
	// LineBytes bounds one typed line; the rest of a longer line is dropped.
	LineBytes int
	// HandshakeTimeout bounds the SSH handshake of a new connection.
	HandshakeTimeout time.Duration
	// Greeting is written to a session when its shell starts, so clients
	// can measure how long connecting takes up to the first output.
	Greeting string
}

// DefaultConfig returns limits suited to load tests.
func DefaultConfig() Config {
	return Config{QueueLines: 1024, LineBytes: 1024, HandshakeTimeout: 10 * time.Second, Greeting: "connected\r\n"}
}

// Server is the baseline server. Its methods are safe for concurrent use.
type Server struct {
	cfg    Config
	sshCfg *ssh.ServerConfig

	mu        sync.Mutex
	sessions  map[*session]struct{}
	conns     map[net.Conn]struct{}
	listeners map[net.Listener]struct{}
	closed    bool
	wg        sync.WaitGroup

	dropped atomic.Uint64
}

// New creates a server with a fresh in-memory ed25519 host key that accepts
// every client without authentication.
func New(cfg Config) (*Server, error) {
	if cfg.QueueLines < 1 || cfg.LineBytes < 1 || cfg.HandshakeTimeout <= 0 {
		return nil, errors.New("baseline: queue_lines, line_bytes and handshake_timeout must be positive")
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("baseline: host key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, fmt.Errorf("baseline: host key: %w", err)
	}
	sshCfg := &ssh.ServerConfig{NoClientAuth: true}
	sshCfg.AddHostKey(signer)
	return &Server{
		cfg:       cfg,
		sshCfg:    sshCfg,
		sessions:  map[*session]struct{}{},
		conns:     map[net.Conn]struct{}{},
		listeners: map[net.Listener]struct{}{},
	}, nil
}

// Dropped is the number of lines dropped for sessions whose queue was full.
func (s *Server) Dropped() uint64 { return s.dropped.Load() }

// Sessions is the number of sessions with a running shell.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// Serve accepts connections on ln until Close. It returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return errors.New("baseline: server closed")
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		if !s.track(c) {
			c.Close()
			return nil
		}
		go func() {
			defer s.wg.Done()
			defer s.untrack(c)
			s.handleConn(c)
		}()
	}
}

// Close stops every listener and connection and waits for their goroutines.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

func (s *Server) handleConn(c net.Conn) {
	c.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))
	conn, chans, reqs, err := ssh.NewServerConn(c, s.sshCfg)
	if err != nil {
		return
	}
	c.SetDeadline(time.Time{})
	defer conn.Close()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	defer wg.Wait()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "only session channels are served")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		wg.Go(func() { s.handleChannel(ch, chReqs) })
	}
}

// handleChannel answers a session's requests and starts its shell once.
func (s *Server) handleChannel(ch ssh.Channel, reqs <-chan *ssh.Request) {
	var shell sync.WaitGroup
	defer shell.Wait()
	defer ch.Close()
	started := false
	for req := range reqs {
		switch req.Type {
		case "pty-req", "window-change", "env":
			req.Reply(req.WantReply, nil)
		case "shell":
			req.Reply(!started, nil)
			if !started {
				started = true
				shell.Go(func() { s.runShell(ch) })
			}
		default:
			req.Reply(false, nil)
		}
	}
}

// session is one shell: a bounded queue of lines and the goroutine that
// writes them.
type session struct {
	ch    ssh.Channel
	queue chan []byte
}

func (s *Server) runShell(ch ssh.Channel) {
	sess := &session{ch: ch, queue: make(chan []byte, s.cfg.QueueLines)}
	if s.cfg.Greeting != "" {
		sess.queue <- []byte(s.cfg.Greeting)
	}
	s.mu.Lock()
	s.sessions[sess] = struct{}{}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		sess.write()
	}()
	s.readLines(ch)
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
	close(sess.queue)
	ch.Close()
	<-done
}

// readLines broadcasts each line typed on ch until it ends. Lines end at CR
// or LF; empty lines are ignored.
func (s *Server) readLines(ch ssh.Channel) {
	buf := make([]byte, 4096)
	line := make([]byte, 0, 128)
	over := false
	for {
		n, err := ch.Read(buf)
		for _, b := range buf[:n] {
			switch {
			case b == '\r' || b == '\n':
				if len(line) > 0 {
					s.broadcast(line)
				}
				line, over = line[:0], false
			case over:
			case len(line) >= s.cfg.LineBytes:
				over = true
			default:
				line = append(line, b)
			}
		}
		if err != nil {
			return
		}
	}
}

// broadcast queues one line for every session without ever waiting.
func (s *Server) broadcast(line []byte) {
	out := make([]byte, 0, len(line)+2)
	out = append(append(out, line...), '\r', '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	for sess := range s.sessions {
		select {
		case sess.queue <- out:
		default:
			s.dropped.Add(1)
		}
	}
}

// write sends queued lines, joining those that wait into one write.
func (sess *session) write() {
	var buf bytes.Buffer
	broken := false
	for line := range sess.queue {
		if broken {
			continue
		}
		buf.Reset()
		buf.Write(line)
	more:
		for buf.Len() < 32*1024 {
			select {
			case l, ok := <-sess.queue:
				if !ok {
					break more
				}
				buf.Write(l)
			default:
				break more
			}
		}
		if _, err := sess.ch.Write(buf.Bytes()); err != nil {
			broken = true
			sess.ch.Close()
		}
	}
}
