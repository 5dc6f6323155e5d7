package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"parley/cluster/embedded"
	"parley/core"
)

// Node is this process's membership of a cluster: its NATS connection,
// lease, log, directory and ban list. Connect makes one; Attach hands it
// the hub it feeds.
type Node struct {
	s      Settings
	names  names
	logger *slog.Logger
	stats  counters

	emb    *embedded.Server
	nc     *nats.Conn
	js     jetstream.JetStream
	dir    *Directory
	log    *Log
	bans   *Bans
	leases jetstream.KeyValue
	reaps  jetstream.KeyValue

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	trouble chan string

	mu          sync.Mutex
	incarnation string
	lease       []byte
	rev, rank   uint64
	held        bool
	lastRenewal time.Time
	notReady    string    // why the node is not serving; "" when it is
	fenced      bool      // cut off until recover succeeds
	deferred    []holding // lost while this node did not serve: reaped once it does

	// run serializes what changes the node's phase: Attach, fencing,
	// recovery and Close.
	run       sync.Mutex
	hub       Hub
	empty     []byte    // the hub's state before any entry: where a first node starts
	toReap    []holding // this node's earlier holdings to end before it serves
	responder *nats.Subscription
	closed    bool
}

// Hooks are what a node calls back into the rest of Parley. Each may be nil.
type Hooks struct {
	// PublishFailed is told of an entry the stream did not take in time,
	// so its author can be told it was not sent.
	PublishFailed func(e core.Entry, err error)
}

// Connect starts an embedded NATS server if the settings ask for one,
// connects, makes sure the stream and buckets exist, and takes the node's
// lease. The node serves once Attach has brought its hub up to date.
func Connect(ctx context.Context, s Settings, logger *slog.Logger) (*Node, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	n := &Node{s: s, names: names{s.Prefix}, logger: logger.With("cluster_node", s.Node), trouble: make(chan string, 1),
		notReady: "starting", incarnation: newIncarnation()}
	if err := n.connect(ctx); err != nil {
		n.shutdownTransport()
		return nil, err
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.stats.nodes.Store(1) // this one, until the leases are read
	replaced, err := n.acquire(ctx)
	if err != nil {
		n.cancel()
		n.log.close()
		n.bans.stop()
		n.shutdownTransport()
		return nil, err
	}
	if replaced != nil {
		n.toReap = append(n.toReap, *replaced) // a previous process's
	}
	n.setNotReady("waiting for its hub")
	n.wg.Add(2)
	go n.renewer()
	go n.supervisor()
	return n, nil
}

// connect opens the NATS side: server, connection, stream, buckets.
func (n *Node) connect(ctx context.Context) error {
	s := n.s
	if s.Embed != nil {
		emb, err := embedded.Start(*s.Embed, n.logger)
		if err != nil {
			return err
		}
		n.emb = emb
		if len(s.NATS) == 0 {
			n.s.NATS = []string{emb.ClientURL()}
		}
	}
	nc, err := dial(n.s, n.logger, &n.stats)
	if err != nil {
		return err
	}
	n.nc = nc
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(s.PublishTimeout))
	if err != nil {
		return err
	}
	n.js = js
	if err := untilReady(ctx, n.logger, func(ctx context.Context) error {
		_, err := js.CreateOrUpdateStream(ctx, streamConfig(n.names, s))
		return err
	}); err != nil {
		return fmt.Errorf("the cluster's log stream %s: %w", n.names.stream(), explain(err, s))
	}
	bucket := func(name, what string, storage jetstream.StorageType, ttl, markers time.Duration) (kv jetstream.KeyValue, err error) {
		err = untilReady(ctx, n.logger, func(ctx context.Context) error {
			kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
				Bucket: name, Description: "Parley: " + what, Storage: storage, Replicas: s.Replicas,
				TTL: ttl, LimitMarkerTTL: markers,
			})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("the cluster's bucket %s: %w", name, explain(err, s))
		}
		return kv, nil
	}
	d := &Directory{claims: map[core.ClaimKind]jetstream.KeyValue{}, held: map[heldKey]uint64{}}
	if d.ids, err = bucket(n.names.ids(), "user ID blocks", jetstream.MemoryStorage, 0, 0); err != nil {
		return err
	}
	for k, what := range map[core.ClaimKind]string{core.ClaimName: "names in use", core.ClaimCode: "codes in use"} {
		if d.claims[k], err = bucket(n.names.claims(k), what, jetstream.MemoryStorage, 0, 0); err != nil {
			return err
		}
	}
	n.dir = d
	if n.leases, err = bucket(n.names.nodes(), "node leases", jetstream.MemoryStorage, s.NodeTTL, s.NodeTTL); err != nil {
		return err
	}
	if n.reaps, err = bucket(n.names.reap(), "reap locks", jetstream.MemoryStorage, 0, time.Second); err != nil {
		return err
	}
	banKV, err := bucket(n.names.bans(), "bans", jetstream.FileStorage, 0, 0)
	if err != nil {
		return err
	}
	if n.bans, err = openBans(ctx, banKV, s.ImportBans, 2*s.PublishTimeout, n.logger); err != nil {
		return err
	}
	n.log = newLog(nc, js, n.names, s, n.incarnation, &n.stats, n.logger)
	n.log.troubled = func(err error) { n.signal(err.Error()) }
	return nil
}

