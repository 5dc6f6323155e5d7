package webrtcsignal

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// twoNodes is a cluster of two registries, on nodes a and b. Their relays
// wait in one queue, in order, until the test pumps them.
type twoNodes struct {
	mu    sync.Mutex
	queue []queuedRelay
	regs  map[string]*registry
	hubs  map[string]*fakeHub
	eps   map[uint64]*fakeEndpoint // the web users' browsers
	where map[uint64]string        // each user's node
}

type queuedRelay struct{ from, to, payload string }

// nodeHub is one node's hub: a fakeHub that knows the cluster.
type nodeHub struct {
	*fakeHub
	node string
	c    *twoNodes
}

func (h nodeHub) Node() string { return h.node }

func (h nodeHub) Elsewhere(id uint64) string {
	if n := h.c.where[id]; n != h.node {
		return n
	}
	return ""
}

func (h nodeHub) Relay(node string, _ uint64, payload string) {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	h.c.queue = append(h.c.queue, queuedRelay{h.node, node, payload})
}

func newTwoNodes(where map[uint64]string) *twoNodes {
	c := &twoNodes{regs: map[string]*registry{}, hubs: map[string]*fakeHub{}, eps: map[uint64]*fakeEndpoint{}, where: where}
	for id := range where {
		c.eps[id] = &fakeEndpoint{}
	}
	for _, node := range []string{"a", "b"} {
		c.hubs[node] = &fakeHub{notes: map[uint64][]string{}}
		c.regs[node] = newRegistry(callSettings{
			ringTimeout:    time.Hour,
			linkTTL:        time.Hour,
			connectTimeout: 20 * time.Second,
			maxCandidates:  3,
			maxSDP:         64 << 10,
			attachWait:     time.Hour,
			publicURL:      "https://chat.example.org",
			iceServers:     func(uint64) []iceServerJSON { return nil },
		}, nodeHub{c.hubs[node], node, c}, func(id uint64) endpoint {
			if e, ok := c.eps[id]; ok && c.where[id] == node {
				return e
			}
			return nil
		})
	}
	return c
}

// pump hands every queued relay to its node, and those they cause.
func (c *twoNodes) pump() {
	for {
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.mu.Unlock()
			return
		}
		q := c.queue[0]
		c.queue = c.queue[1:]
		c.mu.Unlock()
		c.regs[q.to].Relayed(q.from, q.payload)
	}
}

// types lists the types of the messages ep got, whether the registry
// built them or they came from another node.
func types(t *testing.T, ep *fakeEndpoint) string {
	t.Helper()
	var out []string
	for _, m := range ep.take() {
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var head struct{ Type, Reason string }
		if err := json.Unmarshal(data, &head); err != nil {
			t.Fatal(err)
		}
		out = append(out, strings.TrimSuffix(head.Type+" "+head.Reason, " "))
	}
	return strings.Join(out, ", ")
}

// A call from a browser on a to a browser on b lives on a: the callee's
// answer and signaling go there, and its departure ends the call.
func TestACallBetweenTwoNodesLivesOnTheCallersNode(t *testing.T) {
	c := newTwoNodes(map[uint64]string{ann.ID: "a", ben.ID: "b"})
	a, b := c.regs["a"], c.regs["b"]
	annEP, benEP := c.eps[ann.ID], c.eps[ben.ID]
	if err := a.Start("@1-2", ann, ben); err != nil {
		t.Fatal(err)
	}
	c.pump()
	if got := types(t, annEP) + " | " + types(t, benEP); got != "call-ringing | call-incoming" {
		t.Fatalf("got %s", got)
	}
	var id string
	for k := range a.calls {
		id = k
	}
	if b.elsewhere(id) != "a" || a.elsewhere(id) != "" {
		t.Fatalf("the call ID %s does not name a as its home", id)
	}

	// A browser on b that was not told of the call cannot touch it.
	stranger := &fakeEndpoint{}
	b.act(stranger, callActionMsg{Type: "call-accept", Call: id})
	c.pump()
	if got := types(t, stranger); got != "call-ended gone" {
		t.Fatalf("the stranger got %s", got)
	}
	if a.calls[id].state != ringing {
		t.Fatal("a stranger's accept was taken")
	}

	b.act(benEP, callActionMsg{Type: "call-accept", Call: id})
	c.pump()
	if got := types(t, annEP) + " | " + types(t, benEP); got != "call-start | call-start" {
		t.Fatalf("got %s", got)
	}
	b.act(benEP, sdpMsg{Type: "call-answer", Call: id, SDP: "v=0"})
	a.act(annEP, iceMsg{Type: "call-ice", Call: id, Candidate: iceCandidate{Candidate: "candidate:1"}})
	c.pump()
	if got := types(t, annEP) + " | " + types(t, benEP); got != "call-answer | call-ice" {
		t.Fatalf("got %s", got)
	}

	b.detach(benEP)
	c.pump()
	if got := types(t, annEP); got != "call-ended left" {
		t.Fatalf("ann got %s", got)
	}
	if len(a.calls) != 0 || len(a.byEP) != 0 || len(b.away) != 0 {
		t.Fatalf("left behind: %d calls, %d endpoints on a, %d on b", len(a.calls), len(a.byEP), len(b.away))
	}
}

