package cluster

import "parley/core"

// Hub is what a node needs of the core's hub (*core.Hub): a replica of
// the cluster's state that the log feeds.
type Hub interface {
	// Apply applies one entry; called in log order from one goroutine.
	Apply(e core.Entry)
	// Snapshot returns the replica as of the last applied entry; called
	// from the goroutine that calls Apply.
	Snapshot() ([]byte, error)
	// Restore replaces the replica; the hub has no local sessions then.
	Restore(state []byte) error
	// Fence cuts every local session off with reason and refuses new ones.
	Fence(reason string)
	// Unfence serves again.
	Unfence()
	// Lost returns the entry that removes a dead incarnation's users.
	Lost(node, incarnation string) core.Entry
}

var _ Hub = (*core.Hub)(nil)