// untilReady retries f while JetStream is still electing its leaders
// (servers of an all-in-one cluster start together) or a NATS server is
// on its way, until ctx ends.
func untilReady(ctx context.Context, logger *slog.Logger, f func(context.Context) error) error {
	for {
		// A request made before JetStream has a leader may go unanswered:
		// each attempt gets a few seconds.
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := f(attempt)
		cancel()
		if err == nil || !retryable(err) {
			return err
		}
		logger.Debug("JetStream is not ready yet", "err", err)
		if sleep(ctx, 250*time.Millisecond) != nil {
			return err
		}
	}
}

// explain adds what an operator can do about a JetStream error that
// outlived the retries.
func explain(err error, s Settings) error {
	var api *jetstream.APIError
	// 10023: too few servers for the replicas; 10074: a server of its own.
	if errors.As(err, &api) && (api.ErrorCode == 10023 || api.ErrorCode == 10074) {
		return fmt.Errorf("%w: cluster.replicas = %d needs at least that many NATS servers with JetStream, up and routed to each other", err, s.Replicas)
	}
	if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, nats.ErrNoResponders) {
		return fmt.Errorf("%w: Parley needs NATS with JetStream (nats-server -js, or jetstream {} in its configuration)", err)
	}
	return err
}

// retryable says whether an error of JetStream's API may pass by itself.
func retryable(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		// 10008: JetStream temporarily unavailable; 10023: too few
		// servers up yet for the replicas asked.
		return api.Code == 503 || api.ErrorCode == 10008 || api.ErrorCode == 10023
	}
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, jetstream.ErrJetStreamNotEnabled)
}

// settling says a compare-and-set write met an earlier write to the same
// key that a replicated stream has acknowledged but not yet applied
// (JetStream's 10164, "wrong last sequence", which the KV client reports
// as a revision mismatch): it cannot be decided yet, and the same write
// is decided a moment later.
func settling(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// untilSettled makes a compare-and-set write again while it meets an
// earlier write still settling, until ctx ends.
func untilSettled(ctx context.Context, write func() error) error {
	for {
		err := write()
		if !settling(err) || sleep(ctx, 10*time.Millisecond) != nil {
			return err
		}
	}
}

// dial connects to NATS with settings that keep a slow or broken link
// from stalling anyone: writes time out with the publish timeout,
// nothing is buffered while reconnecting (a publish fails and is
// retried), and a dead link is noticed within about two heartbeats.
func dial(s Settings, logger *slog.Logger, st *counters) (*nats.Conn, error) {
	opts := []nats.Option{
		nats.Name("parley " + s.Node),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.ReconnectBufSize(-1),
		nats.FlusherTimeout(s.PublishTimeout),
		nats.PingInterval(s.Heartbeat),
		nats.MaxPingsOutstanding(2),
		nats.Timeout(s.Heartbeat), // a handshake over a dead link holds the client's lock this long
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: closed on purpose
				logger.Warn("disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			logger.Info("reconnected to NATS", "server", c.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			if errors.Is(err, nats.ErrSlowConsumer) {
				st.slowCons.Add(1)
			}
			logger.Warn("NATS", "err", err)
		}),
	}
	if s.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(s.CredsFile))
	}
	if s.TLSCA != "" {
		opts = append(opts, nats.RootCAs(s.TLSCA))
	}
	if s.TLSCert != "" {
		opts = append(opts, nats.ClientCert(s.TLSCert, s.TLSKey))
	}
	nc, err := nats.Connect(strings.Join(s.NATS, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to NATS at %s: %w", strings.Join(s.NATS, ", "), err)
	}
	return nc, nil
}

