package tui

import (
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"parley/core"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// testSettings are the server's defaults.
var testSettings = Settings{MaxInputRunes: 16384, Scrollback: 1000, FPS: 20, QuietFPS: 2}

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

func TestSafeText(t *testing.T) {
	if got := SafeText("a\x1b[2Jb\u009bc\a\xffd"); strings.ContainsAny(got, "\x1b\a\u009b") || !utf8.ValidString(got) {
		t.Fatalf("SafeText left controls in %q", got)
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
	cs, err := hub.Connect(core.ConnectInfo{LoginName: "viewer", Transport: core.SSH})
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close("")
	m := New(cs, testSettings, Terminal{Out: io.Discard, Width: 100, Height: 30, Profile: termenv.ANSI256}, func(tea.Msg) {})
	msg := &core.Message{Seq: 1, Time: time.Now(), Kind: core.Text, From: core.Member{ID: 99, Name: "alice"},
		Text: strings.Repeat("a message of ordinary words, hello viewer, ", 7)}
	b.ReportAllocs()
	for b.Loop() {
		m.renderMessage(msg, 80, false)
	}
}
