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
	Label       string
	Target      string  // host:port of the SSH server, loopback only
	ServerPID   int     // the server's process, for CPU and memory; 0 = not measured
	Sessions    int     // sessions that read their output
	Stalled     int     // extra sessions that never read their output
	Senders     int     // sessions that type tokens
	Rate        float64 // tokens per second per sender
	Duration    time.Duration
	ConnectRate float64 // new connections per second
	Join        string  // typed by every session once connected; "" = nothing
	Idle        time.Duration
	User        string // login name prefix; sessions are USER0001, USER0002, …
	Term        string
	Width       int
	Height      int

	ConnectTimeout time.Duration // one connection, dial to first printed character
	Quiet          time.Duration // no output for this long means the room has settled
	Settle         time.Duration // longest wait for the room to settle
	Drain          time.Duration // longest wait for deliveries after the last send

	Log io.Writer // progress lines
}

// DefaultConfig is the load of issue 6's anchors: 1,000 sessions in one
// room, 5 senders at 0.9 tokens a second, 80×24 PTYs.
func DefaultConfig() Config {
	return Config{
		Label: "target", Sessions: 1000, Senders: 5, Rate: 0.9, Duration: 60 * time.Second,
		ConnectRate: 100, User: "load", Term: "xterm-256color", Width: 80, Height: 24,
		ConnectTimeout: 20 * time.Second, Quiet: time.Second, Settle: 120 * time.Second, Drain: 15 * time.Second,
		Log: io.Discard,
	}
}

// Validate checks that every loop the run makes is bounded.
func (c Config) Validate() error {
	switch {
	case c.Sessions < 2:
		return errors.New("--sessions must be at least 2")
	case c.Stalled < 0:
		return errors.New("--stalled must not be negative")
	case c.Idle == 0 && (c.Senders < 1 || c.Senders > c.Sessions):
		return errors.New("--senders must be between 1 and --sessions")
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
	if c.Idle == 0 && c.tokensPerSender()*c.Senders > maxTokens {
		return fmt.Errorf("at most %d tokens per run", maxTokens)
	}
	return checkLoopback(c.Target)
}

func (c Config) tokensPerSender() int {
	return max(1, int(c.Rate*c.Duration.Seconds()))
}

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
}

// senderOf is the index of the session that types token id: senders are
// the first sessions, and take turns.
func (r *run) senderOf(id int) int { return id % r.cfg.Senders }

