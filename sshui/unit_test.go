package sshui

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"parley/core"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// Reads are cut anywhere but inside a paste marker's first bytes: an Esc
// alone at the end of a read is the Esc key.
func TestInputGuardMakesShortWholeReads(t *testing.T) {
	in := strings.Repeat("héllo wörld ✓ ", 200) + "\x1b[200~pasted end\x1b[201~" + strings.Repeat("A", 5000) + "\x1b[A" +
		"\x1b[200~" + strings.Repeat("too long ", 10) + "\x1b[201~"
	want := strings.Repeat("héllo wörld ✓ ", 200) + strings.Repeat("A", 5000) + "\x1b[A"
	for name, r := range map[string]io.Reader{
		"whole":     strings.NewReader(in),
		"halfreads": iotest.HalfReader(strings.NewReader(in)),
	} {
		var pastes []pasteMsg
		g := &inputGuard{r: r, pasteMax: 50, paste: func(p pasteMsg) { pastes = append(pastes, p) }}
		var out bytes.Buffer
		buf := make([]byte, 256)
		for {
			n, err := g.Read(buf)
			if n >= len(buf) {
				t.Fatalf("%s: a full read (%d bytes) lets the parser hold input back", name, n)
			}
			if n > 0 && !utf8.Valid(buf[:n]) {
				t.Fatalf("%s: a read split a character: %q", name, buf[:n])
			}
			if bytes.Contains(buf[:n], pasteStart) {
				t.Fatalf("%s: a read holds a paste start marker", name)
			}
			out.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if out.String() != want {
			t.Fatalf("%s: input changed: got %d bytes, want %d", name, out.Len(), len(want))
		}
		if len(pastes) != 2 || pastes[0] != (pasteMsg{text: "pasted end"}) || pastes[1] != (pasteMsg{tooLong: true}) {
			t.Fatalf("%s: pastes taken out as %+v, want the first whole and the second too long", name, pastes)
		}
	}
}

func TestMentions(t *testing.T) {
	for _, c := range []struct {
		text, name string
		want       bool
	}{
		{"hi Alice!", "alice", true},
		{"@alice look", "alice", true},
		{"malice aforethought", "alice", false},
		{"alice_2 is here", "alice", false},
		{"ask zoë", "zoë", true},
		{"", "alice", false},
	} {
		if got := mentions(c.text, c.name); got != c.want {
			t.Errorf("mentions(%q, %q) = %v", c.text, c.name, got)
		}
	}
}

func TestWrapWords(t *testing.T) {
	lines := wrapWords("the quick brown fox jumps over the lazy dog", 10, 20)
	if lines[0] != "the quick" || len(lines) != 3 {
		t.Fatalf("got %q", lines)
	}
	for _, l := range wrapWords(strings.Repeat("界", 50), 7, 7) {
		if w := ansi.StringWidth(l); w > 7 || w == 0 {
			t.Fatalf("line %q is %d cells", l, w)
		}
	}
}

func TestSafeTextAndProfiles(t *testing.T) {
	if got := safeText("a\x1b[2Jb\u009bc\a\xffd"); strings.ContainsAny(got, "\x1b\a\u009b") || !utf8.ValidString(got) {
		t.Fatalf("safeText left controls in %q", got)
	}
	for term, want := range map[string]termenv.Profile{"": termenv.Ascii, "dumb": termenv.Ascii, "xterm-256color": termenv.ANSI256, "linux": termenv.ANSI, "xterm-direct": termenv.TrueColor} {
		if got := profileFor(term, nil); got != want {
			t.Errorf("profileFor(%q) = %v, want %v", term, got, want)
		}
	}
	if w, h := clampWindow(20000, 4000, 512, 200); w != 512 || h != 200 {
		t.Fatalf("clamped to %dx%d", w, h)
	}
}

// BenchmarkRenderMessage measures wrapping and styling one message, the
// work done once per message and width.
func BenchmarkRenderMessage(b *testing.B) {
	hub, err := core.NewHub(core.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer hub.Stop()
	cs, err := hub.Connect(core.ConnectInfo{LoginName: "viewer", Transport: "ssh"})
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close("")
	m := newModel(cs, Config{}.withDefaults(), stylesFor(termenv.ANSI256), newScreen(io.Discard, nil), func(tea.Msg) {}, 100, 30)
	msg := &core.Message{Seq: 1, Time: time.Now(), Kind: core.Text, From: core.Member{ID: 99, Name: "alice"},
		Text: strings.Repeat("a message of ordinary words, hello viewer, ", 7)}
	b.ReportAllocs()
	for b.Loop() {
		m.renderMessage(msg, 80, false)
	}
}

// deadlineLog is a connection that records the deadlines set on it.
type deadlineLog struct {
	net.Conn
	set []time.Time
}

func (d *deadlineLog) SetDeadline(t time.Time) error {
	d.set = append(d.set, t)
	return nil
}

// The idle deadline the SSH library moves before every read and write is
// applied again only once it has moved by the slack or more (a second,
// for the default idle timeout); a deadline that comes earlier, or none,
// is applied at once.
func TestIdleDeadlineMovesInSteps(t *testing.T) {
	if got := deadlineSlack(600 * time.Millisecond); got != 75*time.Millisecond {
		t.Fatalf("the slack for an idle timeout of 600ms is %s; want an eighth of it", got)
	}
	log := &deadlineLog{}
	c := &countedConn{Conn: log, slack: deadlineSlack(2 * time.Minute)}
	start := time.Now().Add(2 * time.Minute)
	for i := range 1000 {
		c.SetDeadline(start.Add(time.Duration(i) * time.Millisecond)) // a second of frames
	}
	c.SetDeadline(start.Add(1500 * time.Millisecond))
	c.SetDeadline(start.Add(time.Second))
	c.SetDeadline(time.Time{})
	want := []time.Time{start, start.Add(1500 * time.Millisecond), start.Add(time.Second), {}}
	if len(log.set) != len(want) {
		t.Fatalf("deadlines applied: %v; want %v", log.set, want)
	}
	for i := range want {
		if !log.set[i].Equal(want[i]) {
			t.Fatalf("deadlines applied: %v; want %v", log.set, want)
		}
	}
}