// A terminal user's link, homed on a, opens once from b; a second opening
// from b is refused by a.
func TestALinkOpensOnceFromAnotherNode(t *testing.T) {
	c := newTwoNodes(map[uint64]string{tom.ID: "a", ben.ID: "b"})
	a, b := c.regs["a"], c.regs["b"]
	if err := a.Start("@2-4", tom, ben); err != nil {
		t.Fatal(err)
	}
	c.pump()
	var token string
	for k := range a.links {
		token = k
	}
	open := func(ep endpoint) (memberJSON, error) {
		type result struct {
			self memberJSON
			err  error
		}
		done := make(chan result, 1)
		go func() {
			self, err := b.openLink(token, ep)
			done <- result{self, err}
		}()
		for {
			c.pump()
			select {
			case r := <-done:
				return r.self, r.err
			case <-time.After(time.Millisecond):
			}
		}
	}
	phone := &fakeEndpoint{}
	self, err := open(phone)
	if err != nil || self.Name != "tom" {
		t.Fatalf("the link opened for %+v, %v", self, err)
	}
	c.pump()
	if got := types(t, phone); got != "call-ringing" {
		t.Fatalf("the phone got %s", got)
	}
	if _, err := open(&fakeEndpoint{}); err == nil || !strings.Contains(err.Error(), "not valid") {
		t.Fatalf("the second opening: %v", err)
	}

	b.act(c.eps[ben.ID], callActionMsg{Type: "call-decline", Call: a.byUser[tom.ID].id})
	c.pump()
	if got := types(t, phone); got != "call-ended declined" {
		t.Fatalf("the phone got %s", got)
	}
	if len(b.away) != 0 || len(b.guests) != 0 || len(b.waiting) != 0 {
		t.Fatalf("b keeps %d away, %d guests, %d waiting", len(b.away), len(b.guests), len(b.waiting))
	}
	if got := c.hubs["a"].told(tom.ID); len(got) < 2 || !strings.Contains(got[len(got)-1], "ben declined") {
		t.Fatalf("tom was told %q", got)
	}
}

// A terminal user on another node reads their link there.
func TestATerminalUserOnAnotherNodeIsToldThere(t *testing.T) {
	c := newTwoNodes(map[uint64]string{ann.ID: "a", tom.ID: "b"})
	if err := c.regs["a"].Start("@1-4", ann, tom); err != nil {
		t.Fatal(err)
	}
	c.pump()
	got := c.hubs["b"].told(tom.ID)
	if len(got) != 1 || !strings.Contains(got[0], "Incoming video call") || len(c.hubs["a"].told(tom.ID)) != 0 {
		t.Fatalf("tom was told %q on b and %q on a", got, c.hubs["a"].told(tom.ID))
	}
}

// A private chat that closes ends its call on the other node too, at once
// and once: the home's own word of it, if it lives to send it, is not
// shown again.
func TestACallEndsWithItsChatOnTheOtherNode(t *testing.T) {
	for _, homeLives := range []bool{true, false} {
		c := newTwoNodes(map[uint64]string{ann.ID: "a", ben.ID: "b"})
		a, b := c.regs["a"], c.regs["b"]
		benEP := c.eps[ben.ID]
		if err := a.Start("@1-2", ann, ben); err != nil {
			t.Fatal(err)
		}
		c.pump()
		benEP.take()
		b.ConvClosed("@1-2") // the other nodes apply the chat's end in the log's order
		if homeLives {
			a.ConvClosed("@1-2")
		}
		c.pump()
		if got := types(t, benEP); got != "call-ended chat-closed" {
			t.Fatalf("home lives %v: ben got %s", homeLives, got)
		}
		if len(b.away) != 0 {
			t.Fatalf("home lives %v: b keeps %d away", homeLives, len(b.away))
		}
	}
}

// Busy holds across nodes: someone in a call that lives on one node is
// busy for calls from the other, whichever node finds it out.
func TestBusyAcrossNodes(t *testing.T) {
	c := newTwoNodes(map[uint64]string{ann.ID: "a", ben.ID: "b", cat.ID: "b"})
	a, b := c.regs["a"], c.regs["b"]
	annEP, benEP, catEP := c.eps[ann.ID], c.eps[ben.ID], c.eps[cat.ID]

	// ben, on b, is in a call that lives on a: b knows he is busy.
	if err := a.Start("@1-2", ann, ben); err != nil {
		t.Fatal(err)
	}
	c.pump()
	if err := b.Start("@2-3", cat, ben); err == nil || !strings.Contains(err.Error(), "ben is busy") {
		t.Fatalf("cat could call ben: %v", err)
	}
	if err := b.Start("@2-3", ben, cat); err == nil || !strings.Contains(err.Error(), "already in a call") {
		t.Fatalf("ben could call cat: %v", err)
	}
	b.act(benEP, callActionMsg{Type: "call-hangup", Call: a.byUser[ann.ID].id})
	c.pump()
	annEP.take()
	benEP.take()

	// ben is in a call that lives on b: a learns it from b, and the
	// caller is told.
	if err := b.Start("@2-3", cat, ben); err != nil {
		t.Fatal(err)
	}
	if err := a.Start("@1-2", ann, ben); err != nil {
		t.Fatal(err)
	}
	c.pump()
	if got := types(t, annEP); got != "call-ringing, call-ended busy" {
		t.Fatalf("ann got %s", got)
	}
	if got := types(t, benEP); got != "call-incoming" {
		t.Fatalf("ben got %s, not only cat's call", got)
	}
	if len(a.calls) != 0 || len(b.calls) != 1 {
		t.Fatalf("%d calls on a, %d on b", len(a.calls), len(b.calls))
	}
	catEP.take()
}
