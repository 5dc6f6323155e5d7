package main

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// session is one simulated user, over SSH or WebSocket: its connection
// (the link) and what the tool measured on it.
type session struct {
	idx     int
	node    int // index into the config's targets
	stalled bool
	run     *run
	link    link

	started   time.Time
	firstText chan struct{} // closed when the first printed character (SSH) or the welcome (WebSocket) arrives
	opened    time.Duration // started → the link is open (SSH shell, WebSocket hello sent)
	connected time.Duration // started → first text; set before firstText closes
	bytes     atomic.Int64
	ended     chan struct{} // closed when the reader stops
	endedAt   atomic.Int64  // unix nanoseconds; 0 while the stream is open
	endErr    error         // why the stream ended; set before ended closes

	// Owned by the reader goroutine until ended is closed.
	seen       []uint64 // bitset of token ids already seen
	deliveries []delivery
}

// link is one session's connection to the server.
type link interface {
	// send types one line: a command or a message for the room.
	send(line string) error
	// close ends the connection, which ends the session's reader.
	close()
}

// delivery is the first sighting of a token on a session.
type delivery struct {
	id      int32
	latency time.Duration
}

func newSession(r *run, idx int, stalled bool) *session {
	return &session{
		idx: idx, node: r.cfg.nodeOf(idx), stalled: stalled, run: r,
		started:   time.Now(),
		firstText: make(chan struct{}),
		ended:     make(chan struct{}),
		seen:      make([]uint64, (len(r.sentAt)+63)/64),
	}
}

// dial connects the session with index idx: SSH sessions come first, then
// WebSocket clients, then the stalled (SSH) sessions.
func dial(r *run, idx int, stalled bool) (*session, error) {
	s := newSession(r, idx, stalled)
	var err error
	if stalled || idx < r.cfg.Sessions {
		s.link, err = dialSSH(s)
	} else {
		s.link, err = dialWS(s)
	}
	if err != nil {
		return nil, err
	}
	s.opened = time.Since(s.started)
	return s, nil
}

// sawText records the connect latency at the session's first text.
func (s *session) sawText() {
	if s.connected == 0 {
		s.connected = time.Since(s.started)
		close(s.firstText)
	}
}

// stop marks the end of the session's stream and why; its reader calls
// it last.
func (s *session) stop(err error) {
	s.endErr = err
	s.endedAt.Store(time.Now().UnixNano())
	close(s.ended)
}

// found records the first sighting of a token sent by another session,
// seen now.
func (s *session) found(id int) { s.foundAt(id, time.Now()) }

// foundAt records the first sighting of a token sent by another session,
// seen at the time at.
func (s *session) foundAt(id int, at time.Time) {
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
	s.deliveries = append(s.deliveries, delivery{int32(id), time.Duration(at.UnixNano() - sent)})
	r.delivered.Add(1)
}

// waitFirstText waits for the session's first text, up to until: a
// terminal user sees something, not just mode switches; a browser has its
// welcome.
func (s *session) waitFirstText(until time.Time) error {
	select {
	case <-s.firstText:
		return nil
	case <-s.ended:
		return errors.New("connection closed before any output")
	case <-time.After(time.Until(until)):
		return fmt.Errorf("no output before the connect timeout (the connection was open after %s)", s.opened.Round(time.Millisecond))
	}
}