// Log is the cluster's log, for core.WithCluster.
func (n *Node) Log() *Log { return n.log }

// Directory is the cluster's directory, for core.WithCluster.
func (n *Node) Directory() *Directory { return n.dir }

// Bans is the cluster's ban list, for core.WithBans.
func (n *Node) Bans() *Bans { return n.bans }

// Name is the node's name.
func (n *Node) Name() string { return n.s.Node }

// Incarnation names this run of the node, for core.WithCluster.
func (n *Node) Incarnation() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.incarnation
}

// Stats returns what the node has counted.
func (n *Node) Stats() Stats { return n.stats.snapshot() }

// Ready returns nil while the node serves, else why it does not: for
// /readyz.
func (n *Node) Ready() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.notReady != "" {
		return fmt.Errorf("cluster node %s: %s", n.s.Node, n.notReady)
	}
	return nil
}

func (n *Node) setNotReady(why string) {
	n.mu.Lock()
	n.notReady = why
	n.mu.Unlock()
}

func (n *Node) serving() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.notReady == "" && n.hub != nil
}

// Attach brings hub up to date — from a ready node's snapshot, or empty
// when no older node lives — then feeds it the log and serves. hub must
// be fresh: no session and no entry applied yet. While a node that
// connected earlier has not attached, Attach waits for it (until ctx
// ends): attach nodes in the order they connected, or concurrently.
func (n *Node) Attach(ctx context.Context, hub Hub, hooks Hooks) error {
	n.run.Lock()
	defer n.run.Unlock()
	if n.hub != nil {
		return errors.New("cluster: the node already has a hub")
	}
	if hooks.PublishFailed != nil {
		n.log.OnPublishFailed(hooks.PublishFailed)
	}
	empty, err := hub.Snapshot()
	if err != nil {
		return fmt.Errorf("cluster: the hub's first snapshot: %w", err)
	}
	n.empty = empty
	n.mu.Lock()
	n.hub, n.log.hub = hub, hub
	n.mu.Unlock()
	if err := n.catchUp(ctx); err != nil {
		return err
	}
	n.wg.Add(1)
	go n.watchLeases()
	return nil
}

// catchUp brings the hub up to date, ends this node's earlier holdings
// everywhere and serves; on failure the node stays fenced.
func (n *Node) catchUp(ctx context.Context) error {
	n.mu.Lock()
	held, previous := n.held, holding{n.s.Node, n.incarnation, n.rank}
	n.mu.Unlock()
	if !held {
		// The lease was lost (a fence, or before the hub came): take it
		// back, and end what the others may still list of the holding
		// that lapsed.
		if _, err := n.acquire(ctx); err != nil {
			return err
		}
		n.toReap = append(n.toReap, previous)
	}
	if err := n.bootstrap(ctx); err != nil {
		return err
	}
	for len(n.toReap) > 0 {
		inc := n.toReap[0].incarnation
		var same, rest []holding
		for _, h := range n.toReap {
			if h.incarnation == inc {
				same = append(same, h)
			} else {
				rest = append(rest, h)
			}
		}
		if err := n.endOwn(ctx, same); err != nil {
			n.log.stopConsuming()
			return fmt.Errorf("cluster: %w", err)
		}
		n.toReap = rest
	}
	if err := n.serve(); err != nil {
		n.log.stopConsuming()
		return err
	}
	return nil
}

