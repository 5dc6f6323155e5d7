package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNodeInUse refuses to start a node whose name a running process holds.
var ErrNodeInUse = errors.New("node name in use")

// leaseValue is what a node's lease says about it.
type leaseValue struct {
	Incarnation string `json:"incarnation"`
	Config      string `json:"config"`
	// HostKey is the fingerprint of the SSH host key the node presents.
	HostKey string `json:"hostKey,omitempty"`
	// Rank is the lease's revision when this holding of it began; 0 until
	// written. It orders nodes by age (the oldest live node may start a
	// cluster from nothing), and names each holding, so one expiry is
	// reaped once even when the same incarnation holds the lease again.
	Rank uint64 `json:"rank,omitempty"`
}

func decodeLease(b []byte) (leaseValue, bool) {
	var v leaseValue
	return v, json.Unmarshal(b, &v) == nil && v.Incarnation != ""
}

// rankOf is a lease's rank, or its revision while the rank is unwritten
// (then the lease was just taken, so its revision is its rank).
func rankOf(e jetstream.KeyValueEntry, v leaseValue) uint64 {
	if v.Rank != 0 {
		return v.Rank
	}
	return e.Revision()
}

// holding names one holding of a node's lease: what a reaper reaps.
type holding struct {
	node, incarnation string
	rank              uint64
}

func (h holding) reapKey() string {
	return h.node + "." + h.incarnation + "." + strconv.FormatUint(h.rank, 10)
}

func newIncarnation() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// acquire takes this node's lease. A lease held by this incarnation
// (before a fence) is taken back at once; one held by another incarnation
// only once its revision has stood still for two heartbeats (its process
// is dead). It returns the holding it replaced, to be reaped, if any.
func (n *Node) acquire(ctx context.Context) (replaced *holding, err error) {
	n.mu.Lock()
	inc := n.incarnation
	n.mu.Unlock()
	data, _ := json.Marshal(leaseValue{Incarnation: inc, Config: n.s.ConfigHash, HostKey: n.s.HostKey})
	for {
		rev, err := n.leases.Create(ctx, n.s.Node, data)
		if err == nil {
			return nil, n.hold(ctx, rev)
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return nil, fmt.Errorf("taking the lease of node %s: %w", n.s.Node, err)
		}
		e, err := n.leases.Get(ctx, n.s.Node)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // expired meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("reading the lease of node %s: %w", n.s.Node, err)
		}
		old, _ := decodeLease(e.Value())
		if old.Incarnation != inc {
			if err := sleep(ctx, 2*n.s.Heartbeat+n.s.Heartbeat/2); err != nil {
				return nil, err
			}
			again, err := n.leases.Get(ctx, n.s.Node)
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("reading the lease of node %s: %w", n.s.Node, err)
			}
			if again.Revision() != e.Revision() {
				return nil, fmt.Errorf("%w: another running process is node %s (its lease is being renewed): give this one another name", ErrNodeInUse, n.s.Node)
			}
		}
		rev, err = n.leases.Update(ctx, n.s.Node, data, e.Revision())
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("taking the lease of node %s: %w", n.s.Node, err)
		}
		return &holding{n.s.Node, old.Incarnation, rankOf(e, old)}, n.hold(ctx, rev)
	}
}

