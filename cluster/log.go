package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"parley/core"
)

// ErrQueueFull reports an entry dropped because too many were waiting to
// be published: NATS is slower than the hub, or unreachable.
var ErrQueueFull = errors.New("too many entries are waiting for the servers")

// errNoResponders: no ready node answered a snapshot request.
var errNoResponders = errors.New("no node answered")

// publishBatch bounds the entries in flight at once.
const publishBatch = 64

// Headers of a snapshot reply, which may come in several messages.
const (
	hdrSeq    = "Parley-Seq"
	hdrChunk  = "Parley-Chunk"
	hdrChunks = "Parley-Chunks"
	hdrError  = "Parley-Error"
)

// Log is the cluster's one stream of entries: every node appends to it
// and applies all of it, in the stream's order, so every hub replica goes
// through the same states.
type Log struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	names   names
	timeout time.Duration
	// pullHeartbeat is how often the server shows the consumer it is
	// alive; two missed, and the consumer starts over on another server
	// (the default, 15 s, would stall the node that long when its NATS
	// server dies).
	pullHeartbeat time.Duration
	stats         *counters
	logger        *slog.Logger

	idPrefix string        // node.incarnation.: entry IDs are unique across nodes and starts
	idSeq    atomic.Uint64 // the last entry ID's counter

	mu      sync.Mutex
	queue   []queued
	dropped []core.Entry
	max     int
	closing bool
	wake    chan struct{}
	pubDone chan struct{}
	onFail  atomic.Pointer[func(core.Entry, error)]

	// Consumption: at most one at a time, started and stopped by the node.
	hub      Hub
	last     uint64 // the stream sequence last applied; owned by the apply loop while it runs
	followed bool   // the log has been consumed into the hub before
	cur      *consumption
	stopping sync.WaitGroup // consumers ending in the background
	snapReq  chan snapRequest
	troubled func(error) // the apply loop found a gap

	applied atomic.Uint64 // l.last, for other goroutines
}

var _ core.Log = (*Log)(nil)

// queued is an entry waiting for the publisher, with when it was
// appended: its publish timeout runs from then.
type queued struct {
	e  core.Entry
	at time.Time
}

// consumption is one run of the ordered consumer and the apply loop.
type consumption struct {
	cc   jetstream.ConsumeContext
	stop chan struct{}
	done chan struct{}
}

type snapRequest struct{ reply chan snapAnswer }

type snapAnswer struct {
	state []byte
	seq   uint64
	err   error
}

func newLog(nc *nats.Conn, js jetstream.JetStream, n names, s Settings, incarnation string, st *counters, logger *slog.Logger) *Log {
	l := &Log{
		idPrefix: s.Node + "." + incarnation + ".",
		nc:       nc, js: js, names: n, timeout: s.PublishTimeout, stats: st, logger: logger,
		pullHeartbeat: min(max(s.Heartbeat, 500*time.Millisecond), 30*time.Second),
		max:           s.QueueSize, wake: make(chan struct{}, 1), pubDone: make(chan struct{}),
		snapReq: make(chan snapRequest),
	}
	go l.publisher()
	return l
}

