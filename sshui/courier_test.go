package sshui

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/internal/testkit"
)

// deliveryFunc makes a function a delivery.
type deliveryFunc func()

func (f deliveryFunc) deliver() { f() }

// runnerCount is how many goroutines the pool runs.
func (p *courierPool) runnerCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.runners)
}

// Every delivery runs once, never more at a time than the pool's limit
// while none is stuck, and no goroutine is left once all are done.
func TestCourierPoolRunsEachDeliveryOnceWithinItsLimit(t *testing.T) {
	const limit, n = 3, 2000
	p := newCourierPool(limit, time.Hour) // the watchdog never looks
	var ran [n]atomic.Int32
	var active, most atomic.Int32
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		p.queue(deliveryFunc(func() {
			defer wg.Done()
			a := active.Add(1)
			for m := most.Load(); a > m && !most.CompareAndSwap(m, a); m = most.Load() {
			}
			ran[i].Add(1)
			time.Sleep(time.Microsecond)
			active.Add(-1)
		}))
	}
	wg.Wait()
	for i := range ran {
		if got := ran[i].Load(); got != 1 {
			t.Fatalf("delivery %d ran %d times", i, got)
		}
	}
	if m := most.Load(); m > limit {
		t.Fatalf("%d deliveries ran at once; the limit is %d", m, limit)
	}
	testkit.Eventually(t, "the runners to end", func() bool { return p.runnerCount() == 0 })
}

// Deliveries stuck writing to clients that stopped reading do not hold
// up the others: the watchdog starts runners in place of the stuck ones,
// and those end once their deliveries do.
func TestCourierPoolGoesOnPastStuckDeliveries(t *testing.T) {
	const limit = 2
	p := newCourierPool(limit, 5*time.Millisecond)
	release := make(chan struct{})
	var stuck sync.WaitGroup
	stuck.Add(limit + 1)
	for range limit + 1 {
		p.queue(deliveryFunc(func() {
			defer stuck.Done()
			<-release
		}))
	}
	var done atomic.Int32
	for range 100 {
		p.queue(deliveryFunc(func() { done.Add(1) }))
	}
	testkit.Eventually(t, "the deliveries behind the stuck ones", func() bool { return done.Load() == 100 })
	if n := p.runnerCount(); n < limit+1 {
		t.Fatalf("%d runners while %d deliveries are stuck", n, limit+1)
	}
	close(release)
	stuck.Wait()
	testkit.Eventually(t, "the runners to end", func() bool { return p.runnerCount() == 0 })
}
