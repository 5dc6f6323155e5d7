package cluster

import (
	"slices"
	"strings"
	"testing"
	"time"

	"parley/cluster/natstest"
	"parley/core"
	"parley/internal/testkit"
)

// realNode starts a node feeding a real hub.
func realNode(t *testing.T, s Settings) (*Node, *core.Hub) {
	t.Helper()
	n := connect(t, s)
	h, err := core.NewHub(core.DefaultConfig(), core.WithCluster(n.Name(), n.Incarnation(), n.Log(), n.Directory()), core.WithBans(n.Bans()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	if err := n.Attach(ctxT(t), h, Hooks{}); err != nil {
		t.Fatal(err)
	}
	return n, h
}

func login(t *testing.T, h *core.Hub, name string) *core.Session {
	t.Helper()
	s, err := h.Connect(core.ConnectInfo{LoginName: name, Transport: "ssh", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close("") })
	return s
}

// await drains s's events until one satisfies ok.
func await(t *testing.T, s *core.Session, what string, ok func(core.Event) bool) {
	t.Helper()
	deadline := time.After(testkit.WaitLimit)
	for {
		for _, ev := range s.Outbox().Drain() {
			if ok(ev) {
				return
			}
		}
		select {
		case <-s.Outbox().Ready():
		case <-deadline:
			t.Fatalf("%s never saw %s", s.Name(), what)
		}
	}
}

// Two real hubs through NATS: users on each see each other join the
// lobby and read each other's lines, a name is one name across both, and
// a node killed without a goodbye leaves its user "connection lost" on
// the other.
func TestRealHubsThroughNATS(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	_, a := realNode(t, leaseSettings("a", srv.ClientURL()))
	b, bh := realNode(t, leaseSettings("b", srv.ClientURL()))

	alice := login(t, a, "alice")
	bob := login(t, bh, "bob")
	// Which of the two came first is the stream's choice: bob is in
	// alice's lobby either way.
	inLobby := func(s *core.Session, name string) func() bool {
		return func() bool {
			return slices.ContainsFunc(s.Members("#lobby"), func(m core.Member) bool { return m.Name == name })
		}
	}
	waitFor(t, "bob in alice's lobby", inLobby(alice, "bob"))
	waitFor(t, "bob in his own lobby", inLobby(bob, "bob"))
	if err := bob.Input("hello from b"); err != nil {
		t.Fatal(err)
	}
	await(t, alice, "bob's line", func(ev core.Event) bool {
		return ev.Kind == core.EventMessage && ev.Msg.Text == "hello from b"
	})
	if other := login(t, bh, "alice"); other.Name() == "alice" {
		t.Fatal("a second alice on the other node got the name")
	}
	b.Halt()
	await(t, alice, "bob lost", func(ev core.Event) bool {
		return ev.Kind == core.EventMemberLeft && ev.Member.Name == "bob" && ev.Msg != nil && strings.Contains(ev.Msg.Text, "connection lost")
	})
}
