package core

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkChatDuringPasswordFlood measures a chat message's way from
// one member to another while 16 users create password rooms as fast as
// they can (one try per 5 ms each), with password_workers = 1 (the default) and 16 (about what
// an unbounded server did). It reports the cores the process used
// during the run and the password rooms created per second. The flooders' own limits are lifted, as for 16
// attackers on 16 addresses.
func BenchmarkChatDuringPasswordFlood(b *testing.B) {
	for _, workers := range []int{1, 16} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			benchmarkChatDuringPasswordFlood(b, workers)
		})
	}
}

func benchmarkChatDuringPasswordFlood(b *testing.B, workers int) {
	cfg := DefaultConfig()
	cfg.Limits.RateBurst, cfg.Limits.RatePerSec = 1<<30, 1<<30
	cfg.Limits.PasswordChecks, cfg.Limits.PasswordWorkers, cfg.Limits.PasswordQueue = 1<<30, workers, 16
	h, err := NewHub(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer h.Stop()
	connect := func(name string) *Session {
		s, err := h.Connect(ConnectInfo{LoginName: name, Transport: "web", IP: "127.0.0.1"})
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	alice, bob := connect("alice"), connect("bob")
	defer alice.Close("")
	defer bob.Close("")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var created atomic.Int64
	for f := range 16 {
		s := connect(fmt.Sprintf("flooder%d", f))
		defer s.Close("")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if s.Input(fmt.Sprintf("/join #f%d-%d secret", f, i)) == nil {
					created.Add(1)
					s.Input("/leave")
				}
				s.Outbox().Drain()
				time.Sleep(5 * time.Millisecond) // a client's round trip

			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // let the flood start
	bob.Outbox().Drain()
	cpu0, wall0, created0 := cpuTime(), time.Now(), created.Load()
	b.ResetTimer()
	for b.Loop() {
		if err := alice.Send("#lobby", "hi"); err != nil {
			b.Fatal(err)
		}
	wait:
		for {
			for _, ev := range bob.Outbox().Drain() {
				if ev.Kind == EventMessage && ev.Msg.Text == "hi" {
					break wait
				}
			}
			<-bob.Outbox().Ready()
		}
	}
	b.StopTimer()
	wall := time.Since(wall0).Seconds()
	b.ReportMetric((cpuTime()-cpu0).Seconds()/wall, "cores")
	b.ReportMetric(float64(created.Load()-created0)/wall, "hashes/s")
	close(stop)
	wg.Wait()
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var u syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
