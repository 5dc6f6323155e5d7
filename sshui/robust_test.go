package sshui

import (
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"parley/core"
	"parley/internal/testkit"

	gossh "golang.org/x/crypto/ssh"
)

func TestResizeRelaysTheScreen(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := testkit.Dial(t, ts.addr, "alice", 60, 20)
	alice.WaitFor("#lobby")
	if strings.Contains(alice.Screen(), "Conversations") {
		t.Fatalf("a 60-column screen should hide the sidebar:\n%s", alice.Screen())
	}
	long := "the quick brown fox jumps over the lazy dog and keeps running far away"
	alice.TypeLine(long)
	alice.WaitFor("alice: the quick brown fox") // wrapped: the end is on the next line

	alice.Resize(120, 30)
	s := alice.WaitFor("alice: " + long)
	if !strings.Contains(s, "Conversations") {
		t.Fatalf("a 120-column screen should show the sidebar:\n%s", s)
	}

	alice.Resize(30, 8)
	alice.WaitFor("Terminal too small")
	alice.Resize(110, 25)
	alice.WaitFor("alice: " + long)
}

func TestAtMostTwoSessionsPerConnection(t *testing.T) {
	ts := startServer(t, nil, nil)
	client, err := gossh.Dial("tcp", ts.addr, testkit.KeylessLogin("alice"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	for i := 0; i < 2; i++ {
		if _, err := client.NewSession(); err != nil {
			t.Fatalf("session %d: %v", i+1, err)
		}
	}
	if _, err := client.NewSession(); err == nil || !strings.Contains(err.Error(), "at most 2 sessions") {
		t.Fatalf("a third session should be refused, got %v", err)
	}
}

// A session that stops reading must not hold up the others, and is cut
// off: once it stays behind (its outbox full for the slow timeout), or
// sooner when its terminal leaves a question unanswered while the SSH
// channel holds its output; the others read why, of them.
func TestStalledReaderDoesNotHoldUpOthers(t *testing.T) {
	for _, c := range []struct {
		name         string
		slow, answer time.Duration
		outbox       int
		others       string
	}{
		{"behind", time.Second, 0, 16, "stuck left (too slow"},
		{"unanswered", time.Minute, time.Second, 0, "stuck left (too slow: their terminal stopped reading)"},
	} {
		t.Run(c.name, func(t *testing.T) { stalledReader(t, c.slow, c.answer, c.outbox, c.others) })
	}
}

func stalledReader(t *testing.T, slow, answer time.Duration, outbox int, others string) {
	ts := startServer(t, func(c *core.Config) {
		if outbox > 0 {
			c.Limits.OutboxSize = outbox
		}
		c.Limits.SlowTimeout = slow
		c.Limits.RateBurst = 100000
		c.Limits.RatePerSec = 100000
	}, func(c *Config) { c.StopGrace, c.AnswerTimeout = time.Second, answer })

	// The stuck client asks for a huge screen and stops reading its
	// socket altogether. A frame of new lines is small, and the kernel
	// takes megabytes on loopback, so it also keeps resizing: every
	// resize repaints its whole screen.
	link := testkit.NewFaultyLink(t, ts.addr)
	stuckClient, err := gossh.Dial("tcp", link.Addr(), testkit.KeyLogin(t, "stuck"))
	if err != nil {
		t.Fatal(err)
	}
	defer stuckClient.Close()
	stuck := unreadShell(t, stuckClient, "xterm-256color", 500, 200)
	bob := testkit.Dial(t, ts.addr, "bob", 100, 30)
	bob.WaitFor("#lobby · 2 members") // stuck and bob
	link.Freeze()
	sender := coreUser(t, ts.hub, "sender")

	filler := strings.Repeat("x", 400)
	cutOff := false
	for i := 0; i < 2000 && !cutOff; i++ {
		if err := sender.Send("#lobby", fmt.Sprintf("m%04d %s", i, filler)); err != nil {
			t.Fatal(err)
		}
		if err := stuck.WindowChange(200, 500-i%2); err != nil {
			t.Fatal(err)
		}
		bob.WaitFor(fmt.Sprintf("sender: m%04d", i))
		cutOff = strings.Contains(bob.Screen(), others)
	}
	if !cutOff {
		t.Fatalf("the stuck session was never cut off; bob sees:\n%s", bob.Screen())
	}
	// The frozen client cannot hear its channel close; the server's own
	// session handler must have ended anyway, with only bob's left.
	testkit.Eventually(t, "the stuck session's handler to end", func() bool {
		ts.srv.mu.Lock()
		defer ts.srv.mu.Unlock()
		return len(ts.srv.sessions) == 1
	})
	sender.Send("#lobby", "after the cut-off")
	bob.WaitFor("sender: after the cut-off")
}

// escapeFree fails when raw terminal output holds anything but our own
// styling: only CSI sequences with the final bytes a renderer uses, no
// OSC/DCS/APC, no C1 controls, no bell, no other C0 controls.
func escapeFree(t *testing.T, raw []byte) {
	t.Helper()
	const allowedFinals = "mHJKhlABCDGdrfXLMPSTn"
	for i := 0; i < len(raw); {
		b := raw[i]
		switch {
		case b == 0x1b:
			if i+1 >= len(raw) || raw[i+1] != '[' {
				t.Fatalf("non-CSI escape at %d: %q", i, raw[i:min(len(raw), i+16)])
			}
			j := i + 2
			for j < len(raw) && raw[j] >= 0x20 && raw[j] <= 0x3f {
				j++
			}
			if j >= len(raw) || !strings.ContainsRune(allowedFinals, rune(raw[j])) {
				t.Fatalf("unexpected CSI sequence at %d: %q", i, raw[i:min(len(raw), j+1)])
			}
			i = j + 1
		case b < 0x20 && b != '\r' && b != '\n':
			t.Fatalf("control byte %#x at %d: %q", b, i, raw[max(0, i-16):min(len(raw), i+16)])
		case b < 0x80:
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size <= 1 {
				t.Fatalf("invalid UTF-8 at %d", i)
			}
			if r >= 0x80 && r <= 0x9f {
				t.Fatalf("C1 control %U at %d", r, i)
			}
			i += size
		}
	}
}

func TestHostileTextNeverReachesOthersRaw(t *testing.T) {
	ts := startServer(t, nil, nil)
	users := joinLobby(t, ts, "bob", "carol", "mallory")
	bob, carol, mallory := users[0], users[1], users[2]
	bob.WaitFor("#lobby · 3 members")

	// Typed escapes are taken apart by the input line; what is left is
	// plain text.
	mallory.TypeLine("one \x1b]52;c;SGVsbG8=\x07 two \x1b[2J three \u009b31m four \x1b]0;pwned\x07 five")
	bob.WaitFor("five")

	// The core refuses what a modified client might send directly.
	direct := coreUser(t, ts.hub, "direct")
	for _, evil := range []string{"\x1b[2Jclear", "\u009b31mred", "bell\a", "osc \x1b]52;c;SGVsbG8=\x07", "bidi \u202e gnp.exe"} {
		if err := direct.Send("#lobby", evil); err == nil {
			t.Errorf("the core accepted %q", evil)
		}
	}

	// A 200 KB line harms no one: its sender is told, the others chat on.
	huge := strings.Repeat("A", 200*1024)
	mallory.Type(huge)
	mallory.WaitFor("line too long")
	mallory.Press(testkit.Enter)
	carol.TypeLine("still chatting after the flood")
	bob.WaitFor("carol: still chatting after the flood")
	mallory.WaitFor("carol: still chatting after the flood")
	if strings.Contains(bob.Screen(), "AAAAAAAAAA") {
		t.Fatalf("the huge line reached bob:\n%s", bob.Screen())
	}
	escapeFree(t, bob.Raw())
	escapeFree(t, carol.Raw())
}

func TestPrivateChatEndStaysReadable(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := testkit.Dial(t, ts.addr, "alice", 100, 30)
	bob := testkit.Dial(t, ts.addr, "bob", 100, 30)
	alice.TypeLine("/join " + bob.Code())
	alice.WaitFor("@bob · private chat")
	alice.TypeLine("see you soon")
	bob.Press(testkit.Alt('2'))
	bob.WaitFor("alice: see you soon")

	alice.Close()
	s := bob.WaitFor("This chat has ended")
	if !strings.Contains(s, "alice: see you soon") || !strings.Contains(s, "@alice (ended)") {
		t.Fatalf("the ended chat should stay readable and marked:\n%s", s)
	}
	bob.TypeLine("anyone there?")
	bob.WaitFor("this chat has ended: Esc for home")
	bob.Press(testkit.Esc)
	bob.WaitFor("Your code is")
	bob.WaitGone("@alice")
}

func TestScrollbackDoesNotJumpWhileReading(t *testing.T) {
	ts := startServer(t, func(c *core.Config) { c.Limits.RateBurst, c.Limits.RatePerSec = 1000, 1000 }, nil)
	bob := testkit.Dial(t, ts.addr, "bob", 80, 20)
	bob.WaitFor("#lobby")
	sender := coreUser(t, ts.hub, "sender")
	for i := 0; i < 60; i++ {
		if err := sender.Send("#lobby", fmt.Sprintf("line %02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	bob.WaitFor("sender: line 59")
	bob.Press(testkit.PgUp) // PgUp
	s := bob.WaitFor("lines below")
	if strings.Contains(s, "sender: line 59") {
		t.Fatalf("PgUp did not scroll:\n%s", s)
	}
	first, below := firstChatLine(s), linesBelow(s)
	if err := sender.Send("#lobby", "a new message"); err != nil {
		t.Fatal(err)
	}
	s = bob.WaitUntil("the new message counted below", func(s string) bool { return linesBelow(s) == below+1 })
	if firstChatLine(s) != first || strings.Contains(s, "a new message") {
		t.Fatalf("the new message moved the lines being read (first was %q):\n%s", first, s)
	}
	bob.Press(testkit.PgDn, testkit.PgDn, testkit.PgDn, testkit.PgDn) // PgDn back to the bottom
	bob.WaitFor("sender: a new message")
}

var belowRE = regexp.MustCompile(`(\d+) lines below`)

// linesBelow reads the scroll marker's count, -1 when there is none.
func linesBelow(screen string) int {
	m := belowRE.FindStringSubmatch(screen)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// firstChatLine is the first message line on screen.
func firstChatLine(screen string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, "sender: line") {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

func TestCompletionHistoryAndHelp(t *testing.T) {
	ts := startServer(t, nil, nil)
	users := joinLobby(t, ts, "alice", "bartholomew")
	alice, bob := users[0], users[1]
	alice.WaitFor("#lobby · 2 members")

	alice.Type("/roo")
	alice.Press(testkit.Tab)
	alice.WaitFor("> /rooms")
	alice.Press(testkit.CtrlU) // clears the line, then complete a name
	alice.Type("hello bar")
	alice.Press(testkit.Tab)
	alice.WaitFor("> hello bartholomew")
	alice.Press(testkit.Enter)
	bob.WaitFor("alice: hello bartholomew")

	alice.Press(testkit.Up) // ↑ brings the last line back
	alice.WaitFor("> hello bartholomew")
	alice.Press(testkit.CtrlU)

	// In a conversation "?" is text; a room name completes too.
	alice.TypeLine("? anyone up for a game")
	bob.WaitFor("alice: ? anyone up for a game")
	alice.Type("/join #ga")
	alice.Press(testkit.Tab)
	alice.WaitFor("> /join #games")
	alice.Press(testkit.CtrlU)

	alice.Press(testkit.F1) // F1
	alice.WaitFor("Ctrl-N / Ctrl-P")
	alice.WaitFor("/join CODE | #room [password]")
	alice.Press(testkit.Esc)
	alice.WaitGone("Ctrl-N / Ctrl-P")
	alice.Press(testkit.Esc) // home, where "?" is help
	alice.WaitFor("Your code is")
	alice.Type("?")
	alice.WaitFor("Ctrl-N / Ctrl-P")
	alice.Press(testkit.Esc)
	alice.WaitGone("Ctrl-N / Ctrl-P")
	alice.Press(testkit.Alt('1'))
	alice.WaitFor("#lobby · 2 members")

	alice.Press(testkit.F2) // F2: members panel
	s := alice.WaitFor("Members (2)")
	if !strings.Contains(s, "alice (you)") || !strings.Contains(s, "bartholomew") {
		t.Fatalf("members panel:\n%s", s)
	}

	alice.TypeLine("/nosuch")
	alice.WaitFor("unknown command /nosuch")
	alice.WaitFor("> /nosuch") // the line is kept
}

func TestShutdownEndsSessionsAndServeReturns(t *testing.T) {
	hub, err := core.NewHub(core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Stop()
	srv, err := New(hub, Config{HostKeyDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ln := testkit.Listen(t)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	alice := testkit.Dial(t, ln.Addr().String(), "alice", 80, 24)
	alice.WaitFor("#lobby")

	ctx, cancel := context.WithTimeout(context.Background(), testkit.WaitLimit)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	alice.WaitEnded()
	if !strings.Contains(string(alice.Raw()), "Parley: the server is shutting down") {
		t.Fatalf("no goodbye line; screen:\n%s", alice.Screen())
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("the server still accepts connections")
	}
	if n, _, _ := hub.Counts(); n != 0 {
		t.Fatalf("%d users left in the hub", n)
	}
}

func TestHostKeyIsCreatedOnceAndReused(t *testing.T) {
	hub, err := core.NewHub(core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Stop()
	dir := t.TempDir() + "/keys"
	first, err := New(hub, Config{HostKeyDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := statMode(dir + "/" + HostKeyFile)
	if err != nil || fi != 0o600 {
		t.Fatalf("host key mode %o, %v", fi, err)
	}
	if d, _ := statMode(dir); d != 0o700 {
		t.Fatalf("host key dir mode %o", d)
	}
	second, err := New(hub, Config{HostKeyDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if first.Fingerprint() != second.Fingerprint() || !strings.HasPrefix(first.Fingerprint(), "SHA256:") {
		t.Fatalf("fingerprints %s and %s", first.Fingerprint(), second.Fingerprint())
	}
	if err := chmod(dir+"/"+HostKeyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(hub, Config{HostKeyDir: dir}); err == nil {
		t.Fatal("a host key readable by others was accepted")
	}
}

// Closing one session of a multiplexed connection (as OpenSSH's
// ControlMaster does) must end that session alone, and a resize sent
// before the shell must not hang the session.
func TestResizeBeforeShellAndClosingOneOfTwoSessions(t *testing.T) {
	ts := startServer(t, nil, nil)
	client, err := gossh.Dial("tcp", ts.addr, testkit.KeyLogin(t, "multi"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	open := func() (*gossh.Session, io.Reader) {
		sess, _, out, err := openShell(client, func(sess *gossh.Session) error {
			for i := 0; i < 5; i++ {
				if err := sess.WindowChange(30+i, 100+i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return sess, out
	}
	first, _ := open()
	second, secondOut := open()
	testkit.Eventually(t, "two users", func() bool { n, _, _ := ts.hub.Counts(); return n == 2 })

	first.Close()
	testkit.Eventually(t, "the closed session to leave", func() bool { n, _, _ := ts.hub.Counts(); return n == 1 })
	go func() { _, _ = io.Copy(io.Discard, secondOut) }()
	if _, err := second.SendRequest("window-change", true, gossh.Marshal(struct{ W, H, WPx, HPx uint32 }{90, 20, 0, 0})); err != nil {
		t.Fatalf("the other session stopped answering: %v", err)
	}
	if n, _, _ := ts.hub.Counts(); n != 1 {
		t.Fatalf("%d users online, want 1", n)
	}
}

func TestConnectionsPerAddressAreLimited(t *testing.T) {
	limits := core.DefaultLimits()
	limits.ExemptIPs, limits.ConnsPerIP, limits.NewConnsPerMinute = nil, 2, 3
	guard, err := core.NewConnGuard(limits)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, nil, func(c *Config) { c.Guard = guard })
	cfg := testkit.KeylessLogin("many")
	dial := func() (*gossh.Client, error) { return gossh.Dial("tcp", ts.addr, cfg) }
	first, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	second, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	if c, err := dial(); err == nil {
		c.Close()
		t.Fatal("a third connection at once was accepted")
	}
	first.Close()
	second.Close()
	// Refused attempts do not count against the minute's budget.
	var third *gossh.Client
	testkit.Eventually(t, "a connection once the others closed", func() bool {
		third, err = dial()
		return err == nil
	})
	third.Close()
	// Three connections started within the minute: the next is refused
	// even though none is open.
	if c, err := dial(); err == nil {
		c.Close()
		t.Fatal("a fourth connection within a minute was accepted")
	}
}

// Bubble Tea hands every program the same backing slice for the space
// key; sessions typing spaces at the same moment must not share it. Run
// under -race, this fails if a session edits the key it was given.
func TestSessionsTypingSpacesAtOnce(t *testing.T) {
	ts := startServer(t, nil, nil)
	terms := joinLobby(t, ts, "s1", "s2", "s3", "s4", "s5", "s6")
	var wg sync.WaitGroup
	for i, term := range terms {
		wg.Add(1)
		go func(i int, term *testkit.Term) {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				term.Type(fmt.Sprintf("w%d %d x y", i, j))
				term.Press(testkit.CtrlU)
			}
			term.TypeLine(fmt.Sprintf("done %d a b", i))
		}(i, term)
	}
	wg.Wait()
	for i := range terms {
		terms[0].WaitFor(fmt.Sprintf("done %d a b", i))
	}
}

// TestShutdownRightAfterServe stops servers the moment they start to
// serve, and one before it does. Left to the SSH library, its listener
// bookkeeping races with its Shutdown (a data race under -race, and a
// Serve that never returns when it registers its listener after the
// Shutdown). Serve returns nil every time and the port is closed after.
func TestShutdownRightAfterServe(t *testing.T) {
	hub, err := core.NewHub(core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Stop()
	dir := t.TempDir()
	for i := 0; i < 20; i++ {
		srv, err := New(hub, Config{HostKeyDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		ln := testkit.Listen(t)
		served := make(chan error, 1)
		if i == 0 {
			ctx, cancel := context.WithTimeout(context.Background(), testkit.WaitLimit)
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			cancel()
			served <- srv.Serve(ln)
		} else {
			go func() { served <- srv.Serve(ln) }()
			ctx, cancel := context.WithTimeout(context.Background(), testkit.WaitLimit)
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			cancel()
		}
		select {
		case err := <-served:
			if err != nil {
				t.Fatalf("round %d: Serve: %v", i, err)
			}
		case <-time.After(testkit.WaitLimit):
			t.Fatalf("round %d: Serve still running after Shutdown", i)
		}
		if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
			c.Close()
			t.Fatalf("round %d: the port still accepts connections after Shutdown", i)
		}
	}
}
