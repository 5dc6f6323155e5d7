package core

import (
	"errors"
	"fmt"
	"strings"
)

// cmdMsg sends one private message to NAME without leaving the
// conversation on screen.
func (s *Session) cmdMsg(args string) error {
	name, text, _ := strings.Cut(strings.TrimSpace(args), " ")
	if name == "" || strings.TrimSpace(text) == "" {
		return errors.New("usage: /msg NAME TEXT")
	}
	h := s.h
	h.mu.Lock()
	t := h.byName[NameKey(strings.TrimPrefix(name, "@"))]
	if t == s.u {
		h.unlock()
		return errors.New("that is you")
	}
	if t == nil || blocks(t, s.u) || (h.convs[privateID(s.u, t)] == nil && !h.shareRoomLocked(s.u, t)) {
		h.unlock()
		return fmt.Errorf("no one called %s in your rooms or private chats", strings.ToValidUTF8(name, "?"))
	}
	h.unlock()
	return s.sendPrivate(t, text)
}

// cmdReply answers the last person who wrote to the user privately.
func (s *Session) cmdReply(text string) error {
	h := s.h
	h.mu.Lock()
	if s.u.lastPrivate == 0 {
		h.unlock()
		return errors.New("no one has written to you privately yet")
	}
	t := h.users[s.u.lastPrivate]
	if t == nil || h.convs[privateID(s.u, t)] == nil {
		h.unlock()
		return errors.New("the last person who wrote to you privately has left that chat")
	}
	id := privateID(s.u, t)
	h.unlock()
	if strings.TrimSpace(text) == "" {
		return s.Switch(id)
	}
	return s.sendPrivate(t, text)
}

// sendPrivate posts text to the private chat with t, opening it if need
// be, and leaves the current conversation as it was.
func (s *Session) sendPrivate(t *user, text string) error {
	text, err := CleanMessage(text, s.h.limits().MessageChars)
	if err != nil {
		return err
	}
	h := s.h
	id := privateID(s.u, t)
	h.mu.Lock()
	defer h.unlock()
	if err := h.servingLocked(s.u); err != nil {
		return err
	}
	if c := h.convs[id]; c == nil {
		// The line follows the opening in the log, so every node applies
		// it to the chat the opening made, whenever that is applied.
		prev := s.u.current
		h.openPrivateWithLocked(s.u, t)
		if c := h.convs[id]; c != nil {
			h.setCurrentLocked(s.u, prev) // applied at once: one node
		}
	} else if !c.has(s.u) {
		return errors.New("you are not in that conversation")
	}
	return h.commitPostLocked(s.u, id, Text, text)
}

// notePrivateLocked remembers, for /reply, that from wrote in c when c
// is a private chat.
func (h *Hub) notePrivateLocked(c *conv, from *user) {
	if c.kind != Private {
		return
	}
	for _, m := range c.order {
		if m != from {
			m.lastPrivate = from.id
		}
	}
}
