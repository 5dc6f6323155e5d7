package tui

import (
	"sync"
	"time"

	"parley/core"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// convState is one conversation as this screen shows it. The messages
// are the core's shared values, rendered through the shared line cache.
type convState struct {
	id        string
	kind      core.ConvKind
	title     string
	desc      string
	partner   core.Member
	count     int
	log       []*core.Message
	callsMe   []*core.Message // the messages in log that mention the viewer
	unread    int
	mentioned bool
	ended     string // why a private chat ended; it stays readable until left
	scroll    int    // lines above the bottom; 0 follows new messages
}

// panel is a dismissable overlay: command output or the help screen.
type panel struct {
	title  string
	lines  []string
	scroll int
}

// eventsMsg carries one burst of events from the session's outbox.
type eventsMsg []core.Event

const historyLimit = 100

type Model struct {
	// mu lets the program's Update (keys, sizes, due frames) and the
	// session's courier (hub events) take turns with the model.
	mu   sync.Mutex
	send func(tea.Msg) // to the program, for postponed frames
	done bool          // the program has ended: nothing more is drawn

	cs  *core.Session
	set Settings
	st  *styles
	scr *screen

	// Frames are drawn right after an update, at most one per frameGap,
	// or per quietGap when only members came and went; updates in between
	// are drawn together when the gap is over.
	frameGap, quietGap time.Duration
	lastFrame          time.Time
	frameDue           time.Time // when a postponed frame is due; zero if none

	w, h     int
	name     string
	code     string
	welcome  string
	welcomed bool // the welcome was put into the first conversation

	convs   map[string]*convState
	order   []string // sidebar order
	current string   // the core's current conversation
	viewing string   // the one on screen ("" = home); differs only for an ended chat

	input    *textinput.Model // the line being typed; nil while it is empty
	history  []string
	histPos  int
	draft    string
	comp     *completion
	dropping bool // the line outgrew the limit: its rest is dropped
	// Text typed since the editor was last used waits in pending, and
	// goes in when the line is next drawn or edited: the editor measures
	// its whole line with every insertion, which a long paste arriving
	// word by word would make quadratic. lineRunes counts the editor's
	// line when pending began.
	pending   []rune
	lineRunes int

	status    string
	statusErr bool
	panel     *panel

	bell bool // ring for mentions and private messages (/bell)

	showMembers bool
	members     []core.Member
	membersGen  int // counts refreshes of members, for the memo

	// Styled parts of the last frame, remade only when their content
	// changes or the terminal is resized; the input line after every key.
	header     memo[headerKey, string]
	statusMemo memo[statusKey, string]
	inputLine  memo[struct{}, string]
	sideCol    memo[string, []string] // by the conversation viewed
	sideKey    []sideEntry            // the sidebar's content, remade per frame
	sideShown  []sideEntry            // the content sideCol was made from
	memCol     memo[membersKey, []string]
	chatBuf    []string // the chat column's lines, as last laid out
	chatShown  chatShown
	rooms      []core.RoomInfo
	homeSel    int

	quit    bool   // the user quit (Ctrl-C)
	closing string // why the core is ending the session, when it said

}

const inputPrompt = "> "

// newInput makes the editor of the input line, w cells wide after the
// prompt.
func newInput(st *styles, w int) *textinput.Model {
	in := textinput.New()
	in.Prompt = inputPrompt
	in.Placeholder = "type a message · /help for commands · F1 for keys"
	in.PromptStyle = st.dim
	in.TextStyle = st.plain
	in.PlaceholderStyle = st.dim
	in.CompletionStyle = st.dim
	in.Cursor.Style = st.plain
	in.Cursor.TextStyle = st.plain
	in.Cursor.SetMode(cursor.CursorStatic)
	in.KeyMap.Paste = key.NewBinding(key.WithDisabled()) // would read the server's clipboard
	in.KeyMap.AcceptSuggestion = key.NewBinding(key.WithDisabled())
	in.KeyMap.NextSuggestion = key.NewBinding(key.WithDisabled())
	in.KeyMap.PrevSuggestion = key.NewBinding(key.WithDisabled())
	in.Width = w
	in.Focus()
	return &in
}

// editor is the input line's editor, made when the line was empty, with
// the text typed since it was last used put in. An editor is 5 KiB
// (mostly its eight styles) and most sessions are not typing, so an
// empty line has none (see dropEmptyInput).
func (m *Model) editor() *textinput.Model {
	if m.input == nil {
		m.input = newInput(m.st, m.inputWidth())
	}
	if len(m.pending) > 0 {
		// Bubble Tea marks a paste so; it matches none of the editor's key
		// bindings.
		text := m.pending
		m.pending = nil
		*m.input, _ = m.input.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: text, Paste: true})
	}
	return m.input
}

