package core

import (
	"strings"
	"sync"
	"testing"
)

// recordingCalls is a Calls that remembers what the core asked of it.
type recordingCalls struct {
	h       *Hub
	mu      sync.Mutex
	starts  []string
	closed  []string
	relayed []string
}

func (c *recordingCalls) Start(conv string, from, to Member) error {
	c.mu.Lock()
	c.starts = append(c.starts, conv+" "+from.Name+"->"+to.Name)
	c.mu.Unlock()
	// Calling back into the hub must not deadlock.
	c.h.Inform(to.ID, "Incoming call", []string{from.Name + " is calling"})
	return nil
}

func (c *recordingCalls) ConvClosed(conv string) {
	c.mu.Lock()
	c.closed = append(c.closed, conv)
	c.mu.Unlock()
	c.h.Counts()
}

func TestVideoNeedsACallServiceAndAPrivateChat(t *testing.T) {
	h := newTestHub(t)
	alice, bob := connect(t, h, "alice"), connect(t, h, "bob")
	if err := alice.Input("/video"); err == nil || !strings.Contains(err.Error(), "private chat") {
		t.Fatalf("/video in a room: %v", err)
	}
	if err := alice.Input("/join " + bob.Code()); err != nil {
		t.Fatal(err)
	}
	if err := alice.Input("/video"); err == nil || !strings.Contains(err.Error(), "not available") {
		t.Fatalf("/video without a call service: %v", err)
	}
}

func TestVideoRingsThePartnerAndClosingEndsTheCall(t *testing.T) {
	h := newTestHub(t)
	calls := &recordingCalls{h: h}
	h.SetCalls(calls)
	alice, bob := connect(t, h, "alice"), connect(t, h, "bob")
	if err := alice.Input("/join " + bob.Code()); err != nil {
		t.Fatal(err)
	}
	conv := alice.Snapshot().Current
	if err := alice.Input("/video"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, "the call notice", func(ev Event) bool { return ev.Kind == EventInfo && ev.Lines[0] == "alice is calling" })
	bob.Close("gone")
	calls.mu.Lock()
	defer calls.mu.Unlock()
	if len(calls.starts) != 1 || calls.starts[0] != conv+" alice->bob" {
		t.Fatalf("starts = %q", calls.starts)
	}
	if len(calls.closed) != 1 || calls.closed[0] != conv {
		t.Fatalf("closed = %q, want [%s]", calls.closed, conv)
	}
	if h.Inform(bob.ID(), "x", nil) {
		t.Fatal("Inform reached a user who has left")
	}
}

// A line about a call lands in the private chat as the server's, for both.
func TestCallNoteIsASystemLineInThePrivateChat(t *testing.T) {
	h := newTestHub(t)
	alice, bob := connect(t, h, "alice"), connect(t, h, "bob")
	if err := alice.Input("/join " + bob.Code()); err != nil {
		t.Fatal(err)
	}
	conv := alice.Snapshot().Current
	h.CallNote(conv, "missed call from alice")
	h.CallNote("#lobby", "not for rooms")
	for _, s := range []*Session{alice, bob} {
		waitFor(t, s, "the call line", func(ev Event) bool {
			return ev.Kind == EventMessage && ev.Msg.Conv == conv && ev.Msg.Text == "missed call from alice" &&
				ev.Msg.Kind == System && ev.Msg.From == Member{}
		})
	}
	lobby := viewOf(t, alice, "#lobby")
	for _, m := range lobby.History {
		if m.Text == "not for rooms" {
			t.Fatal("a call line went into a room")
		}
	}
}

func (c *recordingCalls) Relayed(from, payload string) {
	c.mu.Lock()
	c.relayed = append(c.relayed, from+": "+payload)
	c.mu.Unlock()
}

func (c *recordingCalls) relays() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.relayed...)
}

// Call signaling between two nodes goes through the shared log to the
// call service of the node it is addressed to, and to no other.
func TestRelayReachesTheCallServiceOfItsNode(t *testing.T) {
	seq := newTestSequencer()
	dir := newLocalDirectory()
	a, _ := seq.addHub(t, "a", dir)
	b, _ := seq.addHub(t, "b", dir)
	onA, onB := &recordingCalls{h: a}, &recordingCalls{h: b}
	a.SetCalls(onA)
	b.SetCalls(onB)
	bob := connectTo(t, b, "bob")
	pollUntil(t, "bob known on a", func() bool { return a.Elsewhere(bob.ID()) == "b" })
	if b.Elsewhere(bob.ID()) != "" {
		t.Fatal("b says its own user is elsewhere")
	}

	a.Relay("b", 0, "first")
	a.Relay("a", 0, "to itself")
	a.Relay("b", 0, "second")
	pollUntil(t, "two relays on b", func() bool { return len(onB.relays()) == 2 })
	if got := strings.Join(onB.relays(), "|"); got != "a: first|a: second" {
		t.Fatalf("b's call service got %q", got)
	}
	if got := onA.relays(); len(got) != 0 {
		t.Fatalf("a's call service got %q", got)
	}
}
