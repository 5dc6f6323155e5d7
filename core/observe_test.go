package core

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is an Observer that keeps everything it is told. Each call
// also checks that the hub is not locked, by asking it for its counts.
type recorder struct {
	t  *testing.T
	h  *Hub
	mu sync.Mutex

	started, ended map[Transport]int // by transport
	ends           map[EndReason]int
	posted         map[MessageKind]int
	fanOuts        []int
	dropped        int
	refused        map[Refusal]int
	monitor        []MonitorEvent
}

func newObservedHub(t *testing.T, mutate func(*Config), opts ...Option) (*Hub, *recorder) {
	t.Helper()
	cfg := DefaultConfig()
	if mutate != nil {
		mutate(&cfg)
	}
	r := &recorder{t: t, started: map[Transport]int{}, ended: map[Transport]int{}, ends: map[EndReason]int{},
		posted: map[MessageKind]int{}, refused: map[Refusal]int{}}
	h, err := NewHub(cfg, append(opts, WithObserver(r))...)
	if err != nil {
		t.Fatal(err)
	}
	r.h = h
	t.Cleanup(h.Stop)
	return h, r
}

// notLocked fails the test when the hub is locked by the caller: Counts
// would then wait for a lock that is only released after we return.
func (r *recorder) notLocked(what string) {
	done := make(chan struct{})
	go func() {
		r.h.Counts()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		r.t.Errorf("%s was reported with the hub locked", what)
	}
}

func (r *recorder) SessionStarted(transport Transport) {
	r.notLocked("SessionStarted")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started[transport]++
}

func (r *recorder) SessionEnded(transport Transport, why EndReason) {
	r.notLocked("SessionEnded")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended[transport]++
	r.ends[why]++
}

func (r *recorder) MessagePosted(kind MessageKind) {
	r.notLocked("MessagePosted")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posted[kind]++
}

func (r *recorder) FannedOut(recipients int, took time.Duration) {
	r.notLocked("FannedOut")
	if took < 0 {
		r.t.Errorf("fan-out took %s", took)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fanOuts = append(r.fanOuts, recipients)
}

func (r *recorder) Dropped(n int) {
	r.notLocked("Dropped")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropped += n
}

func (r *recorder) Refused(why Refusal) {
	r.notLocked("Refused")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused[why]++
}

func (r *recorder) Monitor(ev MonitorEvent) {
	r.notLocked("Monitor")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.monitor = append(r.monitor, ev)
}

// lines renders the monitor feed as "kind name room text" lines, to
// compare and to search for leaks.
func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ev := range r.monitor {
		out = append(out, fmt.Sprintf("%d %s>%s %s %s %s", ev.Kind, ev.OldName, ev.Name, ev.Transport, ev.Room, ev.Text))
	}
	return out
}

func (r *recorder) has(want string) bool {
	for _, l := range r.lines() {
		if l == want {
			return true
		}
	}
	return false
}

