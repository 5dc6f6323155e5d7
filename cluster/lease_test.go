package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"parley/cluster/natstest"
	"parley/core"
	"parley/internal/testkit"
)

// A second process with a running node's name refuses to start.
func TestNodeNameInUse(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	start(t, leaseSettings("a", srv.ClientURL()))
	n, err := Connect(ctxT(t), leaseSettings("a", srv.ClientURL()), nil)
	if !errors.Is(err, ErrNodeInUse) {
		if n != nil {
			n.Close()
		}
		t.Fatalf("a second node a: %v, want ErrNodeInUse", err)
	}
}

// countLost counts the Lost entries a hub applied for node/incarnation.
func countLost(h *fakeHub, node, inc string) int {
	_, lost, _, _ := h.state()
	return len(slices.DeleteFunc(lost, func(s string) bool { return s != node+"/"+inc }))
}

// A node that dies without a goodbye is reaped within its lease's time:
// one Lost entry everywhere, its names and codes free again.
func TestLostNodeIsReaped(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	a, ha := start(t, leaseSettings("a", srv.ClientURL()))
	b, _ := start(t, leaseSettings("b", srv.ClientURL()))
	c, hc := start(t, leaseSettings("c", srv.ClientURL()))
	ctx := ctxT(t)
	bob := core.Owner{Node: "b", Incarnation: b.Incarnation(), User: 7}
	if err := b.Directory().Claim(ctx, core.ClaimName, "bob", bob); err != nil {
		t.Fatal(err)
	}
	if err := b.Directory().Claim(ctx, core.ClaimCode, "BOBCODE2", bob); err != nil {
		t.Fatal(err)
	}
	halted := time.Now()
	b.Halt()
	waitFor(t, "a and c to apply b's Lost entry", func() bool {
		return countLost(ha, "b", bob.Incarnation) == 1 && countLost(hc, "b", bob.Incarnation) == 1
	})
	t.Logf("b reaped %s after it halted (node_ttl %s)", time.Since(halted).Round(time.Millisecond), leaseSettings("").NodeTTL)
	other := core.Owner{Node: "a", Incarnation: a.Incarnation(), User: 8}
	waitFor(t, "b's name and code to be free", func() bool {
		return a.Directory().Claim(ctx, core.ClaimName, "bob", other) == nil &&
			a.Directory().Claim(ctx, core.ClaimCode, "BOBCODE2", other) == nil
	})
	sameEverywhere(t, 1, ha, hc)
	waitFor(t, "one reaped user to be counted", func() bool {
		return a.Stats().ReapedUsers+c.Stats().ReapedUsers == 1
	})
	waitFor(t, "a to count two nodes", func() bool { return a.Stats().Nodes == 2 })
}

// A node that restarts within its lease's time takes the lease over from
// its dead previous process and ends that process's sessions, once.
func TestRestartWithinTTLReapsPreviousProcess(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	a, ha := start(t, leaseSettings("a", srv.ClientURL()))
	b, _ := start(t, leaseSettings("b", srv.ClientURL()))
	ctx := ctxT(t)
	old := b.Incarnation()
	bob := core.Owner{Node: "b", Incarnation: old, User: 7}
	if err := b.Directory().Claim(ctx, core.ClaimName, "bob", bob); err != nil {
		t.Fatal(err)
	}
	b.Halt()
	b2, hb2 := start(t, leaseSettings("b", srv.ClientURL()))
	if b2.Incarnation() == old {
		t.Fatal("the restarted node kept its incarnation")
	}
	if countLost(hb2, "b", old) != 1 {
		t.Fatal("the restarted node serves before its previous process's sessions ended")
	}
	waitFor(t, "a to apply the previous b's Lost entry", func() bool { return countLost(ha, "b", old) == 1 })
	if err := a.Directory().Claim(ctx, core.ClaimName, "bob", core.Owner{Node: "a", User: 1}); err != nil {
		t.Fatalf("the previous b's name is still held: %v", err)
	}
	// Past the old lease's time, the old process is still reaped once.
	if err := sleep(ctx, leaseSettings("").NodeTTL); err != nil {
		t.Fatal(err)
	}
	if n := countLost(ha, "b", old); n != 1 {
		t.Fatalf("the previous b was reaped %d times, want once", n)
	}
}

// A node cut off from NATS — its connections reset, or silently dead —
// fences itself before its lease can expire, and serves again once NATS
// is back; the others end its cut-off sessions. Appending never waits on
// the dead link.
func TestFenceAndRecover(t *testing.T) {
	for _, fault := range []string{"cut", "blackhole"} {
		t.Run(fault, func(t *testing.T) {
			noLeaks(t)
			srv := natstest.Embedded(t)
			proxy := natstest.NewProxy(t, srv.ClientURL()[len("nats://"):])
			a, ha := start(t, leaseSettings("a", proxy.URL()))
			_, hb := start(t, leaseSettings("b", srv.ClientURL()))
			cut := time.Now()
			if fault == "cut" {
				proxy.Cut()
			} else {
				proxy.Blackhole()
			}
			appendAll(a.Log(), "during", 100)
			waitFor(t, "a to fence", func() bool {
				_, _, fences, _ := ha.state()
				return fences == 1 && a.Ready() != nil
			})
			fencedAfter := time.Since(cut)
			waitFor(t, "b to end a's sessions", func() bool { return countLost(hb, "a", a.Incarnation()) >= 1 })
			ha.mu.Lock()
			fenced := ha.fenceTick
			ha.mu.Unlock()
			hb.mu.Lock()
			reaped := hb.lostTick
			hb.mu.Unlock()
			if reaped < fenced {
				t.Fatal("b ended a's sessions before a had fenced itself: for a while both served them")
			}
			proxy.Restore()
			waitFor(t, "a to serve again", func() bool {
				_, _, _, unfences := ha.state()
				return unfences == 1 && a.Ready() == nil
			})
			a.Log().Append(core.Entry{ID: "after", Conv: "#lobby"})
			waitFor(t, "b to apply a's entry", func() bool {
				applied, _, _, _ := hb.state()
				return slices.Contains(applied, "after")
			})
			applied, _, _, _ := ha.state()
			sameEverywhere(t, len(applied), ha, hb)
			if st := a.Stats(); st.Fences != 1 || st.Fenced {
				t.Errorf("a's stats %+v: want one fence, not fenced now", st)
			}
			t.Logf("fenced %s after the link died (node_ttl %s)", fencedAfter.Round(time.Millisecond), leaseSettings("").NodeTTL)
		})
	}
}

