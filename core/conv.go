package core

// conv is a room or a private chat.
type conv struct {
	id      string
	kind    ConvKind
	members map[uint64]*user
	order   []*user // members in join order, for a stable delivery order
	history []*Message
	seq     uint64

	// Rooms only.
	title      string
	desc       string
	hidden     bool
	passHash   string
	maxMembers int
	permanent  bool
	countDue   bool // its member count is to be sent (see Hub.countsDue)
}

func newConv(id string, kind ConvKind) *conv {
	return &conv{id: id, kind: kind, members: map[uint64]*user{}}
}

func (c *conv) hasRoom() bool { return c.maxMembers == 0 || len(c.members) < c.maxMembers }

func (c *conv) has(u *user) bool { return c.members[u.id] == u }

func (c *conv) add(u *user) {
	c.members[u.id] = u
	c.order = append(c.order, u)
}

func (c *conv) remove(u *user) {
	if !c.has(u) {
		return
	}
	delete(c.members, u.id)
	for i, m := range c.order {
		if m == u {
			c.order = append(c.order[:i:i], c.order[i+1:]...)
			break
		}
	}
}

// remember keeps m in the history ring of at most max messages.
func (c *conv) remember(m *Message, max int) {
	if max <= 0 {
		return
	}
	if len(c.history) >= max {
		n := copy(c.history, c.history[len(c.history)-max+1:])
		c.history = c.history[:n]
	}
	c.history = append(c.history, m)
}

// partner is the other member of a private chat.
func (c *conv) partner(u *user) *user {
	for _, m := range c.order {
		if m != u {
			return m
		}
	}
	return nil
}

func (c *conv) memberList() []Member {
	out := make([]Member, 0, len(c.order))
	for _, m := range c.order {
		out = append(out, m.member())
	}
	return out
}

// openedView is c as u sees it when by has just opened it.
func (c *conv) openedView(u, by *user) *ConvView {
	v := c.view(u)
	v.OpenedBy = by.member()
	return v
}

// view is c as u sees it: titled for u, without blocked people's lines.
func (c *conv) view(u *user) *ConvView {
	v := &ConvView{ID: c.id, Kind: c.kind, Title: c.title, Description: c.desc}
	if c.kind == Private {
		if p := c.partner(u); p != nil {
			v.Partner = p.member()
			v.Title = p.name
		}
	}
	v.MemberCount = len(c.order)
	v.History = make([]*Message, 0, len(c.history))
	for _, m := range c.history {
		if _, blocked := u.blocked[m.From.ID]; m.From.ID != 0 && blocked {
			continue
		}
		v.History = append(v.History, m)
	}
	return v
}
