package core

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
)

// The methods here let a cluster copy one node's shared state to another
// that starts, or that comes back after it was cut off, and end a dead
// node's sessions everywhere.

// replicaState is the shared state in a form a cluster can carry.
type replicaState struct {
	Users []replicaUser `json:"users"`
	Convs []replicaConv `json:"convs"`
	Motd  string        `json:"motd,omitempty"`
	Mutes []replicaMute `json:"mutes,omitempty"`
}

type replicaUser struct {
	ID      uint64            `json:"id"`
	Profile Profile           `json:"profile"`
	Blocked map[uint64]string `json:"blocked,omitempty"`
	Mute    replicaMute       `json:"mute,omitzero"`
	// ResumeKey is the hash of the user's resume secret, if any.
	ResumeKey string `json:"resume,omitempty"`
}

type replicaMute struct {
	Key   string    `json:"key,omitempty"`
	Until time.Time `json:"until"`
	By    string    `json:"by"`
}

type replicaConv struct {
	ID         string     `json:"id"`
	Kind       ConvKind   `json:"kind"`
	Title      string     `json:"title,omitempty"`
	Desc       string     `json:"desc,omitempty"`
	Hidden     bool       `json:"hidden,omitempty"`
	PassHash   string     `json:"hash,omitempty"`
	MaxMembers int        `json:"max,omitempty"`
	Permanent  bool       `json:"permanent,omitempty"`
	Members    []uint64   `json:"members"`
	History    []*Message `json:"history,omitempty"`
	Seq        uint64     `json:"seq"`
}

// Snapshot encodes the shared state as of the last applied entry.
func (h *Hub) Snapshot() ([]byte, error) {
	h.mu.Lock()
	var st replicaState
	for _, u := range h.users {
		ru := replicaUser{
			ID: u.id, Blocked: u.blocked,
			Profile: Profile{Name: u.name, Code: u.code, Transport: u.transport, IP: u.ip, Fingerprint: u.fingerprint, Node: u.node, Incarnation: u.incarnation},
			Mute:    replicaMute{Until: u.mute.until, By: u.mute.by},
		}
		if u.resume != nil && u.resume.hasKey {
			ru.ResumeKey = hex.EncodeToString(u.resume.key[:])
		}
		st.Users = append(st.Users, ru)
	}
	for _, c := range h.convs {
		rc := replicaConv{ID: c.id, Kind: c.kind, Title: c.title, Desc: c.desc, Hidden: c.hidden, PassHash: c.passHash,
			MaxMembers: c.maxMembers, Permanent: c.permanent, History: c.history, Seq: c.seq}
		for _, m := range c.order {
			rc.Members = append(rc.Members, m.id)
		}
		st.Convs = append(st.Convs, rc)
	}
	st.Motd = h.motd
	for k, m := range h.mutes {
		st.Mutes = append(st.Mutes, replicaMute{Key: k, Until: m.until, By: m.by})
	}
	b, err := json.Marshal(st)
	h.unlock()
	return b, err
}

// ErrLocalSessions refuses to replace the state under sessions that live
// on it.
var ErrLocalSessions = errors.New("the node still has sessions of its own")

// Restore replaces the shared state with a Snapshot of another node's.
// The node must have no sessions of its own: it is starting, or it was
// fenced.
func (h *Hub) Restore(state []byte) error {
	var st replicaState
	if err := json.Unmarshal(state, &st); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.unlock()
	if len(h.localUsersLocked()) > 0 {
		return ErrLocalSessions
	}
	h.users, h.byCode, h.byName, h.looks = map[uint64]*user{}, map[string]*user{}, map[string]*user{}, nil
	h.resumable = nil
	for _, ru := range st.Users {
		p := ru.Profile
		u := &user{id: ru.ID, code: p.Code, name: p.Name, nameKey: NameKey(p.Name), transport: p.Transport, ip: p.IP,
			fingerprint: p.Fingerprint, node: p.Node, incarnation: p.Incarnation, blocked: ru.Blocked,
			mute: modMute{until: ru.Mute.Until, by: ru.Mute.By}, disconnect: func(string) {}}
		h.users[u.id], h.byCode[u.code], h.byName[u.nameKey] = u, u, u
		h.lookAddLocked(u)
		if ru.ResumeKey != "" {
			h.applyResumeKeyLocked(u, Entry{Text: ru.ResumeKey})
		}
	}
	convs := map[string]*conv{}
	for _, rc := range st.Convs {
		c := newConv(rc.ID, rc.Kind)
		c.title, c.desc, c.hidden, c.passHash, c.maxMembers, c.permanent = rc.Title, rc.Desc, rc.Hidden, rc.PassHash, rc.MaxMembers, rc.Permanent
		c.history, c.seq = rc.History, rc.Seq
		for _, id := range rc.Members {
			if u := h.users[id]; u != nil {
				c.add(u)
				u.convs = append(u.convs, c)
			}
		}
		convs[c.id] = c
	}
	for id, c := range h.convs {
		if c.kind == Room && c.permanent && convs[id] == nil {
			convs[id] = newConv(id, Room) // a configured room no one was in
			convs[id].title, convs[id].desc, convs[id].hidden = c.title, c.desc, c.hidden
			convs[id].passHash, convs[id].maxMembers, convs[id].permanent = c.passHash, c.maxMembers, true
		}
	}
	h.convs, h.countsDue = convs, nil
	h.motd = st.Motd
	h.mutes = map[string]modMute{}
	for _, m := range st.Mutes {
		h.mutes[m.Key] = modMute{until: m.Until, by: m.By}
	}
	return nil
}

// Fence cuts off every session of this node, telling each why, and turns
// new sessions and requests away until Unfence: the node has lost contact
// with the others and can no longer keep its state the same as theirs.
func (h *Hub) Fence(reason string) {
	h.mu.Lock()
	defer h.unlock()
	h.fenced = reason
	for _, u := range h.localUsersLocked() {
		if !u.leaving {
			u.leaving = true
			h.pushLocked(u, Event{Kind: EventClosing, Text: reason})
			if h.isLocal(u) && h.users[u.id] == u {
				h.removeLocked(u, reason, EndServer)
			}
			delete(h.pending, u.id)
			u.out.close()
			go u.disconnect(reason)
		}
	}
}

// Unfence serves again, once the node is back in contact with the others
// and its state is theirs (Restore).
func (h *Hub) Unfence() {
	h.mu.Lock()
	h.fenced = ""
	h.unlock()
}

// Fenced says why the node serves no one now, "" when it does.
func (h *Hub) Fenced() string {
	h.mu.Lock()
	defer h.unlock()
	return h.fenced
}

// Lost is the entry by which one surviving node ends, everywhere, the
// sessions of node's incarnation that died without a goodbye.
func (h *Hub) Lost(node, incarnation string) Entry {
	return Entry{Kind: EntryNodeLost, Note: node, Text: incarnation, Time: h.now()}
}
