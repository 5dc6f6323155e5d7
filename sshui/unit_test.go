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

	"parley/sshui/tui"

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
		var pastes []tui.PasteMsg
		g := &inputGuard{r: r, pasteMax: 50, paste: func(p tui.PasteMsg) { pastes = append(pastes, p) }}
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
		if len(pastes) != 2 || pastes[0] != (tui.PasteMsg{Text: "pasted end"}) || pastes[1] != (tui.PasteMsg{TooLong: true}) {
			t.Fatalf("%s: pastes taken out as %+v, want the first whole and the second too long", name, pastes)
		}
	}
}

func TestProfilesAndWindows(t *testing.T) {
	for term, want := range map[string]termenv.Profile{"": termenv.Ascii, "dumb": termenv.Ascii, "xterm-256color": termenv.ANSI256, "linux": termenv.ANSI, "xterm-direct": termenv.TrueColor} {
		if got := profileFor(term, nil); got != want {
			t.Errorf("profileFor(%q) = %v, want %v", term, got, want)
		}
	}
	if w, h := clampWindow(20000, 4000, 512, 200); w != 512 || h != 200 {
		t.Fatalf("clamped to %dx%d", w, h)
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