// Settings name what is wrong.
func TestSettingsValidate(t *testing.T) {
	good := testSettings("a", "nats://127.0.0.1:4222")
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		change func(*Settings)
		want   string
	}{
		{func(s *Settings) { s.Node = "A b" }, "cluster.node"},
		{func(s *Settings) { s.NATS = nil }, "cluster.nats is empty"},
		{func(s *Settings) { s.NATS = []string{"http://x"} }, "cluster.nats"},
		{func(s *Settings) { s.NodeTTL = 2 * s.Heartbeat }, "cluster.node_ttl"},
		{func(s *Settings) { s.Replicas = 2 }, "cluster.replicas"},
		{func(s *Settings) { s.TLSCert = "c.pem" }, "cluster.tls_cert and cluster.tls_key"},
		{func(s *Settings) { s.Prefix = "a.b" }, "cluster.prefix"},
		{func(s *Settings) { s.PublishTimeout = -1 }, "cluster.publish_timeout"},
	} {
		s := good
		tc.change(&s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want an error naming %q", err, tc.want)
		}
	}
}

// Nodes that differ in their shared settings or their SSH host key are
// counted (and logged), so an operator learns of the drift.
func TestDriftIsCounted(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	s := func(node, config, hostKey string) Settings {
		st := testSettings(node, srv.ClientURL())
		st.ConfigHash, st.HostKey = config, hostKey
		return st
	}
	a, _ := start(t, s("a", "same", "SHA256:one"))
	start(t, s("b", "same", "SHA256:one"))
	waitFor(t, "a counts b", func() bool { return a.Stats().Nodes == 2 })
	if m := a.Stats().ConfigMismatch; m != 0 {
		t.Fatalf("%d mismatches among nodes that agree", m)
	}
	start(t, s("c", "same", "SHA256:two"))
	start(t, s("d", "other", "SHA256:one"))
	waitFor(t, "a counts c's host key and d's settings", func() bool { return a.Stats().ConfigMismatch == 2 })
}

// Asking for more replicas than there are NATS servers fails with what to
// change, once the start's time is up.
func TestTooManyReplicasIsExplained(t *testing.T) {
	noLeaks(t)
	srv := natstest.Embedded(t)
	s := testSettings("a", srv.ClientURL())
	s.Replicas = 3
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	n, err := Connect(ctx, s, nil)
	if err == nil {
		n.Close()
		t.Fatal("three replicas on one server were accepted")
	}
	if !strings.Contains(err.Error(), "cluster.replicas = 3") {
		t.Fatalf("error %q does not say what to change", err)
	}
}

// A NATS server without JetStream is refused with how to turn it on.
func TestNATSWithoutJetStreamIsExplained(t *testing.T) {
	noLeaks(t)
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { srv.Shutdown(); srv.WaitForShutdown() })
	if !srv.ReadyForConnections(testkit.WaitLimit) {
		t.Fatal("the NATS server did not start")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	n, err := Connect(ctx, testSettings("a", srv.ClientURL()), nil)
	if err == nil {
		n.Close()
		t.Fatal("a NATS server without JetStream was accepted")
	}
	if !strings.Contains(err.Error(), "nats-server -js") {
		t.Fatalf("error %q does not say to turn JetStream on", err)
	}
}

// A compare-and-set write that meets an earlier write still settling in a
// replicated stream (10164) is made again until it is decided; any other
// answer, a real revision mismatch (10071) included, is final.
func TestUntilSettledRetriesOnlyWhatIsUndecided(t *testing.T) {
	mismatch := func(code jetstream.ErrorCode) error {
		return fmt.Errorf("%w: %w", &jetstream.APIError{Code: 400, ErrorCode: code, Description: "wrong last sequence"}, jetstream.ErrKeyRevisionMismatch)
	}
	tries := 0
	err := untilSettled(ctxT(t), func() error {
		if tries++; tries < 3 {
			return mismatch(jetstream.JSErrCodeStreamWrongLastSequenceConstant)
		}
		return nil
	})
	if err != nil || tries != 3 {
		t.Fatalf("a write settling twice: %v after %d tries, want success after 3", err, tries)
	}
	tries = 0
	err = untilSettled(ctxT(t), func() error {
		tries++
		return mismatch(jetstream.JSErrCodeStreamWrongLastSequence)
	})
	if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) || tries != 1 {
		t.Fatalf("a real mismatch: %v after %d tries, want it at once", err, tries)
	}
}
