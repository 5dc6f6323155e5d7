package admin

import (
	"fmt"
	"testing"

	"parley/core"
)

// BenchmarkRoomMessage measures one message into a room of 100, with and
// without the admin observer, to show what observing costs the hot path.
func BenchmarkRoomMessage(b *testing.B) {
	for _, observed := range []bool{false, true} {
		b.Run(fmt.Sprintf("observed=%v", observed), func(b *testing.B) {
			cfg := core.DefaultConfig()
			cfg.Limits.RateBurst, cfg.Limits.RatePerSec = 1<<30, 1e9
			var opts []core.Option
			if observed {
				srv, err := New(Options{})
				if err != nil {
					b.Fatal(err)
				}
				opts = append(opts, core.WithObserver(srv))
			}
			hub, err := core.NewHub(cfg, opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer hub.Stop()
			sessions := make([]*core.Session, 100)
			for i := range sessions {
				if sessions[i], err = hub.Connect(core.ConnectInfo{LoginName: fmt.Sprint("u", i), Transport: "ssh"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := sessions[i%100].Send("#lobby", "hello"); err != nil {
					b.Fatal(err)
				}
				if i%256 == 255 {
					for _, s := range sessions {
						s.Outbox().Drain()
					}
				}
			}
		})
	}
}
