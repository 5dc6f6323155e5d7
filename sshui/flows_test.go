package sshui

import (
	"bytes"
	"strings"
	"testing"

	"parley/core"
	"parley/internal/testkit"

	"golang.org/x/crypto/bcrypt"
)

func TestPrivateChatByCodeBothWays(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := testkit.Dial(t, ts.addr, "alice", 100, 30)
	bob := testkit.Dial(t, ts.addr, "bob", 100, 30)
	aliceCode, bobCode := alice.Code(), bob.Code()
	if aliceCode == bobCode {
		t.Fatalf("both users got code %s", aliceCode)
	}

	alice.TypeLine("/join " + strings.ToLower(bobCode))
	alice.WaitFor("@bob · private chat")
	// Bob, typing nothing, is taken into the chat, his room a key away.
	bob.WaitFor("alice opened a private chat with you · Alt-1 back to #lobby")
	bob.WaitFor("@alice · private chat")

	alice.TypeLine("hello bob, only you can read this")
	bob.WaitFor("alice: hello bob, only you can read this")
	testkit.Eventually(t, "a bell for the private message", func() bool { return bytes.Contains(bob.Raw(), []byte("\a")) })

	// His answer, typed straight away, is private.
	bob.TypeLine("hi alice, got it")
	alice.WaitFor("bob: hi alice, got it")
	bob.Press(testkit.Alt('1'))
	bob.WaitFor("#lobby · 2 members")
	if strings.Contains(bob.Screen(), "got it") {
		t.Fatalf("the private answer shows in the lobby:\n%s", bob.Screen())
	}

	// The other direction: bob joins alice's code and lands in the same chat.
	bob.Press(testkit.Esc) // Esc: home screen
	bob.WaitFor("Your code is " + bobCode)
	bob.TypeLine("/join " + aliceCode)
	bob.WaitFor("@alice · private chat")
	bob.TypeLine("same chat from my side")
	alice.WaitFor("bob: same chat from my side")

	// Someone in the lobby sees none of it.
	carol := testkit.Dial(t, ts.addr, "carol", 100, 30)
	carol.WaitFor("#lobby · 3 members")
	if s := carol.Screen(); strings.Contains(s, "only you can read this") {
		t.Fatalf("a private message reached a third user:\n%s", s)
	}
}

func TestThreeUsersShareARoom(t *testing.T) {
	ts := startServer(t, nil, nil)
	users := joinLobby(t, ts, "alice", "bob", "carol")
	alice, bob, carol := users[0], users[1], users[2]
	for _, u := range []*testkit.Term{alice, bob, carol} {
		u.WaitFor("#lobby · 3 members")
	}
	alice.WaitFor("carol joined")

	for _, u := range []*testkit.Term{alice, bob, carol} {
		u.TypeLine("/join #games")
		u.WaitFor("#games")
	}
	alice.WaitFor("#games · 3 members")
	alice.TypeLine("who wants to play")
	bob.WaitFor("alice: who wants to play")
	carol.WaitFor("alice: who wants to play")
	carol.TypeLine("/me rolls the dice")
	alice.WaitFor("* carol rolls the dice")
	bob.WaitFor("* carol rolls the dice")
}

func TestRenameIsSeenByOthers(t *testing.T) {
	ts := startServer(t, nil, nil)
	users := joinLobby(t, ts, "alice", "bob")
	alice, bob := users[0], users[1]

	alice.TypeLine("/name zelda")
	alice.WaitFor("zelda · code")
	bob.WaitFor("alice is now zelda")
	alice.TypeLine("new name, same me")
	bob.WaitFor("zelda: new name, same me")

	// A refused name keeps the typed line and says why.
	bob.TypeLine("/name zelda")
	bob.WaitFor("the name zelda is taken")
	bob.WaitFor("> /name zelda")
}

