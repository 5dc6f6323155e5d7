package core

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// A detached user comes back with the same code, name and conversations,
// and the others never see it leave.
func TestResumeKeepsTheUserQuietly(t *testing.T) {
	h := newTestHub(t)
	alice, bob := connect(t, h, "alice"), connect(t, h, "bob")
	secret := alice.ResumeSecret()
	if err := alice.Input("/join " + bob.Code()); err != nil {
		t.Fatal(err)
	}
	opened := waitFor(t, bob, "the private chat", func(ev Event) bool { return ev.Kind == EventConvOpened && ev.View.Kind == Private })
	alice.Detach(time.Minute)
	if err := bob.Send(opened.Conv, "are you there?"); err != nil {
		t.Fatal(err)
	}
	back, err := h.Resume(secret, ConnectInfo{Transport: "web", IP: "192.0.2.9"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { back.Close("") })
	if back.Code() != alice.Code() || back.ID() != alice.ID() || back.Name() != "alice" {
		t.Fatalf("resumed as %s %q, was %s %q", back.Code(), back.Name(), alice.Code(), "alice")
	}
	snap := back.Snapshot()
	current := snap.Current
	if len(snap.Convs) != 2 || !strings.HasPrefix(current, "@") {
		t.Fatalf("resumed with %d conversations, current %q", len(snap.Convs), current)
	}
	v := viewOf(t, back, current)
	if last := v.History[len(v.History)-1]; last.Text != "are you there?" {
		t.Fatalf("the message sent meanwhile is not in the history: %q", last.Text)
	}
	if err := back.Input("yes"); err != nil {
		t.Fatal(err)
	}
	for _, ev := range waitUntil(t, bob, message("yes")) {
		if ev.Kind == EventMemberLeft || ev.Kind == EventMemberJoined || ev.Kind == EventConvClosed {
			t.Fatalf("bob saw the reconnection: %+v", ev)
		}
	}
}

// waitUntil drains s until an event satisfies ok and returns every event
// it drained on the way.
func waitUntil(t *testing.T, s *Session, ok func(Event) bool) []Event {
	t.Helper()
	var seen []Event
	waitFor(t, s, "the awaited event", func(ev Event) bool {
		seen = append(seen, ev)
		return ok(ev)
	})
	return seen
}

// After the grace period a detached user leaves, and its secret names
// nobody.
func TestDetachedUserLeavesAfterTheGrace(t *testing.T) {
	h, clock := newClockHub(t)
	alice, bob := connect(t, h, "alice"), connect(t, h, "bob")
	secret := alice.ResumeSecret()
	alice.Detach(time.Minute)
	clock.Add(59 * time.Second)
	if users, _, _ := h.Counts(); users != 2 {
		t.Fatalf("%d users within the grace period", users)
	}
	clock.Add(time.Second)
	waitFor(t, bob, "alice left", func(ev Event) bool { return ev.Kind == EventMemberLeft && ev.Msg.Text == "alice left" })
	if _, err := h.Resume(secret, ConnectInfo{Transport: "web"}); !errors.Is(err, ErrNotResumable) {
		t.Fatalf("resuming after the grace: %v", err)
	}
}

// A second connection that resumes a connected user takes it over; the
// first is told why, and its end no longer touches the user.
func TestResumeTakesOverAConnectedUser(t *testing.T) {
	h := newTestHub(t)
	told := make(chan string, 1)
	first, err := h.Connect(ConnectInfo{LoginName: "alice", Transport: "web", Disconnect: func(r string) { told <- r }})
	if err != nil {
		t.Fatal(err)
	}
	bob := connect(t, h, "bob")
	secret := first.ResumeSecret()
	second, err := h.Resume(secret, ConnectInfo{Transport: "web"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Close("") })
	waitFor(t, first, "the reason", func(ev Event) bool { return ev.Kind == EventClosing && ev.Text == ReasonTakenOver })
	if r := <-told; r != ReasonTakenOver {
		t.Fatalf("the first connection was told %q", r)
	}
	first.Detach(time.Minute)
	if err := second.Input("still here"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, "alice's message", message("still here"))
	waitFor(t, second, "alice's own message", message("still here"))
	if second.Detached() {
		t.Fatal("the old connection's end detached the user")
	}
	third, err := h.Resume(secret, ConnectInfo{Transport: "web"})
	if err != nil {
		t.Fatalf("taking the user back with the same secret: %v", err)
	}
	t.Cleanup(func() { third.Close("") })
	waitFor(t, second, "the reason", func(ev Event) bool { return ev.Kind == EventClosing && ev.Text == ReasonTakenOver })
}

// A session without a secret closes when its connection ends.
func TestDetachWithoutSecretCloses(t *testing.T) {
	h := newTestHub(t)
	alice, bob := connect(t, h, "alice"), connect(t, h, "bob")
	alice.Detach(time.Minute)
	waitFor(t, bob, "alice left", func(ev Event) bool { return ev.Kind == EventMemberLeft })
}
