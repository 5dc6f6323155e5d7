package core

import "errors"

// Calls runs 1:1 video calls. The core routes /video to it and tells it
// when a private chat ends, but knows nothing of how a call is carried:
// the web transport provides it. Neither method is called with the hub
// locked, so an implementation may call back into the hub.
type Calls interface {
	// Start rings to from from, inside their private chat conv. The error
	// is for from to read (busy, not available...).
	Start(conv string, from, to Member) error
	// ConvClosed ends any call in the private chat conv: one side left,
	// blocked the other, or disconnected.
	ConvClosed(conv string)
	// Relayed hands over payload, which the call service of node from
	// sent to this node with Hub.Relay.
	Relayed(from, payload string)
}

// relayed is call signaling from another node, for Calls.Relayed once
// the hub's lock is released.
type relayed struct{ from, payload string }

// Node names this node among several; it is "" on a single node.
func (h *Hub) Node() string { return h.node }

// Elsewhere returns the node of user id when that user is online on
// another node, and "" otherwise: a call to them is carried by their
// node's call service.
func (h *Hub) Elsewhere(id uint64) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if u := h.users[id]; u != nil && !h.isLocal(u) {
		return u.node
	}
	return ""
}

// Relay hands payload to the call service of node (Calls.Relayed) through
// the shared log, so that signaling between two nodes keeps its order.
// user is the local user it is sent for, if any: they hear of a log that
// could not take it. It never blocks, so a call service may call it with
// its own lock held.
func (h *Hub) Relay(node string, user uint64, payload string) {
	h.mu.Lock()
	defer h.unlock()
	if h.fenced == "" && node != "" && node != h.node {
		h.commitLocked(Entry{Kind: EntryRelay, Note: node, User: user, Text: payload})
	}
}

// SetCalls installs the call service that /video uses. Without one,
// /video tells the user that calls are not available.
func (h *Hub) SetCalls(c Calls) {
	h.mu.Lock()
	defer h.unlock()
	h.calls = c
}

// Inform shows command-style output (EventInfo) to the user with the given
// ID, such as a call link for someone who must open it in a browser. It
// reports whether that user is online.
func (h *Hub) Inform(id uint64, title string, lines []string) bool {
	h.mu.Lock()
	defer h.unlock()
	u := h.users[id]
	if u == nil {
		return false
	}
	h.pushLocked(u, Event{Kind: EventInfo, Text: title, Lines: lines})
	return true
}

// Video starts a video call with the partner of the private chat id.
func (s *Session) Video(id string) error {
	s.h.mu.Lock()
	return s.videoUnlocking(s.h.convs[id])
}

// cmdVideo starts a video call in the current conversation.
func (s *Session) cmdVideo(string) error {
	s.h.mu.Lock()
	return s.videoUnlocking(s.u.current)
}

// videoUnlocking checks c with the hub's lock held, releases it, and asks
// the call service, which must never be called under the lock, to start
// the call.
func (s *Session) videoUnlocking(c *conv) error {
	h := s.h
	calls := h.calls
	if c == nil || !c.has(s.u) || c.kind != Private {
		h.unlock()
		return errors.New("video calls are 1:1: open a private chat first (/join CODE or /dm NAME)")
	}
	if calls == nil {
		h.unlock()
		return errors.New("video calls are not available on this server")
	}
	p := c.partner(s.u)
	if p == nil {
		h.unlock()
		return errors.New("no one else is in this chat")
	}
	conv, from, to := c.id, s.u.member(), p.member()
	h.unlock()
	return calls.Start(conv, from, to)
}

// CallNote posts a system line in the private chat conv about one of its
// calls ("missed call from alice"), so both sides find it there later.
func (h *Hub) CallNote(conv, text string) {
	h.mu.Lock()
	defer h.unlock()
	c := h.convs[conv]
	if c == nil || c.kind != Private || len(c.order) == 0 {
		return
	}
	h.commitLocked(Entry{Kind: EntryPost, Conv: conv, User: c.order[0].id, MsgKind: System, Text: text})
}
