package sshui

import (
	"sync"
	"sync/atomic"
	"time"
)

// windowBox keeps the latest terminal size of one session. A goroutine
// drains the window-change channel into it from the PTY request on, so a
// resize sent before the shell never blocks the request loop, and a
// closed channel ends the session instead of spinning.
//
// A client may send thousands of window changes a second, and each one a
// program sees is a full re-layout: so only the latest size is passed on,
// at most once per interval, by a timer rather than a goroutine that
// waits for the rare resize.
type windowBox struct {
	term     string
	interval time.Duration

	mu           sync.Mutex
	w, h         int
	sentW, sentH int
	lastSent     time.Time
	pending      bool           // a timer will pass the size on
	send         func(w, h int) // the running program's, nil before and after
	lost         func()         // called once if the channel closes while it runs
	closed       bool

	sendMu  sync.Mutex // keeps sizes in order when a send is slow
	applied atomic.Int64
}

func newWindowBox(term string, w, h int, interval time.Duration) *windowBox {
	return &windowBox{term: term, w: w, h: h, interval: interval}
}

func (b *windowBox) size() (w, h int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.w, b.h
}

// set records the size the client announced.
func (b *windowBox) set(w, h int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.w, b.h = w, h
	b.schedule()
}

// schedule arranges for the latest size to reach the program once the
// interval since the last one is over. The caller holds mu.
func (b *windowBox) schedule() {
	if b.send == nil || b.pending || (b.w == b.sentW && b.h == b.sentH) {
		return
	}
	b.pending = true
	time.AfterFunc(max(0, b.interval-time.Since(b.lastSent)), b.flush)
}

func (b *windowBox) flush() {
	b.sendMu.Lock()
	defer b.sendMu.Unlock()
	b.mu.Lock()
	b.pending = false
	send, w, h := b.send, b.w, b.h
	if send == nil || (w == b.sentW && h == b.sentH) {
		b.mu.Unlock()
		return
	}
	b.sentW, b.sentH, b.lastSent = w, h, time.Now()
	b.mu.Unlock()
	b.applied.Add(1)
	send(w, h)
}

// attach starts passing sizes to a program that began at w×h; lost is
// called if the channel closes meanwhile. It reports false when the
// channel has closed already.
func (b *windowBox) attach(w, h int, send func(w, h int), lost func()) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.sentW, b.sentH, b.send, b.lost = w, h, send, lost
	b.schedule()
	return true
}

// detach stops passing sizes on, once the program has ended.
func (b *windowBox) detach() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.send, b.lost = nil, nil
}

// close marks the channel closed: the connection is gone.
func (b *windowBox) close() {
	b.mu.Lock()
	b.closed = true
	lost := b.lost
	b.lost = nil
	b.mu.Unlock()
	if lost != nil {
		lost()
	}
}
