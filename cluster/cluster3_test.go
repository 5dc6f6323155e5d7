package cluster

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"parley/cluster/natstest"
	"parley/core"
)

// With three NATS servers keeping three replicas, stopping the stream's
// leader mid-conversation loses no entry a sender was not told had
// failed, and posts go on.
func TestStreamLeaderLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("three NATS servers")
	}
	noLeaks(t)
	c3 := natstest.Cluster3(t)
	settings := func(name string) Settings {
		s := testSettings(name, c3.URLs()...)
		s.Replicas = 3
		return s
	}
	var (
		mu     sync.Mutex
		failed = map[string]bool{}
	)
	attach := func(name string) (*Node, *fakeHub) {
		n := connect(t, settings(name))
		h := newFakeHub()
		if err := n.Attach(ctxT(t), h, Hooks{PublishFailed: func(e core.Entry, _ error) {
			mu.Lock()
			defer mu.Unlock()
			failed[e.ID] = true
		}}); err != nil {
			t.Fatal(err)
		}
		return n, h
	}
	a, ha := attach("a")
	b, hb := attach("b")
	appendAll(a.Log(), "before", 100)
	sameEverywhere(t, 100, ha, hb)

	leader := c3.StreamLeader(names{DefaultPrefix}.stream())
	c3.Stop(leader)
	var wg sync.WaitGroup
	for _, n := range []*Node{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			appendAll(n.Log(), "after-"+n.Name(), 100)
		}()
	}
	wg.Wait()
	var sent []string
	for _, n := range []string{"a", "b"} {
		for i := range 100 {
			sent = append(sent, fmt.Sprintf("after-%s-%d", n, i))
		}
	}
	defer func() {
		if t.Failed() {
			for i, h := range []*fakeHub{ha, hb} {
				applied, _, _, _ := h.state()
				var missing []string
				for _, id := range sent {
					if !slices.Contains(applied, id) {
						missing = append(missing, id)
					}
				}
				t.Logf("hub %d: %d applied, missing %v; stats %+v", i, len(applied), missing, []*Node{a, b}[i].Stats())
			}
		}
	}()
	waitFor(t, "every entry to be applied or reported failed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, h := range []*fakeHub{ha, hb} {
			applied, _, _, _ := h.state()
			for _, id := range sent {
				if !failed[id] && !slices.Contains(applied, id) {
					return false
				}
			}
		}
		return true
	})
	applied, _, _, _ := ha.state()
	sameEverywhere(t, len(applied), ha, hb)
	t.Logf("stopped server %d (the stream leader); %d of %d entries after it reported failed", leader, len(failed), len(sent))
}
