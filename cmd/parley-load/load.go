package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// Config is one load run.
type Config struct {
	Label string
	// Targets are the SSH addresses of the server's nodes (one for a single
	// server), loopback only; session i connects to node i mod len(Targets).
	Targets []string
	// WSTargets are the nodes' HTTP addresses (their /ws endpoints),
	// loopback only, in the same node order as Targets.
	WSTargets []string
	// ServerPIDs are the nodes' processes, for CPU and memory, in node
	// order; none = not measured.
	ServerPIDs []int
	// NATSMonitors are NATS servers' HTTP monitoring addresses, loopback
	// only, whose statistics count the messages NATS delivered to each node.
	NATSMonitors []string
	Sessions     int     // SSH sessions that read their output
	WS           int     // WebSocket clients, after the SSH sessions
	Stalled      int     // extra SSH sessions that never read their output
	Senders      int     // sessions that type tokens
	Rate         float64 // tokens per second per sender
	Duration     time.Duration
	ConnectRate  float64 // new connections per second
	Join         string  // typed by every session once connected; "" = nothing
	Idle         time.Duration
	User         string // login name prefix; sessions are USER0001, USER0002, …
	Term         string
	Width        int
	Height       int

	ConnectTimeout time.Duration // one connection, dial to first printed character
	Quiet          time.Duration // no output for this long means the room has settled
	Settle         time.Duration // longest wait for the room to settle
	Drain          time.Duration // longest wait for deliveries after the last send

	Log io.Writer // progress lines
}

// DefaultConfig is the reference load of docs/performance.md: 1,000
// sessions in one room connecting at 50 a second, 5 senders at 0.9 tokens
// a second for a minute, 80×24 PTYs.
func DefaultConfig() Config {
	return Config{
		Label: "target", Sessions: 1000, Senders: 5, Rate: 0.9, Duration: 60 * time.Second,
		ConnectRate: 50, User: "load", Term: "xterm-256color", Width: 80, Height: 24,
		ConnectTimeout: 20 * time.Second, Quiet: time.Second, Settle: 120 * time.Second, Drain: 15 * time.Second,
		Log: io.Discard,
	}
}

// Validate checks that every loop the run makes is bounded.
func (c Config) Validate() error {
	switch {
	case c.Sessions < 0 || c.WS < 0 || c.Stalled < 0:
		return errors.New("--sessions, --ws and --stalled must not be negative")
	case c.readers() < 2:
		return errors.New("--sessions and --ws must add up to at least 2")
	case c.Idle == 0 && (c.Senders < 1 || c.Senders > c.readers()):
		return errors.New("--senders must be between 1 and the sessions and WebSocket clients")
	case c.Sessions+c.Stalled > 0 && len(c.Targets) == 0:
		return errors.New("SSH sessions need --target")
	case c.WS > 0 && len(c.WSTargets) == 0:
		return errors.New("WebSocket clients need --ws-target")
	case len(c.Targets) > 0 && len(c.WSTargets) > 0 && len(c.Targets) != len(c.WSTargets):
		return fmt.Errorf("--target lists %d nodes and --ws-target %d: list the same nodes in the same order", len(c.Targets), len(c.WSTargets))
	case len(c.ServerPIDs) > 0 && len(c.ServerPIDs) != c.nodes():
		return fmt.Errorf("--server-pid lists %d processes for %d nodes: give one per node, in the same order", len(c.ServerPIDs), c.nodes())
	case c.Idle == 0 && (c.Rate <= 0 || c.Duration <= 0):
		return errors.New("--rate and --duration must be positive")
	case c.Idle < 0:
		return errors.New("--idle must not be negative")
	case c.ConnectRate <= 0:
		return errors.New("--connect-rate must be positive")
	case c.Width < 1 || c.Height < 1:
		return errors.New("the terminal size must be positive")
	case c.ConnectTimeout <= 0 || c.Quiet <= 0 || c.Settle <= 0 || c.Drain <= 0:
		return errors.New("timeouts must be positive")
	}
	if c.Idle == 0 && 2*c.tokensPerPhase() > maxTokens {
		return fmt.Errorf("at most %d tokens per run", maxTokens)
	}
	for _, t := range slices.Concat(c.Targets, c.WSTargets, c.NATSMonitors) {
		if err := checkLoopback(t); err != nil {
			return err
		}
	}
	return nil
}