// hold records the lease just taken at revision rev, with its rank.
func (n *Node) hold(ctx context.Context, rev uint64) error {
	sent := time.Now()
	n.mu.Lock()
	val := leaseValue{Incarnation: n.incarnation, Config: n.s.ConfigHash, HostKey: n.s.HostKey, Rank: rev}
	n.mu.Unlock()
	data, _ := json.Marshal(val)
	var next uint64
	err := untilSettled(ctx, func() (err error) {
		next, err = n.leases.Update(ctx, n.s.Node, data, rev)
		return err
	})
	if err != nil {
		return fmt.Errorf("writing the lease of node %s: %w", n.s.Node, err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lease, n.rev, n.rank, n.held, n.lastRenewal = data, next, rev, true, sent
	return nil
}

// renewer renews the lease every heartbeat. When renewals fail for so long
// that the lease could expire within a heartbeat, or the lease is gone, it
// tells the supervisor, which fences the node.
func (n *Node) renewer() {
	defer n.wg.Done()
	next := time.Now().Add(n.s.Heartbeat)
	for {
		n.mu.Lock()
		held, data, rev, last := n.held, n.lease, n.rev, n.lastRenewal
		n.mu.Unlock()
		deadline := last.Add(n.s.NodeTTL - n.s.Heartbeat)
		wake := next
		if held && deadline.Before(wake) {
			wake = deadline
		}
		if sleep(n.ctx, time.Until(wake)) != nil {
			return
		}
		now := time.Now()
		switch {
		case !held:
			next = now.Add(n.s.Heartbeat)
			continue
		case !now.Before(deadline):
			n.lose(rev, FenceReason)
			continue
		case now.Before(next):
			continue // woke early: the state changed meanwhile
		}
		next = now.Add(n.s.Heartbeat)
		ctx, cancel := context.WithTimeout(n.ctx, min(n.s.Heartbeat, deadline.Sub(now)))
		renewed, err := n.leases.Update(ctx, n.s.Node, data, rev)
		cancel()
		switch {
		case err == nil:
			n.mu.Lock()
			if n.rev == rev {
				n.rev, n.lastRenewal = renewed, now
			}
			n.mu.Unlock()
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
			if !n.adopt(rev, data) {
				n.lose(rev, "lost its lease to another process or to expiry")
			}
		case n.ctx.Err() != nil:
			return
		}
	}
}

// adopt handles a renewal refused for its revision: when the lease still
// holds exactly this holding's value, an earlier renewal went through but
// its answer was lost (a NATS server failed over), so the node carries on
// from the lease's revision. It reports whether it did.
func (n *Node) adopt(rev uint64, data []byte) bool {
	ctx, cancel := context.WithTimeout(n.ctx, n.s.Heartbeat)
	defer cancel()
	e, err := n.leases.Get(ctx, n.s.Node)
	if err != nil || !bytes.Equal(e.Value(), data) {
		return false
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.rev != rev {
		return false
	}
	n.rev = e.Revision()
	return true
}

// lose marks the lease at revision rev as lost, unless it has been taken
// again meanwhile, and wakes the supervisor.
func (n *Node) lose(rev uint64, reason string) {
	n.mu.Lock()
	current := n.held && n.rev == rev
	if current {
		n.held = false
	}
	n.mu.Unlock()
	if current {
		n.signal(reason)
	}
}

func (n *Node) signal(reason string) {
	select {
	case n.trouble <- reason:
	default:
	}
}

// watchLeases follows every node's lease: a lease that expires, is
// deleted, or passes to another incarnation ends a holding, and one
// survivor reaps it.
func (n *Node) watchLeases() {
	defer n.wg.Done()
	w, err := n.leases.WatchAll(n.ctx)
	if err != nil {
		if n.ctx.Err() == nil {
			n.logger.Error("watching the nodes' leases: no lost node will be reaped by this one", "err", err)
		}
		return
	}
	defer func() {
		_ = w.Stop()
		for range w.Updates() {
		}
	}()
	live := map[string]holding{}
	config := map[string]string{}
	hostKeys := map[string]string{}
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
		if e.Operation() == jetstream.KeyValuePut {
			v, ok := decodeLease(e.Value())
			if !ok {
				continue
			}
			if known && prev.incarnation != v.Incarnation {
				n.reapLater(prev)
			}
			live[e.Key()] = holding{e.Key(), v.Incarnation, rankOf(e, v)}
			if v.Config != n.s.ConfigHash && config[e.Key()] != v.Config {
				n.logger.Warn("a node runs with another configuration (rooms, operators, reserved names): give every node the same", "node", e.Key())
			}
			config[e.Key()] = v.Config
			if v.HostKey != n.s.HostKey && hostKeys[e.Key()] != v.HostKey {
				n.logger.Warn("a node presents another SSH host key: clients that reach both will warn of a man in the middle; copy one node's host key folder to every node",
					"node", e.Key(), "its_key", v.HostKey, "this_key", n.s.HostKey)
			}
			hostKeys[e.Key()] = v.HostKey
		} else {
			delete(live, e.Key())
			delete(config, e.Key())
			delete(hostKeys, e.Key())
			if known {
				n.reapLater(prev)
			}
		}
		mismatch := 0
		for node, c := range config {
			if c != n.s.ConfigHash || hostKeys[node] != n.s.HostKey {
				mismatch++
			}
		}
		n.stats.nodes.Store(int64(len(live) + 1))
		n.stats.configMismatch.Store(int64(mismatch))
	}
}

// reapLater reaps h in the background, or, while this node does not
// serve (its replica is stale), once it serves again: the reap lock makes
// sure only one node does.
func (n *Node) reapLater(h holding) {
	n.mu.Lock()
	if n.notReady != "" || n.hub == nil {
		n.deferred = append(n.deferred, h)
		n.mu.Unlock()
		return
	}
	n.mu.Unlock()
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.reap(n.ctx, h)
	}()
}

// reap ends a lost holding's sessions once for the whole cluster: the
// node that creates its reap lock appends the hub's Lost entry and
// releases the incarnation's names and codes.
func (n *Node) reap(ctx context.Context, h holding) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	l, err := n.lock(ctx, h)
	if err != nil || !l.won {
		return
	}
	if _, err := n.endIncarnation(ctx, h.node, h.incarnation, l); err != nil {
		n.logger.Error("reaping a lost node", "node", h.node, "err", err)
	}
}

