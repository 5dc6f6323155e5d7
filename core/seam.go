package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// The hub is split where several nodes would meet. An operation first
// decides, under the hub's lock and against the hub's own copy of the
// state, what it changes, and records that as an Entry handed to the Log.
// Every hub, the deciding one included, then applies every entry through
// one path (Hub.Apply, applyLocked) in the Log's order, so every node's
// copy of the shared state stays the same. A single node's Log applies an
// entry at once inside the same critical section, which keeps today's
// behaviour and cost. What must be unique the moment it is handed out
// (user IDs, codes, names) is claimed from a Directory instead, without
// the hub's lock.

// EntryKind names a change to the shared state.
type EntryKind uint8

const (
	// EntryOnline: user User came online; Profile describes them.
	EntryOnline EntryKind = iota + 1
	// EntryOffline: User went away; Text says why, Cause how.
	EntryOffline
	// EntryJoin: User joined room Conv, creating it with PassHash when
	// Create is set.
	EntryJoin
	// EntryLeave: User left Conv; Text is the notice for the others, Note
	// the one for User.
	EntryLeave
	// EntryPost: User posted Text of kind MsgKind in Conv; a System post
	// is the server's line about User's conversation (a missed call).
	EntryPost
	// EntryRename: User is now called Text.
	EntryRename
	// EntryOpen: User opened the private chat Conv with Peer.
	EntryOpen
	// EntryBlock: User blocks Peer, who was called Text; Note is what User
	// reads about a private chat this ends.
	EntryBlock
	// EntryUnblock: User no longer blocks Peer.
	EntryUnblock
	// EntryKick: Peer is cut off by User; Text says why, Cause how.
	EntryKick
	// EntryMute: User mutes Peer until Until; Text is how long.
	EntryMute
	// EntryUnmute: User lifts Peer's mute.
	EntryUnmute
	// EntryMotd: User set the message of the day to Text ("" clears it).
	EntryMotd
	// EntryNodeLost: every user of node Note, incarnation Text, is gone.
	EntryNodeLost
	// EntryRelay: Text is for the call service of node Note, from the one
	// of node Node (call signaling between nodes). It changes no state.
	EntryRelay
	// EntryResumeKey: User's resume secret now hashes to Text (hex).
	EntryResumeKey
	// EntryMove: User's session moved to node Node, incarnation Note: a
	// browser resumed its user there.
	EntryMove
	// EntryCurrent: User's current conversation is Conv, as the node its
	// session moved from knew it (which conversation is current is kept
	// by the user's own node).
	EntryCurrent
)

// Entry is one change to the state every node shares. It is
// self-contained, so any node applies it with nothing but its own copy of
// the state, and every field is exported so a cluster can encode it.
type Entry struct {
	Kind EntryKind `json:"k"`
	// ID identifies the entry for de-duplication; a cluster log sets it.
	ID string `json:"id,omitempty"`
	// Node is the node that decided the entry ("" on a single node).
	Node string    `json:"n,omitempty"`
	Conv string    `json:"c,omitempty"`
	Time time.Time `json:"t"`
	User uint64    `json:"u,omitempty"`
	Peer uint64    `json:"p,omitempty"`
	Text string    `json:"x,omitempty"`
	Note string    `json:"o,omitempty"`

	MsgKind  MessageKind `json:"mk,omitempty"`
	Create   bool        `json:"cr,omitempty"`
	PassHash string      `json:"ph,omitempty"`
	Until    time.Time   `json:"un,omitzero"`
	Cause    EndReason   `json:"ca,omitempty"`
	Profile  *Profile    `json:"pr,omitempty"`
}

// Profile is what every node knows of a user.
type Profile struct {
	Name        string    `json:"name"`
	Code        string    `json:"code"`
	Transport   Transport `json:"transport"`
	IP          string    `json:"ip,omitempty"`
	Fingerprint string    `json:"fp,omitempty"`
	Node        string    `json:"node,omitempty"`
	Incarnation string    `json:"inc,omitempty"`
}

// Log orders entries and hands every node's hub all of them, in one
// order.
type Log interface {
	// Append submits e. The hub calls it with its lock held: it must never
	// block.
	Append(e Entry)
}

// ClaimKind names what a Directory claim is for.
type ClaimKind uint8

const (
	// ClaimName: a display name, by its NameKey.
	ClaimName ClaimKind = iota + 1
	// ClaimCode: a private-chat code.
	ClaimCode
)

// Owner says who holds a claim, so that a release, or the reaper of a
// dead node, never frees a newer holder's claim.
type Owner struct {
	Node        string `json:"node"`
	Incarnation string `json:"inc"`
	User        uint64 `json:"user"`
}

// ErrTaken is a Directory's answer to a claim someone else holds.
var ErrTaken = errors.New("taken")

// Directory hands out what must be unique across nodes. Its methods may
// wait for the network: the hub never calls them with its lock held.
type Directory interface {
	// NewID returns a user ID no node has used, below 2^53 (browsers
	// compare IDs as numbers).
	NewID(ctx context.Context) (uint64, error)
	// Claim gives key to o, or returns ErrTaken if someone else holds it.
	Claim(ctx context.Context, kind ClaimKind, key string, o Owner) error
	// Release frees key if o still holds it.
	Release(ctx context.Context, kind ClaimKind, key string, o Owner) error
	// Move hands key from one owner to another of the same user, when a
	// user's session moves between nodes; ErrTaken if from no longer
	// holds it.
	Move(ctx context.Context, kind ClaimKind, key string, from, to Owner) error
}

// WithCluster makes the hub one node of several: node names it,
// incarnation tells this start of it from earlier ones, and l and d
// replace the single node's log and directory.
func WithCluster(node, incarnation string, l Log, d Directory) Option {
	return func(h *Hub) { h.node, h.incarnation, h.log, h.dir = node, incarnation, l, d }
}

// localLog is a single node's log: an entry is applied at once, in the
// critical section that decided it.
type localLog struct{ h *Hub }

func (l localLog) Append(e Entry) { l.h.applyLocked(e) }

// localDirectory is a single node's directory: plain maps.
type localDirectory struct {
	mu     sync.Mutex
	nextID uint64
	claims map[claimKey]Owner
}

type claimKey struct {
	kind ClaimKind
	key  string
}

func newLocalDirectory() *localDirectory {
	return &localDirectory{claims: map[claimKey]Owner{}}
}

func (d *localDirectory) NewID(context.Context) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.nextID++
	return d.nextID, nil
}

func (d *localDirectory) Claim(_ context.Context, kind ClaimKind, key string, o Owner) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := claimKey{kind, key}
	if held, ok := d.claims[k]; ok && held != o {
		return ErrTaken
	}
	d.claims[k] = o
	return nil
}

func (d *localDirectory) Release(_ context.Context, kind ClaimKind, key string, o Owner) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := claimKey{kind, key}
	if d.claims[k] == o {
		delete(d.claims, k)
	}
	return nil
}

func (d *localDirectory) Move(_ context.Context, kind ClaimKind, key string, from, to Owner) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := claimKey{kind, key}
	if d.claims[k] != from {
		return ErrTaken
	}
	d.claims[k] = to
	return nil
}

// release is a claim to give back once the hub's lock is released.
type release struct {
	kind ClaimKind
	key  string
	o    Owner
}

// directoryTimeout bounds one Directory call made for a user.
const directoryTimeout = 5 * time.Second

// ErrFenced is returned while the node has lost contact with the others.
type ErrFenced struct{ Reason string }

func (e *ErrFenced) Error() string { return fmt.Sprintf("not available: %s", e.Reason) }
