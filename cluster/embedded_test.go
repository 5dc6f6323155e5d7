package cluster

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"parley/cluster/embedded"
	"parley/cluster/natstest"
	"parley/internal/testkit"
)

// Three nodes in all-in-one mode, each running its own NATS server routed
// to the others, start together, keep three replicas and share one log.
func TestAllInOneCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("three NATS servers")
	}
	noLeaks(t)
	var client, route [3]string
	for i := range 3 {
		client[i], route[i] = natstest.FreeAddr(t), natstest.FreeAddr(t)
	}
	var (
		wg    sync.WaitGroup
		nodes [3]*Node
		hubs  [3]*fakeHub
		errs  [3]error
	)
	for i := range 3 {
		var routes []string
		for j := range 3 {
			if j != i {
				routes = append(routes, "nats-route://"+route[j])
			}
		}
		s := testSettings(fmt.Sprint("n", i+1))
		s.Replicas = 3
		s.Embed = &embedded.Settings{ClientListen: client[i], ClusterListen: route[i], Routes: routes, StoreDir: t.TempDir()}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Three servers starting together elect JetStream's leaders
			// with timeouts of seconds, retried on a busy machine.
			ctx, cancel := context.WithTimeout(context.Background(), 2*testkit.WaitLimit)
			defer cancel()
			if nodes[i], errs[i] = Connect(ctx, s, testLogger); errs[i] != nil {
				return
			}
			hubs[i] = newFakeHub()
			errs[i] = nodes[i].Attach(ctx, hubs[i], Hooks{})
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		// All at once: closed one by one, the last would wait for a
		// quorum of servers that are gone.
		var closing sync.WaitGroup
		for _, n := range nodes {
			if n != nil {
				closing.Go(func() { _ = n.Close() })
			}
		}
		closing.Wait()
	})
	for i := range nodes {
		if errs[i] != nil {
			t.Fatalf("node %d: %v", i+1, errs[i])
		}
	}
	for i, n := range nodes {
		appendAll(n.Log(), fmt.Sprint("n", i), 50)
	}
	sameEverywhere(t, 150, hubs[:]...)
}