func TestListAndRooms(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := joinLobby(t, ts, "alice", "bob")[0]
	carol := testkit.Dial(t, ts.addr, "carol", 100, 30)
	carol.TypeLine("/join #games")
	carol.WaitFor("#games · 1 member")
	carol.TypeLine("/switch #lobby")
	carol.WaitFor("#lobby · 3 members")
	carol.TypeLine("/leave")
	carol.WaitFor("#games · 1 member")
	alice.WaitFor("#lobby · 2 members")

	alice.TypeLine("/list")
	s := alice.WaitFor("2 in #lobby")
	if !strings.Contains(s, "alice (you)") || !strings.Contains(s, "bob  [ssh, key ") || strings.Contains(s, "carol  [ssh") {
		t.Fatalf("/list shows the wrong people:\n%s", s)
	}
	alice.Press(testkit.Esc) // Esc closes the panel
	alice.WaitGone("2 in #lobby")

	alice.TypeLine("/rooms")
	s = alice.WaitFor("Rooms")
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
	users := joinLobby(t, ts, "alice", "bob", "carol")
	alice, bob, carol := users[0], users[1], users[2]
	alice.WaitFor("#lobby · 3 members")

	carol.Close() // the connection drops
	alice.WaitFor("carol left (connection lost)")
	bob.WaitFor("carol left (connection lost)")

	bob.TypeLine("/quit")
	bob.WaitEnded()
	alice.WaitFor("bob left (quit)")
	alice.WaitFor("#lobby · 1 member")
	testkit.Eventually(t, "one user left in the hub", func() bool { n, _, _ := ts.hub.Counts(); return n == 1 })

	// Ctrl-C quits the same way.
	dave := testkit.Dial(t, ts.addr, "dave", 100, 30)
	alice.WaitFor("dave joined")
	dave.Press(testkit.CtrlC)
	dave.WaitEnded()
	alice.WaitFor("dave left (quit)")
}

func TestHomeScreenListsAndOpens(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := joinLobby(t, ts, "alice")[0]
	alice.Press(testkit.Esc)
	s := alice.WaitFor("Your code is")
	for _, want := range []string{"Welcome to Parley", "Rooms", "Everyone starts here", "Play nicely", "Your conversations"} {
		if !strings.Contains(s, want) {
			t.Fatalf("home screen lacks %q:\n%s", want, s)
		}
	}
	// The rooms come busiest first: #lobby, then #games.
	alice.WaitFor("▸ #lobby")
	alice.Press(testkit.Down) // ↓
	alice.WaitFor("▸ #games")
	alice.Press(testkit.Enter)
	alice.WaitFor("#games · 1 member")
	alice.Press(testkit.CtrlN) // Ctrl-N cycles: home, #lobby, #games
	alice.WaitFor("Your code is")
	alice.Press(testkit.CtrlN)
	alice.WaitFor("#lobby · 1 member")
}

// Someone typing a draft stays where they are when a private chat is
// opened with them: the status line says who and which key goes there.
// A private message rings the bell unless /bell is off; /msg and /reply
// write privately from where one is.
func TestPrivateChatWhileTypingADraft(t *testing.T) {
	ts := startServer(t, nil, nil)
	users := joinLobby(t, ts, "alice", "bob")
	alice, bob := users[0], users[1]

	bob.TypeLine("/bell off")
	bob.WaitFor("the bell for mentions and private messages is off")
	bob.Type("half a thought")
	bob.WaitFor("> half a thought")
	alice.TypeLine("/dm bob")
	alice.WaitFor("@bob · private chat")
	bob.WaitFor("alice opened a private chat with you: Alt-2 to answer it")
	if s := bob.Screen(); !strings.Contains(s, "#lobby · 2 members") || !strings.Contains(s, "> half a thought") {
		t.Fatalf("bob, typing, was moved or lost his draft:\n%s", s)
	}
	alice.TypeLine("are you there?")
	bob.WaitUntil("one unread in the chat", func(s string) bool { return regexpMatch(`@alice +\(1\)`, s) })
	bob.Press(testkit.Alt('2'))
	bob.WaitFor("alice: are you there?")
	if bytes.Contains(bob.Raw(), []byte("\a")) {
		t.Fatal("the bell rang with /bell off")
	}
	bob.Press(testkit.Alt('1'))
	bob.WaitFor("#lobby · 2 members")

	bob.Press(testkit.CtrlU)
	bob.TypeLine("/reply here, from the lobby")
	alice.WaitFor("bob: here, from the lobby")
	bob.TypeLine("/msg alice and once more")
	alice.WaitFor("bob: and once more")
	if s := bob.Screen(); !strings.Contains(s, "#lobby · 2 members") {
		t.Fatalf("/reply or /msg moved bob out of the lobby:\n%s", s)
	}
}

