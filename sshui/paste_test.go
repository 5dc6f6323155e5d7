package sshui

import (
	"strings"
	"testing"
	"time"

	"parley/internal/testkit"
)

// A line holding the names of keys arrives as typed, whether it is typed
// (a whole line in one write, as tmux's send-keys -l and terminals
// without bracketed paste deliver it) or pasted with bracketed paste.
func TestPastedWordsThatNameKeysStayText(t *testing.T) {
	ts := startServer(t, nil, nil)
	users := joinLobby(t, ts, "alice", "bob")
	alice, bob := users[0], users[1]

	typed := "see you at the end: home left up delete tab esc f1 ctrl+c"
	alice.Type(typed + "\r")
	bob.WaitFor("alice: " + typed)

	pasted := "pasted: enter pgup ctrl+n ? backspace end"
	alice.Type("\x1b[200~" + pasted + "\x1b[201~")
	alice.WaitFor("> " + pasted)
	alice.Press(testkit.Enter)
	bob.WaitFor("alice: " + pasted)
}

// A paste of several lines is refused with a clear line; none of it is
// sent and the draft typed before it stays.
func TestMultiLinePasteIsRefusedWhole(t *testing.T) {
	ts := startServer(t, nil, nil)
	users := joinLobby(t, ts, "alice", "bob")
	alice, bob := users[0], users[1]

	alice.Type("my draft ")
	alice.WaitFor("> my draft")
	alice.Type("\x1b[200~first line\r\n/nick mallory\r\nthird line\r\n\x1b[201~")
	alice.WaitFor("paste not taken: it holds 3 lines")
	alice.Press(testkit.Enter)
	bob.WaitFor("alice: my draft")
	alice.TypeLine("after the paste")
	s := bob.WaitFor("alice: after the paste")
	for _, leaked := range []string{"first line", "mallory", "third line"} {
		if strings.Contains(s, leaked) || strings.Contains(alice.Screen(), leaked) {
			t.Fatalf("part of a refused paste (%q) was taken:\n%s", leaked, s)
		}
	}
}

// A 200 KB line costs one error line, typed or pasted, and the session
// takes the next line at once.
func TestHugePasteCostsOneErrorLine(t *testing.T) {
	ts := startServer(t, nil, nil)
	users := joinLobby(t, ts, "alice", "bob")
	alice, bob := users[0], users[1]
	huge := strings.Repeat("lorem ipsum dolor sit amet ", 200*1024/27)

	for _, c := range []struct{ name, input, notice string }{
		{"typed", huge + "\r", "line too long: at most 16384 characters"},
		{"pasted", "\x1b[200~" + huge + "\x1b[201~", "paste not taken: a line holds at most 16384"},
	} {
		start := time.Now()
		alice.Type(c.input)
		alice.WaitFor(c.notice)
		alice.TypeLine("ready after the " + c.name + " flood")
		bob.WaitFor("alice: ready after the " + c.name + " flood")
		t.Logf("%s: %d KB, then the next line arrived after %v", c.name, len(c.input)>>10, time.Since(start))
		if n := strings.Count(bob.Screen(), "lorem"); n > 0 {
			t.Fatalf("%s: part of the huge line reached bob:\n%s", c.name, bob.Screen())
		}
	}
}