// Append queues e for the stream; it never blocks. An entry that cannot
// be queued or published in time is reported to the callback set by
// OnPublishFailed.
func (l *Log) Append(e core.Entry) {
	l.stamp(&e)
	l.mu.Lock()
	switch {
	case l.closing && len(l.queue) == 0:
		l.stats.publishFailures.Add(1) // the node has left: no one to report to
	case len(l.queue) >= l.max || l.closing:
		l.dropped = append(l.dropped, e)
	default:
		l.queue = append(l.queue, queued{e, time.Now()})
	}
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// stamp gives e an ID unique across nodes and their restarts, unless it
// has one.
func (l *Log) stamp(e *core.Entry) {
	if e.ID == "" {
		e.ID = l.idPrefix + strconv.FormatUint(l.idSeq.Add(1), 10)
	}
}

// publishNow publishes e outside the queue and waits for the stream's
// sequence of it: for the reaper, which must know where its entry landed.
func (l *Log) publishNow(e core.Entry) (uint64, error) {
	l.stamp(&e)
	msg, err := l.message(e)
	if err != nil {
		return 0, err
	}
	return l.retry(inFlight{e: e, msg: msg, start: time.Now()})
}

func (l *Log) message(e core.Entry) (*nats.Msg, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	msg := &nats.Msg{Subject: l.names.subject(e.Conv), Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, e.ID)
	return msg, nil
}

// OnPublishFailed sets what is called, from the publisher's goroutine,
// with an entry the stream did not take.
func (l *Log) OnPublishFailed(f func(core.Entry, error)) { l.onFail.Store(&f) }

func (l *Log) fail(e core.Entry, err error) {
	l.stats.publishFailures.Add(1)
	l.logger.Debug("entry not published", "entry", e.ID, "conv", e.Conv, "err", err)
	if f := l.onFail.Load(); f != nil {
		(*f)(e, err)
	}
}

// close publishes what is queued (each entry for at most the publish
// timeout) and stops the publisher.
func (l *Log) close() {
	l.mu.Lock()
	l.closing = true
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
	<-l.pubDone
}

func (l *Log) publisher() {
	defer close(l.pubDone)
	for range l.wake {
		for {
			l.mu.Lock()
			batch, dropped, closing := l.queue, l.dropped, l.closing
			if len(batch) > publishBatch {
				batch = batch[:publishBatch]
			}
			l.queue = l.queue[len(batch):]
			l.dropped = nil
			l.mu.Unlock()
			for _, e := range dropped {
				l.fail(e, ErrQueueFull)
			}
			if len(batch) == 0 {
				if closing {
					return
				}
				break
			}
			l.publish(batch)
		}
	}
}

// subject is where e goes in the stream: one subject per conversation, so
// a conversation's entries can be found and purged together.
func (n names) subject(conv string) string {
	return n.prefix + ".log." + convToken(conv)
}

var safeToken = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

func convToken(conv string) string {
	switch {
	case conv == "":
		return "all"
	case conv[0] == '#' && safeToken.MatchString(conv[1:]):
		return "r." + conv[1:]
	case conv[0] == '@' && safeToken.MatchString(conv[1:]):
		return "p." + conv[1:]
	}
	return "x." + base64.RawURLEncoding.EncodeToString([]byte(conv))
}

type inFlight struct {
	e     core.Entry
	msg   *nats.Msg
	ack   jetstream.PubAckFuture
	start time.Time
}

// publish sends a batch asynchronously and waits for the stream's
// acknowledgements in order; an entry not acknowledged is retried with
// the same message ID (the stream drops duplicates) until the publish
// timeout runs out.
func (l *Log) publish(batch []queued) {
	sent := make([]inFlight, 0, len(batch))
	for _, q := range batch {
		e := q.e
		msg, err := l.message(e)
		if err != nil {
			l.fail(e, err)
			continue
		}
		f := inFlight{e: e, msg: msg, start: q.at}
		f.ack, _ = l.js.PublishMsgAsync(msg) // an error here is retried below
		sent = append(sent, f)
	}
	for _, f := range sent {
		if f.ack != nil {
			select {
			case <-f.ack.Ok():
				l.stats.observePublish(time.Since(f.start))
				continue
			case <-f.ack.Err():
			}
		}
		if _, err := l.retry(f); err != nil {
			l.fail(f.e, err)
		}
	}
}

// retry publishes f again, with the same message ID, until the stream
// acknowledges it or f's publish timeout runs out.
func (l *Log) retry(f inFlight) (uint64, error) {
	deadline := f.start.Add(l.timeout)
	err := context.DeadlineExceeded
	for time.Now().Before(deadline) && !l.nc.IsClosed() {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		var ack *jetstream.PubAck
		ack, err = l.js.PublishMsg(ctx, f.msg)
		cancel()
		if err == nil {
			l.stats.observePublish(time.Since(f.start))
			return ack.Sequence, nil
		}
		pause := min(50*time.Millisecond, time.Until(deadline))
		if pause > 0 {
			time.Sleep(pause)
		}
	}
	return 0, err
}

// consume applies the stream's entries from sequence after+1 on, in
// order, from one goroutine, until stopConsuming.
func (l *Log) consume(ctx context.Context, after uint64) error {
	cons, err := l.js.OrderedConsumer(ctx, l.names.stream(), jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{l.names.logSubjects()},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    after + 1,
	})
	if err != nil {
		return fmt.Errorf("following the log: %w", err)
	}
	c := &consumption{stop: make(chan struct{}), done: make(chan struct{})}
	msgs := make(chan jetstream.Msg, 64)
	c.cc, err = cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-c.stop:
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		l.logger.Debug("following the log", "err", err)
	}), jetstream.PullHeartbeat(l.pullHeartbeat), jetstream.PullExpiry(max(4*l.pullHeartbeat, 2*time.Second)))
	if err != nil {
		return fmt.Errorf("following the log: %w", err)
	}
	l.last = after
	l.applied.Store(after)
	l.followed = true
	l.cur = c
	go l.applyLoop(c, msgs)
	return nil
}

// stopConsuming ends the current consumption, if any.
// Once it returns nothing more is applied; the consumer itself may take
// longer to end (while the connection is down the library holds it, up to
// its request timeouts), so that happens in the background and
// waitStopped waits for it.
func (l *Log) stopConsuming() {
	c := l.cur
	if c == nil {
		return
	}
	l.cur = nil
	close(c.stop)
	<-c.done
	l.stopping.Add(1)
	go func() {
		defer l.stopping.Done()
		c.cc.Stop()
		<-c.cc.Closed()
	}()
}

// waitStopped waits until every stopped consumer has ended.
func (l *Log) waitStopped() { l.stopping.Wait() }

