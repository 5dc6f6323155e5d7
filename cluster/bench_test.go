package cluster

import (
	"fmt"
	"testing"

	"parley/cluster/natstest"
	"parley/core"
)

// BenchmarkLog: entries appended on one node until three nodes have
// applied them all (one embedded server, R1). ns/op is the cost of one
// entry through the stream to three replicas.
func BenchmarkLog(b *testing.B) {
	srv := natstest.Embedded(b)
	var hubs []*fakeHub
	var first *Node
	for _, name := range []string{"a", "b", "c"} {
		n, h := start(b, testSettings(name, srv.ClientURL()))
		hubs = append(hubs, h)
		if first == nil {
			first = n
		}
	}
	b.ResetTimer()
	appendAll(first.Log(), fmt.Sprint("bench", b.N), b.N)
	for _, h := range hubs {
		waitFor(b, "every entry to be applied", func() bool {
			applied, _, _, _ := h.state()
			return len(applied) >= b.N
		})
	}
	b.StopTimer()
	st := first.Stats()
	b.ReportMetric(st.PublishSeconds/float64(st.Published)*1e3, "ms-publish/op")
}

// BenchmarkLogRoundTrip: one entry at a time, from its Append on one node
// until another node has applied it: the latency the cluster adds to a
// message. R1 on one server, and R3 on three routed servers.
func BenchmarkLogRoundTrip(b *testing.B) {
	b.Run("R1", func(b *testing.B) {
		srv := natstest.Embedded(b)
		roundTrips(b, testSettings("a", srv.ClientURL()), testSettings("b", srv.ClientURL()))
	})
	b.Run("R3", func(b *testing.B) {
		c3 := natstest.Cluster3(b)
		sa, sb := testSettings("a", c3.URLs()[0]), testSettings("b", c3.URLs()[1])
		sa.Replicas, sb.Replicas = 3, 3
		roundTrips(b, sa, sb)
	})
}

func roundTrips(b *testing.B, sa, sb Settings) {
	a, _ := start(b, sa)
	_, hb := start(b, sb)
	b.ResetTimer()
	for i := range b.N {
		a.Log().Append(core.Entry{ID: fmt.Sprint("rt", b.N, "-", i)})
		for {
			applied, _, _, _ := hb.state()
			if len(applied) > i {
				break
			}
			<-hb.changed
		}
	}
}
