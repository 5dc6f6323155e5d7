package main

import (
	"net/http"
	"strings"
	"testing"

	"parley/cluster/natstest"
	"parley/internal/testkit"
)

// Three built binaries started with --node and --nats against one NATS
// server are one server: a private chat by code across nodes, everyone in
// /list, and a node killed without a goodbye whose user leaves everywhere.
func TestThreeBinariesOverOneNATSAreOneServer(t *testing.T) {
	nats := natstest.Embedded(t)
	keys := t.TempDir() // one host key for every node, as the README asks
	nodes := map[string]*server{}
	for _, name := range []string{"a", "b", "c"} {
		nodes[name] = startServer(t, nil, "--node", name, "--nats", nats.ClientURL(),
			"--ssh-addr", "127.0.0.1:0", "--http-addr", "", "--hostkey-dir", keys)
	}
	for name, s := range nodes {
		if s.hostKey != nodes["a"].hostKey {
			t.Fatalf("node %s presents host key %s, node a %s", name, s.hostKey, nodes["a"].hostKey)
		}
		resp, err := http.Get("http://" + s.adminAddr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("node %s: /readyz answered %s", name, resp.Status)
		}
	}

	alice := testkit.Dial(t, nodes["a"].sshAddr, "alice", 100, 30)
	code := alice.Code()
	carol := testkit.Dial(t, nodes["b"].sshAddr, "carol", 100, 30)
	carol.WaitFor("#lobby")
	bob := testkit.Dial(t, nodes["c"].sshAddr, "bob", 100, 30)
	bob.WaitFor("#lobby")
	bob.TypeLine("/join " + code)
	alice.WaitFor("bob opened a private chat with you")
	alice.TypeLine("hello bob, from node a")
	bob.WaitFor("alice: hello bob, from node a")
	bob.TypeLine("hello alice, from node c")
	alice.WaitFor("bob: hello alice, from node c")

	alice.TypeLine("/chatroom")
	alice.TypeLine("/list")
	alice.WaitUntil("/list naming everyone in #lobby", func(s string) bool {
		return strings.Contains(s, "3 in #lobby") && strings.Contains(s, "carol  [ssh") && strings.Contains(s, "bob  [ssh")
	})
	alice.Press(testkit.Esc)

	if err := nodes["b"].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-nodes["b"].exited
	alice.WaitFor("carol left (connection lost)")
	bob.TypeLine("/chatroom")
	bob.WaitFor("carol left (connection lost)")
	alice.TypeLine("still here")
	bob.WaitFor("alice: still here")
}