// nodes is how many nodes the sessions are spread over.
func (c Config) nodes() int { return max(len(c.Targets), len(c.WSTargets)) }

// nodeOf is the node session idx connects to: SSH sessions (reading, then
// stalled) and WebSocket clients are each dealt round-robin, so every node
// gets its share of senders, readers and stalled sessions.
func (c Config) nodeOf(idx int) int {
	if idx >= c.Sessions && idx < c.readers() {
		return (idx - c.Sessions) % len(c.WSTargets)
	}
	if idx >= c.readers() {
		idx -= c.WS
	}
	return idx % len(c.Targets)
}

// readers is the number of sessions that read: SSH, then WebSocket.
func (c Config) readers() int { return c.Sessions + c.WS }

func (c Config) tokensPerSender() int {
	return max(1, int(c.Rate*c.Duration.Seconds()))
}

func (c Config) tokensPerPhase() int { return c.tokensPerSender() * c.Senders }

// checkLoopback refuses targets that are not on this machine: a load run
// against someone else's server would be an attack.
func checkLoopback(target string) error {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		return fmt.Errorf("target %q: %w", target, err)
	}
	ips, err := net.LookupIP(host)
	if err != nil {
		return fmt.Errorf("target %q: %w", target, err)
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("target %q is not a loopback address: load runs are for this machine only", target)
		}
	}
	return nil
}

// run is the state shared by the sessions of one load run. Only sentAt and
// delivered change once sessions are reading.
type run struct {
	cfg    Config
	signer ssh.Signer
	prefix string         // of this run's tokens
	sentAt []atomic.Int64 // by token id: unix nanoseconds of the send, 0 = not sent
	// delivered counts first sightings by sessions other than the sender.
	delivered atomic.Int64
	// resyncs counts WebSocket clients told they fell behind.
	resyncs atomic.Int64
}

// senderOf is the index of the session that types token id: senders are
// the first sessions, and take turns.
func (r *run) senderOf(id int) int { return id % r.cfg.Senders }

// loginName is the name of session idx: USER0001, USER0002, …
func (r *run) loginName(idx int) string { return fmt.Sprintf("%s%04d", r.cfg.User, idx+1) }

func (r *run) clientConfig(idx int) *ssh.ClientConfig {
	return &ssh.ClientConfig{
		User: r.loginName(idx),
		Auth: []ssh.AuthMethod{
			ssh.PublicKeys(r.signer),
			ssh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return nil, nil }),
		},
		// The target is checked to be loopback: its identity is this machine.
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         r.cfg.ConnectTimeout,
	}
}

