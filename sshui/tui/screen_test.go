package tui

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/core"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
	"github.com/muesli/termenv"
)

// shownText is what a terminal showing frame f reads as, row by row.
func shownText(f frame) string {
	var b strings.Builder
	for i, row := range f.rows {
		if i > 0 {
			b.WriteByte('\n')
		}
		for _, seg := range row {
			b.WriteString(ansi.Strip(seg.text))
		}
	}
	return b.String()
}

// emulatedText is what the emulated terminal shows, trailing blanks cut
// the same way as in want.
func emulatedText(emu *vt.Emulator) string {
	return trimRows(strings.ReplaceAll(ansi.Strip(emu.Render()), "\r\n", "\n"))
}

// painted is a terminal on which frame f was painted on a cleared
// screen, segment by segment: what every cell should look like.
func painted(t testing.TB, f frame) *vt.Emulator {
	t.Helper()
	emu := vt.NewEmulator(f.w, f.h)
	b := []byte(clearScreen)
	for r, row := range f.rows {
		for _, seg := range row {
			b = append(moveTo(b, r, seg.col), seg.text...)
		}
	}
	if _, err := emu.Write(b); err != nil {
		t.Fatal(err)
	}
	return emu
}

// sameCells fails unless both terminals show the same characters in the
// same colours and attributes, blank cells included: a space written in
// reverse video is not a blank.
func sameCells(t testing.TB, step string, got, want *vt.Emulator) {
	t.Helper()
	for y := 0; y < want.Height(); y++ {
		for x := 0; x < want.Width(); x++ {
			g, w := got.CellAt(x, y), want.CellAt(x, y)
			if g == nil || w == nil {
				if g != w {
					t.Fatalf("%s: cell %d,%d is %v on the terminal, %v in the frame", step, x, y, g, w)
				}
				continue
			}
			if (g.Content != w.Content && !(g.IsBlank() && w.IsBlank())) || !g.Style.Equal(&w.Style) {
				t.Fatalf("%s: cell %d,%d is %q %+v on the terminal, %q %+v in the frame", step, x, y, g.Content, g.Style, w.Content, w.Style)
			}
		}
	}
}

func trimRows(s string) string {
	rows := strings.Split(s, "\n")
	for i := range rows {
		rows[i] = strings.TrimRight(rows[i], " ")
	}
	return strings.Join(rows, "\n")
}

// testModel is a model of one viewer in #lobby at w×h, drawing into out.
func testModel(t testing.TB, w, h int, out *bytes.Buffer) (*Model, *core.Hub) {
	t.Helper()
	cfg := core.DefaultConfig()
	cfg.Limits.RateBurst, cfg.Limits.RatePerSec = 1<<20, 1<<20
	hub, err := core.NewHub(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Stop)
	cs, err := hub.Connect(core.ConnectInfo{LoginName: "viewer", Transport: "ssh"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close("") })
	m := New(cs, testSettings, Terminal{Out: out, Width: w, Height: h, Profile: termenv.ANSI256}, func(tea.Msg) {})
	for _, ev := range cs.Outbox().Drain() {
		m.apply(ev)
	}
	return m, hub
}

func chatMessage(seq int, from, text string) *core.Message {
	return &core.Message{Seq: uint64(seq), Conv: "#lobby", Time: time.Date(2026, 1, 2, 15, 4, 0, 0, time.UTC), Kind: core.Text,
		From: core.Member{ID: uint64(1000 + seq%7), Name: from}, Text: text}
}

