package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNodeInUse refuses to start a node whose name a running process holds.
var ErrNodeInUse = errors.New("node name in use")

// reapLockTTL bounds how long a reaper that died halfway keeps others
// from reaping the same incarnation.
const reapLockTTL = time.Minute

// leaseValue is what a node's lease says about it.
type leaseValue struct {
	Incarnation string `json:"incarnation"`
	Config      string `json:"config"`
	// Rank orders nodes by when their incarnation started (the lease's
	// revision then); 0 until written. The oldest live node is the one
	// that may start a cluster from nothing.
	Rank uint64 `json:"rank,omitempty"`
}

func decodeLease(b []byte) (leaseValue, bool) {
	var v leaseValue
	return v, json.Unmarshal(b, &v) == nil && v.Incarnation != ""
}

// rankOf is a lease's rank, or its revision while the rank is unwritten
// (then the lease was just created, so its revision is its rank).
func rankOf(e jetstream.KeyValueEntry, v leaseValue) uint64 {
	if v.Rank != 0 {
		return v.Rank
	}
	return e.Revision()
}

func newIncarnation() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// acquire takes this node's lease for a new incarnation. previous is the
// incarnation this process held before (after a fence), or "" at start.
// A lease held by another incarnation is taken over only once its
// revision has stopped moving for two heartbeats (its process is dead);
// it returns that incarnation, to be reaped.
func (n *Node) acquire(ctx context.Context, previous string) (taken string, err error) {
	inc := newIncarnation()
	val := leaseValue{Incarnation: inc, Config: n.s.ConfigHash}
	data, _ := json.Marshal(val)
	for {
		rev, err := n.leases.Create(ctx, n.s.Node, data)
		if err == nil {
			return "", n.hold(ctx, inc, val, rev)
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return "", fmt.Errorf("taking the lease of node %s: %w", n.s.Node, err)
		}
		e, err := n.leases.Get(ctx, n.s.Node)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // expired meanwhile
		}
		if err != nil {
			return "", fmt.Errorf("reading the lease of node %s: %w", n.s.Node, err)
		}
		old, _ := decodeLease(e.Value())
		if old.Incarnation != previous || previous == "" {
			if err := sleep(ctx, 2*n.s.Heartbeat+n.s.Heartbeat/2); err != nil {
				return "", err
			}
			again, err := n.leases.Get(ctx, n.s.Node)
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return "", fmt.Errorf("reading the lease of node %s: %w", n.s.Node, err)
			}
			if again.Revision() != e.Revision() {
				return "", fmt.Errorf("%w: another running process is node %s (its lease is renewed): give this one another name", ErrNodeInUse, n.s.Node)
			}
		}
		rev, err = n.leases.Update(ctx, n.s.Node, data, e.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("taking the lease of node %s: %w", n.s.Node, err)
		}
		return old.Incarnation, n.hold(ctx, inc, val, rev)
	}
}

