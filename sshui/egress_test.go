package sshui

import (
	"strings"
	"testing"

	"parley/core"
	"parley/internal/testkit"
)

// hostileText holds one string of every class a terminal could act on
// or that could disguise text, by what it tries.
var hostileText = map[string]string{
	"ESC and CSI":        "a\x1b[2Jb\x1b[31mred\x1b[0m",
	"8-bit CSI U+009B":   "a\u009b2Jb",
	"other C1 controls":  "a\u0085\u008d\u009c\u009d\u009fb",
	"OSC 52 clipboard":   "a\x1b]52;c;SGVsbG8=\x07b",
	"OSC 8 hyperlink":    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",
	"OSC title":          "\x1b]0;pwned\x07t",
	"DCS and APC":        "\x1bPq#0\x1b\\\x1b_apc\x1b\\d",
	"C0 controls":        "a\a\b\r\x0e\x0f\x7fb",
	"bidi override":      "a\u202egnp.exe",
	"bidi isolates":      "a\u2066b\u2069c\u200f",
	"zero-width":         "a\u200b\u200c\u200d\u2060\ufeffb",
	"zalgo":              "z" + strings.Repeat("\u0301\u0316\u0337", 30),
	"200 KB line":        strings.Repeat("A", 200*1024),
	"escape split by NL": "a\x1b\n[2J",
}

// TestRenderedFramesCarryOnlyOurOwnEscapes sends every class of hostile
// text as messages, names and room names, both typed at a terminal and
// through the core's door as the web client does, then opens every view
// another terminal user has: the chat, the home screen, the members
// panel and the output of /list, /listall and /rooms. Every byte that
// user's terminal received must be text or the renderer's own styling
// and cursor sequences: no other escape sequence and no C1 control.
func TestRenderedFramesCarryOnlyOurOwnEscapes(t *testing.T) {
	ts := startServer(t, func(c *core.Config) {
		c.AllowUserRooms = true
		c.Limits.RatePerSec = 1000
		c.Limits.RateBurst = 1000
	}, nil)
	users := joinLobby(t, ts, "bob", "mallory")
	bob, mallory := users[0], users[1]
	web := coreUser(t, ts.hub, "webby")
	bob.WaitFor("webby joined")

	refused := 0
	for class, evil := range hostileText {
		// The web client hands each line to Session.Input, as here.
		for _, line := range []string{evil, "/name " + evil, "/join #" + evil, "/me " + evil} {
			if err := web.Input(line); err != nil {
				refused++
			}
			if err := web.Switch("#lobby"); err != nil {
				t.Fatalf("%s: back to #lobby: %v", class, err)
			}
		}
		// Typed at a terminal: whatever the input line keeps goes out.
		// An ESC in it may read as the Esc key (home screen) and a CR
		// as Enter, so each line starts afresh and ends back in #lobby.
		if len(evil) < 4096 {
			for _, prefix := range []string{"", "/name ", "/join #"} {
				mallory.Press(testkit.CtrlU)
				mallory.TypeLine(prefix + evil)
				mallory.Press(testkit.CtrlU)
				mallory.TypeLine("/chatroom")
			}
		}
	}
	t.Logf("the core refused %d of the %d hostile lines sent through its door", refused, 4*len(hostileText))
	mallory.Press(testkit.CtrlU)
	mallory.TypeLine("mallory is done")
	bob.WaitFor("mallory is done")
	if err := web.Input("webby is done"); err != nil {
		t.Fatal(err)
	}
	bob.WaitFor("webby is done")
	escapeFree(t, bob.Raw())

	// Every view bob has that shows other people's text, one at a time:
	// keys pressed in one write could read as one Alt chord.
	for _, cmd := range []struct{ line, shows string }{
		{"/list", "3 in #lobby"}, {"/listall", "online"}, {"/rooms", "Rooms  · Esc closes"},
	} {
		bob.TypeLine(cmd.line)
		bob.WaitFor(cmd.shows)
		bob.Press(testkit.Esc)
		bob.WaitGone("Esc closes")
	}
	bob.Press(testkit.F2)
	bob.WaitFor("Members (3)")
	bob.Press(testkit.F2)
	bob.WaitGone("Members (3)")
	bob.Press(testkit.Esc)
	bob.WaitFor("Your code is")
	escapeFree(t, bob.Raw())
	escapeFree(t, mallory.Raw())
}