// Every frame the screen writes must leave the terminal showing exactly
// that frame, whether it scrolled, rewrote a few segments or repainted.
func TestScreenShowsEveryFrameExactly(t *testing.T) {
	var out bytes.Buffer
	m, _ := testModel(t, 80, 24, &out)
	emu := vt.NewEmulator(80, 24)
	check := func(step string) int {
		t.Helper()
		out.Reset()
		f := m.frame()
		m.scr.draw(f)
		n := out.Len()
		if _, err := emu.Write(out.Bytes()); err != nil {
			t.Fatal(err)
		}
		if got, want := emulatedText(emu), trimRows(shownText(f)); got != want {
			t.Fatalf("%s: the terminal shows\n%s\nbut the frame is\n%s", step, got, want)
		}
		sameCells(t, step, emu, painted(t, f))
		return n
	}
	check("first frame")
	words := []string{"hello", "a somewhat longer message that will need to wrap over more than one line of the chat column, twice even", "界界界 wide", "short"}
	var scrolled []int
	for i := 0; i < 40; i++ {
		m.apply(core.Event{Kind: core.EventMessage, Conv: "#lobby", Msg: chatMessage(i, fmt.Sprintf("user%d", i%5), fmt.Sprintf("%s %d", words[i%len(words)], i))})
		scrolled = append(scrolled, check(fmt.Sprintf("message %d", i)))
	}
	// Once the chat is full, a one-line message scrolls: it costs a
	// line's worth, not a screen's.
	if n := scrolled[len(scrolled)-1]; n > 400 {
		t.Fatalf("a one-line message cost %d bytes", n)
	}
	m.editor().SetValue("typing")
	check("typing")
	m.setStatus("a notice", false)
	check("status")
	m.showMembers = true
	m.refreshMembers(m.viewing)
	check("members panel")
	m.page(true)
	check("page up")
	m.apply(core.Event{Kind: core.EventMessage, Conv: "#lobby", Msg: chatMessage(99, "late", "while reading history")})
	check("message while reading history")
	m.page(false)
	check("page down")
	m.setViewing("")
	check("home")
	m.resize(60, 20)
	emu.Resize(60, 20)
	check("smaller")
	m.resize(30, 8)
	emu.Resize(30, 8)
	check("too small")
}

