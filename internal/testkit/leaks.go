package testkit

import (
	"testing"
	"time"

	"go.uber.org/goleak"
)

// NoLeaks waits until no goroutine is left but those opts allow (use
// goleak.IgnoreCurrent taken before the work), failing after WaitLimit with
// the ones that stayed. Sessions wind down asynchronously, so a single
// look right after closing would report goroutines that are still ending.
func NoLeaks(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	deadline := time.Now().Add(WaitLimit)
	for {
		err := goleak.Find(opts...)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
