package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"parley/internal/testkit"

	"parley/core"
)

// fakeHub is a replica that remembers the IDs of the entries it applied,
// in order: two replicas agree when their lists are equal.
type fakeHub struct {
	mu      sync.Mutex
	applied []string
	lost    []string // "node/incarnation" of every Lost entry applied
	fenced  []string // reasons, one per Fence
	unfence int      // calls of Unfence
	changed chan struct{}

	// Ticks of events, from one clock shared by every fake hub, to tell
	// which of two hubs' events came first.
	fenceTick, lostTick int64

	// hold, while not nil, keeps Apply waiting: a hub too busy to keep up.
	hold chan struct{}
}

// ticks orders the fake hubs' events.
var ticks atomic.Int64

func newFakeHub() *fakeHub { return &fakeHub{changed: make(chan struct{}, 1)} }

func (h *fakeHub) poke() {
	select {
	case h.changed <- struct{}{}:
	default:
	}
}

func (h *fakeHub) Apply(e core.Entry) {
	h.mu.Lock()
	hold := h.hold
	h.mu.Unlock()
	if hold != nil {
		<-hold
	}
	h.mu.Lock()
	h.applied = append(h.applied, e.ID)
	if e.Kind == core.EntryNodeLost {
		h.lost = append(h.lost, e.Note+"/"+e.Text)
		h.lostTick = ticks.Add(1)
	}
	h.mu.Unlock()
	h.poke()
}

// fakeState is what the fake hub's snapshots carry.
type fakeState struct{ Applied, Lost []string }

func (h *fakeHub) Snapshot() ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return json.Marshal(fakeState{h.applied, h.lost})
}

func (h *fakeHub) Restore(state []byte) error {
	var st fakeState
	if err := json.Unmarshal(state, &st); err != nil {
		return err
	}
	h.mu.Lock()
	h.applied, h.lost = st.Applied, st.Lost
	h.mu.Unlock()
	h.poke()
	return nil
}

func (h *fakeHub) Fence(reason string) {
	h.mu.Lock()
	h.fenced = append(h.fenced, reason)
	h.fenceTick = ticks.Add(1)
	h.mu.Unlock()
	h.poke()
}

func (h *fakeHub) Unfence() {
	h.mu.Lock()
	h.unfence++
	h.mu.Unlock()
	h.poke()
}

func (h *fakeHub) Lost(node, incarnation string) core.Entry {
	return core.Entry{Kind: core.EntryNodeLost, Note: node, Text: incarnation}
}

func (h *fakeHub) state() (applied, lost []string, fences, unfences int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.applied), slices.Clone(h.lost), len(h.fenced), h.unfence
}

// waitFor waits until cond holds, failing the test after testkit.WaitLimit.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testkit.WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", testkit.WaitLimit, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testSettings give a lease so long that no node fences in a test about
// something else, even on a machine too busy to renew in time.
func testSettings(node string, urls ...string) Settings {
	return Settings{
		Node:           node,
		NATS:           urls,
		Heartbeat:      500 * time.Millisecond,
		NodeTTL:        10 * time.Second,
		PublishTimeout: time.Second,
		ConfigHash:     "same",
	}
}

// leaseSettings expire quickly, so a test of leases takes seconds, yet
// leave a busy machine two and a half seconds to renew.
func leaseSettings(node string, urls ...string) Settings {
	s := testSettings(node, urls...)
	s.Heartbeat, s.NodeTTL = 500*time.Millisecond, 3*time.Second
	return s
}

// start connects and attaches a node with a fake hub, closed with the test.
func start(t testing.TB, s Settings) (*Node, *fakeHub) {
	t.Helper()
	n := connect(t, s)
	h := newFakeHub()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.WaitLimit)
	defer cancel()
	if err := n.Attach(ctx, h, Hooks{}); err != nil {
		t.Fatal(err)
	}
	return n, h
}

func connect(t testing.TB, s Settings) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.WaitLimit)
	defer cancel()
	n, err := Connect(ctx, s, testLogger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// noLeaks checks, when the test ends, that the nodes and servers it
// started left no goroutine behind. Call it first: cleanups run last in,
// first out.
func noLeaks(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { testkit.NoLeaks(t, ignore) })
}

// appendAll appends count entries with IDs prefix-0 … from one goroutine.
func appendAll(l *Log, prefix string, count int) {
	for i := range count {
		l.Append(core.Entry{ID: fmt.Sprintf("%s-%d", prefix, i), Conv: "#lobby"})
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testkit.WaitLimit)
	t.Cleanup(cancel)
	return ctx
}

// testLogger shows what went wrong in a failing test's output.
var testLogger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
