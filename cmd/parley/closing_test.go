package main

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"parley/internal/testkit"
)

// At shutdown every browser gets the closing message, with the reason,
// before its connection ends.
func TestEveryBrowserGetsTheClosingMessage(t *testing.T) {
	const browsers = 100
	s := startServer(t, nil, "--config", quickStop(t), "--ssh-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--hostkey-dir", t.TempDir())
	clients := make([]*loadClient, browsers)
	for i := range clients {
		c, err := dialWebUser(s.httpAddr, fmt.Sprintf("web%d", i))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.close)
		clients[i] = c
	}
	testkit.Eventually(t, "every welcome", func() bool {
		for _, c := range clients {
			if !c.saw(`"welcome"`) {
				return false
			}
		}
		return true
	})
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	missed := 0
	for _, c := range clients {
		select {
		case <-c.closed:
		case <-time.After(testkit.WaitLimit):
			t.Fatal("a browser was not disconnected")
		}
		if !c.saw(`{"type":"closing","text":"Parley has shut down"}`) {
			missed++
		}
	}
	if missed > 0 {
		t.Fatalf("%d of %d browsers did not get the closing message", missed, browsers)
	}
}