// bootstrap restores the hub from a ready node's snapshot and follows
// the log from there. When no node answers and no older node lives, this
// is the first node: it starts from the empty state at the stream's end,
// and releases the claims of nodes that died while no node watched.
func (n *Node) bootstrap(ctx context.Context) error {
	n.log.stopConsuming() // what an earlier, failed attempt left running
	for {
		state, seq, err := n.log.requestSnapshot(ctx)
		if err == nil {
			if err := n.hub.Restore(state); err != nil {
				return fmt.Errorf("cluster: restoring another node's snapshot: %w", err)
			}
			return n.log.consume(ctx, seq)
		}
		if !errors.Is(err, errNoResponders) {
			n.logger.Warn("asking for a snapshot", "err", err)
		} else {
			senior, live, err := n.seniorPeer(ctx)
			if err != nil {
				return fmt.Errorf("cluster: reading the nodes' leases: %w", err)
			}
			if !senior {
				return n.startFirst(ctx, live)
			}
		}
		if err := sleep(ctx, n.s.Heartbeat); err != nil {
			return fmt.Errorf("cluster: no node answered with the cluster's state: %w", err)
		}
	}
}

func (n *Node) startFirst(ctx context.Context, live map[string]string) error {
	first, last, err := n.log.bounds(ctx)
	if err != nil {
		return fmt.Errorf("cluster: reading the log's bounds: %w", err)
	}
	if err := n.dir.releaseAllBut(ctx, live); err != nil {
		n.logger.Warn("releasing names and codes of nodes gone", "err", err)
	}
	if applied, ok := n.log.resumable(); ok && applied+1 >= first {
		// Every node was cut off at once: go on from this replica rather
		// than from nothing, so what the stream took is not forgotten.
		n.logger.Info("no other node is up: the cluster's state goes on from this node's", "log_seq", applied)
		return n.log.consume(ctx, applied)
	}
	if err := n.hub.Restore(n.empty); err != nil {
		return fmt.Errorf("cluster: resetting the hub: %w", err)
	}
	n.logger.Info("no other node is up: starting the cluster's state", "log_seq", last)
	return n.log.consume(ctx, last)
}

// serve answers snapshot requests and marks the node ready.
func (n *Node) serve() error {
	sub, err := n.nc.QueueSubscribe(n.names.snapshot(), "ready", n.log.answerSnapshot)
	if err != nil {
		return fmt.Errorf("cluster: answering snapshot requests: %w", err)
	}
	n.responder = sub
	n.mu.Lock()
	n.fenced, n.notReady = false, ""
	deferred := n.deferred
	n.deferred = nil
	n.mu.Unlock()
	n.stats.fenced.Store(false)
	for _, h := range deferred {
		n.reapLater(h)
	}
	return nil
}

// supervisor fences the node when its lease or log is in trouble, and
// brings it back once NATS answers again. It also watches the lease's
// deadline itself: a renewal can be stuck inside the NATS client (while
// it reconnects over a dead link) past the moment the node must fence.
func (n *Node) supervisor() {
	defer n.wg.Done()
	for {
		n.mu.Lock()
		held, rev, deadline := n.held, n.rev, n.lastRenewal.Add(n.s.NodeTTL-n.s.Heartbeat)
		n.mu.Unlock()
		wait := n.s.Heartbeat
		if held {
			wait = max(min(wait, time.Until(deadline)), 0)
		}
		t := time.NewTimer(wait)
		select {
		case <-n.ctx.Done():
			t.Stop()
			return
		case reason := <-n.trouble:
			t.Stop()
			n.fence(reason)
		case <-t.C:
			if held && !time.Now().Before(deadline) {
				n.lose(rev, FenceReason)
			}
		}
		n.mu.Lock()
		fenced := n.fenced
		n.mu.Unlock()
		if fenced {
			n.recover()
		}
	}
}

