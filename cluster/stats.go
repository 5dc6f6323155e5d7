package cluster

import (
	"sync/atomic"
	"time"
)

// PublishBuckets are the upper bounds of the publish latency histogram.
var PublishBuckets = []time.Duration{
	500 * time.Microsecond, time.Millisecond, 2 * time.Millisecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond,
}

// Stats is what a node counts, for the parley_cluster_* metrics.
type Stats struct {
	Nodes           int      // live nodes, this one included
	Published       uint64   // entries the stream acknowledged
	PublishFailures uint64   // entries given up after PublishTimeout
	PublishSeconds  float64  // sum of the acknowledged entries' latencies
	PublishBuckets  []uint64 // cumulative counts per PublishBuckets bound
	Applied         uint64   // entries handed to the hub
	Gaps            uint64   // entries lost before this node applied them (repaired from a snapshot)
	ReapedUsers     uint64   // users of lost nodes this node released
	ReapedNodes     uint64   // lost node incarnations this node reaped
	Fenced          bool     // the node has cut its users off
	Fences          uint64   // times it did
	ConfigMismatch  int      // live nodes whose shared settings or SSH host key differ from this one's
	SlowConsumer    uint64   // NATS reported this node reading too slowly
}

// counters are the live form of Stats.
type counters struct {
	nodes, configMismatch                                     atomic.Int64
	published, publishFailures, publishNanos                  atomic.Uint64
	buckets                                                   [13]atomic.Uint64 // len(PublishBuckets)+1
	applied, gaps, reapedUsers, reapedNodes, fences, slowCons atomic.Uint64
	fenced                                                    atomic.Bool
}

func (c *counters) observePublish(d time.Duration) {
	c.published.Add(1)
	c.publishNanos.Add(uint64(d))
	i := 0
	for i < len(PublishBuckets) && d > PublishBuckets[i] {
		i++
	}
	c.buckets[i].Add(1)
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Nodes:           int(c.nodes.Load()),
		Published:       c.published.Load(),
		PublishFailures: c.publishFailures.Load(),
		PublishSeconds:  time.Duration(c.publishNanos.Load()).Seconds(),
		PublishBuckets:  make([]uint64, len(PublishBuckets)),
		Applied:         c.applied.Load(),
		Gaps:            c.gaps.Load(),
		ReapedUsers:     c.reapedUsers.Load(),
		ReapedNodes:     c.reapedNodes.Load(),
		Fenced:          c.fenced.Load(),
		Fences:          c.fences.Load(),
		ConfigMismatch:  int(c.configMismatch.Load()),
		SlowConsumer:    c.slowCons.Load(),
	}
	var sum uint64
	for i := range PublishBuckets {
		sum += c.buckets[i].Load()
		s.PublishBuckets[i] = sum
	}
	return s
}