func (l *Log) applyLoop(c *consumption, msgs <-chan jetstream.Msg) {
	defer close(c.done)
	broken := false
	for {
		select {
		case m := <-msgs:
			if broken {
				continue
			}
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			seq := meta.Sequence.Stream
			if seq <= l.last {
				continue
			}
			if seq != l.last+1 {
				l.stats.gaps.Add(1)
				broken = true
				l.troubled(fmt.Errorf("entries %d to %d left the stream before this node applied them", l.last+1, seq-1))
				continue
			}
			var e core.Entry
			if err := json.Unmarshal(m.Data(), &e); err != nil {
				l.logger.Error("an entry in the log cannot be read; skipped", "seq", seq, "err", err)
			} else {
				l.hub.Apply(e)
				l.stats.applied.Add(1)
			}
			l.last = seq
			l.applied.Store(seq)
		case r := <-l.snapReq:
			state, err := l.hub.Snapshot()
			r.reply <- snapAnswer{state: state, seq: l.last, err: err}
		case <-c.stop:
			return
		}
	}
}

// waitApplied returns once the entry at stream sequence seq has been
// applied here (or was part of the snapshot the hub started from).
func (l *Log) waitApplied(ctx context.Context, seq uint64) error {
	for l.applied.Load() < seq {
		if err := sleep(ctx, 5*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for entry %d to be applied: %w", seq, err)
		}
	}
	return nil
}

// answerSnapshot gives a node that is starting this node's replica and
// the stream sequence it corresponds to, in chunks that fit NATS's
// message size.
func (l *Log) answerSnapshot(m *nats.Msg) {
	if m.Reply == "" {
		return
	}
	r := snapRequest{reply: make(chan snapAnswer, 1)}
	var a snapAnswer
	select {
	case l.snapReq <- r:
		a = <-r.reply
	case <-time.After(l.timeout):
		return // not applying: let the requester time out and ask again
	}
	if a.err != nil {
		reply := nats.NewMsg(m.Reply)
		reply.Header.Set(hdrError, a.err.Error())
		_ = l.nc.PublishMsg(reply)
		return
	}
	size := max(int(l.nc.MaxPayload())-4096, 1024)
	n := max((len(a.state)+size-1)/size, 1)
	for i := range n {
		reply := nats.NewMsg(m.Reply)
		reply.Header.Set(hdrSeq, strconv.FormatUint(a.seq, 10))
		reply.Header.Set(hdrChunk, strconv.Itoa(i))
		reply.Header.Set(hdrChunks, strconv.Itoa(n))
		reply.Data = a.state[min(i*size, len(a.state)):min((i+1)*size, len(a.state))]
		if err := l.nc.PublishMsg(reply); err != nil {
			return
		}
	}
}

// requestSnapshot asks one ready node for its replica.
func (l *Log) requestSnapshot(ctx context.Context) ([]byte, uint64, error) {
	inbox := l.nc.NewInbox()
	sub, err := l.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, 0, err
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := l.nc.PublishRequest(l.names.snapshot(), inbox, nil); err != nil {
		return nil, 0, err
	}
	var (
		state  []byte
		seq    uint64
		chunks = 1
	)
	for i := 0; i < chunks; i++ {
		wait, cancel := context.WithTimeout(ctx, 2*l.timeout)
		m, err := sub.NextMsgWithContext(wait)
		cancel()
		if errors.Is(err, nats.ErrNoResponders) {
			return nil, 0, errNoResponders
		}
		if err != nil {
			return nil, 0, fmt.Errorf("snapshot: %w", err)
		}
		if e := m.Header.Get(hdrError); e != "" {
			return nil, 0, fmt.Errorf("snapshot: the other node failed: %s", e)
		}
		s, err1 := strconv.ParseUint(m.Header.Get(hdrSeq), 10, 64)
		c, err2 := strconv.Atoi(m.Header.Get(hdrChunk))
		n, err3 := strconv.Atoi(m.Header.Get(hdrChunks))
		if err := errors.Join(err1, err2, err3); err != nil || c != i || (i > 0 && (s != seq || n != chunks)) {
			return nil, 0, fmt.Errorf("snapshot: a malformed reply (chunk %q of %q)", m.Header.Get(hdrChunk), m.Header.Get(hdrChunks))
		}
		seq, chunks = s, n
		state = append(state, m.Data...)
	}
	return state, seq, nil
}

// bounds are the stream's first and last sequences: a first node starts
// after the last, or goes on from its own replica if the stream still
// holds what comes after it.
func (l *Log) bounds(ctx context.Context) (first, last uint64, err error) {
	s, err := l.js.Stream(ctx, l.names.stream())
	if err != nil {
		return 0, 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, 0, err
	}
	return info.State.FirstSeq, info.State.LastSeq, nil
}

// resumable returns the sequence this node's replica has applied up to,
// if it has followed the log before (and is stopped now).
func (l *Log) resumable() (uint64, bool) { return l.last, l.followed }

// streamConfig is the log's stream.
func streamConfig(n names, s Settings) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        n.stream(),
		Description: "Parley: every change to the chat state, in one order",
		Subjects:    []string{n.logSubjects()},
		Storage:     jetstream.MemoryStorage,
		Replicas:    s.Replicas,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      s.LogMaxAge,
		MaxMsgs:     s.LogMaxEntries,
		MaxMsgSize:  256 << 10,
		Duplicates:  min(2*time.Minute, s.LogMaxAge),
		AllowDirect: true,
	}
}
