package sshui

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"parley/core"
	"parley/internal/testkit"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
)

// readAll reads g to the end with reads of size bytes, checking that no
// read fills the buffer (the parser would then wait for more) and none
// holds a whole cursor report or paste marker.
func readAll(t testing.TB, g *inputGuard, size int) []byte {
	t.Helper()
	var out bytes.Buffer
	buf := make([]byte, size)
	for range 1 << 20 {
		n, err := g.Read(buf)
		if n >= len(buf) && len(buf) >= 2 {
			t.Fatalf("a full read (%d bytes) lets the parser hold input back", n)
		}
		for i := range n {
			if r, _ := scanReport(buf[i:n]); r > 0 {
				t.Fatalf("a read holds a cursor report: %q", buf[:n])
			}
		}
		if bytes.Contains(buf[:n], pasteStart) {
			t.Fatalf("a read holds a paste start marker: %q", buf[:n])
		}
		out.Write(buf[:n])
		if err == io.EOF {
			return out.Bytes()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("the guard never reached the end of its input")
	return nil
}

// awaitingProbe is a probe with a question out that no test waits for.
func awaitingProbe(t testing.TB) *terminalProbe {
	p := newTerminalProbe(time.Hour, func() bool { return false })
	p.ask(time.Now())
	t.Cleanup(p.stop)
	return p
}

func TestInputGuardTakesOutCursorReports(t *testing.T) {
	typed := []string{"héllo ", "\x1b[A", "wörld", "\x1b", "\x1b[1;5C", "✓", strings.Repeat("x", 300), "\r"}
	want := strings.Join(typed, "")
	// A question has one answer, which may come between any two keys
	// and be split anywhere by the network or by the guard's reads.
	for at := range typed {
		in := strings.Join(typed[:at], "") + fmt.Sprintf("\x1b[%d;%dR", 24+at, 80+at*1000) + strings.Join(typed[at:], "")
		for cut := range len(in) {
			g := &inputGuard{r: io.MultiReader(strings.NewReader(in[:cut]), strings.NewReader(in[cut:])), probe: awaitingProbe(t)}
			if got := readAll(t, g, 256); string(got) != want {
				t.Fatalf("answer before key %d, input cut at %d: input changed:\n got %q\nwant %q", at, cut, got, want)
			}
		}
	}
	// Several answers, late ones too, in one read.
	in := "a\x1b[1;1Rb\x1b[24;80R\x1b[Ac\x1b[99999;99999R"
	g := &inputGuard{r: strings.NewReader(in), probe: awaitingProbe(t)}
	if got := readAll(t, g, 256); string(got) != "ab\x1b[Ac" {
		t.Fatalf("got %q", got)
	}
}

func TestInputGuardAnswersStopTheClock(t *testing.T) {
	lost := make(chan struct{})
	p := newTerminalProbe(200*time.Millisecond, func() bool { close(lost); return true })
	defer p.stop()
	asked := time.Now()
	if !p.ask(asked) {
		t.Fatal("the first output carries no question")
	}
	if p.ask(asked) {
		t.Fatal("a second question went out while one is unanswered")
	}
	// The answer comes in two pieces, as it may over the network.
	pr, pw := io.Pipe()
	g := &inputGuard{r: pr, probe: p}
	go func() {
		pw.Write([]byte("a\x1b[24;"))
		time.Sleep(20 * time.Millisecond)
		pw.Write([]byte("80Rb"))
		pw.Close()
	}()
	if got := readAll(t, g, 64); string(got) != "ab" {
		t.Fatalf("got %q, want %q", got, "ab")
	}
	if p.awaiting() {
		t.Fatal("the answer was not taken as one")
	}
	select {
	case <-lost:
		t.Fatal("an answered question still cut the session off")
	case <-time.After(400 * time.Millisecond):
	}
	if p.ask(asked.Add(100 * time.Millisecond)) {
		t.Fatal("a question went out sooner than the timeout after the last")
	}
	if !p.ask(asked.Add(time.Second)) {
		t.Fatal("no question went out once the timeout had passed")
	}
	select {
	case <-lost:
	case <-time.After(testkit.WaitLimit):
		t.Fatal("an unanswered question never cut the session off")
	}
}

func TestInputGuardPassesALoneEscapeWhenNoAnswerIsDue(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	g := &inputGuard{r: pr}
	go pw.Write([]byte("\x1b"))
	buf := make([]byte, 64)
	done := make(chan int)
	go func() {
		n, _ := g.Read(buf)
		done <- n
	}()
	select {
	case n := <-done:
		if string(buf[:n]) != "\x1b" {
			t.Fatalf("got %q", buf[:n])
		}
	case <-time.After(testkit.WaitLimit):
		t.Fatal("the Esc key was held back with no answer due")
	}
}

// FuzzInputGuard feeds any bytes, in reads of any size, through the
// guard: it never panics, never returns a full read, a cursor report or
// a paste start, and returns the input's bytes in order, dropping none
// of input that holds no escape at all.
func FuzzInputGuard(f *testing.F) {
	f.Add([]byte("hello\x1b[24;80Rworld"), uint8(3), true)
	f.Add([]byte("\x1b[200~paste\x1b[201~\x1b[1;1R"), uint8(1), false)
	f.Add([]byte("\x1b[12345;67890R\x1b[\x1b[1;2R1;2R"), uint8(7), true)
	f.Add([]byte("é✓\x1b\x1b[A\x1b[3"), uint8(2), false)
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, awaiting bool) {
		var p *terminalProbe
		if awaiting {
			p = awaitingProbe(t)
		}
		r := io.Reader(bytes.NewReader(data))
		if chunk > 0 {
			r = &chunkReader{data: data, size: int(chunk)}
		}
		got := readAll(t, &inputGuard{r: r, probe: p}, 256)
		if !isSubsequence(got, data) {
			t.Fatalf("output %q is not taken from input %q", got, data)
		}
		if !bytes.ContainsRune(data, 0x1b) && !bytes.Equal(got, data) {
			t.Fatalf("plain input changed: %q → %q", data, got)
		}
	})
}

