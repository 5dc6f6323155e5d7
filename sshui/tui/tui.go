// Package tui is the full-screen terminal chat: one core session drawn
// on one terminal, with its keys, panels and frames. It knows nothing of
// SSH: the server hands it the terminal's output, size and colours, runs
// it as a Bubble Tea program, and delivers the session's events to it.
package tui

import (
	"io"
	"time"

	"parley/core"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/muesli/termenv"
)

// Settings are the operator's limits for the screen.
type Settings struct {
	// MaxInputRunes caps the input line.
	MaxInputRunes int
	// Scrollback is how many messages each conversation keeps on screen.
	Scrollback int
	// FPS caps the frames drawn per second.
	FPS int
	// QuietFPS caps the frames drawn per second for members joining and
	// leaving, which in a big room would otherwise redraw every screen.
	QuietFPS int
}

// Asker lets frames carry a question to the terminal, whose answer shows
// that the terminal still reads what it is sent.
type Asker interface {
	// Question is the question the next frame ends with, "" for none.
	Question(now time.Time) string
}

// Terminal is where the chat is drawn.
type Terminal struct {
	Out           io.Writer
	Width, Height int
	Profile       termenv.Profile // the colours it shows
	Asker         Asker           // nil: the terminal is never asked anything
}

// PasteMsg is one bracketed paste, taken out of the keys whole by the
// terminal's input, so that its words are never taken for keys.
type PasteMsg struct {
	Text    string
	TooLong bool // longer than the input keeps: Text is empty
}

// EndedMsg carries the last events of a session the core has closed; the
// program draws them and quits.
type EndedMsg []core.Event

// New builds the chat of one session; send reaches the program running
// it, for frames postponed by the frame rate.
func New(cs *core.Session, set Settings, term Terminal, send func(tea.Msg)) *Model {
	m := &Model{
		cs: cs, set: set, st: stylesFor(term.Profile), scr: newScreen(term.Out, term.Asker), send: send,
		frameGap: time.Second / time.Duration(set.FPS),
		quietGap: time.Second / time.Duration(set.QuietFPS),
		name:     cs.Name(), code: cs.Code(), welcome: cs.Welcome(),
		convs: map[string]*convState{},
		bell:  true,
	}
	m.resize(term.Width, term.Height)
	m.rooms = cs.Rooms()
	return m
}
