package sshui

import (
	"bytes"
	"strings"
	"testing"
)

func TestPrivateChatByCodeBothWays(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := dialTerm(t, ts.addr, "alice", 100, 30)
	bob := dialTerm(t, ts.addr, "bob", 100, 30)
	aliceCode, bobCode := alice.code(), bob.code()
	if aliceCode == bobCode {
		t.Fatalf("both users got code %s", aliceCode)
	}

	alice.typeLine("/join " + strings.ToLower(bobCode))
	alice.waitText("@bob · private chat")
	bob.waitText("alice opened a private chat with you")
	bob.waitText("@alice")

	alice.typeLine("hello bob, only you can read this")
	// Bob is still in the lobby: the chat shows an unread mention, then
	// Alt-2 (its place in the sidebar) opens it.
	bob.waitText("@(1)") // one unread, mentioning him
	eventually(t, "a bell for the mention", func() bool { return bytes.Contains(bob.raw.Bytes(), []byte("\a")) })
	bob.send("\x1b2")
	bob.waitText("@alice · private chat")
	bob.waitText("alice: hello bob, only you can read this")

	bob.typeLine("hi alice, got it")
	alice.waitText("bob: hi alice, got it")

	// The other direction: bob joins alice's code and lands in the same chat.
	bob.send("\x1b") // Esc: home screen
	bob.waitText("Your code is " + bobCode)
	bob.typeLine("/join " + aliceCode)
	bob.waitText("@alice · private chat")
	bob.typeLine("same chat from my side")
	alice.waitText("bob: same chat from my side")

	// Someone in the lobby sees none of it.
	carol := dialTerm(t, ts.addr, "carol", 100, 30)
	carol.waitText("#lobby · 3 members")
	if s := carol.screen(); strings.Contains(s, "only you can read this") {
		t.Fatalf("a private message reached a third user:\n%s", s)
	}
}

func TestThreeUsersShareARoom(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := dialTerm(t, ts.addr, "alice", 100, 30)
	alice.waitText("#lobby")
	bob := dialTerm(t, ts.addr, "bob", 100, 30)
	bob.waitText("#lobby")
	carol := dialTerm(t, ts.addr, "carol", 100, 30)
	for _, u := range []*testTerm{alice, bob, carol} {
		u.waitText("#lobby · 3 members")
	}
	alice.waitText("carol joined")

	for _, u := range []*testTerm{alice, bob, carol} {
		u.typeLine("/join #games")
		u.waitText("#games")
	}
	alice.waitText("#games · 3 members")
	alice.typeLine("who wants to play")
	bob.waitText("alice: who wants to play")
	carol.waitText("alice: who wants to play")
	carol.typeLine("/me rolls the dice")
	alice.waitText("* carol rolls the dice")
	bob.waitText("* carol rolls the dice")
}

func TestRenameIsSeenByOthers(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := dialTerm(t, ts.addr, "alice", 100, 30)
	alice.waitText("#lobby")
	bob := dialTerm(t, ts.addr, "bob", 100, 30)
	bob.waitText("#lobby · 2 members")

	alice.typeLine("/name zelda")
	alice.waitText("zelda · code")
	bob.waitText("alice is now zelda")
	alice.typeLine("new name, same me")
	bob.waitText("zelda: new name, same me")

	// A refused name keeps the typed line and says why.
	bob.typeLine("/name zelda")
	bob.waitText("the name zelda is taken")
	bob.waitText("> /name zelda")
}

func TestListAndRooms(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := dialTerm(t, ts.addr, "alice", 100, 30)
	alice.waitText("#lobby")
	bob := dialTerm(t, ts.addr, "bob", 100, 30)
	bob.waitText("#lobby · 2 members")
	carol := dialTerm(t, ts.addr, "carol", 100, 30)
	carol.typeLine("/join #games")
	carol.waitText("#games · 1 members")
	carol.typeLine("/switch #lobby")
	carol.waitText("#lobby · 3 members")
	carol.typeLine("/leave")
	carol.waitText("#games · 1 members")
	alice.waitText("#lobby · 2 members")

	alice.typeLine("/list")
	s := alice.waitText("2 in #lobby")
	if !strings.Contains(s, "alice (you)") || !strings.Contains(s, "bob  [ssh]") || strings.Contains(s, "carol  [ssh]") {
		t.Fatalf("/list shows the wrong people:\n%s", s)
	}
	alice.send("\x1b") // Esc closes the panel
	alice.waitGone("2 in #lobby")

	alice.typeLine("/rooms")
	s = alice.waitText("Rooms")
	for _, want := range []string{"#lobby", "Everyone starts here", "#games", "Play nicely"} {
		if !strings.Contains(s, want) {
			t.Fatalf("/rooms lacks %q:\n%s", want, s)
		}
	}
	if !regexpMatch(`#lobby\s+2`, s) || !regexpMatch(`#games\s+1`, s) {
		t.Fatalf("/rooms shows wrong counts:\n%s", s)
	}
}

func TestDropAndQuitAreAnnounced(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := dialTerm(t, ts.addr, "alice", 100, 30)
	alice.waitText("#lobby")
	bob := dialTerm(t, ts.addr, "bob", 100, 30)
	bob.waitText("#lobby")
	carol := dialTerm(t, ts.addr, "carol", 100, 30)
	carol.waitText("#lobby · 3 members")
	alice.waitText("#lobby · 3 members")

	carol.client.Close() // the connection drops
	alice.waitText("carol left (connection lost)")
	bob.waitText("carol left (connection lost)")

	bob.typeLine("/quit")
	bob.waitEnded()
	alice.waitText("bob left (quit)")
	alice.waitText("#lobby · 1 members")
	eventually(t, "one user left in the hub", func() bool { n, _, _ := ts.hub.Counts(); return n == 1 })

	// Ctrl-C quits the same way.
	dave := dialTerm(t, ts.addr, "dave", 100, 30)
	alice.waitText("dave joined")
	dave.send("\x03")
	dave.waitEnded()
	alice.waitText("dave left (quit)")
}

func TestHomeScreenListsAndOpens(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := dialTerm(t, ts.addr, "alice", 100, 30)
	alice.waitText("#lobby · 1 members")
	alice.send("\x1b")
	s := alice.waitText("Your code is")
	for _, want := range []string{"Welcome to Parley", "Rooms", "Everyone starts here", "Play nicely", "Your conversations"} {
		if !strings.Contains(s, want) {
			t.Fatalf("home screen lacks %q:\n%s", want, s)
		}
	}
	// The rooms come busiest first: #lobby, then #games.
	alice.waitText("▸ #lobby")
	alice.send("\x1b[B") // ↓
	alice.waitText("▸ #games")
	alice.send("\r")
	alice.waitText("#games · 1 members")
	alice.send("\x0e") // Ctrl-N cycles: home, #lobby, #games
	alice.waitText("Your code is")
	alice.send("\x0e")
	alice.waitText("#lobby · 1 members")
}
