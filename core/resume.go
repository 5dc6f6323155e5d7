package core

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
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
// then. Every node knows every user's secret's hash (EntryResumeKey), so
// in a cluster a tab may come back through another node: the user's
// session moves there (EntryMove).

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
	key := sha256.Sum256([]byte(secret))
	h.commitLocked(Entry{Kind: EntryResumeKey, User: u.id, Text: hex.EncodeToString(key[:])})
	return secret
}

// applyResumeKeyLocked makes the hash e names u's resume secret's.
func (h *Hub) applyResumeKeyLocked(u *user, e Entry) {
	var key resumeKey
	b, err := hex.DecodeString(e.Text)
	if err != nil || len(b) != len(key) {
		return
	}
	copy(key[:], b)
	h.forgetResumeLocked(u)
	if h.resumable == nil {
		h.resumable = map[resumeKey]*user{}
	}
	if u.resume == nil {
		u.resume = &userResume{}
	}
	u.resume.key, u.resume.hasKey = key, true
	h.resumable[key] = u
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
// from that connection, whose transport is told ReasonTakenOver; a user
// whose session is on another node moves here. The secret stays valid.
func (h *Hub) Resume(secret string, info ConnectInfo) (*Session, error) {
	h.mu.Lock()
	u := h.resumable[sha256.Sum256([]byte(secret))]
	if u == nil || u.closed || u.leaving {
		h.unlock()
		return nil, ErrNotResumable
	}
	if err := h.refuseConnectLocked(info); err != nil {
		h.unlock()
		return nil, err
	}
	if !h.isLocal(u) {
		from := Owner{Node: u.node, Incarnation: u.incarnation, User: u.id}
		claims := u.claims(from)
		h.unlock()
		return h.moveHere(u, from, claims, info)
	}
	defer h.unlock()
	old, oldDisconnect := u.out, u.disconnect
	h.attachLocked(u, info)
	if !u.resume.detached {
		// The old connection is told why before its outbox ends, so its
		// last words are the reason rather than a bare close.
		old.push(Event{Kind: EventClosing, Text: ReasonTakenOver}, h.now())
		go oldDisconnect(ReasonTakenOver)
	}
	u.resume.detached = false
	return &Session{h: h, u: u, code: u.code, id: u.id, out: u.out}, nil
}

// attachLocked gives u a new connection's outbox and disconnect.
func (h *Hub) attachLocked(u *user, info ConnectInfo) {
	u.out = newOutbox(h.cfg.Limits.OutboxSize)
	u.ip = info.IP
	u.disconnect = info.Disconnect
	if u.disconnect == nil {
		u.disconnect = func(string) {}
	}
}

// moveHere takes a user whose session is on another node (from) to this
// one: its name and code change owner in the directory, and EntryMove
// tells every node, whose old one ends its connection there. As with
// Connect, the session serves at once, before the entry comes back.
func (h *Hub) moveHere(u *user, from Owner, claims []release, info ConnectInfo) (*Session, error) {
	to := h.owner(u.id)
	ctx, cancel := context.WithTimeout(context.Background(), directoryTimeout)
	defer cancel()
	var moved []release
	undo := func() {
		for _, c := range moved {
			_ = h.dir.Move(ctx, c.kind, c.key, to, from)
		}
	}
	for _, c := range claims {
		if err := h.dir.Move(ctx, c.kind, c.key, from, to); err != nil {
			undo()
			if errors.Is(err, ErrTaken) {
				return nil, ErrNotResumable // it has left meanwhile
			}
			return nil, fmt.Errorf("your chat could not be taken over from the other server: %w", err)
		}
		moved = append(moved, c)
	}
	h.mu.Lock()
	err := h.refuseConnectLocked(info)
	if err == nil && (h.users[u.id] != u || u.closed || u.leaving || h.isLocal(u) || u.node != from.Node || u.incarnation != from.Incarnation) {
		err = ErrNotResumable // it left, or moved, meanwhile
	}
	if err != nil {
		h.unlock()
		undo()
		return nil, err
	}
	h.attachLocked(u, info)
	u.resume.detached = false
	h.movedInLocked(u.transport)
	h.commitLocked(Entry{Kind: EntryMove, User: u.id, Note: h.incarnation, Text: info.IP})
	s := &Session{h: h, u: u, code: u.code, id: u.id, out: u.out}
	h.unlock()
	return s, nil
}

// applyMoveLocked records that u's session is now on node e.Node. The node
// it left ends its connection there and says which conversation was
// current; the node it went to took it when it decided the move.
func (h *Hub) applyMoveLocked(u *user, e Entry) {
	u.node, u.incarnation, u.ip = e.Node, e.Note, e.Text
	switch {
	case e.Node != h.node && h.isLocal(u):
		old, disconnect, detached := u.out, u.disconnect, u.detached()
		u.out, u.disconnect = nil, func(string) {}
		if u.resume != nil {
			u.resume.detached = false
		}
		if !detached {
			old.push(Event{Kind: EventClosing, Text: ReasonTakenOver}, h.now())
			go disconnect(ReasonTakenOver)
		}
		if u.current != nil {
			h.commitLocked(Entry{Kind: EntryCurrent, User: u.id, Conv: u.current.id})
		}
		h.movedOutLocked(u.transport, EndMoved)
	case e.Node == h.node && !h.isLocal(u):
		// A move this node gave up on, whose entry reached the log after
		// all: the user has no connection here.
		u.out = newOutbox(h.cfg.Limits.OutboxSize)
		h.movedInLocked(u.transport)
		h.goOfflineLocked(u, "connection lost", EndClosed)
	}
}

// movedInLocked and movedOutLocked count, in this node's metrics, a
// session that came from or went to another node.
func (h *Hub) movedInLocked(transport Transport) {
	h.watch.note(func(o Observer) { o.SessionStarted(transport) })
}

func (h *Hub) movedOutLocked(transport Transport, why EndReason) {
	h.watch.note(func(o Observer) { o.SessionEnded(transport, why) })
}

// unsentMoveLocked gives a move that never reached the log up: the user
// stays on its node, and the connection that asked for it ends.
func (h *Hub) unsentMoveLocked(u *user) {
	if !h.isLocal(u) || u.node == h.node {
		return // applied, or not this node's
	}
	old, disconnect := u.out, u.disconnect
	u.out, u.disconnect = nil, func(string) {}
	reason := "the other servers could not be reached"
	old.push(Event{Kind: EventClosing, Text: reason}, h.now())
	go disconnect(reason)
	h.movedOutLocked(u.transport, EndServer)
	from, to := h.owner(u.id), Owner{Node: u.node, Incarnation: u.incarnation, User: u.id}
	claims := u.claims(from)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), directoryTimeout)
		defer cancel()
		for _, c := range claims {
			_ = h.dir.Move(ctx, c.kind, c.key, from, to)
		}
	}()
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
