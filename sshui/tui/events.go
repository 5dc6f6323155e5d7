package tui

// The model's side of hub events: what each one changes on screen.

import (
	"fmt"
	"strings"
	"time"

	"parley/core"
)

// apply folds one core event into the screen state.
func (m *Model) apply(ev core.Event) {
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
func (m *Model) invited(id, name string) {
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
func (m *Model) keyTo(id string) string {
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

func (m *Model) newConvState(v *core.ConvView) *convState {
	c := &convState{id: v.ID, kind: v.Kind, title: v.Title, desc: v.Description, partner: v.Partner, count: v.MemberCount}
	c.log = append([]*core.Message(nil), v.History...)
	m.trim(c)
	m.findMentions(c)
	return c
}

func (m *Model) openConv(v *core.ConvView) {
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
func (m *Model) closeConv(id, why string, byYou bool) {
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

func (m *Model) dropConv(id string) {
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
func (m *Model) setViewing(id string) {
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

func (m *Model) addMessage(id string, msg *core.Message) {
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
func (m *Model) trim(c *convState) {
	keep := m.set.Scrollback
	if len(c.log) > keep+keep/4 {
		c.log = append([]*core.Message(nil), c.log[len(c.log)-keep:]...)
		m.findMentions(c)
	}
}

// findMentions lists the messages of c that mention the viewer, once per
// message rather than once per frame.
func (m *Model) findMentions(c *convState) {
	m.chatShown = chatShown{} // the log, or what mentions the viewer, was remade
	c.callsMe = nil
	for _, msg := range c.log {
		if m.mentioned(msg) {
			c.callsMe = append(c.callsMe, msg)
		}
	}
}

func (m *Model) refreshMembers(id string) {
	if m.showMembers && id != "" && id == m.viewing {
		m.members = m.cs.Members(id)
		m.membersGen++
	}
}

// resync rebuilds every conversation from the core after missed events.
func (m *Model) resync() {
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