// Run connects the sessions, lets them settle, then either sends tokens
// and measures their fan-out or, with Idle set, measures an idle window.
// With stalled sessions and tokens, it measures twice on the same
// sessions: before the stalled ones connect (Result.Unstalled), then with
// them, so their effect on everyone else is a ratio within one run.
func Run(cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, signer: signer, prefix: newTokenPrefix()}
	twoPhases := cfg.Stalled > 0 && cfg.Idle == 0
	if cfg.Idle == 0 {
		phases := 1
		if twoPhases {
			phases = 2
		}
		r.sentAt = make([]atomic.Int64, phases*cfg.tokensPerPhase())
	}
	res := r.newResult()
	if len(cfg.ServerPIDs) > 0 {
		before, err := sampleProcs(cfg.ServerPIDs)
		if err != nil {
			return nil, err
		}
		res.ServerRSSBefore = before.sum().RSS
	}

	if err := ensureFileLimit(cfg.readers() + cfg.Stalled); err != nil {
		return nil, err
	}
	watchers := r.connect(res, 0, cfg.readers(), false)
	var stalled []*session
	defer func() { closeAll(slices.Concat(watchers, stalled)) }()
	if len(watchers) < 2 {
		return res, fmt.Errorf("%s: only %d of %d sessions connected", cfg.Label, len(watchers), cfg.readers())
	}
	if !twoPhases {
		stalled = r.connect(res, cfg.readers(), cfg.Stalled, true)
	}
	r.join(slices.Concat(watchers, stalled))
	r.settle(watchers)
	if cfg.Idle > 0 {
		return res, r.idle(res, watchers)
	}
	for i := range cfg.Senders {
		if watchers[i].idx != i {
			return res, fmt.Errorf("%s: sender %d did not connect", cfg.Label, i+1)
		}
	}
	var unstalled *Result
	if twoPhases {
		unstalled = r.newResult()
		unstalled.Stalled, unstalled.Connected = 0, res.Connected
		unstalled.ServerRSSBefore = res.ServerRSSBefore
		r.load(unstalled, watchers, 0)
		stalled = r.connect(res, cfg.readers(), cfg.Stalled, true)
		r.join(stalled)
		r.settle(watchers)
	}
	r.load(res, watchers, len(r.sentAt)-cfg.tokensPerPhase())

	res.countDisconnected(watchers)
	closeAll(watchers)
	if unstalled != nil {
		r.summarise(unstalled, watchers, 0)
		res.Unstalled = unstalled
	}
	r.summarise(res, watchers, len(r.sentAt)-cfg.tokensPerPhase())
	return res, nil
}

func (r *run) newResult() *Result {
	res := &Result{Label: r.cfg.Label, Sessions: r.cfg.Sessions, WS: r.cfg.WS, Stalled: r.cfg.Stalled, Senders: r.cfg.Senders}
	if r.cfg.Idle > 0 {
		res.Senders = 0
	}
	if n := r.cfg.nodes(); n > 1 {
		res.Nodes = make([]NodeResult, n)
		for i := range res.Nodes {
			if len(r.cfg.Targets) > 0 {
				res.Nodes[i].SSH = r.cfg.Targets[i]
			}
			if len(r.cfg.WSTargets) > 0 {
				res.Nodes[i].Web = r.cfg.WSTargets[i]
			}
		}
	}
	return res
}

// connect opens count sessions, numbered from first, at the connect rate.
// It waits for the first printed character of each reading session.
func (r *run) connect(res *Result, first, count int, stalled bool) []*session {
	cfg := r.cfg
	if count == 0 {
		return nil
	}
	kind := "reading"
	switch {
	case stalled:
		kind = "stalled"
	case cfg.WS > 0:
		kind = fmt.Sprintf("reading (%d SSH, %d WebSocket)", cfg.Sessions, cfg.WS)
	}
	fmt.Fprintf(cfg.Log, "%s: connecting %d %s sessions at %g/s\n", cfg.Label, count, kind, cfg.ConnectRate)
	type dialed struct {
		s   *session
		err error
	}
	results := make(chan dialed, count)
	interval := time.Duration(float64(time.Second) / cfg.ConnectRate)
	start, toolCPU := time.Now(), selfCPU()
	for i := range count {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		go func() {
			s, err := dial(r, first+i, stalled)
			if err == nil && !stalled {
				if err = s.waitFirstText(s.started.Add(cfg.ConnectTimeout)); err != nil {
					closeAll([]*session{s})
				}
			}
			results <- dialed{s, err}
		}()
	}
	var sessions []*session
	var latencies, opened []time.Duration
	var firstErr error
	failed := 0
	for range count {
		d := <-results
		if d.err != nil {
			failed++
			if firstErr == nil {
				firstErr = d.err
			}
			continue
		}
		sessions = append(sessions, d.s)
		latencies = append(latencies, d.s.connected)
		opened = append(opened, d.s.opened)
	}
	slices.SortFunc(sessions, func(a, b *session) int { return a.idx - b.idx })
	res.Connected += len(sessions)
	res.ConnectFailed += failed
	if !stalled {
		res.Connect = percentiles(latencies)
		res.Opened = percentiles(opened)
		res.ToolConnectCPUShare = (selfCPU() - toolCPU).Seconds() / time.Since(start).Seconds()
	}
	msg := fmt.Sprintf("%s: %d connected in %s, %d failed", cfg.Label, len(sessions), time.Since(start).Round(time.Millisecond), failed)
	if firstErr != nil {
		msg += fmt.Sprintf(" (first error: %v)", firstErr)
	}
	fmt.Fprintln(cfg.Log, msg)
	return sessions
}