// chunkReader returns data size bytes at a time.
type chunkReader struct {
	data []byte
	size int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.size)], c.data)
	c.data = c.data[n:]
	return n, nil
}

func isSubsequence(sub, of []byte) bool {
	for _, b := range sub {
		i := bytes.IndexByte(of, b)
		if i < 0 {
			return false
		}
		of = of[i+1:]
	}
	return true
}

// A client that reads its output but never answers the terminal's
// questions (a script with ssh -tt, some web terminals) is not cut off:
// an unanswered question is only a hint, and with its writes flowing the
// SSH channel says the client reads. It is asked no more.
func TestTerminalThatReadsButNeverAnswersStays(t *testing.T) {
	const timeout = 300 * time.Millisecond
	ts := startServer(t, func(c *core.Config) { c.Limits.RateBurst, c.Limits.RatePerSec = 1000, 1000 }, func(c *Config) { c.AnswerTimeout = timeout })
	bob := testkit.Dial(t, ts.addr, "bob", 100, 30)
	bob.WaitFor("#lobby · 1 member ·")
	_, _, _, stdout := testkit.OpenShell(t, ts.addr, testkit.KeyLogin(t, "silent"), 80, 24)
	// It shows what it reads, and drops the answers its emulator makes.
	emu, raw := vt.NewSafeEmulator(80, 24), &testkit.Buffer{}
	go func() { _, _ = io.Copy(io.MultiWriter(emu, raw), stdout) }()
	go func() { _, _ = io.Copy(io.Discard, emu) }()
	screen := func() string { return ansi.Strip(emu.Render()) }
	bob.WaitFor("#lobby · 2 members")
	start := time.Now()
	for i := 0; i < 5 || time.Since(start) < 5*timeout; i++ {
		line := fmt.Sprintf("line %d", i)
		bob.TypeLine(line)
		testkit.Poll(t, "silent", line, screen, func(s string) bool { return strings.Contains(s, "bob: "+line) })
	}
	if strings.Contains(bob.Screen(), "silent left") {
		t.Fatalf("a client that reads was cut off:\n%s", bob.Screen())
	}
	if n := strings.Count(raw.String(), askCursor); n != 1 {
		t.Fatalf("a terminal that does not answer was asked %d times, want once", n)
	}
}

// The answer to a question still out when the user quits is awaited
// before the session closes: it would otherwise reach the user's shell.
func TestQuitWaitsForTheTerminalsAnswer(t *testing.T) {
	ts := startServer(t, nil, func(c *Config) { c.AnswerTimeout = 10 * time.Second })
	_, sess, stdin, stdout := testkit.OpenShell(t, ts.addr, testkit.KeyLogin(t, "alice"), 80, 24)
	if err := readUntil(stdout, askCursor); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if _, err := io.WriteString(stdin, "\x03"); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // a terminal on a slow link
	if _, err := io.WriteString(stdin, "\x1b[24;80R"); err != nil {
		t.Fatalf("the session closed before its terminal answered: %v", err)
	}
	if err := sess.Wait(); err != nil {
		t.Fatalf("the session did not end cleanly: %v", err)
	}
}

// A terminal that reads answers every question, so it stays however long
// it talks, and the answers never show up as typed keys.
func TestAnsweringTerminalStaysAndItsAnswersAreNoKeys(t *testing.T) {
	ts := startServer(t, nil, func(c *Config) { c.AnswerTimeout = 300 * time.Millisecond })
	users := joinLobby(t, ts, "alice", "bob")
	alice, bob := users[0], users[1]
	for i := range 8 {
		alice.TypeLine(fmt.Sprintf("line %d", i))
		bob.WaitFor(fmt.Sprintf("alice: line %d", i))
		time.Sleep(200 * time.Millisecond)
	}
	bob.Type("no stray keys")
	bob.WaitFor("> no stray keys")
	bob.Press(testkit.Enter)
	alice.WaitFor("bob: no stray keys")
	if u, _, _ := ts.hub.Counts(); u != 2 {
		t.Fatalf("%d users in the hub, want both", u)
	}
	if bytes.Count(bob.Raw(), []byte(askCursor)) < 2 {
		t.Fatalf("bob's terminal was asked %d times in 1.6 s with output, want at least 2", bytes.Count(bob.Raw(), []byte(askCursor)))
	}
}
