package sshui

import (
	"os"
	"testing"

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
	ts := startServer(t, nil, nil)
	testkit.Soak(t, testkit.EnvInt("PARLEY_CYCLES", 10000), func(n int) { connectCycles(t, ts, n) })
}
