package sshui

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"parley/core"

	gossh "golang.org/x/crypto/ssh"
)

func TestResizeRelaysTheScreen(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := dialTerm(t, ts.addr, "alice", 60, 20)
	alice.waitText("#lobby")
	if strings.Contains(alice.screen(), "Conversations") {
		t.Fatalf("a 60-column screen should hide the sidebar:\n%s", alice.screen())
	}
	long := "the quick brown fox jumps over the lazy dog and keeps running far away"
	alice.typeLine(long)
	alice.waitText("alice: the quick brown fox") // wrapped: the end is on the next line

	alice.resize(120, 30)
	s := alice.waitText("alice: " + long)
	if !strings.Contains(s, "Conversations") {
		t.Fatalf("a 120-column screen should show the sidebar:\n%s", s)
	}

	alice.resize(30, 8)
	alice.waitText("Terminal too small")
	alice.resize(110, 25)
	alice.waitText("alice: " + long)
}

func TestSessionWithoutPTYIsRefused(t *testing.T) {
	ts := startServer(t, nil, nil)
	client, err := gossh.Dial("tcp", ts.addr, clientConfig(t, "alice", true))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	sess.Stdout = &out
	sess.Stderr = &errOut
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	err = sess.Wait()
	if exit, ok := err.(*gossh.ExitError); !ok || exit.ExitStatus() != 1 {
		t.Fatalf("want exit status 1, got %v", err)
	}
	if got := out.String(); got != NeedsTerminal+"\n" {
		t.Fatalf("want exactly one line %q, got %q (stderr %q)", NeedsTerminal, got, errOut.String())
	}
	if n, _, _ := ts.hub.Counts(); n != 0 {
		t.Fatalf("a refused session became a user (%d online)", n)
	}
}

