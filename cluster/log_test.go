package cluster

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"parley/cluster/natstest"
	"parley/core"
	"parley/internal/testkit"
)

// sameEverywhere waits until every hub has applied at least want entries,
// the same ones in the same order, each once, and returns them.
func sameEverywhere(t *testing.T, want int, hubs ...*fakeHub) []string {
	t.Helper()
	var lists [][]string
	settled := func() bool {
		lists = lists[:0]
		for _, h := range hubs {
			applied, _, _, _ := h.state()
			lists = append(lists, applied)
		}
		for _, l := range lists {
			if len(l) < want || !slices.Equal(l, lists[0]) {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(testkit.WaitLimit)
	for !settled() {
		if time.Now().After(deadline) {
			for i, l := range lists {
				t.Logf("hub %d applied %d: %v", i, len(l), l)
			}
			t.Fatalf("the hubs did not apply the same %d or more entries in the same order", want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	seen := map[string]bool{}
	for _, id := range lists[0] {
		if seen[id] {
			t.Fatalf("entry %s applied twice", id)
		}
		seen[id] = true
	}
	return lists[0]
}

// Three nodes appending at once see one order: each node's own entries
// come back through the stream like everyone else's.
func TestLogOneOrderEverywhere(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	var nodes []*Node
	var hubs []*fakeHub
	for _, name := range []string{"a", "b", "c"} {
		n, h := start(t, testSettings(name, srv.ClientURL()))
		nodes, hubs = append(nodes, n), append(hubs, h)
	}
	const each = 300
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			appendAll(n.Log(), fmt.Sprint("n", i), each)
		}()
	}
	wg.Wait()
	order := sameEverywhere(t, 3*each, hubs...)
	if len(order) != 3*each {
		t.Fatalf("%d entries applied, want %d: %v", len(order), 3*each, slices.DeleteFunc(order, func(id string) bool { return id[0] == 'n' }))
	}
	for _, n := range nodes {
		if st := n.Stats(); st.Published != each || st.PublishFailures != 0 || st.Nodes != 3 {
			t.Errorf("node %s: %+v, want %d published, none failed, 3 nodes", n.Name(), st, each)
		}
	}
}

// A node that starts while others append gets their state from a snapshot
// and the rest from the stream: nothing missing, nothing twice.
func TestLateNodeBootstrapsWithoutGaps(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	a, ha := start(t, testSettings("a", srv.ClientURL()))
	b, hb := start(t, testSettings("b", srv.ClientURL()))
	const each = 500
	var wg sync.WaitGroup
	for i, n := range []*Node{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			appendAll(n.Log(), fmt.Sprint("n", i), each)
		}()
	}
	_, hc := start(t, testSettings("c", srv.ClientURL()))
	wg.Wait()
	sameEverywhere(t, 2*each, ha, hb, hc)
}

// The author of an entry the stream never took is told.
func TestPublishFailureIsReported(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	proxy := natstest.NewProxy(t, srv.ClientURL()[len("nats://"):])
	n := connect(t, testSettings("a", proxy.URL()))
	failed := make(chan core.Entry, 1)
	h := newFakeHub()
	if err := n.Attach(ctxT(t), h, Hooks{PublishFailed: func(e core.Entry, err error) {
		if err != nil {
			failed <- e
		}
	}}); err != nil {
		t.Fatal(err)
	}
	proxy.Cut()
	n.Log().Append(core.Entry{ID: "lost-1", Conv: "#lobby"})
	select {
	case e := <-failed:
		if e.ID != "lost-1" {
			t.Fatalf("told of %q, want lost-1", e.ID)
		}
	case <-ctxT(t).Done():
		t.Fatal("the author was never told")
	}
	if st := n.Stats(); st.PublishFailures != 1 {
		t.Fatalf("%d failures counted, want 1", st.PublishFailures)
	}
}

// Append never blocks: past the queue's bound entries are refused and
// reported, not waited for.
func TestAppendNeverBlocks(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	proxy := natstest.NewProxy(t, srv.ClientURL()[len("nats://"):])
	s := testSettings("a", proxy.URL())
	s.QueueSize = 10
	n := connect(t, s)
	var mu sync.Mutex
	var full int
	n.Log().OnPublishFailed(func(_ core.Entry, err error) {
		mu.Lock()
		defer mu.Unlock()
		if errors.Is(err, ErrQueueFull) {
			full++
		}
	})
	proxy.Cut()
	appendAll(n.Log(), "x", 1000)
	waitFor(t, "the refused entries to be reported", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return full >= 1000-10-publishBatch
	})
}

func TestConvSubjects(t *testing.T) {
	n := names{"parley"}
	for conv, want := range map[string]string{
		"#lobby":    "parley.log.r.lobby",
		"@12-40":    "parley.log.p.12-40",
		"":          "parley.log.all",
		"#a.b":      "parley.log.x.I2EuYg",
		"#Big Room": "parley.log.x.I0JpZyBSb29t",
	} {
		if got := n.subject(conv); got != want {
			t.Errorf("subject(%q) = %q, want %q", conv, got, want)
		}
	}
}

// A node that falls so far behind that the stream has dropped entries it
// never applied sees the gap, fences, and comes back with the others'
// state: the replicas agree again.
func TestGapIsRepairedFromASnapshot(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	small := func(node string) Settings {
		s := testSettings(node, srv.ClientURL())
		s.LogMaxEntries = 1000
		return s
	}
	a, ha := start(t, small("a"))
	b, hb := start(t, small("b"))
	hold := make(chan struct{})
	hb.mu.Lock()
	hb.hold = hold
	hb.mu.Unlock()
	appendAll(a.Log(), "flood", 4000)
	waitFor(t, "a to apply the flood", func() bool {
		applied, _, _, _ := ha.state()
		return len(applied) >= 4000
	})
	hb.mu.Lock()
	hb.hold = nil
	hb.mu.Unlock()
	close(hold)
	waitFor(t, "b to see the gap and come back", func() bool {
		_, _, fences, unfences := hb.state()
		return b.Stats().Gaps >= 1 && fences >= 1 && unfences == fences && b.Ready() == nil
	})
	applied, _, _, _ := ha.state()
	sameEverywhere(t, len(applied), ha, hb)
}
