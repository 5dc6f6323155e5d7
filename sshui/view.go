package sshui

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"parley/core"

	"github.com/charmbracelet/x/ansi"
)

// Smallest usable terminal; below it the screen says so instead.
const (
	minWidth  = 40
	minHeight = 10
)

// layout is how the screen's columns and rows are shared out.
type layout struct {
	sideW, chatW, memW, bodyH int
}

func (m *model) layout() layout {
	l := layout{bodyH: max(1, m.h-3)} // header, status and input lines
	w := m.w
	if w >= 70 {
		l.sideW = 20
		w -= l.sideW + 1
	}
	if m.showMembers && w >= 50 {
		l.memW = 18
		w -= l.memW + 1
	}
	l.chatW = max(1, w)
	return l
}

func (m *model) View() string {
	if m.w < minWidth || m.h < minHeight {
		return m.tooSmall()
	}
	l := m.layout()
	var b strings.Builder
	b.Grow(m.w * m.h * 2)
	b.WriteString(m.headerLine())
	b.WriteByte('\n')
	var side, mem []string
	if l.sideW > 0 {
		side = m.sidebarLines(l.sideW, l.bodyH)
	}
	if l.memW > 0 {
		mem = m.memberLines(l.memW, l.bodyH)
	}
	main := m.mainLines(l.chatW, l.bodyH)
	sep := m.st.border.Render("│")
	for i := 0; i < l.bodyH; i++ {
		if l.sideW > 0 {
			b.WriteString(fit(at(side, i), l.sideW))
			b.WriteString(sep)
		}
		b.WriteString(fit(at(main, i), l.chatW))
		if l.memW > 0 {
			b.WriteString(sep)
			b.WriteString(fit(at(mem, i), l.memW))
		}
		b.WriteByte('\n')
	}
	b.WriteString(fit(m.statusLine(), m.w))
	b.WriteByte('\n')
	b.WriteString(fit(m.input.View(), m.w))
	return b.String()
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return ""
}

