package tui

// The model's side of keys and typed lines.

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"parley/core"

	tea "github.com/charmbracelet/bubbletea"
)

// key handles one key press. Keys are told apart by their type, never by
// their text: typed or pasted words such as "end" or "ctrl+c" are text.
func (m *Model) key(k tea.KeyMsg) tea.Cmd {
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
func (m *Model) typeText(text string) {
	if len(m.pending) == 0 {
		m.lineRunes = utf8.RuneCountInString(m.typed())
	}
	add := []rune(text)
	if m.lineRunes+len(m.pending)+len(add) > m.set.MaxInputRunes {
		m.input, m.pending = nil, nil
		m.dropping = true
		m.setStatus(fmt.Sprintf("line too long: at most %d characters; it was not sent", m.set.MaxInputRunes), true)
		return
	}
	m.pending = append(m.pending, add...)
}

// paste puts a bracketed paste into the line at the cursor, as text. A
// paste that would make the line too long, or holds more than one line,
// is refused whole and the line keeps what was typed.
func (m *Model) paste(p PasteMsg) {
	text := strings.TrimRight(p.Text, "\r\n")
	if p.TooLong || utf8.RuneCountInString(m.typed())+utf8.RuneCountInString(text) > m.set.MaxInputRunes {
		m.setStatus(fmt.Sprintf("paste not taken: a line holds at most %d characters", m.set.MaxInputRunes), true)
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
func (m *Model) insert(text string) {
	m.pending = append(m.pending, []rune(text)...)
	m.editor()
}

func (m *Model) toggleHelp() {
	if m.panel != nil && m.panel.title == helpTitle {
		m.panel = nil
		return
	}
	m.panel = &panel{title: helpTitle, lines: helpLines(m.cs.Commands())}
}

func (m *Model) escape() {
	switch {
	case m.panel != nil:
		m.panel = nil
	case m.viewing != "":
		m.goHome()
	}
}

func (m *Model) goHome() {
	if m.current != "" {
		if err := m.cs.Switch(""); err != nil {
			m.setStatus(err.Error(), true)
			return
		}
	}
	m.setViewing("")
}

func (m *Model) switchTo(id string) {
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
func (m *Model) cycle(next bool) {
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

func (m *Model) page(up bool) {
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

func (m *Model) moveHome(down bool) {
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

func (m *Model) browseHistory(up bool) {
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
func (m *Model) submit() {
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
func (m *Model) remember(line string) {
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

func (m *Model) setBell(arg string) {
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

func (m *Model) homeItems() []homeItem {
	items := make([]homeItem, 0, len(m.rooms)+len(m.order))
	for i := range m.rooms {
		items = append(items, homeItem{room: &m.rooms[i]})
	}
	for _, id := range m.order {
		items = append(items, homeItem{conv: id})
	}
	return items
}

func (m *Model) openHomeItem() {
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
