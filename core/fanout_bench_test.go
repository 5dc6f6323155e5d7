package core

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkFanout measures one message posted to a room of members
// sessions, including every member draining its outbox, the way a
// transport's session loop would. Rate limits are lifted so the sender is
// never refused.
func BenchmarkFanout(b *testing.B) {
	for _, members := range []int{100, 1000} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			benchmarkFanout(b, members)
		})
	}
}

func benchmarkFanout(b *testing.B, members int) {
	cfg := DefaultConfig()
	cfg.Limits.RateBurst = 1 << 30
	cfg.Limits.RatePerSec = 1 << 30
	h, err := NewHub(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Stop()
	sessions := make([]*Session, members)
	for i := range sessions {
		s, err := h.Connect(ConnectInfo{LoginName: fmt.Sprintf("member%d", i), Transport: "ssh", IP: "127.0.0.1"})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close("")
		sessions[i] = s
	}
	if members > cfg.Limits.MemberEventsUpTo {
		awaitMemberCount(b, sessions[0].Outbox(), members)
		h.Counts() // the count reaches the others in the same pass: wait for its end
	}
	for _, s := range sessions {
		s.Outbox().Drain()
	}
	sender := sessions[0]
	room := "#" + cfg.DefaultRoom
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := sender.Send(room, "hello everyone"); err != nil {
			b.Fatal(err)
		}
		for _, s := range sessions {
			if evs := s.Outbox().Drain(); len(evs) != 1 {
				b.Fatalf("%s drained %d events, want 1: %+v", s.Name(), len(evs), evs)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(members), "ns/delivery")
}

// awaitMemberCount waits for the member count a big room sends a moment
// after its joins, so that it does not arrive inside the measured loop.
func awaitMemberCount(b *testing.B, o *Outbox, want int) {
	b.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for _, ev := range o.Drain() {
			if ev.Kind == EventMemberCount && ev.N == want {
				return
			}
		}
		select {
		case <-o.Ready():
		case <-deadline:
			b.Fatalf("no member count of %d arrived", want)
		}
	}
}