// fit cuts or pads a styled line to exactly w cells.
func fit(s string, w int) string {
	sw := ansi.StringWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "")
		sw = ansi.StringWidth(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

func (m *model) tooSmall() string {
	lines := []string{"Terminal too small", fmt.Sprintf("%d×%d: Parley needs at least %d×%d", m.w, m.h, minWidth, minHeight)}
	for i := range lines {
		lines[i] = ansi.Truncate(lines[i], max(1, m.w), "")
	}
	return strings.Join(lines, "\n")
}

func (m *model) headerLine() string {
	where := "home"
	if c := m.convs[m.viewing]; c != nil {
		where = convTitle(c)
		switch {
		case c.ended != "":
			where += " (ended)"
		case c.kind == core.Room:
			where += fmt.Sprintf(" · %d members", c.count)
			if c.desc != "" {
				where += " · " + c.desc
			}
		default:
			where += " · private chat"
		}
	}
	text := m.st.brand.Render(" Parley ") +
		m.st.header.Render(fmt.Sprintf(" %s · code %s │ %s ", safeText(m.name), m.code, safeText(where)))
	return fit(text, m.w)
}

func convTitle(c *convState) string {
	if c.kind == core.Private {
		return "@" + c.title
	}
	return c.title
}

func (m *model) statusLine() string {
	if m.status != "" {
		if m.statusErr {
			return m.st.errorLine.Render("! " + m.status)
		}
		return m.st.notice.Render(m.status)
	}
	if c := m.convs[m.viewing]; c != nil && c.scroll > 0 && m.panel == nil {
		return m.st.dim.Render("reading history · PgDn to return to the newest messages")
	}
	return m.st.dim.Render("F1 help · Esc home · Ctrl-N/P switch · PgUp/PgDn scroll · F2 members · Ctrl-C quit")
}

func (m *model) sidebarLines(w, h int) []string {
	lines := make([]string, 0, h)
	lines = append(lines, m.st.dim.Render("Conversations"))
	for i, id := range m.order {
		if len(lines) >= h {
			break
		}
		c := m.convs[id]
		label := convTitle(c)
		if i < 9 {
			label = fmt.Sprintf("%d %s", i+1, label)
		} else {
			label = "  " + label
		}
		mark := ""
		if c.mentioned {
			mark += "@"
		}
		if c.unread > 0 {
			mark += fmt.Sprintf("(%d)", c.unread)
		}
		room := w - ansi.StringWidth(mark) - 1
		label = ansi.Truncate(safeText(label), max(1, room), "…")
		line := label + strings.Repeat(" ", max(1, w-ansi.StringWidth(label)-ansi.StringWidth(mark))) + mark
		switch {
		case id == m.viewing:
			line = m.st.selected.Render(fit(line, w))
		case c.ended != "":
			line = m.st.ended.Render(line)
		case c.unread > 0 || c.mentioned:
			line = m.st.unread.Render(line)
		}
		lines = append(lines, line)
	}
	if len(m.order) == 0 {
		lines = append(lines, m.st.dim.Render("none yet"))
	}
	return lines
}

func (m *model) memberLines(w, h int) []string {
	lines := []string{m.st.dim.Render(fmt.Sprintf("Members (%d)", len(m.members)))}
	for _, mem := range m.members {
		if len(lines) >= h {
			break
		}
		name := ansi.Truncate(safeText(mem.Name), w, "…")
		line := m.st.nameStyle(mem.Name).Render(name)
		if mem.ID == m.cs.ID() {
			line += m.st.dim.Render(" (you)")
		} else if tag := " " + mem.KeyTag; mem.KeyTag != "" && ansi.StringWidth(name)+len(tag) <= w {
			line += m.st.dim.Render(tag)
		}
		lines = append(lines, line)
	}
	return lines
}

func (m *model) mainLines(w, h int) []string {
	if m.panel != nil {
		return m.panelLines(w, h)
	}
	if c := m.convs[m.viewing]; c != nil {
		return m.chatLines(c, w, h)
	}
	return m.homeLines(w, h)
}

// chatLines shows the bottom of a conversation, c.scroll lines up. Only
// the messages on screen are looked at, and each is wrapped once per width.
func (m *model) chatLines(c *convState, w, h int) []string {
	need := h + c.scroll
	var chunks [][]string
	total := 0
	for i := len(c.log) - 1; i >= 0 && total < need; i-- {
		ls := m.renderedAt(c, i, w)
		chunks = append(chunks, ls)
		total += len(ls)
	}
	all := make([]string, 0, total)
	for i := len(chunks) - 1; i >= 0; i-- {
		all = append(all, chunks[i]...)
	}
	end := max(0, len(all)-c.scroll)
	out := all[max(0, end-h):end]
	if len(out) < h {
		out = append(make([]string, h-len(out)), out...)
	} else {
		out = append([]string(nil), out...)
	}
	if c.ended != "" {
		out[0] = m.st.errorLine.Render(fit("This chat has ended ("+safeText(c.ended)+"). Esc for home.", w))
	}
	if c.scroll > 0 {
		out[len(out)-1] = m.st.selected.Render(fit(fmt.Sprintf("── %d lines below · PgDn ──", c.scroll), w))
	}
	return out
}

// renderedAt returns message i of c rendered for width w, from the cache
// when it was rendered at that width before.
func (m *model) renderedAt(c *convState, i, w int) []string {
	if c.width != w {
		c.width = w
		c.lines = make([][]string, len(c.log))
	}
	if c.lines[i] == nil {
		c.lines[i] = m.renderMessage(c.log[i], w)
	}
	return c.lines[i]
}

// renderMessage wraps one message to width w with a hanging indent:
// time, coloured name, then the text; system notices are dimmed and
// mentions of the viewer highlighted.
func (m *model) renderMessage(msg *core.Message, w int) []string {
	stamp := m.st.time.Render(msg.Time.Format("15:04")) + " "
	const stampW = 6
	text := safeText(msg.Text)
	name := safeText(msg.From.Name)
	body := m.st.plain
	var prefix string
	prefixW := stampW
	switch msg.Kind {
	case core.System:
		body = m.st.system
		prefix = stamp
		text = "· " + text
	case core.Action:
		body = m.st.action
		prefix = stamp + "* " + m.st.nameStyle(msg.From.Name).Render(name) + " "
		prefixW += 3 + ansi.StringWidth(name)
	default:
		prefix = stamp + m.st.nameStyle(msg.From.Name).Render(name) + m.st.dim.Render(":") + " "
		prefixW += 2 + ansi.StringWidth(name)
	}
	if msg.Kind != core.System && msg.From.ID != m.cs.ID() && mentions(msg.Text, m.name) {
		body = m.st.mention
	}
	indent := stampW
	if w-prefixW < 10 {
		// A long name on a narrow screen: start the text on its own line.
		parts := wrapWords(text, max(1, w-indent), max(1, w-indent))
		out := []string{fit(prefix, w)}
		for _, p := range parts {
			out = append(out, strings.Repeat(" ", indent)+body.Render(p))
		}
		return out
	}
	parts := wrapWords(text, w-prefixW, max(1, w-indent))
	out := make([]string, len(parts))
	for i, p := range parts {
		if i == 0 {
			out[i] = prefix + body.Render(p)
		} else {
			out[i] = strings.Repeat(" ", indent) + body.Render(p)
		}
	}
	return out
}

// wrapWords wraps plain text at spaces: the first line holds first
// cells, the others rest; words wider than a line are cut.
func wrapWords(text string, first, rest int) []string {
	var lines []string
	var cur strings.Builder
	curW, limit := 0, first
	flush := func() {
		lines = append(lines, cur.String())
		cur.Reset()
		curW, limit = 0, rest
	}
	for _, word := range strings.Split(text, " ") {
		ww := ansi.StringWidth(word)
		if curW > 0 && curW+1+ww <= limit {
			cur.WriteByte(' ')
			cur.WriteString(word)
			curW += 1 + ww
			continue
		}
		if curW > 0 {
			flush()
		}
		for ww > limit {
			piece := ansi.Truncate(word, limit, "")
			if piece == "" {
				_, size := utf8.DecodeRuneInString(word)
				piece = word[:size]
			}
			lines = append(lines, piece)
			word = word[len(piece):]
			ww = ansi.StringWidth(word)
			limit = rest
		}
		cur.WriteString(word)
		curW += ww
	}
	flush()
	return lines
}

func (m *model) homeLines(w, h int) []string {
	var lines []string
	for _, l := range strings.Split(m.welcome, "\n") {
		lines = append(lines, wrapWords(safeText(l), w, w)...)
	}
	lines = append(lines, "")
	lines = append(lines, wrapWords(fmt.Sprintf("Your code is %s. Share it: whoever types /join %s opens a private chat with you.", m.code, m.code), w, w)...)
	lines = append(lines, "")
	items := m.homeItems()
	lines = append(lines, m.st.title.Render("Rooms"))
	idx := 0
	for ; idx < len(items) && items[idx].room != nil; idx++ {
		r := items[idx].room
		count := fmt.Sprintf("%d", r.Members)
		if r.MaxMembers > 0 {
			count += fmt.Sprintf("/%d", r.MaxMembers)
		}
		line := fmt.Sprintf("%-16s %6s", safeText(r.Name), count)
		if r.Locked {
			line += " [password]"
		}
		if r.Description != "" {
			line += "  " + safeText(r.Description)
		}
		lines = append(lines, m.homeItemLine(idx, line, w))
	}
	if idx == 0 {
		lines = append(lines, m.st.dim.Render("  no listed rooms: /join #name creates one"))
	}
	lines = append(lines, "", m.st.title.Render("Your conversations"))
	if idx == len(items) {
		lines = append(lines, m.st.dim.Render("  none yet"))
	}
	for ; idx < len(items); idx++ {
		c := m.convs[items[idx].conv]
		line := safeText(convTitle(c))
		switch {
		case c.ended != "":
			line += "  (ended)"
		case c.kind == core.Room:
			line += fmt.Sprintf("  %d members", c.count)
		default:
			line += "  private chat"
		}
		if c.unread > 0 {
			line += fmt.Sprintf("  %d unread", c.unread)
		}
		lines = append(lines, m.homeItemLine(idx, line, w))
	}
	lines = append(lines, "", m.st.dim.Render("↑/↓ choose · Enter open · /join #room · /join CODE · F1 help"))
	if len(lines) > h {
		// Keep the chosen item on screen.
		for i, l := range lines {
			if strings.HasPrefix(ansi.Strip(l), homeMark) && i >= h {
				lines = lines[i-h+1:]
				break
			}
		}
	}
	return lines
}

// homeMark points at the chosen item, visible in any colour profile.
const homeMark = "▸ "

func (m *model) homeItemLine(idx int, line string, w int) string {
	if idx == m.homeSel {
		return m.st.selected.Render(fit(homeMark+line, w))
	}
	return "  " + line
}

func (m *model) panelLines(w, h int) []string {
	p := m.panel
	lines := []string{m.st.title.Render(safeText(p.title)) + m.st.dim.Render("  · Esc closes · PgUp/PgDn scroll")}
	var body []string
	for _, l := range p.lines {
		body = append(body, wrapWords(safeText(l), w, w)...)
	}
	start := min(p.scroll, max(0, len(body)-1))
	for _, l := range body[start:] {
		if len(lines) >= h {
			break
		}
		lines = append(lines, l)
	}
	return lines
}
