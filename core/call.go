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

// Video starts a video call with the partner of the private chat conv.
func (s *Session) Video(conv string) error {
	h := s.h
	h.mu.Lock()
	calls := h.calls
	c := h.convs[conv]
	if conv == "" || c == nil || !c.has(s.u) || c.kind != Private {
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
	from, to := s.u.member(), p.member()
	h.unlock()
	return calls.Start(conv, from, to)
}

func (s *Session) cmdVideo(string) error { return s.Video(s.currentID()) }

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