// The chat column moved up by new messages is always the column laid out
// afresh: through bursts, long and wrapped messages, the log being cut to
// the scrollback limit, a mention, a rename that changes which messages
// mention the viewer, reading history, resizes and the members panel.
func TestMovedChatColumnIsTheLaidOutOne(t *testing.T) {
	m, _ := testModel(t, 80, 24, &bytes.Buffer{})
	m.set.Scrollback = 12
	seq := 0
	say := func(n int, text string) {
		var evs []core.Event
		for range n {
			seq++
			evs = append(evs, core.Event{Kind: core.EventMessage, Conv: "#lobby", Msg: chatMessage(seq, fmt.Sprintf("user%d", seq%3), fmt.Sprintf("%s %d", text, seq))})
		}
		for _, ev := range evs {
			m.apply(ev)
		}
	}
	moved := 0
	check := func(step string) {
		t.Helper()
		c := m.convs[m.viewing]
		l := m.layout()
		if m.chatShown.c == c {
			moved++
		}
		got := slices.Clone(m.chatLines(c, l.chatW, l.bodyH))
		m.chatShown = chatShown{}
		want := m.chatLines(c, l.chatW, l.bodyH)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: the chat column is\n%s\nbut laid out afresh it is\n%s", step, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	long := strings.Repeat("a long message that wraps over several rows ", 4)
	for i := range 40 {
		switch i % 5 {
		case 0:
			say(1, "short")
		case 1:
			say(3, "a burst")
		case 2:
			say(1, long)
		case 3:
			say(2, "viewer, this one mentions you")
		case 4:
			say(1, "ask user1 about 界界界 wide")
		}
		check(fmt.Sprintf("step %d", i))
	}
	m.apply(core.Event{Kind: core.EventSelf, Member: core.Member{ID: m.cs.ID(), Name: "user1"}})
	say(1, "after the rename")
	check("after a rename")
	m.page(true)
	say(1, "while reading history")
	check("reading history")
	m.page(false)
	say(1, "back at the bottom")
	check("back at the bottom")
	m.showMembers = true
	m.refreshMembers(m.viewing)
	say(1, "with the members panel")
	check("members panel")
	m.resize(120, 40)
	say(1, "after a resize")
	check("resize")
	say(1, "and one more")
	check("one more")
	say(1, strings.Repeat(long, 10))
	check("a message taller than the screen")
	if moved < 20 {
		t.Fatalf("the column was moved %d times; the test means to check that path", moved)
	}
}

// Only spaces in the default colours are left out on a blank row: spaces
// that are coloured or in reverse video show, and stay.
func TestBlankTailIsOnlyDefaultSpaces(t *testing.T) {
	for text, want := range map[string]string{
		"":                                 "",
		"   ":                              "",
		"abc  ":                            "abc",
		"abc":                              "abc",
		"\x1b[1mname\x1b[0m text   ":       "\x1b[1mname\x1b[0m text",
		"\x1b[1mname\x1b[m   ":             "\x1b[1mname\x1b[m",
		"\x1b[7m1 #lobby   \x1b[0m":        "\x1b[7m1 #lobby   \x1b[0m",
		"\x1b[7m1 #lobby   ":               "\x1b[7m1 #lobby   ",
		"\x1b[48;5;238m  ":                 "\x1b[48;5;238m  ",
		"\x1b[0m\x1b[48;5;238m x  ":        "\x1b[0m\x1b[48;5;238m x  ",
		"\x1b[48;5;238m x\x1b[0m \x1b[1m ": "\x1b[48;5;238m x\x1b[0m \x1b[1m ",
	} {
		if got := withoutBlankTail(text); got != want {
			t.Errorf("withoutBlankTail(%q) = %q, want %q", text, got, want)
		}
	}
}

// BenchmarkMessageFrame measures what one new chat message costs a viewer
// whose screen is full: folding it in, laying out the frame and writing
// the difference. Another viewer of the same width has rendered the
// message already, as in a room where it reaches everyone.
func BenchmarkMessageFrame(b *testing.B) {
	var out bytes.Buffer
	m, _ := testModel(b, 80, 24, &out)
	first, _ := testModel(b, 80, 24, &bytes.Buffer{})
	for i := 0; i < 50; i++ {
		m.apply(core.Event{Kind: core.EventMessage, Conv: "#lobby", Msg: chatMessage(i, "alice", fmt.Sprintf("warm up %d", i))})
	}
	m.scr.draw(m.frame())
	bytesOut := 0
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		i++
		msg := chatMessage(i, "alice", fmt.Sprintf("tkabc%07d", i))
		first.apply(core.Event{Kind: core.EventMessage, Conv: "#lobby", Msg: msg})
		first.scr.draw(first.frame())
		out.Reset()
		b.StartTimer()
		m.apply(core.Event{Kind: core.EventMessage, Conv: "#lobby", Msg: msg})
		m.scr.draw(m.frame())
		bytesOut += out.Len()
	}
	b.ReportMetric(float64(bytesOut)/float64(i), "bytes/msg")
}

// writeLog keeps what is written and the size of each write.
type writeLog struct {
	bytes.Buffer
	sizes []int
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	return w.Buffer.Write(p)
}

// A whole screen goes out in writes of at most maxWrite bytes, so that
// the SSH library's per-session buffers stay small, and the terminal
// still shows exactly the frame; a new message is one write.
func TestFramesGoOutInBoundedWrites(t *testing.T) {
	m, _ := testModel(t, 160, 50, &bytes.Buffer{})
	var out writeLog
	m.scr = newScreen(&out, nil)
	for i := 0; i < 60; i++ {
		m.apply(core.Event{Kind: core.EventMessage, Conv: "#lobby", Msg: chatMessage(i, fmt.Sprintf("user%d", i%5), fmt.Sprintf("message number %d, long enough to fill much of a wide row: %s", i, strings.Repeat("界 ", 20)))})
	}
	f := m.frame()
	m.scr.draw(f)
	if len(out.sizes) < 2 || slices.Max(out.sizes) > maxWrite {
		t.Fatalf("a %d-byte screen went out in writes of %v bytes; want several, none over %d", out.Len(), out.sizes, maxWrite)
	}
	emu := vt.NewEmulator(160, 50)
	if _, err := emu.Write(out.Bytes()); err != nil {
		t.Fatal(err)
	}
	if got, want := emulatedText(emu), trimRows(shownText(f)); got != want {
		t.Fatalf("the terminal shows\n%s\nbut the frame is\n%s", got, want)
	}
	out.Reset()
	out.sizes = nil
	m.apply(core.Event{Kind: core.EventMessage, Conv: "#lobby", Msg: chatMessage(99, "late", "one more")})
	m.scr.draw(m.frame())
	if len(out.sizes) != 1 {
		t.Fatalf("a new message went out in %d writes (%v bytes)", len(out.sizes), out.sizes)
	}
}