// join has every session type the join line, if there is one.
func (r *run) join(ss []*session) {
	if r.cfg.Join == "" {
		return
	}
	for _, s := range ss {
		go s.link.send(r.cfg.Join)
	}
}

// settle waits until no session has received output for the quiet period:
// the joins and their redraws are over.
func (r *run) settle(watchers []*session) {
	start := time.Now()
	last, lastChange := totalBytes(watchers), time.Now()
	for time.Since(start) < r.cfg.Settle {
		time.Sleep(100 * time.Millisecond)
		if n := totalBytes(watchers); n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) >= r.cfg.Quiet {
			fmt.Fprintf(r.cfg.Log, "%s: settled after %s\n", r.cfg.Label, time.Since(start).Round(time.Millisecond))
			return
		}
	}
	fmt.Fprintf(r.cfg.Log, "%s: still busy after %s, measuring anyway\n", r.cfg.Label, r.cfg.Settle)
}

// closeAll closes the sessions at once and waits for their readers, at
// most closeBound in all.
func closeAll(ss []*session) {
	for _, s := range ss {
		go s.link.close()
	}
	deadline := time.After(closeBound)
	for _, s := range ss {
		select {
		case <-s.ended:
		case <-deadline:
			return
		}
	}
}

const closeBound = 10 * time.Second

func totalBytes(ss []*session) int64 {
	var n int64
	for _, s := range ss {
		n += s.bytes.Load()
	}
	return n
}

// idle measures what connected sessions cost while nobody types.
func (r *run) idle(res *Result, watchers []*session) error {
	fmt.Fprintf(r.cfg.Log, "%s: idle for %s\n", r.cfg.Label, r.cfg.Idle)
	w := r.startWindow(watchers)
	time.Sleep(r.cfg.Idle)
	w.end(res, watchers)
	res.countDisconnected(watchers)
	return w.err
}