func (r *run) clientConfig(idx int) *ssh.ClientConfig {
	return &ssh.ClientConfig{
		User: fmt.Sprintf("%s%04d", r.cfg.User, idx+1),
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
	if cfg.Idle == 0 {
		r.sentAt = make([]atomic.Int64, cfg.tokensPerSender()*cfg.Senders)
	}
	res := &Result{Label: cfg.Label, Sessions: cfg.Sessions, Stalled: cfg.Stalled, Senders: cfg.Senders}
	if cfg.Idle > 0 {
		res.Senders = 0
	}
	var before procSample
	if cfg.ServerPID > 0 {
		if before, err = sampleProc(cfg.ServerPID); err != nil {
			return nil, fmt.Errorf("server pid %d: %w", cfg.ServerPID, err)
		}
		res.ServerRSSBefore = before.RSS
	}

	watchers, stalled := r.connect(res)
	defer closeAll(slices.Concat(watchers, stalled))
	if len(watchers) < 2 {
		return res, fmt.Errorf("%s: only %d of %d sessions connected", cfg.Label, len(watchers), cfg.Sessions)
	}
	if cfg.Join != "" {
		for _, s := range slices.Concat(watchers, stalled) {
			go s.write([]byte(cfg.Join + "\r"))
		}
	}
	r.settle(watchers)
	if cfg.Idle > 0 {
		return res, r.idle(res, watchers)
	}
	for i := range cfg.Senders {
		if watchers[i].idx != i {
			return res, fmt.Errorf("%s: sender %d did not connect", cfg.Label, i+1)
		}
	}
	r.load(res, watchers)
	return res, nil
}

// connect opens the sessions at the connect rate and waits for the first
// printed character of each reading session.
func (r *run) connect(res *Result) (watchers, stalled []*session) {
	cfg := r.cfg
	total := cfg.Sessions + cfg.Stalled
	fmt.Fprintf(cfg.Log, "%s: connecting %d sessions (%d stalled) at %g/s\n", cfg.Label, total, cfg.Stalled, cfg.ConnectRate)
	type dialed struct {
		s   *session
		err error
	}
	results := make(chan dialed, total)
	interval := time.Duration(float64(time.Second) / cfg.ConnectRate)
	start := time.Now()
	for i := range total {
		time.Sleep(time.Until(start.Add(time.Duration(i) * interval)))
		go func() {
			s, err := dial(r, i, i >= cfg.Sessions)
			if err == nil && !s.stalled {
				if err = s.waitFirstText(s.started.Add(cfg.ConnectTimeout)); err != nil {
					closeAll([]*session{s})
				}
			}
			results <- dialed{s, err}
		}()
	}
	var latencies []time.Duration
	var firstErr error
	for range total {
		d := <-results
		switch {
		case d.err != nil:
			res.ConnectFailed++
			if firstErr == nil {
				firstErr = d.err
			}
		case d.s.stalled:
			stalled = append(stalled, d.s)
		default:
			watchers = append(watchers, d.s)
			latencies = append(latencies, d.s.connected)
		}
	}
	slices.SortFunc(watchers, func(a, b *session) int { return a.idx - b.idx })
	res.Connected = len(watchers) + len(stalled)
	res.Connect = percentiles(latencies)
	msg := fmt.Sprintf("%s: %d connected in %s, %d failed", cfg.Label, res.Connected, time.Since(start).Round(time.Millisecond), res.ConnectFailed)
	if firstErr != nil {
		msg += fmt.Sprintf(" (first error: %v)", firstErr)
	}
	fmt.Fprintln(cfg.Log, msg)
	return watchers, stalled
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
		go s.client.Close()
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

// load sends the tokens on a fixed schedule, waits for them to be seen,
// and fills in the fan-out figures.
func (r *run) load(res *Result, watchers []*session) {
	cfg := r.cfg
	perSender := cfg.tokensPerSender()
	fmt.Fprintf(cfg.Log, "%s: %d senders × %d tokens at %g/s\n", cfg.Label, cfg.Senders, perSender, cfg.Rate)
	w := r.startWindow(watchers)
	period := time.Duration(float64(time.Second) / cfg.Rate)
	var sendErrs atomic.Int64
	var wg sync.WaitGroup
	for s := range cfg.Senders {
		sender := watchers[s]
		offset := period * time.Duration(s) / time.Duration(cfg.Senders)
		wg.Go(func() {
			for k := range perSender {
				time.Sleep(time.Until(w.start.Add(offset + time.Duration(k)*period)))
				id := k*cfg.Senders + s
				r.sentAt[id].Store(time.Now().UnixNano())
				if err := sender.write([]byte(token(r.prefix, id) + "\r")); err != nil {
					r.sentAt[id].Store(0)
					sendErrs.Add(1)
					return
				}
			}
		})
	}
	wg.Wait()
	lastSend := time.Now()
	sent := 0
	for i := range r.sentAt {
		if r.sentAt[i].Load() != 0 {
			sent++
		}
	}
	expected := int64(sent) * int64(len(watchers)-1)
	for r.delivered.Load() < expected && time.Since(lastSend) < cfg.Drain {
		time.Sleep(20 * time.Millisecond)
	}
	w.end(res, watchers)
	res.Messages = sent
	res.SendErrors = int(sendErrs.Load())
	res.Expected = expected
	res.countDisconnected(watchers)

	var all []time.Duration
	var lastSeen time.Duration
	closeAll(watchers)
	for _, s := range watchers {
		// The reader must have stopped for its latencies to be final.
		select {
		case <-s.ended:
			all = append(all, s.latencies...)
		default:
			res.StuckReaders++
		}
	}
	res.Delivered = int64(len(all))
	res.Fanout = percentiles(all)
	for _, d := range all {
		lastSeen = max(lastSeen, d)
	}
	if res.Delivered > 0 {
		res.DeliveriesPerSec = float64(res.Delivered) / (lastSend.Sub(w.start) + lastSeen).Seconds()
	}
	if sent > 0 {
		res.BytesPerSessionPerMessage = float64(res.WindowBytes) / float64(len(watchers)) / float64(sent)
	}
	if res.ServerCPU > 0 && res.Delivered > 0 {
		res.ServerCPUPer1000 = res.ServerCPU.Seconds() / float64(res.Delivered) * 1000
	}
}

// window measures the server's and the tool's CPU, and the bytes received,
// between its start and its end.
type window struct {
	r        *run
	start    time.Time
	bytes    int64
	toolCPU  time.Duration
	server   procSample
	err      error
	measured bool
}

func (r *run) startWindow(watchers []*session) *window {
	w := &window{r: r, start: time.Now(), bytes: totalBytes(watchers), toolCPU: selfCPU()}
	if r.cfg.ServerPID > 0 {
		w.server, w.err = sampleProc(r.cfg.ServerPID)
		w.measured = w.err == nil
	}
	return w
}

func (w *window) end(res *Result, watchers []*session) {
	elapsed := time.Since(w.start)
	res.Window = elapsed
	res.WindowBytes = totalBytes(watchers) - w.bytes
	res.ToolCPU = selfCPU() - w.toolCPU
	res.ToolCPUShare = res.ToolCPU.Seconds() / elapsed.Seconds()
	if !w.measured {
		return
	}
	after, err := sampleProc(w.r.cfg.ServerPID)
	if err != nil {
		w.err = err
		return
	}
	res.ServerMeasured = true
	res.ServerCPU = after.CPU - w.server.CPU
	res.ServerCPUShare = res.ServerCPU.Seconds() / elapsed.Seconds()
	res.ServerRSS = after.RSS
	res.ServerHWM = after.HWM
	if n := res.Connected; n > 0 {
		res.ServerRSSPerSession = float64(after.RSS) / float64(n)
		res.ServerRSSDeltaPerSession = float64(after.RSS-res.ServerRSSBefore) / float64(n)
	}
}
