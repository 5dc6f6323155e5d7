package testkit

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// EnvInt reads a positive whole number from the environment variable
// name, for the sizes of long tests and measurements; def otherwise.
func EnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// LiveHeap is the heap the last garbage collection found in use.
func LiveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Cycles runs one(i) for every i in [0, n) from workers goroutines and
// fails the test with every error it returned.
func Cycles(t testing.TB, n, workers int, one func(i int) error) {
	t.Helper()
	jobs := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				if err := one(i); err != nil {
					errs <- fmt.Errorf("cycle %d: %w", i, err)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// soakHeapSlack is how far the live heap may end above its baseline: a
// leak of even one kilobyte per cycle over 10,000 cycles passes it by far.
const soakHeapSlack = 8 << 20

// Soak runs cycles(n) once to warm up (pools and caches that live as long
// as the server join the baseline), takes the goroutines and the live
// heap as the baseline, runs cycles(total), and checks that both return
// to it. cycles must return once every connection it made is gone from
// the server.
func Soak(t testing.TB, total int, cycles func(n int)) {
	t.Helper()
	cycles(100)
	time.Sleep(time.Second)
	ignore := goleak.IgnoreCurrent()
	runtime.GC()
	heap0, gor0 := LiveHeap(), runtime.NumGoroutine()

	start := time.Now()
	cycles(total)
	took := time.Since(start)

	NoLeaks(t, ignore)
	var heap1 uint64
	Eventually(t, "the live heap to return to its baseline", func() bool {
		runtime.GC()
		heap1 = LiveHeap()
		return heap1 <= heap0+soakHeapSlack
	})
	t.Logf("%d cycles in %s (%.0f a second); goroutines %d → %d; live heap %.1f → %.1f MiB",
		total, took.Round(time.Second), float64(total)/took.Seconds(), gor0, runtime.NumGoroutine(),
		float64(heap0)/(1<<20), float64(heap1)/(1<<20))
}
