package sshui

import (
	"os"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"

	"parley/internal/testkit"
)

// TestLongConnectCycles connects and disconnects PARLEY_CYCLES sessions
// (10,000 by default; half drop the connection, half quit with Ctrl-C)
// and checks that goroutines and the live heap return to their baseline.
// It takes minutes, so it runs only with PARLEY_LONG=1, as CI does:
//
//	PARLEY_LONG=1 go test ./sshui/ -run '^TestLong' -v -count=1 -timeout 30m
func TestLongConnectCycles(t *testing.T) {
	if testing.Short() || os.Getenv("PARLEY_LONG") != "1" {
		t.Skip("a long test: set PARLEY_LONG=1 to run it")
	}
	cycles := envInt("PARLEY_CYCLES", 10000)
	// A leak of even one kilobyte per session would pass this slack by far.
	const heapSlack = 8 << 20
	ts := startServer(t, nil, nil)
	// Warm up, so that pools and caches that live as long as the server
	// are part of the baseline.
	connectCycles(t, ts, 100)
	time.Sleep(time.Second)
	ignore := goleak.IgnoreCurrent()
	runtime.GC()
	heap0, gor0 := liveHeap(), runtime.NumGoroutine()

	start := time.Now()
	connectCycles(t, ts, cycles)
	took := time.Since(start)

	testkit.NoLeaks(t, ignore)
	var heap1 uint64
	testkit.Eventually(t, "the live heap to return to its baseline", func() bool {
		runtime.GC()
		heap1 = liveHeap()
		return heap1 <= heap0+heapSlack
	})
	t.Logf("%d cycles in %s (%.0f a second); goroutines %d → %d; live heap %.1f → %.1f MiB",
		cycles, took.Round(time.Second), float64(cycles)/took.Seconds(), gor0, runtime.NumGoroutine(),
		float64(heap0)/(1<<20), float64(heap1)/(1<<20))
}