// load sends one phase of tokens, numbered from first, on a fixed
// schedule, and waits for them to be seen.
func (r *run) load(res *Result, watchers []*session, first int) {
	cfg := r.cfg
	perSender := cfg.tokensPerSender()
	fmt.Fprintf(cfg.Log, "%s: %d senders × %d tokens at %g/s\n", cfg.Label, cfg.Senders, perSender, cfg.Rate)
	delivered := r.delivered.Load()
	w := r.startWindow(watchers)
	period := time.Duration(float64(time.Second) / cfg.Rate)
	var sent, sendErrs atomic.Int64
	var wg sync.WaitGroup
	for s := range cfg.Senders {
		sender := watchers[s]
		offset := period * time.Duration(s) / time.Duration(cfg.Senders)
		wg.Go(func() {
			for k := range perSender {
				time.Sleep(time.Until(w.start.Add(offset + time.Duration(k)*period)))
				id := first + k*cfg.Senders + s
				r.sentAt[id].Store(time.Now().UnixNano())
				if err := sender.link.send(token(r.prefix, id)); err != nil {
					r.sentAt[id].Store(0)
					sendErrs.Add(1)
					return
				}
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	lastSend := time.Now()
	res.Messages = int(sent.Load())
	res.SendErrors = int(sendErrs.Load())
	res.Expected = int64(res.Messages) * int64(len(watchers)-1)
	for r.delivered.Load()-delivered < res.Expected && time.Since(lastSend) < cfg.Drain {
		time.Sleep(20 * time.Millisecond)
	}
	w.end(res, watchers)
}

// summarise fills in the fan-out figures of the phase whose tokens start
// at first, once the readers have stopped.
func (r *run) summarise(res *Result, watchers []*session, first int) {
	last := first + r.cfg.tokensPerPhase()
	var all []time.Duration
	byNode := make([][]time.Duration, len(res.Nodes))
	for _, s := range watchers {
		if res.Nodes != nil {
			res.Nodes[s.node].Sessions++
		}
		select {
		case <-s.ended:
		default:
			res.StuckReaders++
			continue
		}
		for _, d := range s.deliveries {
			if int(d.id) >= first && int(d.id) < last {
				all = append(all, d.latency)
				if res.Nodes != nil {
					byNode[s.node] = append(byNode[s.node], d.latency)
				}
			}
		}
	}
	res.Delivered = int64(len(all))
	res.Fanout = percentiles(all)
	for i := range res.Nodes {
		n := &res.Nodes[i]
		n.Delivered = int64(len(byNode[i]))
		n.Fanout = percentiles(byNode[i])
		if res.ServerMeasured && n.Delivered > 0 {
			n.ServerCPUPer1000 = n.ServerCPU.Seconds() / float64(n.Delivered) * 1000
		}
	}
	if res.Window > 0 {
		res.DeliveriesPerSec = float64(res.Delivered) / res.Window.Seconds()
	}
	if res.Messages > 0 {
		res.BytesPerSessionPerMessage = float64(res.WindowBytes) / float64(len(watchers)) / float64(res.Messages)
	}
	if res.ServerMeasured && res.Delivered > 0 {
		res.ServerCPUPer1000 = res.ServerCPU.Seconds() / float64(res.Delivered) * 1000
	}
}

// window measures the server's and the tool's CPU, the bytes received and
// the messages NATS delivered to the nodes, between its start and its end.
type window struct {
	r        *run
	start    time.Time
	bytes    int64
	resyncs  int64
	toolCPU  time.Duration
	server   procSamples // by node
	nats     natsSample
	err      error
	measured bool
}

func (r *run) startWindow(watchers []*session) *window {
	w := &window{r: r, start: time.Now(), bytes: totalBytes(watchers), resyncs: r.resyncs.Load(), toolCPU: selfCPU()}
	if len(r.cfg.ServerPIDs) > 0 {
		w.server, w.err = sampleProcs(r.cfg.ServerPIDs)
		w.measured = w.err == nil
	}
	if len(r.cfg.NATSMonitors) > 0 {
		w.nats, w.err = sampleNATS(r.cfg.NATSMonitors)
	}
	return w
}

func (w *window) end(res *Result, watchers []*session) {
	elapsed := time.Since(w.start)
	res.Window = elapsed
	res.WindowBytes = totalBytes(watchers) - w.bytes
	res.Resyncs = w.r.resyncs.Load() - w.resyncs
	res.ToolCPU = selfCPU() - w.toolCPU
	res.ToolCPUShare = res.ToolCPU.Seconds() / elapsed.Seconds()
	if w.nats != nil && w.err == nil {
		after, err := sampleNATS(w.r.cfg.NATSMonitors)
		if err != nil {
			w.err = err
		} else {
			res.NATS = after.since(w.nats)
		}
	}
	if !w.measured {
		return
	}
	samples, err := sampleProcs(w.r.cfg.ServerPIDs)
	if err != nil {
		w.err = err
		return
	}
	res.ServerMeasured = true
	after := samples.sum()
	res.ServerCPU = after.CPU - w.server.sum().CPU
	res.ServerCPUShare = res.ServerCPU.Seconds() / elapsed.Seconds()
	res.ServerRSS = after.RSS
	res.ServerHWM = after.HWM
	for i := range res.Nodes {
		res.Nodes[i].ServerCPU = samples[i].CPU - w.server[i].CPU
		res.Nodes[i].ServerRSS = samples[i].RSS
	}
	if n := res.Connected; n > 0 {
		res.ServerRSSPerSession = float64(after.RSS) / float64(n)
		res.ServerRSSDeltaPerSession = float64(after.RSS-res.ServerRSSBefore) / float64(n)
	}
}
