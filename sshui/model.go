package sshui

import (
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

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

// endedMsg carries the last events of a session the core has closed.
type endedMsg []core.Event

const historyLimit = 100

type model struct {
	// mu lets the program's Update (keys, sizes, due frames) and the
	// session's courier (hub events) take turns with the model.
	mu   sync.Mutex
	send func(tea.Msg) // to the program, for postponed frames
	done bool          // the program has ended: nothing more is drawn

	cs  *core.Session
	cfg Config
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

// newModel builds the model of one session; send reaches its program.
func newModel(cs *core.Session, cfg Config, st *styles, scr *screen, send func(tea.Msg), w, h int) *model {
	m := &model{
		cs: cs, cfg: cfg, st: st, scr: scr, send: send,
		frameGap: time.Second / time.Duration(cfg.FPS),
		quietGap: time.Second / time.Duration(cfg.QuietFPS),
		name:     cs.Name(), code: cs.Code(), welcome: cs.Welcome(),
		convs: map[string]*convState{},
		bell:  true,
	}
	m.resize(w, h)
	m.rooms = cs.Rooms()
	return m
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
func (m *model) editor() *textinput.Model {
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
func (m *model) dropEmptyInput() {
	if m.input != nil && len(m.pending) == 0 && m.input.Position() == 0 && m.input.Value() == "" {
		m.input = nil
	}
}

// typed is the line typed so far.
func (m *model) typed() string {
	if m.input == nil && len(m.pending) == 0 {
		return ""
	}
	return m.editor().Value()
}

func (m *model) inputWidth() int { return max(1, m.w-len(inputPrompt)-1) }

// inputView draws the input line; an empty one through a new editor.
func (m *model) inputView() string {
	if m.input == nil && len(m.pending) == 0 {
		return newInput(m.st, m.inputWidth()).View()
	}
	return m.editor().View()
}

func (m *model) Init() tea.Cmd {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.scr.draw(m.frame())
	m.lastFrame = time.Now()
	return nil
}

// deliver folds a burst of hub events in and draws, on the session's
// courier. This is the path of every message to every member, so it
// skips Bubble Tea's message loop: one goroutine runs per burst instead
// of three waking (a pump, the program's loop and its command loop).
func (m *model) deliver(evs []core.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done || m.quit {
		return
	}
	m.update(eventsMsg(evs))
	m.redraw(eventsMsg(evs))
}

// finish stops deliveries once the program has ended.
func (m *model) finish() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done = true
}

// frameMsg says a postponed frame may be due.
type frameMsg struct{}

// redraw draws the screen now, or schedules the frame for when its gap
// since the last one is over. Nothing runs while nothing changes. A
// crowd arriving in a big room changes every member's screen with each
// arrival; such quiet changes wait the longer quietGap, so a thousand
// screens are not redrawn for every one of them.
func (m *model) redraw(msg tea.Msg) {
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
// session's end; hub events come through deliver.
func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cmd := m.update(msg)
	if _, ok := msg.(endedMsg); ok {
		m.scr.draw(m.frame()) // the last word, before the program quits
		return m, cmd
	}
	if !m.quit {
		m.redraw(msg)
	}
	return m, cmd
}

func (m *model) update(msg tea.Msg) tea.Cmd {
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
	case endedMsg:
		for _, ev := range msg {
			m.apply(ev)
		}
		return tea.Quit
	case tea.KeyMsg:
		m.inputLine.reset()
		cmd := m.key(msg)
		m.dropEmptyInput()
		return cmd
	case pasteMsg:
		m.inputLine.reset()
		m.comp = nil
		m.paste(msg)
		m.dropEmptyInput()
	}
	return nil
}

func (m *model) resize(w, h int) {
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

func (m *model) setStatus(text string, isErr bool) {
	m.status, m.statusErr = safeText(text), isErr
}

// apply folds one core event into the screen state.
func (m *model) apply(ev core.Event) {
	switch ev.Kind {
	case core.EventMessage:
		m.addMessage(ev.Conv, ev.Msg)
	case core.EventConvOpened:
		m.openConv(ev.View)
		if by := ev.View.OpenedBy; by.ID != 0 && by.ID != m.cs.ID() {
			m.invited(ev.View.ID, by.Name)
		}
	case core.EventConvClosed:
		m.closeConv(ev.Conv, ev.Text, ev.ByYou)
	case core.EventCurrent:
		m.current = ev.Conv
		if v := m.convs[m.viewing]; v == nil || v.ended == "" {
			m.setViewing(ev.Conv)
		}
	case core.EventMemberJoined, core.EventMemberLeft:
		if c := m.convs[ev.Conv]; c != nil {
			if ev.Kind == core.EventMemberJoined {
				c.count++
			} else if c.count > 0 {
				c.count--
			}
		}
		m.addMessage(ev.Conv, ev.Msg)
		m.refreshMembers(ev.Conv)
	case core.EventMemberCount:
		if c := m.convs[ev.Conv]; c != nil {
			c.count = ev.N
		}
		m.refreshMembers(ev.Conv)
	case core.EventRenamed:
		if c := m.convs[ev.Conv]; c != nil && c.kind == core.Private && c.partner.ID == ev.Member.ID {
			c.partner = ev.Member
			c.title = ev.Member.Name
		}
		m.addMessage(ev.Conv, ev.Msg)
		m.refreshMembers(ev.Conv)
	case core.EventSelf:
		m.name = ev.Member.Name
		for _, c := range m.convs {
			m.findMentions(c)
		}
	case core.EventInfo:
		m.panel = &panel{title: ev.Text, lines: ev.Lines}
	case core.EventNotice:
		m.setStatus(ev.Text, false)
	case core.EventMissed:
		m.resync()
		m.setStatus(fmt.Sprintf("you missed %d updates while your connection was behind; the screen was refreshed", ev.N), true)
	case core.EventClosing:
		m.setStatus(ev.Text, true)
		m.closing = ev.Text
	}
}

// invited takes the user into the private chat id that name opened with
// them, ready to answer, unless they are typing: then they stay, told
// which key takes them there. Either way the key back is one press.
func (m *model) invited(id, name string) {
	if m.bell {
		m.scr.ring()
	}
	if m.dropping || m.typed() != "" {
		m.setStatus(fmt.Sprintf("%s opened a private chat with you: %s to answer it", name, m.keyTo(id)), false)
		return
	}
	from, back := "home", m.keyTo(m.viewing)
	if c := m.convs[m.viewing]; c != nil {
		from = convTitle(c)
	}
	m.switchTo(id)
	if m.viewing == id {
		m.setStatus(fmt.Sprintf("%s opened a private chat with you · %s back to %s", name, back, from), false)
	}
}

// keyTo names the key that shows conversation id ("" is home).
func (m *model) keyTo(id string) string {
	if id == "" {
		return "Esc"
	}
	for i, x := range m.order {
		if x == id && i < 9 {
			return fmt.Sprintf("Alt-%d", i+1)
		}
	}
	return "Ctrl-N"
}

func (m *model) newConvState(v *core.ConvView) *convState {
	c := &convState{id: v.ID, kind: v.Kind, title: v.Title, desc: v.Description, partner: v.Partner, count: v.MemberCount}
	c.log = append([]*core.Message(nil), v.History...)
	m.trim(c)
	m.findMentions(c)
	return c
}

func (m *model) openConv(v *core.ConvView) {
	if v == nil {
		return
	}
	if m.convs[v.ID] == nil {
		m.order = append(m.order, v.ID)
	}
	c := m.newConvState(v)
	m.convs[v.ID] = c
	if !m.welcomed {
		// The welcome and the message of the day open the first
		// conversation, the first screen a user sees.
		m.welcomed = true
		for _, l := range strings.Split(m.welcome, "\n") {
			if strings.TrimSpace(l) != "" {
				m.addMessage(v.ID, &core.Message{Conv: v.ID, Time: time.Now(), Kind: core.System, Text: l})
			}
		}
	}
}

// closeConv removes a conversation, except a private chat the other side
// ended: that one stays on screen, marked, until the user moves on.
func (m *model) closeConv(id, why string, byYou bool) {
	c := m.convs[id]
	if c == nil {
		return
	}
	if byYou || c.kind == core.Room {
		// A room closed by someone else (the operator's reload) says why.
		if !byYou && why != "" {
			m.setStatus(why, false)
		}
		m.dropConv(id)
		return
	}
	if why == "" {
		why = "the chat has ended"
	}
	c.ended = why
	m.addMessage(id, &core.Message{Conv: id, Time: time.Now(), Kind: core.System, Text: "chat ended: " + why})
}

func (m *model) dropConv(id string) {
	delete(m.convs, id)
	for i, x := range m.order {
		if x == id {
			m.order = append(m.order[:i:i], m.order[i+1:]...)
			break
		}
	}
	if m.viewing == id {
		m.setViewing(m.current)
	}
}

// setViewing puts conversation id on screen; an ended chat being left
// behind is forgotten.
func (m *model) setViewing(id string) {
	if old := m.convs[m.viewing]; old != nil && old.ended != "" && m.viewing != id {
		prev := m.viewing
		m.viewing = id
		m.dropConv(prev)
	}
	if m.viewing != id {
		m.panel = nil
	}
	m.viewing = id
	if c := m.convs[id]; c != nil {
		c.unread, c.mentioned = 0, false
	}
	if id == "" {
		m.rooms = m.cs.Rooms()
		m.homeSel = min(m.homeSel, max(0, len(m.homeItems())-1))
	}
	m.refreshMembers(id)
}

func (m *model) addMessage(id string, msg *core.Message) {
	c := m.convs[id]
	if c == nil || msg == nil {
		return
	}
	c.log = append(c.log, msg)
	mention := m.mentioned(msg)
	if mention {
		c.callsMe = append(c.callsMe, msg)
	}
	m.trim(c)
	if m.bell && (mention || (c.kind == core.Private && msg.Kind != core.System && msg.From.ID != m.cs.ID())) {
		m.scr.ring()
	}
	if id != m.viewing {
		if msg.Kind != core.System {
			c.unread++
		}
		c.mentioned = c.mentioned || mention
		return
	}
	if c.scroll > 0 {
		// Keep the lines the user is reading where they are.
		w := m.layout().chatW
		c.scroll += len(m.renderedAt(c, len(c.log)-1, w))
	}
}

// trim keeps a conversation's log within the scrollback limit. It lets
// the log run a quarter over before cutting, so a busy room copies its
// log once in a while rather than on every message.
func (m *model) trim(c *convState) {
	keep := m.cfg.Scrollback
	if len(c.log) > keep+keep/4 {
		c.log = append([]*core.Message(nil), c.log[len(c.log)-keep:]...)
		m.findMentions(c)
	}
}

// findMentions lists the messages of c that mention the viewer, once per
// message rather than once per frame.
func (m *model) findMentions(c *convState) {
	m.chatShown = chatShown{} // the log, or what mentions the viewer, was remade
	c.callsMe = nil
	for _, msg := range c.log {
		if m.mentioned(msg) {
			c.callsMe = append(c.callsMe, msg)
		}
	}
}

func (m *model) refreshMembers(id string) {
	if m.showMembers && id != "" && id == m.viewing {
		m.members = m.cs.Members(id)
		m.membersGen++
	}
}

// resync rebuilds every conversation from the core after missed events.
func (m *model) resync() {
	snap := m.cs.Snapshot()
	cur := snap.Current
	convs := map[string]*convState{}
	order := make([]string, 0, len(snap.Convs))
	for i := range snap.Convs {
		v := &snap.Convs[i]
		convs[v.ID] = m.newConvState(v)
		order = append(order, v.ID)
	}
	for _, id := range m.order {
		if c := m.convs[id]; c != nil && c.ended != "" && convs[id] == nil {
			convs[id] = c
			order = append(order, id)
		}
	}
	m.convs, m.order, m.current = convs, order, cur
	m.name = snap.Name
	if v := m.convs[m.viewing]; v == nil || v.ended == "" {
		m.viewing = ""
		m.setViewing(cur)
	}
}

// key handles one key press. Keys are told apart by their type, never by
// their text: typed or pasted words such as "end" or "ctrl+c" are text.
func (m *model) key(k tea.KeyMsg) tea.Cmd {
	if k.Type != tea.KeyTab {
		m.comp = nil
	}
	if m.dropping {
		switch k.Type {
		case tea.KeyRunes, tea.KeySpace:
			return nil // the rest of a line too long to keep
		case tea.KeyEnter:
			m.dropping = false
			return nil
		}
		m.dropping = false
	}
	switch k.Type {
	case tea.KeyCtrlC:
		m.quit = true
		m.cs.Close("quit")
		return tea.Quit
	case tea.KeyF1:
		m.toggleHelp()
		return nil
	case tea.KeyEsc:
		m.escape()
		return nil
	case tea.KeyPgUp, tea.KeyPgDown:
		m.page(k.Type == tea.KeyPgUp)
		return nil
	case tea.KeyCtrlN, tea.KeyCtrlP:
		m.cycle(k.Type == tea.KeyCtrlN)
		return nil
	case tea.KeyF2:
		m.showMembers = !m.showMembers
		m.refreshMembers(m.viewing)
		return nil
	case tea.KeyTab:
		m.complete()
		return nil
	case tea.KeyUp, tea.KeyDown:
		if m.viewing == "" && m.typed() == "" {
			m.moveHome(k.Type == tea.KeyDown)
		} else {
			m.browseHistory(k.Type == tea.KeyUp)
		}
		return nil
	case tea.KeyEnter:
		m.submit()
		return nil
	case tea.KeyRunes, tea.KeySpace:
		if k.Alt {
			if len(k.Runes) == 1 && k.Runes[0] >= '1' && k.Runes[0] <= '9' {
				if i := int(k.Runes[0] - '1'); i < len(m.order) {
					m.switchTo(m.order[i])
				}
				return nil
			}
			break // Alt+B, Alt+F and the like edit the line
		}
		// In a conversation "?" is text: a message may start with it.
		if string(k.Runes) == "?" && m.viewing == "" && len(m.pending) == 0 && m.typed() == "" {
			m.toggleHelp()
			return nil
		}
		m.typeText(string(k.Runes))
		return nil
	}
	// Bubble Tea gives every program the same slice for the space key and
	// textinput edits what it is given: each session works on its own copy.
	k.Runes = append([]rune(nil), k.Runes...)
	in := m.editor()
	var cmd tea.Cmd
	*in, cmd = in.Update(k)
	return cmd
}

// typeText adds typed text to the line at the cursor. A line that
// outgrows the limit is refused once: it is cleared and the rest of it,
// up to Enter, is dropped, so a huge paste costs one notice.
func (m *model) typeText(text string) {
	if len(m.pending) == 0 {
		m.lineRunes = utf8.RuneCountInString(m.typed())
	}
	add := []rune(text)
	if m.lineRunes+len(m.pending)+len(add) > m.cfg.MaxInputRunes {
		m.input, m.pending = nil, nil
		m.dropping = true
		m.setStatus(fmt.Sprintf("line too long: at most %d characters; it was not sent", m.cfg.MaxInputRunes), true)
		return
	}
	m.pending = append(m.pending, add...)
}

// paste puts a bracketed paste into the line at the cursor, as text. A
// paste that would make the line too long, or holds more than one line,
// is refused whole and the line keeps what was typed.
func (m *model) paste(p pasteMsg) {
	text := strings.TrimRight(p.text, "\r\n")
	if p.tooLong || utf8.RuneCountInString(m.typed())+utf8.RuneCountInString(text) > m.cfg.MaxInputRunes {
		m.setStatus(fmt.Sprintf("paste not taken: a line holds at most %d characters", m.cfg.MaxInputRunes), true)
		return
	}
	if n := strings.Count(lineBreaks.Replace(text), "\n") + 1; n > 1 {
		m.setStatus(fmt.Sprintf("paste not taken: it holds %d lines; paste one line at a time", n), true)
		return
	}
	m.insert(text)
}

// lineBreaks makes every line break a "\n".
var lineBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n")

// insert puts text into the line at the cursor.
func (m *model) insert(text string) {
	m.pending = append(m.pending, []rune(text)...)
	m.editor()
}

func (m *model) toggleHelp() {
	if m.panel != nil && m.panel.title == helpTitle {
		m.panel = nil
		return
	}
	m.panel = &panel{title: helpTitle, lines: helpLines(m.cs.Commands())}
}

func (m *model) escape() {
	switch {
	case m.panel != nil:
		m.panel = nil
	case m.viewing != "":
		m.goHome()
	}
}

func (m *model) goHome() {
	if m.current != "" {
		if err := m.cs.Switch(""); err != nil {
			m.setStatus(err.Error(), true)
			return
		}
	}
	m.setViewing("")
}

func (m *model) switchTo(id string) {
	if id == m.viewing {
		return
	}
	if c := m.convs[id]; c != nil && c.ended != "" {
		m.setViewing(id)
		return
	}
	if id != m.current {
		if err := m.cs.Switch(id); err != nil {
			m.setStatus(err.Error(), true)
			return
		}
		m.current = id
	}
	m.setViewing(id)
}

// cycle moves to the next or previous conversation; home sits between
// the last and the first.
func (m *model) cycle(next bool) {
	ring := append([]string{""}, m.order...)
	pos := 0
	for i, id := range ring {
		if id == m.viewing {
			pos = i
		}
	}
	step := 1
	if !next {
		step = len(ring) - 1
	}
	target := ring[(pos+step)%len(ring)]
	if target == "" {
		m.goHome()
		return
	}
	m.switchTo(target)
}

func (m *model) page(up bool) {
	half := max(1, m.layout().bodyH/2)
	if m.panel != nil {
		if up {
			m.panel.scroll = max(0, m.panel.scroll-half)
		} else {
			m.panel.scroll = min(m.panel.scroll+half, max(0, len(m.panel.lines)-1))
		}
		return
	}
	c := m.convs[m.viewing]
	if c == nil {
		return
	}
	if !up {
		c.scroll = max(0, c.scroll-half)
		return
	}
	l := m.layout()
	c.scroll += half
	// Stop at the top of the history.
	total := 0
	for i := len(c.log) - 1; i >= 0 && total < c.scroll+l.bodyH; i-- {
		total += len(m.renderedAt(c, i, l.chatW))
	}
	c.scroll = min(c.scroll, max(0, total-l.bodyH))
}

func (m *model) moveHome(down bool) {
	n := len(m.homeItems())
	if n == 0 {
		return
	}
	if down {
		m.homeSel = (m.homeSel + 1) % n
	} else {
		m.homeSel = (m.homeSel + n - 1) % n
	}
}

func (m *model) browseHistory(up bool) {
	if len(m.history) == 0 {
		return
	}
	if m.histPos == len(m.history) {
		m.draft = m.typed()
	}
	if up {
		m.histPos = max(0, m.histPos-1)
	} else {
		m.histPos = min(len(m.history), m.histPos+1)
	}
	in := m.editor()
	if m.histPos == len(m.history) {
		in.SetValue(m.draft)
	} else {
		in.SetValue(m.history[m.histPos])
	}
	in.CursorEnd()
}

// submit sends the typed line to the core. A refused line stays in the
// input with the reason on the status line, so nothing typed is lost.
func (m *model) submit() {
	line := m.typed()
	if strings.TrimSpace(line) == "" {
		if m.viewing == "" {
			m.openHomeItem()
		}
		return
	}
	if arg, ok := bellCommand(line); ok {
		m.remember(line)
		m.input = nil
		m.setBell(arg)
		return
	}
	cmd, _, _ := core.ParseCommand(line)
	ended := false
	if c := m.convs[m.viewing]; c != nil && c.ended != "" {
		switch {
		case cmd == nil:
			m.setStatus("this chat has ended: Esc for home, Ctrl-N for your other conversations", true)
			return
		case cmd.Name == "leave":
			// Closes the ended chat on screen, not the current one
			// behind it, which the user cannot see.
			m.remember(line)
			m.input = nil
			m.setViewing(m.current)
			return
		}
		ended = true
	}
	// A line sent from the history gives back the draft set aside for it.
	setAside := ""
	if m.histPos < len(m.history) {
		setAside = m.draft
	}
	m.remember(line)
	if err := m.cs.Input(line); err != nil {
		m.setStatus(err.Error(), true)
		return
	}
	m.input = nil
	m.draft = ""
	if setAside != "" {
		m.insert(setAside)
	}
	m.status = ""
	m.panel = nil
	if ended {
		// A command run from an ended chat moves on from it: to where it
		// leads (the core says so next), or else to the current one.
		m.setViewing(m.current)
	}
	if c := m.convs[m.viewing]; c != nil {
		c.scroll = 0
	}
}

// remember adds a sent line to the input history.
func (m *model) remember(line string) {
	if n := len(m.history); n == 0 || m.history[n-1] != line {
		m.history = append(m.history, line)
		if len(m.history) > historyLimit {
			m.history = m.history[1:]
		}
	}
	m.histPos = len(m.history)
}

// bellCommand reads "/bell [on|off]", the terminal's own command.
func bellCommand(line string) (arg string, ok bool) {
	f := strings.Fields(line)
	if len(f) == 0 || len(f) > 2 || !strings.EqualFold(f[0], "/bell") {
		return "", false
	}
	if len(f) == 2 {
		arg = strings.ToLower(f[1])
	}
	return arg, true
}

func (m *model) setBell(arg string) {
	switch arg {
	case "on":
		m.bell = true
	case "off":
		m.bell = false
	case "":
	default:
		m.setStatus("usage: /bell on or /bell off", true)
		return
	}
	state := "off"
	if m.bell {
		state = "on"
	}
	m.setStatus("the bell for mentions and private messages is "+state, false)
}

// homeItem is one line of the home screen list: a room or a conversation.
type homeItem struct {
	room *core.RoomInfo
	conv string
}

func (m *model) homeItems() []homeItem {
	items := make([]homeItem, 0, len(m.rooms)+len(m.order))
	for i := range m.rooms {
		items = append(items, homeItem{room: &m.rooms[i]})
	}
	for _, id := range m.order {
		items = append(items, homeItem{conv: id})
	}
	return items
}

func (m *model) openHomeItem() {
	items := m.homeItems()
	if m.homeSel >= len(items) {
		return
	}
	it := items[m.homeSel]
	if it.room == nil {
		m.switchTo(it.conv)
		return
	}
	if _, in := m.convs[it.room.Name]; in {
		m.switchTo(it.room.Name)
		return
	}
	if it.room.Locked {
		// Asks for the password on the input line rather than failing.
		m.insert("/join " + it.room.Name + " ")
		m.setStatus(it.room.Name+" needs a password: type it and press Enter", false)
		return
	}
	if err := m.cs.Join(it.room.Name, ""); err != nil {
		m.setStatus(err.Error(), true)
	}
}

// mentions reports whether text names the user as a whole word.
func mentions(text, name string) bool {
	if name == "" {
		return false
	}
	lt, ln := strings.ToLower(text), strings.ToLower(name)
	for i := 0; ; {
		j := strings.Index(lt[i:], ln)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(ln)
		if !wordRuneBefore(lt, start) && !wordRuneAfter(lt, end) {
			return true
		}
		i = start + 1
	}
}

func wordRuneBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return isWordRune(r)
}

func wordRuneAfter(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return isWordRune(r)
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}
