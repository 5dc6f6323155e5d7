package tui

import (
	"fmt"
	"slices"
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

func (m *Model) layout() layout {
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

// View is not used to draw: the program runs without Bubble Tea's
// renderer, which repaints on a timer, and the model writes its own frames
// through a screen right after the updates that change them.
func (m *Model) View() string { return "" }

// frame lays the whole screen out as rows of segments: the header, then
// the sidebar, chat and members columns, then the status and input lines.
func (m *Model) frame() frame {
	f := frame{w: m.w, h: m.h}
	if m.w < minWidth || m.h < minHeight {
		small := m.tooSmall()
		for i := 0; i < m.h; i++ {
			f.rows = append(f.rows, []segment{{0, fit(at(small, i), m.w)}})
		}
		return f
	}
	l := m.layout()
	var side, mem []string
	if l.sideW > 0 {
		side = m.sideColumn(l)
		f.scrollSeg = 2
	}
	if l.memW > 0 {
		mem = m.memberColumn(l)
	}
	main := m.mainLines(l.chatW, l.bodyH)
	buf := m.scr.back()
	f.buf = buf
	segs := buf.segs[:0]
	f.rows = buf.rows[:0]
	defer func() { buf.segs, buf.rows = segs, f.rows }()
	row := func(s ...segment) {
		n := len(segs)
		segs = append(segs, s...)
		f.rows = append(f.rows, segs[n:len(segs):len(segs)])
	}
	row(segment{0, m.headerLine()})
	f.top, f.bottom = 1, 1+l.bodyH
	// The separators are segments of their own: a row scrolled up keeps
	// its separator, which then need not be written again.
	for i := 0; i < l.bodyH; i++ {
		var parts [5]segment
		n, col := 0, 0
		if side != nil {
			parts[0], parts[1], n, col = segment{0, side[i]}, segment{l.sideW, m.st.sep}, 2, l.sideW+1
		}
		chat := at(main, i)
		if chat == "" {
			chat = blank(l.chatW)
		}
		parts[n], n = segment{col, chat}, n+1
		if mem != nil {
			parts[n], parts[n+1], n = segment{col + l.chatW, m.st.sep}, segment{col + l.chatW + 1, mem[i]}, n+2
		}
		row(parts[:n]...)
	}
	row(segment{0, m.statusLine()})
	row(segment{0, m.inputLine.get(struct{}{}, func() string { return fit(m.inputView(), m.w) })})
	return f
}

// memo keeps one computed value with the key it was computed for, so a
// frame restyles only the parts whose content changed. Keys leave out the
// terminal size: a resize resets every memo.
type memo[K comparable, T any] struct {
	key   K
	val   T
	valid bool
}

func (c *memo[K, T]) get(key K, compute func() T) T {
	if !c.valid || c.key != key {
		c.val, c.key, c.valid = compute(), key, true
	}
	return c.val
}

func (c *memo[K, T]) reset() { c.valid = false }

// sideEntry is what the sidebar shows of one conversation.
type sideEntry struct {
	id, title        string
	unread           int
	mentioned, ended bool
}

// sideColumn is the sidebar, one line per body row.
func (m *Model) sideColumn(l layout) []string {
	key := m.sideKey[:0]
	for _, id := range m.order {
		c := m.convs[id]
		key = append(key, sideEntry{id, c.title, c.unread, c.mentioned, c.ended != ""})
	}
	m.sideKey = key
	if !slices.Equal(key, m.sideShown) {
		m.sideCol.reset()
		m.sideShown = append(m.sideShown[:0], key...)
	}
	return m.sideCol.get(m.viewing, func() []string {
		return column(m.sidebarLines(l.sideW, l.bodyH), l.sideW, l.bodyH)
	})
}

// memberColumn is the members panel, one line per body row.
func (m *Model) memberColumn(l layout) []string {
	key := membersKey{m.membersGen, m.name}
	return m.memCol.get(key, func() []string {
		return column(m.memberLines(l.memW, l.bodyH), l.memW, l.bodyH)
	})
}

// column fits lines to w cells and h rows.
func column(lines []string, w, h int) []string {
	out := make([]string, h)
	for i := range out {
		out[i] = fit(at(lines, i), w)
	}
	return out
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return ""
}

// spaces backs blank cells without allocating for common widths.
var spaces = strings.Repeat(" ", 512)

// blank is w cells of nothing.
func blank(w int) string {
	if w <= len(spaces) {
		return spaces[:w]
	}
	return strings.Repeat(" ", w)
}

// fit cuts or pads a styled line to exactly w cells; a cut line ends
// with an ellipsis, so that it does not read as whole.
func fit(s string, w int) string {
	if s == "" {
		return blank(w)
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = ansi.StringWidth(s)
	}
	if sw < w {
		s += blank(w - sw)
	}
	return s
}

// tooSmall is the notice shown instead of the screen, wrapped so that
// however narrow the terminal, the size needed stays whole.
func (m *Model) tooSmall() []string {
	text := fmt.Sprintf("Terminal too small: %d×%d. Parley needs at least %d×%d.", m.w, m.h, minWidth, minHeight)
	return strings.Split(ansi.Wrap(text, max(m.w, 1), ""), "\n")
}

// headerKey is what the header line is made from, besides the size.
type headerKey struct {
	name, title, desc string
	kind              core.ConvKind
	count             int
	viewing, ended    bool
}

func (m *Model) headerLine() string {
	key := headerKey{name: m.name}
	if c := m.convs[m.viewing]; c != nil {
		key = headerKey{m.name, convTitle(c), c.desc, c.kind, c.count, true, c.ended != ""}
	}
	return m.header.get(key, func() string {
		where := "home"
		if key.viewing {
			where = key.title
			switch {
			case key.ended:
				where += " (ended)"
			case key.kind == core.Room:
				where += " · " + memberCount(key.count)
				if key.desc != "" {
					where += " · " + key.desc
				}
			default:
				where += " · private chat"
			}
		}
		text := fmt.Sprintf(" %s · code %s │ %s ", SafeText(m.name), m.code, SafeText(where))
		return fit(m.st.brand.Render(" Parley ")+m.st.header.Render(text), m.w)
	})
}

// memberCount counts members in words: "1 member", "2 members".
func memberCount(n int) string {
	if n == 1 {
		return "1 member"
	}
	return fmt.Sprintf("%d members", n)
}

func convTitle(c *convState) string {
	if c.kind == core.Private {
		return "@" + c.title
	}
	return c.title
}

// statusKey and membersKey are what the status line and the members
// column are made from, besides the terminal size.
type (
	statusKey struct {
		text           string
		isErr, reading bool
	}
	membersKey struct {
		gen  int
		name string
	}
)

// statusLine is the line above the input: an error or notice, else a hint.
func (m *Model) statusLine() string {
	reading := false
	if c := m.convs[m.viewing]; c != nil && c.scroll > 0 && m.panel == nil {
		reading = true
	}
	key := statusKey{m.status, m.statusErr, reading}
	return m.statusMemo.get(key, func() string {
		var line string
		switch {
		case m.status != "" && m.statusErr:
			line = m.st.errorLine.Render("! " + m.status)
		case m.status != "":
			line = m.st.notice.Render(m.status)
		case reading:
			line = m.st.dim.Render("reading history · PgDn to return to the newest messages")
		default:
			line = m.st.dim.Render("F1 help · Esc home · Ctrl-N/P switch · PgUp/PgDn scroll · F2 members · Ctrl-C quit")
		}
		return fit(line, m.w)
	})
}

func (m *Model) sidebarLines(w, h int) []string {
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
		label = ansi.Truncate(SafeText(label), max(1, room), "…")
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

func (m *Model) memberLines(w, h int) []string {
	lines := []string{m.st.dim.Render(fmt.Sprintf("Members (%d)", len(m.members)))}
	for _, mem := range m.members {
		if len(lines) >= h {
			break
		}
		// The key tag tells look-alike names apart: a long name is cut to
		// keep it in view, never the tag.
		suffix := ""
		switch {
		case mem.ID == m.cs.ID():
			suffix = " (you)"
		case mem.KeyTag != "":
			suffix = " " + mem.KeyTag
		}
		if len(suffix) >= w {
			suffix = ""
		}
		name := ansi.Truncate(SafeText(mem.Name), w-len(suffix), "…")
		lines = append(lines, m.st.nameStyle(mem.Name).Render(name)+m.st.dim.Render(suffix))
	}
	return lines
}

// mainLines is the middle column, each line exactly w cells wide.
func (m *Model) mainLines(w, h int) []string {
	var lines []string
	switch c := m.convs[m.viewing]; {
	case m.panel != nil:
		lines = m.panelLines(w, h)
	case c != nil:
		return m.chatLines(c, w, h)
	default:
		lines = m.homeLines(w, h)
	}
	for i, l := range lines {
		lines[i] = fit(l, w)
	}
	return lines
}

// chatLines shows the bottom of a conversation, c.scroll lines up. Only
// the messages on screen are looked at, and each is wrapped once per width.
// The lines are in a buffer reused by the next frame.
func (m *Model) chatLines(c *convState, w, h int) []string {
	if out, ok := m.chatMoved(c, w, h); ok {
		return out
	}
	out := m.chatBuf[:0]
	for range h {
		out = append(out, "")
	}
	m.chatBuf = out
	skip, row := c.scroll, h-1
	for i := len(c.log) - 1; i >= 0 && row >= 0; i-- {
		ls := m.renderedAt(c, i, w)
		for j := len(ls) - 1; j >= 0 && row >= 0; j-- {
			if skip > 0 {
				skip--
				continue
			}
			out[row] = ls[j]
			row--
		}
	}
	m.chatShown = chatShown{}
	if c.ended != "" {
		out[0] = m.st.errorLine.Render(fit("This chat has ended ("+SafeText(c.ended)+"). Esc for home.", w))
	}
	if c.scroll > 0 {
		out[h-1] = m.st.selected.Render(fit(fmt.Sprintf("── %d lines below · PgDn ──", c.scroll), w))
	}
	if c.ended == "" && c.scroll == 0 && len(c.log) > 0 {
		m.chatShown = chatShown{c: c, n: len(c.log), last: c.log[len(c.log)-1], w: w, h: h}
	}
	return out
}

// chatShown says what the chat column in chatBuf shows, when it is the
// bottom of a conversation with nothing laid over it.
type chatShown struct {
	c    *convState
	n    int           // messages in c.log then
	last *core.Message // c.log[n-1] then
	w, h int
}

// chatMoved is the chat column when messages only came at the bottom of
// the one chatBuf shows: its lines move up by the new lines, and only the
// new messages are looked up. In a busy room that is every frame.
func (m *Model) chatMoved(c *convState, w, h int) ([]string, bool) {
	was := m.chatShown
	if was.c != c || was.w != w || was.h != h || c.ended != "" || c.scroll > 0 ||
		len(m.chatBuf) != h || was.n > len(c.log) || c.log[was.n-1] != was.last {
		return nil, false
	}
	out := m.chatBuf
	for i := was.n; i < len(c.log); i++ {
		out = append(out, m.renderedAt(c, i, w)...)
	}
	added := len(out) - h
	copy(out, out[added:])
	clear(out[h:])
	m.chatBuf = out[:h]
	if added >= h {
		return nil, false // chatBuf holds the bottom, but lay it out whole
	}
	m.chatShown.n, m.chatShown.last = len(c.log), c.log[len(c.log)-1]
	return m.chatBuf, true
}

// renderedAt returns message i of c rendered for width w. The lines come
// from the cache shared by all sessions, so a message that reaches a
// thousand screens of one width is wrapped and styled once.
func (m *Model) renderedAt(c *convState, i, w int) []string {
	msg := c.log[i]
	k := lineKey{msg: msg, width: w, profile: m.st.profile, mention: slices.Contains(c.callsMe, msg)}
	return sharedLines.get(k, func() []string { return m.renderMessage(msg, w, k.mention) })
}

// mentioned says whether msg calls this viewer by name.
func (m *Model) mentioned(msg *core.Message) bool {
	return msg.Kind != core.System && msg.From.ID != m.cs.ID() && mentions(msg.Text, m.name)
}

// renderMessage wraps one message to lines of exactly w cells with a
// hanging indent:
// time, coloured name, then the text; system notices are dimmed and
// mentions of the viewer highlighted.
func (m *Model) renderMessage(msg *core.Message, w int, mention bool) []string {
	stamp := m.st.time.Render(msg.Time.Format("15:04")) + " "
	const stampW = 6
	text := SafeText(msg.Text)
	name := SafeText(msg.From.Author())
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
	if mention {
		body = m.st.mention
	}
	indent := stampW
	if w-prefixW < 10 {
		// A long name on a narrow screen: start the text on its own line.
		parts := wrapWords(text, max(1, w-indent), max(1, w-indent))
		out := []string{fit(prefix, w)}
		for _, p := range parts {
			out = append(out, fit(blank(indent)+body.Render(p), w))
		}
		return out
	}
	parts := wrapWords(text, w-prefixW, max(1, w-indent))
	out := make([]string, len(parts))
	for i, p := range parts {
		if i == 0 {
			out[i] = fit(prefix+body.Render(p), w)
		} else {
			out[i] = fit(blank(indent)+body.Render(p), w)
		}
	}
	return out
}

// wrapWords wraps plain text at spaces: the first line holds first
// cells, the others rest; words wider than a line are cut.
// hangingWrap wraps a panel line to w cells, its continuation lines
// indented past the line's own indent, so that a wrapped help entry never
// runs back to the left edge among the commands.
func hangingWrap(line string, w int) []string {
	text := strings.TrimLeft(line, " ")
	lead := min(len(line)-len(text), w/2)
	indent := min(lead+4, w/2)
	parts := wrapWords(text, w-lead, w-indent)
	parts[0] = strings.Repeat(" ", lead) + parts[0]
	for i := 1; i < len(parts); i++ {
		parts[i] = strings.Repeat(" ", indent) + parts[i]
	}
	return parts
}

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

func (m *Model) homeLines(w, h int) []string {
	var lines []string
	for _, l := range strings.Split(m.welcome, "\n") {
		lines = append(lines, wrapWords(SafeText(l), w, w)...)
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
		line := fmt.Sprintf("%-16s %6s", SafeText(r.Name), count)
		if r.Locked {
			line += " [password]"
		}
		if r.Description != "" {
			line += "  " + SafeText(r.Description)
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
		line := SafeText(convTitle(c))
		switch {
		case c.ended != "":
			line += "  (ended)"
		case c.kind == core.Room:
			line += "  " + memberCount(c.count)
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

func (m *Model) homeItemLine(idx int, line string, w int) string {
	if idx == m.homeSel {
		return m.st.selected.Render(fit(homeMark+line, w))
	}
	return "  " + line
}

func (m *Model) panelLines(w, h int) []string {
	p := m.panel
	lines := []string{m.st.title.Render(SafeText(p.title)) + m.st.dim.Render("  · Esc closes · PgUp/PgDn scroll")}
	var body []string
	for _, l := range p.lines {
		body = append(body, hangingWrap(SafeText(l), w)...)
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
