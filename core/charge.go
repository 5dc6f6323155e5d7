package core

import (
	"fmt"
	"time"
)

// action is something a user does that other people receive: a notice,
// a member event, a chat request.
type action uint8

const (
	actRename  action = iota // /name: a notice in every conversation
	actJoin                  // joining or creating a room: a notice to its members
	actLeave                 // leaving a conversation: a notice to the others
	actPrivate               // opening a private chat: a request to its partner
)

// chargeLocked is the price of an action, paid before it is done: an
// operator's mute refuses it (except leaving, which cannot be repeated
// without a join), it counts toward the message rate limit with its
// warnings and flood mute, and a rename also needs a token of its own,
// slower bucket. Without it a muted user could still reach everyone by
// renaming, and a paste of /name lines could flood every room.
func (h *Hub) chargeLocked(u *user, a action) error {
	if a != actLeave {
		if err := h.operatorMuteLocked(u); err != nil {
			return err
		}
	}
	now := h.now()
	l := h.cfg.Limits
	perSec := l.RenamesPerMinute / 60
	if a == actRename {
		if u.renames.refill(now, l.RenameBurst, perSec); u.renames.tokens < 1 {
			h.watch.refused(RefusedRenameRate)
			wait := time.Duration((1 - u.renames.tokens) / perSec * float64(time.Second))
			return fmt.Errorf("too many renames: try again in %s (at most %g a minute after %d)", roundUp(wait), l.RenamesPerMinute, l.RenameBurst)
		}
	}
	if err := h.rateLocked(u); err != nil {
		return err
	}
	if a == actRename {
		u.renames.tokens--
	}
	return nil
}