func TestObserverSeesSessionsMessagesAndFanOut(t *testing.T) {
	h, r := newObservedHub(t, nil)
	alice := connect(t, h, "alice")
	bob, err := h.Connect(ConnectInfo{LoginName: "bob", Transport: "web", IP: "192.0.2.2"})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Input("hello all"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Input("/me waves"); err != nil {
		t.Fatal(err)
	}
	bob.Close("")

	r.mu.Lock()
	started, ended, ends, posted, fanOuts := r.started, r.ended, r.ends, r.posted, r.fanOuts
	r.mu.Unlock()
	if started["ssh"] != 1 || started["web"] != 1 || ended["web"] != 1 || ends[EndClosed] != 1 {
		t.Errorf("sessions: started %v, ended %v %v", started, ended, ends)
	}
	// Joins of alice and bob, bob's leave; alice's two messages.
	if posted[Text] != 1 || posted[Action] != 1 || posted[System] != 3 {
		t.Errorf("messages by kind: %v", posted)
	}
	// The two messages reached both members of #lobby.
	two := 0
	for _, n := range fanOuts {
		if n == 2 {
			two++
		}
	}
	if two < 2 {
		t.Errorf("fan-outs to two members: %d of %v", two, fanOuts)
	}
	for _, want := range []string{
		"1 >alice ssh  ", "3 >alice ssh #lobby ", "1 >bob web  ", "3 >bob web #lobby ",
		"6 >alice ssh #lobby hello all", "6 >alice ssh #lobby waves",
		"4 >bob web #lobby ", "2 >bob web  ",
	} {
		if !r.has(want) {
			t.Errorf("monitor lacks %q: %q", want, r.lines())
		}
	}
}

func TestMonitorKeepsPrivateContentOut(t *testing.T) {
	h, r := newObservedHub(t, func(c *Config) {
		c.Rooms = append(c.Rooms, RoomConfig{Name: "staff", Hidden: true})
	})
	alice, bob := connect(t, h, "alice"), connect(t, h, "bob")
	if err := alice.Input("/join " + bob.Code()); err != nil {
		t.Fatal(err)
	}
	if err := alice.Input("private secret one"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Input("/join #staff"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Input("hidden secret two"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Input("/join #vault pass-word-3"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Input("locked secret three"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Input("/name alicia"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Switch("@1-2"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Input("/leave"); err != nil {
		t.Fatal(err)
	}
	h.ReportCall(CallRinging)

	feed := strings.Join(r.lines(), "\n")
	for _, secret := range []string{"secret", "pass-word", alice.Code(), bob.Code(), "staff"} {
		if strings.Contains(feed, secret) {
			t.Errorf("the monitor shows %q:\n%s", secret, feed)
		}
	}
	for _, want := range []string{"7 >   ", "8 >   ", "3 >alice ssh  ", "3 >alice ssh #vault ", "5 alice>alicia ssh  ", "9 >   "} {
		if !r.has(want) {
			t.Errorf("monitor lacks %q:\n%s", want, feed)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if got := r.monitor[len(r.monitor)-1].Call; got != CallRinging {
		t.Errorf("call stage %v", got)
	}
}

func TestObserverCountsRefusalsAndCutOffs(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	h, r := newObservedHub(t, func(c *Config) { c.Limits.OutboxSize = 16; c.Limits.SlowTimeout = 5 * time.Second }, WithClock(clock.Now))
	flood := connect(t, h, "flood")
	slow := connect(t, h, "slow")
	guesser := connect(t, h, "guesser")
	for i := 0; i < 10+3+1+25; i++ {
		_ = flood.Input("spam")
		flood.Outbox().Drain()
		guesser.Outbox().Drain()
	}
	for i := 0; i < 6; i++ {
		_ = guesser.Input("/join 00000000")
	}
	for i := 0; i < 30; i++ {
		clock.Add(time.Second)
		if err := guesser.Input("tick"); err != nil {
			t.Fatal(err)
		}
		guesser.Outbox().Drain()
	}
	select {
	case <-slow.Outbox().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the slow session was not cut off")
	}
	h.CloseAll("shutting down")

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refused[RefusedMessageRate] != 4 || r.refused[RefusedMuted] == 0 {
		t.Errorf("rate refusals: %v", r.refused)
	}
	if r.refused[RefusedWrongCode] != 5 || r.refused[RefusedGuessRate] != 1 {
		t.Errorf("guess refusals: %v", r.refused)
	}
	if r.dropped == 0 {
		t.Error("no dropped events reported for the slow session")
	}
	if r.ends[EndFlood] != 1 || r.ends[EndSlow] != 1 || r.ends[EndServer] != 1 || r.ended["ssh"] != 3 {
		t.Errorf("ends: %v by transport %v", r.ends, r.ended)
	}
}

func TestHubWithoutObserverIsQuiet(t *testing.T) {
	h := newTestHub(t)
	a := connect(t, h, "alice")
	if err := a.Input("hello"); err != nil {
		t.Fatal(err)
	}
	h.ReportCall(CallEnded)
	if len(h.watch.pending) != 0 || h.watch.dropped != 0 {
		t.Fatalf("observations pile up without an observer: %d", len(h.watch.pending))
	}
}

func TestConnGuardReportsRefusals(t *testing.T) {
	_, r := newObservedHub(t, nil)
	l := DefaultLimits()
	l.ConnsPerIP, l.NewConnsPerMinute = 1, 2
	g, err := NewConnGuard(l)
	if err != nil {
		t.Fatal(err)
	}
	g.SetObserver(r)
	release, err := g.Admit("192.0.2.9:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Admit("192.0.2.9:2"); err == nil {
		t.Fatal("a second connection at once was admitted")
	}
	release()
	release, err = g.Admit("192.0.2.9:3")
	if err != nil {
		t.Fatal(err)
	}
	release()
	if _, err := g.Admit("192.0.2.9:4"); err == nil {
		t.Fatal("a third connection in a minute was admitted")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refused[RefusedConnections] != 1 || r.refused[RefusedConnectRate] != 1 {
		t.Fatalf("refusals %v", r.refused)
	}
}
