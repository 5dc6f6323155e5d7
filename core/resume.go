package core

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"time"
)

// A browser's tab reloads, or its network drops for a moment: the user
// should stay the same person in the same chats. A session whose
// transport asks for it gets a resume secret; when its connection ends it
// is detached rather than closed, and stays a member of everything,
// silently, for a grace period. A new connection that shows the secret
// takes the user back, and with it the code, the name and the
// conversations. Nobody else sees the user leave or come back. When the
// grace period runs out the user leaves as if the connection had closed
// then.

// ReasonTakenOver is what a session's transport is told when another
// connection resumed its user: the user is still there, elsewhere.
const ReasonTakenOver = "this chat was opened in another tab"

// ErrNotResumable is returned by Resume for a secret that names no user:
// it never existed, the grace period ran out, or the server restarted.
var ErrNotResumable = errors.New("that session has ended")

// resumeKey is a secret's hash: the hub keeps no secret itself.
type resumeKey [sha256.Size]byte

// userResume is a user's resume state.
type userResume struct {
	key         resumeKey // of the user's current secret
	hasKey      bool
	detached    bool
	detachedTil time.Time // when a detached user is let go
}

func (u *user) detached() bool { return u.resume != nil && u.resume.detached }

// ResumeSecret gives the session a new resume secret, which replaces any
// earlier one. It names the user until the user ends, so that a tab that
// lost its user to another tab can take it back. It is as strong as a
// password (128 bits from crypto/rand) and must travel and be kept like
// one: never in a URL or a log.
func (s *Session) ResumeSecret() string {
	secret := rand.Text()
	h := s.h
	h.mu.Lock()
	defer h.unlock()
	u := s.u
	if u.closed || u.leaving || s.stale() {
		return secret // a secret for nobody: Resume will not find it
	}
	h.forgetResumeLocked(u)
	if h.resumable == nil {
		h.resumable = map[resumeKey]*user{}
	}
	if u.resume == nil {
		u.resume = &userResume{}
	}
	u.resume.key, u.resume.hasKey = sha256.Sum256([]byte(secret)), true
	h.resumable[u.resume.key] = u
	return secret
}

// stale reports whether another connection has taken the session's user
// (or the session detached): the user's events no longer go to its outbox.
func (s *Session) stale() bool { return s.out != s.u.out }

// Detach ends the session's connection but keeps its user, if it has a
// resume secret, for grace: events meant for it are dropped meanwhile
// (Resume sends the whole state again). Without a secret, or once another
// connection has taken the user, it is Close. A stale session's Detach
// does nothing.
func (s *Session) Detach(grace time.Duration) {
	h := s.h
	h.mu.Lock()
	defer h.unlock()
	u := s.u
	if u.closed || u.leaving || s.stale() {
		return
	}
	if u.resume == nil || !u.resume.hasKey || grace <= 0 {
		h.goOfflineLocked(u, "", EndClosed)
		return
	}
	u.resume.detached = true
	u.resume.detachedTil = h.now().Add(grace)
	old := u.out
	u.out = newOutbox(h.cfg.Limits.OutboxSize)
	old.close()
}

// Resume takes back the user whose resume secret this is, for a new
// connection described by info. A user still connected elsewhere is taken
// from that connection, whose transport is told ReasonTakenOver. The
// secret stays valid.
func (h *Hub) Resume(secret string, info ConnectInfo) (*Session, error) {
	h.mu.Lock()
	defer h.unlock()
	if h.draining {
		return nil, ErrDraining
	}
	u := h.resumable[sha256.Sum256([]byte(secret))]
	if u == nil || u.closed || u.leaving {
		return nil, ErrNotResumable
	}
	if err := h.admitLocked(info); err != nil {
		return nil, err
	}
	old, oldDisconnect := u.out, u.disconnect
	u.out = newOutbox(h.cfg.Limits.OutboxSize)
	u.ip = info.IP
	u.disconnect = info.Disconnect
	if u.disconnect == nil {
		u.disconnect = func(string) {}
	}
	if !u.resume.detached {
		// The old connection is told why before its outbox ends, so its
		// last words are the reason rather than a bare close.
		old.push(Event{Kind: EventClosing, Text: ReasonTakenOver}, h.now())
		go oldDisconnect(ReasonTakenOver)
	}
	u.resume.detached = false
	return &Session{h: h, u: u, code: u.code, id: u.id, out: u.out}, nil
}

// forgetResumeLocked makes u's current secret, if any, name nobody.
func (h *Hub) forgetResumeLocked(u *user) {
	if u.resume != nil && u.resume.hasKey {
		if h.resumable[u.resume.key] == u {
			delete(h.resumable, u.resume.key)
		}
		u.resume.hasKey = false
	}
}

// expireDetachedLocked lets go of the detached users whose grace period
// has run out: they leave everything, and the others are told.
func (h *Hub) expireDetachedLocked(now time.Time) {
	for _, u := range h.users {
		if u.detached() && !now.Before(u.resume.detachedTil) {
			h.goOfflineLocked(u, "", EndClosed)
		}
	}
}

// Detached reports whether the session's user waits, without a
// connection, to be resumed.
func (s *Session) Detached() bool {
	s.h.mu.Lock()
	defer s.h.unlock()
	return s.u.detached()
}