// hold records a lease just taken at revision rev, with its rank written.
func (n *Node) hold(ctx context.Context, inc string, val leaseValue, rev uint64) error {
	sent := time.Now()
	val.Rank = rev
	data, _ := json.Marshal(val)
	rev, err := n.leases.Update(ctx, n.s.Node, data, rev)
	if err != nil {
		return fmt.Errorf("writing the lease of node %s: %w", n.s.Node, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.incarnation, n.lease, n.rev, n.held, n.lastRenewal = inc, data, rev, true, sent
	n.rank = val.Rank
	return nil
}

// renewer renews the lease every heartbeat. When renewals fail for so long
// that the lease could expire within a heartbeat, or the lease is gone, it
// tells the supervisor, which fences the node.
func (n *Node) renewer() {
	defer n.wg.Done()
	t := time.NewTicker(n.s.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-t.C:
		}
		n.mu.Lock()
		held, inc, data, rev, last := n.held, n.incarnation, n.lease, n.rev, n.lastRenewal
		n.mu.Unlock()
		if !held {
			continue
		}
		deadline := last.Add(n.s.NodeTTL - n.s.Heartbeat)
		timeout := min(n.s.Heartbeat, time.Until(deadline))
		if timeout <= 0 {
			n.lose(inc, "lost contact with the other servers")
			continue
		}
		sent := time.Now()
		ctx, cancel := context.WithTimeout(n.ctx, timeout)
		next, err := n.leases.Update(ctx, n.s.Node, data, rev)
		cancel()
		switch {
		case err == nil:
			n.mu.Lock()
			if n.incarnation == inc {
				n.rev, n.lastRenewal = next, sent
			}
			n.mu.Unlock()
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
			n.lose(inc, "lost its lease to another process or to expiry")
		case n.ctx.Err() != nil:
			return
		case !time.Now().Before(deadline):
			n.lose(inc, "lost contact with the other servers")
		}
	}
}

// lose marks the lease of incarnation inc as lost and wakes the supervisor.
func (n *Node) lose(inc, reason string) {
	n.mu.Lock()
	if n.incarnation == inc {
		n.held = false
	}
	n.mu.Unlock()
	n.signal(reason)
}

func (n *Node) signal(reason string) {
	select {
	case n.trouble <- reason:
	default:
	}
}

// watchLeases follows every node's lease: a lease that expires or passes
// to a new incarnation means the old incarnation is lost, and one
// survivor reaps it.
func (n *Node) watchLeases() {
	defer n.wg.Done()
	w, err := n.leases.WatchAll(n.ctx)
	if err != nil {
		n.logger.Error("watching the nodes' leases", "err", err)
		return
	}
	defer func() {
		_ = w.Stop()
		for range w.Updates() {
		}
	}()
	live := map[string]leaseValue{}
	warned := map[string]string{}
	for {
		var e jetstream.KeyValueEntry
		select {
		case <-n.ctx.Done():
			return
		case e = <-w.Updates():
		}
		if e == nil || e.Key() == n.s.Node {
			continue
		}
		prev, known := live[e.Key()]
		switch e.Operation() {
		case jetstream.KeyValuePut:
			v, ok := decodeLease(e.Value())
			if !ok {
				continue
			}
			if known && prev.Incarnation != v.Incarnation {
				n.reapLater(e.Key(), prev.Incarnation)
			}
			live[e.Key()] = v
			if v.Config != n.s.ConfigHash && warned[e.Key()] != v.Config {
				warned[e.Key()] = v.Config
				n.logger.Warn("a node runs with another configuration (rooms, operators, reserved names): give every node the same", "node", e.Key())
			}
		default:
			delete(live, e.Key())
			if known {
				n.reapLater(e.Key(), prev.Incarnation)
			}
		}
		mismatch := 0
		for _, v := range live {
			if v.Config != n.s.ConfigHash {
				mismatch++
			}
		}
		n.stats.nodes.Store(int64(len(live) + 1))
		n.stats.configMismatch.Store(int64(mismatch))
	}
}

func (n *Node) reapLater(node, inc string) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.reap(node, inc)
	}()
}

// reap removes a lost incarnation's users, once for the whole cluster:
// the node that creates the reap lock appends the hub's Lost entry and
// releases the incarnation's names and codes.
func (n *Node) reap(node, inc string) {
	if !n.serving() {
		return // a fenced replica is stale: a serving node reaps
	}
	ctx, cancel := context.WithTimeout(n.ctx, 30*time.Second)
	defer cancel()
	_, err := n.reaps.Create(ctx, node+"."+inc, nil, jetstream.KeyTTL(reapLockTTL))
	if errors.Is(err, jetstream.ErrKeyExists) {
		return
	}
	if err != nil {
		n.logger.Error("reaping a lost node", "node", node, "err", err)
		return
	}
	n.log.Append(n.hub.Lost(node, inc))
	users, err := n.dir.releaseIncarnation(ctx, node, inc)
	if err != nil {
		n.logger.Error("releasing a lost node's names and codes", "node", node, "err", err)
	}
	n.stats.reapedNodes.Add(1)
	n.stats.reapedUsers.Add(uint64(users))
	n.logger.Info("reaped a lost node", "node", node, "incarnation", inc, "users", users)
}

// seniorPeer reports whether a live node older than this incarnation
// exists: then this node waits for it to answer instead of starting the
// cluster's state from nothing. It also returns the live incarnations.
func (n *Node) seniorPeer(ctx context.Context) (bool, map[string]string, error) {
	entries, err := readAll(ctx, n.leases)
	if err != nil {
		return false, nil, err
	}
	n.mu.Lock()
	rank, inc := n.rank, n.incarnation
	n.mu.Unlock()
	live := map[string]string{n.s.Node: inc}
	senior := false
	for _, e := range entries {
		v, ok := decodeLease(e.Value())
		if !ok || e.Key() == n.s.Node {
			continue
		}
		live[e.Key()] = v.Incarnation
		if rankOf(e, v) < rank {
			senior = true
		}
	}
	return senior, live, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