// FenceReason is what users of a fenced node are told.
const FenceReason = "lost contact with the other servers"

// fence cuts the node's users off and stops it serving.
func (n *Node) fence(why string) {
	n.run.Lock()
	defer n.run.Unlock()
	if n.closed {
		return
	}
	n.mu.Lock()
	already, attached := n.fenced, n.hub != nil
	n.fenced, n.notReady = true, "fenced: "+why
	n.mu.Unlock()
	if already || !attached {
		return
	}
	n.hub.Fence(FenceReason) // first: what follows may wait on NATS
	n.logger.Error("fencing: this node's users are cut off until it is back in touch", "why", why)
	n.stats.fenced.Store(true)
	n.stats.fences.Add(1)
	if n.responder != nil {
		_ = n.responder.Unsubscribe()
		n.responder = nil
	}
	n.log.stopConsuming()
}

// recover takes the lease back, brings the hub up to date again and
// serves.
func (n *Node) recover() {
	n.run.Lock()
	defer n.run.Unlock()
	if n.closed {
		return
	}
	if !n.nc.IsConnected() {
		return // nothing can succeed yet; an attempt would only hold its requests until they time out
	}
	ctx, cancel := context.WithTimeout(n.ctx, n.s.NodeTTL+4*n.s.PublishTimeout)
	defer cancel()
	if n.hub == nil {
		n.mu.Lock()
		previous := holding{n.s.Node, n.incarnation, n.rank}
		n.mu.Unlock()
		if _, err := n.acquire(ctx); err == nil {
			n.toReap = append(n.toReap, previous) // ended by Attach, before it serves
			n.mu.Lock()
			n.fenced, n.notReady = false, "waiting for its hub"
			n.mu.Unlock()
		}
		return
	}
	n.mu.Lock()
	// Fenced with the lease still held (the log had a gap): take it
	// again all the same, so this holding ends like any other.
	n.held = false
	n.mu.Unlock()
	if err := n.catchUp(ctx); err != nil {
		n.logger.Debug("not back yet", "err", err)
		return
	}
	n.hub.Unfence()
	n.logger.Info("serving again")
}

// Close leaves the cluster cleanly: the node's users are reaped at once
// (not after the lease expires), queued entries are published, the lease
// is deleted and the connection closed.
func (n *Node) Close() error {
	n.run.Lock()
	if n.closed {
		n.run.Unlock()
		return nil
	}
	n.closed = true
	if n.responder != nil {
		_ = n.responder.Unsubscribe()
		n.responder = nil
	}
	n.run.Unlock()
	if n.serving() {
		n.mu.Lock()
		h := holding{n.s.Node, n.incarnation, n.rank}
		n.mu.Unlock()
		ctx, cancel := context.WithTimeout(n.ctx, 2*n.s.PublishTimeout)
		n.reap(ctx, h)
		cancel()
	}
	n.cancel()
	n.wg.Wait()
	n.log.close()
	n.log.stopConsuming()
	n.mu.Lock()
	held, rev := n.held, n.rev
	n.mu.Unlock()
	if held {
		ctx, cancel := context.WithTimeout(context.Background(), n.s.PublishTimeout)
		_ = n.leases.Delete(ctx, n.s.Node, jetstream.LastRevision(rev))
		cancel()
	}
	n.bans.stop()
	n.shutdownTransport()
	return nil
}

// Halt stops the node without a goodbye, as if its process died: the
// others learn of it only when its lease expires. For tests.
func (n *Node) Halt() {
	n.run.Lock()
	n.closed = true
	n.run.Unlock()
	n.cancel()
	n.wg.Wait()
	n.log.stopConsuming()
	n.nc.Close()
	n.log.close()
	n.bans.stop()
	n.shutdownTransport()
}

func (n *Node) shutdownTransport() {
	if n.nc != nil {
		n.nc.Close()
	}
	if n.log != nil {
		n.log.waitStopped() // quick once the connection is closed
	}
	if n.emb != nil {
		n.emb.Shutdown()
	}
}
