package sshui

import (
	"io"
	"sync"
)

// earlyInput reads a session channel's input until its shell starts. The
// SSH library buffers whatever a client sends on a channel up to its
// whole window (2 MiB) until someone reads it, so a client that opens
// channels and writes without ever starting a shell would otherwise hold
// that much per channel. Here those bytes are read as they come, kept up
// to a small limit for the shell to read first (keys typed ahead), and a
// channel sending more is closed.
//
// Its goroutine reads until the shell starts; the read it is in then is
// handed to the shell, which reads the channel itself from there on, so
// the order of the input is kept and the goroutine ends with the first
// bytes after the start.
type earlyInput struct {
	ch    io.Reader
	limit int
	over  func() // closes the channel that sent more than limit

	mu      sync.Mutex
	cond    sync.Cond
	buf     []byte
	err     error
	reading bool // the goroutine has a read to hand over still
	started bool
}

func newEarlyInput(ch io.Reader, limit int, over func()) *earlyInput {
	e := &earlyInput{ch: ch, limit: limit, over: over, reading: true}
	e.cond.L = &e.mu
	go e.run()
	return e
}

func (e *earlyInput) run() {
	var tmp [1024]byte
	for {
		n, err := e.ch.Read(tmp[:])
		e.mu.Lock()
		e.buf = append(e.buf, tmp[:n]...)
		tooMuch := !e.started && len(e.buf) > e.limit
		if err != nil || tooMuch || e.started {
			e.err = err
			if tooMuch {
				e.buf, e.err = nil, io.ErrUnexpectedEOF
			}
			e.reading = false
			e.cond.Broadcast()
			e.mu.Unlock()
			if tooMuch {
				e.over()
			}
			return
		}
		e.mu.Unlock()
	}
}

// start marks the shell started: the goroutine hands over its read.
func (e *earlyInput) start() {
	e.mu.Lock()
	e.started = true
	e.mu.Unlock()
}

// Read returns the bytes read before the start, then the goroutine's
// last read, then reads the channel.
func (e *earlyInput) Read(p []byte) (int, error) {
	e.mu.Lock()
	for len(e.buf) == 0 && e.reading {
		e.cond.Wait()
	}
	if len(e.buf) > 0 {
		n := copy(p, e.buf)
		e.buf = e.buf[n:]
		if len(e.buf) == 0 {
			e.buf = nil
		}
		e.mu.Unlock()
		return n, nil
	}
	err := e.err
	e.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return e.ch.Read(p)
}
