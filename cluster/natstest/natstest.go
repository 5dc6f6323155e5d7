// Package natstest runs NATS servers with JetStream inside a test, on
// loopback, through the same code the all-in-one mode uses, and stops
// them when the test ends.
package natstest

import (
	"fmt"
	"net"
	"testing"
	"time"

	"parley/cluster/embedded"
)

// waitLimit bounds how long a server or cluster may take to come up.
const waitLimit = 30 * time.Second

// Embedded starts one server with JetStream on a free loopback port.
func Embedded(t testing.TB) *embedded.Server {
	t.Helper()
	s, err := embedded.Start(embedded.Settings{Name: "n1", ClientListen: "127.0.0.1:0", StoreDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// Cluster is three servers routed to each other, with JetStream able to
// keep three replicas. A server can be stopped and started again on the
// same ports and folder.
type Cluster struct {
	t        testing.TB
	settings [3]embedded.Settings
	servers  [3]*embedded.Server // nil while stopped
}

// Cluster3 starts three servers on loopback and waits until JetStream has
// a leader every server follows.
func Cluster3(t testing.TB) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	var client, route [3]string
	for i := range 3 {
		client[i], route[i] = FreeAddr(t), FreeAddr(t)
	}
	for i := range 3 {
		var routes []string
		for j := range 3 {
			if j != i {
				routes = append(routes, "nats-route://"+route[j])
			}
		}
		c.settings[i] = embedded.Settings{
			Name:          fmt.Sprintf("n%d", i+1),
			ClientListen:  client[i],
			ClusterListen: route[i],
			Routes:        routes,
			StoreDir:      t.TempDir(),
		}
	}
	t.Cleanup(func() {
		for i := range 3 {
			c.Stop(i)
		}
	})
	for i := range 3 {
		c.Start(i)
	}
	c.WaitReady()
	return c
}

// FreeAddr is a loopback address nobody listens on: routes need every
// server's address before any starts.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Start starts server i (0, 1 or 2) if it is stopped.
func (c *Cluster) Start(i int) {
	c.t.Helper()
	if c.servers[i] != nil {
		return
	}
	s, err := embedded.Start(c.settings[i], nil)
	if err != nil {
		c.t.Fatal(err)
	}
	c.servers[i] = s
}

// Stop shuts server i down cleanly and waits until it has.
func (c *Cluster) Stop(i int) {
	if c.servers[i] != nil {
		c.servers[i].Shutdown()
		c.servers[i] = nil
	}
}

// WaitReady waits until every running server's JetStream is current.
func (c *Cluster) WaitReady() {
	c.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		ready := true
		for _, s := range c.servers {
			if s != nil && !s.JetStreamReady() {
				ready = false
			}
		}
		if ready {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the NATS cluster's JetStream was not ready within %s", waitLimit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// URLs are the three servers' client URLs, running or not.
func (c *Cluster) URLs() []string {
	var urls []string
	for _, s := range c.settings {
		urls = append(urls, "nats://"+s.ClientListen)
	}
	return urls
}

// StreamLeader returns the index of the server that leads the stream,
// waiting until one does.
func (c *Cluster) StreamLeader(stream string) int {
	c.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		for i, s := range c.servers {
			if s != nil && s.IsStreamLeader(stream) {
				return i
			}
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no server led stream %s within %s", stream, waitLimit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
