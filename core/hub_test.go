package core

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func newTestHub(t *testing.T, mutate ...func(*Config)) *Hub {
	t.Helper()
	cfg := DefaultConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	h, err := NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	return h
}

func connect(t *testing.T, h *Hub, login string) *Session {
	t.Helper()
	s, err := h.Connect(ConnectInfo{LoginName: login, Transport: "ssh", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close("") })
	return s
}

// connectFrom connects a web user from the address ip (host:port).
func connectFrom(t *testing.T, h *Hub, login, ip string) *Session {
	t.Helper()
	s, err := h.Connect(ConnectInfo{LoginName: login, Transport: "web", IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close("") })
	return s
}

// waitFor drains s until an event satisfies ok, failing after a generous bound.
func waitFor(t *testing.T, s *Session, what string, ok func(Event) bool) Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		for _, ev := range s.Outbox().Drain() {
			if ok(ev) {
				return ev
			}
		}
		select {
		case <-s.Outbox().Ready():
		case <-deadline:
			t.Fatalf("%s: no event for %s", s.Name(), what)
		}
	}
}

func message(text string) func(Event) bool {
	return func(ev Event) bool { return ev.Kind == EventMessage && ev.Msg.Text == text }
}

func TestPrivateChatBothWays(t *testing.T) {
	h := newTestHub(t)
	alice, bob := connect(t, h, "alice"), connect(t, h, "bob")
	if err := alice.Input("/join " + strings.ToLower(bob.Code())); err != nil {
		t.Fatal(err)
	}
	opened := waitFor(t, bob, "private chat opened", func(ev Event) bool { return ev.Kind == EventConvOpened && ev.View.Kind == Private })
	if opened.View.Title != "alice" || opened.View.OpenedBy.Name != "alice" {
		t.Fatalf("bob sees the chat titled %q, opened by %q", opened.View.Title, opened.View.OpenedBy.Name)
	}
	if err := alice.Input("hi bob"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, "alice's message", message("hi bob"))
	if err := bob.Send(opened.Conv, "hi alice"); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, alice, "bob's message", message("hi alice"))
	if got.Msg.From.Name != "bob" {
		t.Fatalf("from %q", got.Msg.From.Name)
	}
}

func TestWrongCodesAreLimited(t *testing.T) {
	h := newTestHub(t)
	alice, bob := connect(t, h, "alice"), connect(t, h, "bob")
	for i := 0; i < 5; i++ {
		if err := alice.Input("/join 00000000"); err == nil || !strings.Contains(err.Error(), "no one online") {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	err := alice.Input("/join " + bob.Code())
	if err == nil || !strings.Contains(err.Error(), "too many") {
		t.Fatalf("sixth attempt in a minute was not refused: %v", err)
	}
}

func TestNamesAreUniqueAcrossLookalikes(t *testing.T) {
	h := newTestHub(t)
	connect(t, h, "bob")
	for _, login := range []string{"BOB", "ｂｏｂ", "bоb"} {
		s := connect(t, h, login)
		if s.Name() == login {
			t.Errorf("login %q got the name although bob is taken", login)
		}
		if err := s.Input("/name " + login); err == nil {
			t.Errorf("/name %q accepted although bob is taken", login)
		}
	}
}

// Wrong guesses from one address share one budget, so opening many
// sessions from it does not buy more guesses.
func TestWrongGuessesArePerAddressToo(t *testing.T) {
	h := newTestHub(t)
	target := connect(t, h, "target")
	for i := 0; i < 5; i++ {
		s := connectFrom(t, h, fmt.Sprintf("guesser%d", i), "198.51.100.9:4000")
		if err := s.Input("/join 00000000"); err == nil || !strings.Contains(err.Error(), "no one online") {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	fresh := connectFrom(t, h, "fresh", "198.51.100.9:4001")
	if err := fresh.Input("/join " + target.Code()); err == nil || !strings.Contains(err.Error(), "from your address") {
		t.Fatalf("a sixth session from the same address got another guess: %v", err)
	}
	elsewhere := connectFrom(t, h, "elsewhere", "203.0.113.5:4000")
	if err := elsewhere.Input("/join " + target.Code()); err != nil {
		t.Fatalf("another address is limited too: %v", err)
	}
}

// viewOf is s's view of its conversation id.
func viewOf(t *testing.T, s *Session, id string) ConvView {
	t.Helper()
	for _, v := range s.Snapshot().Convs {
		if v.ID == id {
			return v
		}
	}
	t.Fatalf("%s is not in %s", s.Name(), id)
	return ConvView{}
}