// dropEmptyInput lets the editor of an empty line go: a new one shows
// and behaves the same.
func (m *Model) dropEmptyInput() {
	if m.input != nil && len(m.pending) == 0 && m.input.Position() == 0 && m.input.Value() == "" {
		m.input = nil
	}
}

// typed is the line typed so far.
func (m *Model) typed() string {
	if m.input == nil && len(m.pending) == 0 {
		return ""
	}
	return m.editor().Value()
}

func (m *Model) inputWidth() int { return max(1, m.w-len(inputPrompt)-1) }

// inputView draws the input line; an empty one through a new editor.
func (m *Model) inputView() string {
	if m.input == nil && len(m.pending) == 0 {
		return newInput(m.st, m.inputWidth()).View()
	}
	return m.editor().View()
}

// Init draws the first frame.
func (m *Model) Init() tea.Cmd {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.scr.draw(m.frame())
	m.lastFrame = time.Now()
	return nil
}

// Deliver folds a burst of hub events in and draws, on the session's
// courier. This is the path of every message to every member, so it
// skips Bubble Tea's message loop: one goroutine runs per burst instead
// of three waking (a pump, the program's loop and its command loop).
func (m *Model) Deliver(evs []core.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done || m.quit {
		return
	}
	m.update(eventsMsg(evs))
	m.redraw(eventsMsg(evs))
}

// Finish stops deliveries once the program has ended, leaves the
// screen, and says whether the user quit and, if the core ended the
// session, why.
func (m *Model) Finish() (quit bool, closing string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done = true
	m.scr.close()
	return m.quit, m.closing
}

// frameMsg says a postponed frame may be due.
type frameMsg struct{}

// redraw draws the screen now, or schedules the frame for when its gap
// since the last one is over. Nothing runs while nothing changes. A
// crowd arriving in a big room changes every member's screen with each
// arrival; such quiet changes wait the longer quietGap, so a thousand
// screens are not redrawn for every one of them.
func (m *Model) redraw(msg tea.Msg) {
	now := time.Now()
	if _, ok := msg.(frameMsg); ok {
		if m.frameDue.IsZero() || now.Before(m.frameDue) {
			return // superseded by a sooner frame, or not yet due
		}
	} else {
		gap := m.frameGap
		if quiet(msg) {
			gap = m.quietGap
		}
		due := m.lastFrame.Add(gap)
		if !m.frameDue.IsZero() && !due.Before(m.frameDue) {
			return // the pending frame will show this too
		}
		if now.Before(due) {
			m.frameDue = due
			send := m.send
			time.AfterFunc(due.Sub(now), func() { send(frameMsg{}) })
			return
		}
	}
	m.frameDue = time.Time{}
	m.scr.draw(m.frame())
	m.lastFrame = now
}

// quiet says msg only tells of members coming and going.
func quiet(msg tea.Msg) bool {
	evs, ok := msg.(eventsMsg)
	if !ok {
		return false
	}
	for _, ev := range evs {
		if ev.Kind != core.EventMemberJoined && ev.Kind != core.EventMemberLeft && ev.Kind != core.EventMemberCount {
			return false
		}
	}
	return true
}

// Update takes the program's messages: keys, sizes, due frames and the
// session's end; hub events come through Deliver.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cmd := m.update(msg)
	if _, ok := msg.(EndedMsg); ok {
		m.scr.draw(m.frame()) // the last word, before the program quits
		return m, cmd
	}
	if !m.quit {
		m.redraw(msg)
	}
	return m, cmd
}

func (m *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.resize(msg.Width, msg.Height)
	case eventsMsg:
		for _, ev := range msg {
			m.apply(ev)
		}
		if m.viewing == "" {
			m.rooms = m.cs.Rooms()
			m.homeSel = min(m.homeSel, max(0, len(m.homeItems())-1))
		}
		return nil
	case EndedMsg:
		for _, ev := range msg {
			m.apply(ev)
		}
		return tea.Quit
	case tea.KeyMsg:
		m.inputLine.reset()
		cmd := m.key(msg)
		m.dropEmptyInput()
		return cmd
	case PasteMsg:
		m.inputLine.reset()
		m.comp = nil
		m.paste(msg)
		m.dropEmptyInput()
	}
	return nil
}

func (m *Model) resize(w, h int) {
	m.w, m.h = w, h
	if m.input != nil {
		m.input.Width = m.inputWidth()
	}
	m.header.reset()
	m.statusMemo.reset()
	m.inputLine.reset()
	m.sideCol.reset()
	m.memCol.reset()
}

func (m *Model) setStatus(text string, isErr bool) {
	m.status, m.statusErr = SafeText(text), isErr
}