func TestAtMostTwoSessionsPerConnection(t *testing.T) {
	ts := startServer(t, nil, nil)
	client, err := gossh.Dial("tcp", ts.addr, clientConfig(t, "alice", false))
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
// off once it stays behind.
func TestStalledReaderDoesNotHoldUpOthers(t *testing.T) {
	ts := startServer(t, func(c *core.Config) {
		c.Limits.OutboxSize = 16
		c.Limits.SlowTimeout = time.Second
		c.Limits.RateBurst = 100000
		c.Limits.RatePerSec = 100000
	}, func(c *Config) { c.StopGrace = time.Second })

	// The stuck client asks for a huge screen, so every frame is big and
	// its SSH window fills quickly, and then never reads again.
	stuckClient, err := gossh.Dial("tcp", ts.addr, clientConfig(t, "stuck", true))
	if err != nil {
		t.Fatal(err)
	}
	defer stuckClient.Close()
	stuck, err := stuckClient.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stuck.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	if err := stuck.RequestPty("xterm-256color", 200, 500, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := stuck.Shell(); err != nil {
		t.Fatal(err)
	}
	stuckDone := make(chan error, 1)
	go func() { stuckDone <- stuck.Wait() }()

	bob := dialTerm(t, ts.addr, "bob", 100, 30)
	bob.waitText("#lobby · 2 members") // stuck and bob
	sender := coreUser(t, ts.hub, "sender")

	filler := strings.Repeat("x", 400)
	cutOff := false
	for i := 0; i < 2000 && !cutOff; i++ {
		if err := sender.Send("#lobby", fmt.Sprintf("m%04d %s", i, filler)); err != nil {
			t.Fatal(err)
		}
		bob.waitText(fmt.Sprintf("sender: m%04d", i))
		cutOff = strings.Contains(bob.screen(), "stuck left (too slow")
	}
	if !cutOff {
		t.Fatalf("the stuck session was never cut off; bob sees:\n%s", bob.screen())
	}
	select {
	case <-stuckDone:
	case <-time.After(waitLimit):
		t.Fatal("the stuck session's channel was not closed")
	}
	sender.Send("#lobby", "after the cut-off")
	bob.waitText("sender: after the cut-off")
}

// escapeFree fails when raw terminal output holds anything but our own
// styling: only CSI sequences with the final bytes a renderer uses, no
// OSC/DCS/APC, no C1 controls, no bell, no other C0 controls.
func escapeFree(t *testing.T, raw []byte) {
	t.Helper()
	const allowedFinals = "mHJKhlABCDGdrfXLMPST"
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
	bob := dialTerm(t, ts.addr, "bob", 100, 30)
	bob.waitText("#lobby")
	carol := dialTerm(t, ts.addr, "carol", 100, 30)
	carol.waitText("#lobby · 2 members")
	mallory := dialTerm(t, ts.addr, "mallory", 100, 30)
	mallory.waitText("#lobby · 3 members")
	bob.waitText("#lobby · 3 members")

	// Typed escapes are taken apart by the input line; what is left is
	// plain text.
	mallory.typeLine("one \x1b]52;c;SGVsbG8=\x07 two \x1b[2J three \u009b31m four \x1b]0;pwned\x07 five")
	bob.waitText("five")

	// The core refuses what a modified client might send directly.
	direct := coreUser(t, ts.hub, "direct")
	for _, evil := range []string{"\x1b[2Jclear", "\u009b31mred", "bell\a", "osc \x1b]52;c;SGVsbG8=\x07", "bidi \u202e gnp.exe"} {
		if err := direct.Send("#lobby", evil); err == nil {
			t.Errorf("the core accepted %q", evil)
		}
	}

	// A 200 KB line harms no one: its sender is told, the others chat on.
	huge := strings.Repeat("A", 200*1024)
	mallory.send(huge)
	mallory.waitText("input too long")
	mallory.send("\r")
	mallory.waitText("message too long")
	carol.typeLine("still chatting after the flood")
	bob.waitText("carol: still chatting after the flood")
	mallory.waitText("carol: still chatting after the flood")
	if strings.Contains(bob.screen(), "AAAAAAAAAA") {
		t.Fatalf("the huge line reached bob:\n%s", bob.screen())
	}
	escapeFree(t, bob.raw.Bytes())
	escapeFree(t, carol.raw.Bytes())
}

func TestPrivateChatEndStaysReadable(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := dialTerm(t, ts.addr, "alice", 100, 30)
	bob := dialTerm(t, ts.addr, "bob", 100, 30)
	alice.typeLine("/join " + bob.code())
	alice.waitText("@bob · private chat")
	alice.typeLine("see you soon")
	bob.send("\x1b2")
	bob.waitText("alice: see you soon")

	alice.client.Close()
	s := bob.waitText("This chat has ended")
	if !strings.Contains(s, "alice: see you soon") || !strings.Contains(s, "@alice (ended)") {
		t.Fatalf("the ended chat should stay readable and marked:\n%s", s)
	}
	bob.typeLine("anyone there?")
	bob.waitText("this chat has ended: Esc for home")
	bob.send("\x1b")
	bob.waitText("Your code is")
	bob.waitGone("@alice")
}

func TestScrollbackDoesNotJumpWhileReading(t *testing.T) {
	ts := startServer(t, func(c *core.Config) { c.Limits.RateBurst, c.Limits.RatePerSec = 1000, 1000 }, nil)
	bob := dialTerm(t, ts.addr, "bob", 80, 20)
	bob.waitText("#lobby")
	sender := coreUser(t, ts.hub, "sender")
	for i := 0; i < 60; i++ {
		if err := sender.Send("#lobby", fmt.Sprintf("line %02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	bob.waitText("sender: line 59")
	bob.send("\x1b[5~") // PgUp
	s := bob.waitText("lines below")
	if strings.Contains(s, "sender: line 59") {
		t.Fatalf("PgUp did not scroll:\n%s", s)
	}
	first, below := firstChatLine(s), linesBelow(s)
	if err := sender.Send("#lobby", "a new message"); err != nil {
		t.Fatal(err)
	}
	s = bob.waitFor("the new message counted below", func(s string) bool { return linesBelow(s) == below+1 })
	if firstChatLine(s) != first || strings.Contains(s, "a new message") {
		t.Fatalf("the new message moved the lines being read (first was %q):\n%s", first, s)
	}
	bob.send("\x1b[6~\x1b[6~\x1b[6~\x1b[6~") // PgDn back to the bottom
	bob.waitText("sender: a new message")
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
	alice := dialTerm(t, ts.addr, "alice", 100, 30)
	alice.waitText("#lobby")
	bob := dialTerm(t, ts.addr, "bartholomew", 100, 30)
	bob.waitText("#lobby · 2 members")
	alice.waitText("#lobby · 2 members")

	alice.send("/roo\t")
	alice.waitText("> /rooms")
	alice.send("\x15hello bar\t") // Ctrl-U clears, then complete a name
	alice.waitText("> hello bartholomew")
	alice.send("\r")
	bob.waitText("alice: hello bartholomew")

	alice.send("\x1b[A") // ↑ brings the last line back
	alice.waitText("> hello bartholomew")
	alice.send("\x15")

	alice.send("?")
	alice.waitText("Ctrl-N / Ctrl-P")
	alice.waitText("/join CODE | #room [password]")
	alice.send("\x1b")
	alice.waitGone("Ctrl-N / Ctrl-P")
	alice.send("\x1bOP") // F1
	alice.waitText("Ctrl-N / Ctrl-P")
	alice.send("\x1b")
	alice.waitGone("Ctrl-N / Ctrl-P")

	alice.send("\x1bOQ") // F2: members panel
	s := alice.waitText("Members (2)")
	if !strings.Contains(s, "alice (you)") || !strings.Contains(s, "bartholomew") {
		t.Fatalf("members panel:\n%s", s)
	}

	alice.typeLine("/nosuch")
	alice.waitText("unknown command /nosuch")
	alice.waitText("> /nosuch") // the line is kept
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	alice := dialTerm(t, ln.Addr().String(), "alice", 80, 24)
	alice.waitText("#lobby")

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	alice.waitEnded()
	if !strings.Contains(string(alice.raw.Bytes()), "Parley: the server is shutting down") {
		t.Fatalf("no goodbye line; screen:\n%s", alice.screen())
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

// readUntil reads r until want appears, for raw clients without a screen.
func readUntil(r io.Reader, want string) error {
	var seen []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		seen = append(seen, buf[:n]...)
		if bytes.Contains(seen, []byte(want)) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w before %q", err, want)
		}
	}
}

// Closing one session of a multiplexed connection (as OpenSSH's
// ControlMaster does) must end that session alone, and a resize sent
// before the shell must not hang the session.
func TestResizeBeforeShellAndClosingOneOfTwoSessions(t *testing.T) {
	ts := startServer(t, nil, nil)
	client, err := gossh.Dial("tcp", ts.addr, clientConfig(t, "multi", true))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	open := func() (*gossh.Session, io.Reader) {
		sess, err := client.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		out, err := sess.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sess.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if err := sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			if err := sess.WindowChange(30+i, 100+i); err != nil {
				t.Fatal(err)
			}
		}
		if err := sess.Shell(); err != nil {
			t.Fatal(err)
		}
		if err := readUntil(out, "Parley"); err != nil {
			t.Fatal(err)
		}
		return sess, out
	}
	first, _ := open()
	second, secondOut := open()
	eventually(t, "two users", func() bool { n, _, _ := ts.hub.Counts(); return n == 2 })

	first.Close()
	eventually(t, "the closed session to leave", func() bool { n, _, _ := ts.hub.Counts(); return n == 1 })
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
	cfg := clientConfig(t, "many", false)
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
	eventually(t, "a connection once the others closed", func() bool {
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