// reapLock is a holding's reap lock as a node found it. Its value is the
// stream sequence of the Lost entry once the reaper has published it.
type reapLock struct {
	key   string
	won   bool      // this node created it
	rev   uint64    // its revision, when won
	since time.Time // when it was created
	seq   uint64    // where the reaper's Lost entry landed; 0 until known
}

// lock takes h's reap lock, or reads the one another node took.
func (n *Node) lock(ctx context.Context, h holding) (reapLock, error) {
	l := reapLock{key: h.reapKey()}
	rev, err := n.reaps.Create(ctx, l.key, nil, jetstream.KeyTTL(n.reapLockTTL()))
	if err == nil {
		l.won, l.rev, l.since = true, rev, time.Now()
		return l, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return l, fmt.Errorf("reap lock %s: %w", l.key, err)
	}
	e, err := n.reaps.Get(ctx, l.key)
	if err != nil {
		l.since = time.Now() // gone meanwhile: count it as just taken
		return l, nil
	}
	l.since = e.Created()
	l.seq, _ = strconv.ParseUint(string(e.Value()), 10, 64)
	return l, nil
}

// endIncarnation publishes the Lost entry of node's incarnation, records
// where it landed in the locks this node won, and releases the
// incarnation's claims. It returns the entry's stream sequence.
func (n *Node) endIncarnation(ctx context.Context, node, incarnation string, won ...reapLock) (uint64, error) {
	seq, err := n.log.publishNow(n.hub.Lost(node, incarnation))
	if err != nil {
		return 0, fmt.Errorf("publishing the end of %s's sessions: %w", node, err)
	}
	for _, l := range won {
		_, _ = n.reaps.Update(ctx, l.key, []byte(strconv.FormatUint(seq, 10)), l.rev)
	}
	users, err := n.dir.releaseIncarnation(ctx, node, incarnation)
	if err != nil && ctx.Err() == nil {
		n.logger.Error("releasing a lost node's names and codes", "node", node, "err", err)
	}
	n.stats.reapedNodes.Add(1)
	n.stats.reapedUsers.Add(uint64(users))
	n.logger.Info("reaped a lost node", "node", node, "incarnation", incarnation, "users", users)
	return seq, nil
}

// reapLockTTL outlasts any serving node's view of an expiry, so a holding
// is never reaped twice; a node that cannot keep up fences itself first.
func (n *Node) reapLockTTL() time.Duration { return max(time.Minute, 10*n.s.NodeTTL) }

// endOwn ends this node's lapsed holdings (all of one incarnation) before
// the node serves again: their sessions are gone (fenced, or a previous
// process), but the others may still list them. It takes every holding's
// reap lock, so no survivor starts reaping one later, and returns once
// every Lost entry for them — a survivor's or its own — has been applied
// here: nothing the node does next can be undone by a late reaper.
func (n *Node) endOwn(ctx context.Context, holdings []holding) error {
	var (
		won     []reapLock
		pending []reapLock
		until   uint64 // the last Lost entry to wait for
	)
	for _, h := range holdings {
		l, err := n.lock(ctx, h)
		switch {
		case err != nil:
			return err
		case l.won:
			won = append(won, l)
		case l.seq != 0:
			until = max(until, l.seq)
		default:
			pending = append(pending, l)
		}
	}
	// A survivor reaping now publishes within its publish timeout of
	// taking the lock, or never; wait for it to say where.
	for _, l := range pending {
		for l.seq == 0 && time.Since(l.since) < 2*n.s.PublishTimeout {
			if err := sleep(ctx, n.s.Heartbeat/4); err != nil {
				return err
			}
			if e, err := n.reaps.Get(ctx, l.key); err == nil {
				l.seq, _ = strconv.ParseUint(string(e.Value()), 10, 64)
			}
		}
		if l.seq == 0 {
			won = append(won, reapLock{key: l.key}) // its reaper died: end it here
		}
		until = max(until, l.seq)
	}
	h := holdings[0]
	if len(won) > 0 {
		seq, err := n.endIncarnation(ctx, h.node, h.incarnation, won...)
		if err != nil {
			return err
		}
		until = max(until, seq)
	} else if _, err := n.dir.releaseIncarnation(ctx, h.node, h.incarnation); err != nil {
		return err
	}
	return n.log.waitApplied(ctx, until)
}

// seniorPeer reports whether a live node older than this holding exists:
// then this node waits for it to answer instead of starting the cluster's
// state from nothing. It also returns the live incarnations.
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
