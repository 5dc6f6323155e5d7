package testkit

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// WaitLimit bounds every wait: generous, so a loaded CI machine cannot
// fail a test, while a real hang still ends.
const WaitLimit = 30 * time.Second

// Eventually polls cond until it holds, failing after WaitLimit.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Poll reads a screen until ok holds, failing after WaitLimit with what
// who last saw.
func Poll(t testing.TB, who, what string, read func() string, ok func(screen string) bool) string {
	t.Helper()
	deadline := time.Now().Add(WaitLimit)
	held := false
	for {
		s := read()
		// A screen read while a frame is still arriving can show the
		// frame's first lines over the last one's rest: ok must hold on
		// two reads in a row, and the later, whole frame is returned.
		if ok(s) {
			if held {
				return s
			}
			held = true
		} else {
			held = false
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: timed out waiting for %s; screen:\n%s", who, what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Buffer collects bytes written from several goroutines.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes is a copy of everything written so far.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
