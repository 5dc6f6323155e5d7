package core

import "fmt"

// commitLocked records a decided change: the log applies it here at once
// (one node) or once it comes back in the cluster's order.
func (h *Hub) commitLocked(e Entry) {
	e.Node = h.node
	if e.Time.IsZero() {
		e.Time = h.now()
	}
	h.log.Append(e)
}

// Apply applies an entry of the shared log. A cluster calls it from one
// goroutine, in the log's order, for every entry, its own node's too.
func (h *Hub) Apply(e Entry) {
	h.mu.Lock()
	defer h.unlock()
	h.applyLocked(e)
}

// applyLocked is the one path by which the shared state changes. It
// checks again what the deciding node checked, so that two nodes that
// decided at the same time end in the same state: the later entry is
// refused everywhere, and its author is told.
func (h *Hub) applyLocked(e Entry) {
	u := h.users[e.User] // nil when gone meanwhile
	switch e.Kind {
	case EntryOnline:
		h.applyOnlineLocked(e)
	case EntryNodeLost:
		h.applyNodeLostLocked(e)
	case EntryKick:
		if t := h.users[e.Peer]; t != nil && h.isLocal(t) {
			h.kicks = append(h.kicks, kick{t, e.Text, e.Cause})
		}
	case EntryMute:
		if t := h.users[e.Peer]; t != nil {
			h.muteLocked(u, e.Note, t, e.Until, e.Text)
		}
	case EntryUnmute:
		if t := h.users[e.Peer]; t != nil {
			h.unmuteLocked(u, e.Note, t)
		}
	case EntryMotd:
		h.motdLocked(u, e.Note, e.Text)
	case EntryRelay:
		if e.Note == h.node && h.calls != nil {
			h.relayed = append(h.relayed, relayed{from: e.Node, payload: e.Text})
		}
		return
	}
	if u == nil {
		return // nothing of theirs is left to change
	}
	switch e.Kind {
	case EntryOffline:
		h.removeLocked(u, e.Text, e.Cause)
	case EntryJoin:
		h.applyJoinLocked(u, e)
	case EntryLeave:
		if c := h.convs[e.Conv]; c != nil {
			h.leaveLocked(u, c, e.Text, e.Note)
		}
	case EntryPost:
		if c := h.convs[e.Conv]; c != nil && c.has(u) {
			from := u.member()
			if e.MsgKind == System {
				from = Member{} // a line from the server, such as a missed call
			} else {
				h.notePrivateLocked(c, u)
			}
			m := h.postAtLocked(c, e.MsgKind, from, e.Text, e.Time)
			h.observeMessageLocked(c, m)
			h.deliverLocked(Event{Kind: EventMessage, Conv: c.id, Msg: m})
		}
	case EntryRename:
		h.renameLocked(u, e.Text)
	case EntryOpen:
		h.applyOpenLocked(u, e)
	case EntryBlock:
		h.applyBlockLocked(u, e)
	case EntryUnblock:
		delete(u.blocked, e.Peer)
	case EntryResumeKey:
		h.applyResumeKeyLocked(u, e)
	case EntryMove:
		h.applyMoveLocked(u, e)
	case EntryCurrent:
		if c := h.convs[e.Conv]; c != nil && c.has(u) {
			h.setCurrentLocked(u, c)
		}
	}
}

// isLocal says whether u's session is on this node; the others are
// stubs that their own node delivers to.
func (h *Hub) isLocal(u *user) bool { return u.out != nil }

func (h *Hub) applyOnlineLocked(e Entry) {
	p := e.Profile
	if p == nil || h.users[e.User] != nil {
		return
	}
	u := h.pending[e.User]
	delete(h.pending, e.User)
	if u == nil {
		u = &user{id: e.User, disconnect: func(string) {}}
	}
	u.code, u.name, u.nameKey = p.Code, p.Name, NameKey(p.Name)
	u.transport, u.ip, u.fingerprint = p.Transport, p.IP, p.Fingerprint
	u.node, u.incarnation = p.Node, p.Incarnation
	h.users[u.id] = u
	h.byCode[u.code] = u
	h.byName[u.nameKey] = u
	h.lookAddLocked(u)
	h.inheritMuteLocked(u)
	h.observeStartLocked(u)
}

func (h *Hub) applyNodeLostLocked(e Entry) {
	for _, u := range h.users {
		// A user moving here from the lost node (local, but not yet ours
		// in the log's order) ends too, as it does on every other node.
		if u.node == e.Note && u.incarnation == e.Text && (!h.isLocal(u) || u.node != h.node) {
			h.removeLocked(u, "connection lost", EndClosed)
		}
	}
}

func (h *Hub) applyJoinLocked(u *user, e Entry) {
	c := h.convs[e.Conv]
	switch {
	case c == nil && !e.Create:
		h.refuseLocked(u, fmt.Errorf("%s has just closed", e.Conv))
		return
	case c == nil:
		c = newConv(e.Conv, Room)
		c.title, c.passHash = e.Conv, e.PassHash
		h.convs[c.id] = c
	case c.has(u):
		h.setCurrentLocked(u, c)
		return
	case e.Create && c.passHash != e.PassHash:
		h.refuseLocked(u, fmt.Errorf("%s has just changed: try again", e.Conv))
		return
	case !c.hasRoom():
		h.refuseLocked(u, fmt.Errorf("%s is full (%d/%d)", c.id, len(c.members), c.maxMembers))
		return
	}
	h.joinLocked(u, c)
}

func (h *Hub) applyOpenLocked(u *user, e Entry) {
	t := h.users[e.Peer]
	if t == nil || blocks(t, u) {
		h.refuseLocked(u, fmt.Errorf("the private chat could not be opened: the other person is no longer online"))
		return
	}
	h.openPrivateLocked(u, t)
}

func (h *Hub) applyBlockLocked(u *user, e Entry) {
	if u.blocked == nil {
		u.blocked = map[uint64]string{}
	}
	u.blocked[e.Peer] = e.Text
	if t := h.users[e.Peer]; t != nil {
		if c := h.convs[privateID(u, t)]; c != nil {
			h.leaveLocked(u, c, u.name+" left the private chat", e.Note)
		}
	}
}

// refuseLocked tells a local author that a change decided on stale state
// was turned down when it was applied.
func (h *Hub) refuseLocked(u *user, err error) {
	h.pushLocked(u, Event{Kind: EventNotice, Text: err.Error()})
}

// Unsent tells the author of an entry this node decided that the log
// could not take it. A session whose arrival was lost cannot be shown to
// anyone, so it is cut off; anything else is a line the author reads.
func (h *Hub) Unsent(e Entry, err error) {
	h.mu.Lock()
	defer h.unlock()
	u := h.pending[e.User]
	if u == nil {
		u = h.users[e.User]
	}
	if u == nil {
		return
	}
	if e.Kind == EntryMove {
		h.unsentMoveLocked(u)
		return
	}
	if !h.isLocal(u) {
		return
	}
	if e.Kind == EntryOnline {
		h.kicks = append(h.kicks, kick{u, "the other servers could not be reached", EndServer})
		return
	}
	h.pushLocked(u, Event{Kind: EventNotice, Text: fmt.Sprintf("not sent: %v", err)})
}
