package testkit

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/core"
)

// DiscardEvents reads s's events like a transport would, so that a user
// without a screen is not the slow one, until the session ends.
func DiscardEvents(s *core.Session) {
	out := s.Outbox()
	for {
		select {
		case <-out.Ready():
			out.Drain()
		case <-out.Done():
			return
		}
	}
}

// Chatter keeps room busy: senders users (over the web transport, from
// loopback) each post a 400-character line every interval, until the
// returned stop is called. Keep interval at or above the hub's steady
// message rate, or the senders get muted.
func Chatter(t testing.TB, hub *core.Hub, room string, senders int, interval time.Duration) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	filler := strings.Repeat("x", 400)
	for i := 0; i < senders; i++ {
		s, err := hub.Connect(core.ConnectInfo{LoginName: fmt.Sprintf("chatter%d", i), Transport: core.Web, IP: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			DiscardEvents(s)
		}()
		go func() {
			defer wg.Done()
			defer s.Close("")
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				case <-tick.C:
					_ = s.Send(room, fmt.Sprintf("%d %s", n, filler))
				}
			}
		}()
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
	t.Cleanup(stop)
	return stop
}

// MeasureCutOff reports how long the hub keeps a user who stopped
// reading while room is busy: connect must connect the user, who never
// reads, and return once it is in the hub. It returns the time from then
// until the hub has let the user go (20 chatters are left), or false if
// that did not happen within limit.
func MeasureCutOff(t testing.TB, hub *core.Hub, room string, limit time.Duration, connect func()) (time.Duration, bool) {
	t.Helper()
	connect()
	stop := Chatter(t, hub, room, 20, 600*time.Millisecond)
	defer stop()
	start := time.Now()
	for time.Since(start) < limit {
		if u, _, _ := hub.Counts(); u == 20 {
			return time.Since(start), true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return limit, false
}
