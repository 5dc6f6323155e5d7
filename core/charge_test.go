package core

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// received drains s and counts what others' actions put there: renames,
// member events, messages and notices.
func received(s *Session) (n int, texts []string) {
	for _, ev := range s.Outbox().Drain() {
		switch ev.Kind {
		case EventRenamed, EventMemberJoined, EventMemberLeft, EventMessage, EventNotice, EventConvOpened:
			n++
			if ev.Msg != nil {
				texts = append(texts, ev.Msg.Text)
			}
		}
	}
	return n, texts
}

// A user an operator muted reaches nobody: 200 renames, /me, joining a
// room someone is in and opening private chats are all refused, and the
// room's history keeps what was said before.
func TestMutedUserCannotReachOthersByCommands(t *testing.T) {
	h, clock := newModHub(t)
	op := connectAs(t, h, "olga", opKey, "192.0.2.1")
	bob := connectAs(t, h, "bob", "", "192.0.2.2")
	mallory := connectAs(t, h, "mallory", "", "192.0.2.3")
	if err := bob.Input("/join #side"); err != nil {
		t.Fatal(err)
	}
	if err := bob.Input("/switch #lobby"); err != nil {
		t.Fatal(err)
	}
	if err := bob.Input("said before"); err != nil {
		t.Fatal(err)
	}
	if err := op.Input("/mute mallory 1h"); err != nil {
		t.Fatal(err)
	}
	received(bob)
	for i := range 200 {
		clock.Add(10 * time.Second) // never the rate limit: only the mute refuses
		if err := mallory.Input(fmt.Sprintf("/name mallory%d", i)); err == nil || !strings.Contains(err.Error(), "muted by olga") {
			t.Fatalf("rename %d by a muted user: %v", i, err)
		}
	}
	for _, line := range []string{"/me waves", "/join #side", "/dm bob", "/join " + bob.Code()} {
		if err := mallory.Input(line); err == nil || !strings.Contains(err.Error(), "muted by olga") {
			t.Errorf("%s by a muted user: %v", line, err)
		}
	}
	if n, texts := received(bob); n != 0 {
		t.Fatalf("bob received %d events from a muted user: %q", n, texts)
	}
	if mallory.Name() != "mallory" {
		t.Fatalf("the muted user renamed to %s", mallory.Name())
	}
	view := viewOf(t, bob, "#lobby")
	if !containsText(view.History, "said before") {
		t.Fatal("the lobby's history lost what was said before the mute")
	}
}

func containsText(history []*Message, text string) bool {
	for _, m := range history {
		if m.Text == text {
			return true
		}
	}
	return false
}

// A pasted flood of 1,000 /name lines in one instant renames the user
// rename_burst times and no more; the others see only those, and another
// user's message still arrives.
func TestRenameFloodIsCut(t *testing.T) {
	h, clock := newClockHub(t)
	bob := connect(t, h, "bob")
	flooder := connect(t, h, "flooder")
	carol := connect(t, h, "carol")
	received(bob)
	renamed := 0
	for i := range 1000 {
		if flooder.Input(fmt.Sprintf("/name f%d", i)) == nil {
			renamed++
		}
	}
	if want := DefaultLimits().RenameBurst; renamed != want {
		t.Fatalf("%d renames went through, want the burst of %d", renamed, want)
	}
	if err := carol.Input("still here"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, "carol's message", message("still here"))
	clock.Add(30 * time.Second) // renames_per_minute = 2: one more after 30s
	if err := flooder.Input("/name again"); err != nil {
		t.Fatalf("a rename after the limit refilled: %v", err)
	}
	if err := flooder.Input("/name again2"); err == nil || !strings.Contains(err.Error(), "too many renames") {
		t.Fatalf("a second rename at once: %v", err)
	}
}

// A /leave and /chatroom loop counts toward the message rate limit: the
// others get at most a burst of join and leave notices, the looper is
// muted for flooding and then disconnected, and the lobby keeps its talk.
func TestJoinLeaveLoopIsRateLimited(t *testing.T) {
	h, _ := newClockHub(t)
	bob := connect(t, h, "bob")
	looper := connect(t, h, "looper")
	if err := bob.Input("said before"); err != nil {
		t.Fatal(err)
	}
	received(bob)
	for range 500 {
		looper.Input("/leave")
		looper.Input("/chatroom")
	}
	n, _ := received(bob)
	if limit := 2 * DefaultLimits().RateBurst; n > limit {
		t.Fatalf("bob received %d join and leave events, want at most %d", n, limit)
	}
	h.mu.Lock()
	closed := looper.u.closed
	h.mu.Unlock()
	if !closed {
		t.Fatal("the looper is still connected after 1,000 refused commands")
	}
	view := viewOf(t, bob, "#lobby")
	if !containsText(view.History, "said before") {
		t.Fatal("the loop pushed the lobby's talk out of its history")
	}
}