// From an ended private chat, commands that lead elsewhere go there, and
// /close closes the ended chat on screen, never one the user cannot see.
func TestCommandsFromAnEndedChat(t *testing.T) {
	ts := startServer(t, nil, nil)
	bob := joinLobby(t, ts, "bob")[0]
	endedChat := func(name string) {
		t.Helper()
		other := testkit.Dial(t, ts.addr, name, 100, 30)
		other.TypeLine("/join " + bob.Code())
		bob.WaitFor(name + " opened a private chat with you")
		other.Close()
		bob.WaitFor("This chat has ended")
	}
	for _, c := range []struct{ line, want string }{
		{":q", "Your code is"},
		{"/home", "Your code is"},
		{"/chatroom", "#lobby · 1 member ·"},
		{"/join #games", "#games · 1 member"},
	} {
		endedChat("ann")
		bob.TypeLine(c.line)
		bob.WaitFor(c.want)
		bob.WaitGone("@ann")
	}
	endedChat("cat")
	bob.TypeLine("/close")
	bob.WaitGone("@cat")
	s := bob.WaitFor("#games · 1 member")
	if !strings.Contains(s, "#lobby") {
		t.Fatalf("/close in an ended chat closed another conversation:\n%s", s)
	}
}

// The welcome and the message of the day are on the first screen a user
// sees, the first room, not only on the home screen.
func TestWelcomeAndMotdOnTheFirstScreen(t *testing.T) {
	ts := startServer(t, func(c *core.Config) {
		c.Welcome = "Welcome to the test server."
		c.Motd = "Maintenance at noon."
	}, nil)
	alice := testkit.Dial(t, ts.addr, "alice", 100, 30)
	alice.WaitUntil("the welcome and the message of the day in #lobby", func(s string) bool {
		return strings.Contains(s, "#lobby · 1 member") && strings.Contains(s, "Welcome to the test server.") &&
			strings.Contains(s, "Message of the day: Maintenance at noon.")
	})
}

// Enter on a room with a password, on the home screen, asks for the
// password on the input line instead of failing.
func TestHomeAsksForARoomsPassword(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("sesame"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(c *core.Config) {
		c.Rooms = []core.RoomConfig{c.Rooms[0], {Name: "vault", PasswordHash: string(hash)}}
	}, nil)
	alice := joinLobby(t, ts, "alice")[0]
	alice.Press(testkit.Esc)
	alice.WaitFor("#vault")
	alice.Press(testkit.Down, testkit.Enter)
	alice.WaitFor("#vault needs a password: type it and press Enter")
	alice.WaitFor("> /join #vault")
	alice.TypeLine("sesame")
	alice.WaitFor("#vault · 1 member")
}

// A draft set aside to send a line again from the history comes back.
func TestDraftComesBackAfterALineFromTheHistory(t *testing.T) {
	ts := startServer(t, nil, nil)
	users := joinLobby(t, ts, "alice", "bob")
	alice, bob := users[0], users[1]
	alice.TypeLine("is the build green?")
	bob.WaitFor("alice: is the build green?")
	alice.Type("half a new thought")
	alice.WaitFor("> half a new thought")
	alice.Press(testkit.Up)
	alice.WaitFor("> is the build green?")
	alice.Press(testkit.Enter)
	bob.WaitUntil("the line sent twice", func(s string) bool { return strings.Count(s, "alice: is the build green?") == 2 })
	alice.WaitFor("> half a new thought")
}