// A session that is not typing holds no editor for its input line, and
// the line looks the same with or without one; typing makes one, and
// emptying the line lets it go again.
func TestEmptyInputLineHoldsNoEditor(t *testing.T) {
	m, _ := testModel(t, 80, 24, &bytes.Buffer{})
	inputRow := func() string {
		f := m.frame()
		return f.rows[len(f.rows)-1][0].text
	}
	empty := inputRow()
	if m.input != nil {
		t.Fatal("a new session holds an editor")
	}
	withEditor := fit(newInput(m.st, m.inputWidth()).View(), m.w)
	if empty != withEditor {
		t.Fatalf("the empty line is %q, an editor shows %q", empty, withEditor)
	}
	for _, r := range "hi" {
		m.update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	if m.typed() != "hi" || m.input == nil || !strings.Contains(ansi.Strip(inputRow()), "> hi") {
		t.Fatalf("after typing: editor %v, line %q", m.input != nil, ansi.Strip(inputRow()))
	}
	m.update(tea.KeyMsg{Type: tea.KeyBackspace})
	m.update(tea.KeyMsg{Type: tea.KeyBackspace})
	if m.input != nil {
		t.Fatal("the emptied line still holds its editor")
	}
	if got := inputRow(); got != empty {
		t.Fatalf("the emptied line is %q, want %q", got, empty)
	}
}

// A long name in the members panel is cut, never the key tag that tells
// look-alike names apart.
func TestMembersPanelCutsTheNameNotTheKeyTag(t *testing.T) {
	m, _ := testModel(t, 80, 24, &bytes.Buffer{})
	m.members = []core.Member{{ID: m.cs.ID() + 1, Name: strings.Repeat("w", 24), KeyTag: "8i8tiCT+"}}
	got := ansi.Strip(m.memberLines(20, 10)[1])
	if !strings.HasSuffix(got, "… 8i8tiCT+") || ansi.StringWidth(got) > 20 {
		t.Fatalf("the members panel shows %q in 20 cells, want the name cut and the key tag whole", got)
	}
}

// The notice of a terminal too small wraps rather than losing the size
// Parley needs.
func TestTooSmallNoticeKeepsTheSizeNeeded(t *testing.T) {
	m, _ := testModel(t, 80, 24, &bytes.Buffer{})
	m.resize(16, 6)
	var rows []string
	for _, row := range m.frame().rows {
		rows = append(rows, ansi.Strip(row[0].text))
	}
	screen := strings.Join(rows, "\n")
	if !strings.Contains(screen, "16×6") || !strings.Contains(screen, "40×10") {
		t.Fatalf("a 16×6 terminal reads:\n%s", screen)
	}
}

// A help line too long for the panel wraps under itself, never back to
// the left edge.
func TestPanelLinesWrapWithAHangingIndent(t *testing.T) {
	m, _ := testModel(t, 80, 24, &bytes.Buffer{})
	m.panel = &panel{title: "Help", lines: helpLines(m.cs.Commands())}
	lines := m.panelLines(50, 500)
	for i, l := range lines[1:] {
		text := ansi.Strip(l)
		if text != "" && !strings.HasPrefix(text, " ") && !strings.HasPrefix(text, "Keys") && !strings.HasPrefix(text, "Commands") && !strings.HasPrefix(text, "The mouse") {
			t.Fatalf("line %d of the help runs back to the left edge: %q", i+1, text)
		}
	}
}

// A line cut to the screen's width ends with an ellipsis.
func TestCutLinesEndWithAnEllipsis(t *testing.T) {
	if got := ansi.Strip(fit("a status line far too long for this screen", 12)); got != "a status li…" {
		t.Fatalf("cut to %q", got)
	}
}
