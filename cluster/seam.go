package cluster

import (
	"errors"
	"time"
)

// The types below mirror the core's seam (core/seam.go) until it lands;
// they become aliases of the core's then.

// Entry is one change to the state every node shares.
type Entry struct {
	Kind uint8
	ID   string
	Node string
	Conv string
	Time time.Time
	User uint64
	Text string
}

// ClaimKind names what a claim keeps unique.
type ClaimKind uint8

// The kinds of claims.
const (
	ClaimName ClaimKind = iota + 1
	ClaimCode
)

// Owner says who holds a claim.
type Owner struct {
	Node, Incarnation string
	User              uint64
}

// ErrTaken refuses a claim held by someone else.
var ErrTaken = errors.New("taken")

// Hub is what a node needs of the core's hub: a replica of the cluster's
// state machine that the log feeds.
type Hub interface {
	// Apply applies one entry; called in log order from one goroutine.
	Apply(e Entry)
	// Snapshot returns the replica as of the last applied entry; called
	// from the goroutine that calls Apply.
	Snapshot() ([]byte, error)
	// Restore replaces the replica; the hub has no local sessions then.
	Restore(state []byte) error
	// Fence cuts every local session off with reason and refuses new ones.
	Fence(reason string)
	// Unfence serves again, as the given (new) incarnation.
	Unfence(incarnation string)
	// Lost returns the entry that removes a dead incarnation's users.
	Lost(node, incarnation string) Entry
}
