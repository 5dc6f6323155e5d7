package e2e

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"parley/cluster"
	"parley/cluster/natstest"
	"parley/core"
	"parley/internal/testkit"
)

// The cluster's tests run several Parley nodes in one test, each a hub
// with both transports on its own loopback ports, joined through an
// embedded NATS server exactly as separate processes would be.

// clusterNode is one running node.
type clusterNode struct {
	*servers
	name string
	node *cluster.Node
	hub  *core.Hub
}

// The lease's timing in tests is the default one: a node busy on a
// loaded machine (the race detector, other tests) must never miss its
// renewals and fence itself, and a killed node is still noticed within
// seconds.
const (
	testHeartbeat = cluster.DefaultHeartbeat
	testNodeTTL   = cluster.DefaultNodeTTL
)

// startNode runs node name of the cluster whose NATS servers are urls; a
// nodeTTL of 0 is testNodeTTL.
func startNode(t *testing.T, name string, urls []string, cfg core.Config, nodeTTL time.Duration) *clusterNode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node, err := cluster.Connect(ctx, cluster.Settings{
		Node: name, NATS: urls, Heartbeat: testHeartbeat, NodeTTL: cmp.Or(nodeTTL, testNodeTTL),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	hub, err := core.NewHub(cfg, core.WithCluster(node.Name(), node.Incarnation(), node.Log(), node.Directory()), core.WithBans(node.Bans()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Stop)
	if err := node.Attach(ctx, hub, cluster.Hooks{PublishFailed: hub.Unsent}); err != nil {
		t.Fatal(err)
	}
	return &clusterNode{servers: &servers{url: startWeb(t, hub), sshAddr: startSSH(t, hub)}, name: name, node: node, hub: hub}
}

// startCluster runs nodes a, b, c… on one embedded NATS server.
func startCluster(t *testing.T, n int, cfg core.Config) []*clusterNode {
	t.Helper()
	return startClusterTTL(t, n, cfg, 0)
}

// startClusterTTL is startCluster with the nodes' node_ttl.
func startClusterTTL(t *testing.T, n int, cfg core.Config, nodeTTL time.Duration) []*clusterNode {
	t.Helper()
	nats := natstest.Embedded(t)
	nodes := make([]*clusterNode, n)
	for i := range nodes {
		nodes[i] = startNode(t, string(rune('a'+i)), []string{nats.ClientURL()}, cfg, nodeTTL)
	}
	return nodes
}

// Three nodes are one server: a private chat by code from a terminal on
// a to a browser on c, a room shared with a terminal on b in one order,
// everyone in /list, one namespace, cluster-wide room limits, and an
// operator's ban from a that cuts off and refuses the user on c.
func TestThreeNodesAreOneServer(t *testing.T) {
	opKey, carlaKey := testkit.NewKey(t), testkit.NewKey(t)
	cfg := core.DefaultConfig()
	cfg.Operators = []string{gossh.FingerprintSHA256(opKey.PublicKey())}
	cfg.Rooms = append(cfg.Rooms, core.RoomConfig{Name: "pair", MaxMembers: 2})
	nodes := startCluster(t, 3, cfg)
	a, b, c := nodes[0], nodes[1], nodes[2]

	olga := testkit.DialWith(t, a.sshAddr, testkit.SignerLogin("olga", opKey), 120, 40)
	olga.Code()
	browser := testkit.Chromium(t)
	web := testkit.OpenPage(t, browser, "web", c.url)
	webCode := web.Code()
	webName := web.Text("me-name")
	olga.WaitFor(webName + " joined")

	// A private chat by code across nodes, both ways.
	olga.TypeLine("/join " + webCode)
	web.WaitJS("the private chat", `document.querySelectorAll('#convs li[data-conv^="@"]').length === 1`)
	web.ClickCSS(`#convs li[data-conv^="@"]`)
	web.WaitLog("olga opened a private chat with " + webName)
	olga.TypeLine("psst, from node a")
	web.WaitLog("psst, from node a")
	web.Say("hello from node c")
	olga.WaitFor("hello from node c")

	// The lobby, shared with a terminal on b: one order everywhere.
	bert := testkit.Dial(t, b.sshAddr, "bert", 120, 40)
	bert.WaitFor("#lobby · 3 members")
	olga.TypeLine("/switch #lobby")
	olga.WaitFor("#lobby · 3 members")
	olga.TypeLine("one from a")
	bert.TypeLine("two from b")
	bert.WaitFor("two from b")
	olga.WaitFor("two from b")
	olga.WaitFor("one from a")
	order := func(screen string) string {
		i, j := strings.Index(screen, "one from a"), strings.Index(screen, "two from b")
		return fmt.Sprint(i < j)
	}
	if order(bert.Screen()) != order(olga.Screen()) {
		t.Fatalf("a and b show the lobby's lines in different orders:\n%s\n---\n%s", olga.Screen(), bert.Screen())
	}

	// /list on every node shows all three.
	for _, term := range []*testkit.Term{olga, bert} {
		term.TypeLine("/list")
		term.WaitUntil("all three in /list", func(s string) bool {
			return strings.Contains(s, "3 in #lobby") && strings.Contains(s, "olga") && strings.Contains(s, "bert") && strings.Contains(s, webName)
		})
		term.Press(testkit.Esc)
	}

	// One namespace: the same login name on a and c at once is given once.
	sam1 := testkit.Dial(t, a.sshAddr, "sam", 120, 40)
	sam1.WaitFor("sam · code")
	sam2 := testkit.Dial(t, c.sshAddr, "sam", 120, 40)
	sam2.WaitUntil("a name of its own", func(s string) bool {
		return strings.Contains(s, " · code ") && !strings.Contains(s, " sam · code")
	})

	// max_members holds across nodes: the third member, on c, is refused.
	olga.TypeLine("/join #pair")
	olga.WaitFor("#pair · 1 member")
	bert.TypeLine("/join #pair")
	bert.WaitFor("#pair · 2 members")
	sam2.TypeLine("/join #pair")
	sam2.WaitFor("#pair is full (2/2)")

	// A ban from a cuts off the user on c and keeps them out of every node.
	carla := testkit.DialWith(t, c.sshAddr, testkit.SignerLogin("carla", carlaKey), 120, 40)
	carla.Code()
	olga.TypeLine("/ban carla 1h spam")
	carla.WaitFor("banned by olga for 1h: spam")
	carla.WaitEnded()
	for _, n := range []*clusterNode{c, a} {
		again := testkit.DialWith(t, n.sshAddr, testkit.SignerLogin("carla", carlaKey), 120, 40)
		again.WaitFor("you are banned from this server until ")
		again.WaitEnded()
	}
}

// A node that dies without a goodbye is noticed within its lease's time:
// its users are told to have left everywhere, and the others go on.
func TestKilledNodesUsersLeaveEverywhere(t *testing.T) {
	nodes := startCluster(t, 3, core.DefaultConfig())
	a, b, c := nodes[0], nodes[1], nodes[2]
	ann := testkit.Dial(t, a.sshAddr, "ann", 120, 40)
	bob := testkit.Dial(t, b.sshAddr, "bob", 120, 40)
	cid := testkit.Dial(t, c.sshAddr, "cid", 120, 40)
	for _, term := range []*testkit.Term{ann, bob, cid} {
		term.WaitFor("#lobby · 3 members")
	}

	b.node.Halt()
	ann.WaitFor("bob left (connection lost)")
	cid.WaitFor("bob left (connection lost)")
	ann.WaitFor("#lobby · 2 members")
	ann.TypeLine("still here")
	cid.WaitFor("still here")

	// bob's name is free again.
	bob2 := testkit.Dial(t, c.sshAddr, "bob", 120, 40)
	bob2.WaitFor("bob · code")
}
