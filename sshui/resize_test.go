package sshui

import (
	"log/slog"
	"regexp"
	"strconv"
	"testing"
	"time"

	"parley/internal/testkit"
)

// TestWindowChangeFloodIsThrottled has one user send window changes
// without pause for a second. The session re-lays itself out at most
// about ten times a second, ends at the last size sent, stays responsive,
// and the others' chat goes on meanwhile.
func TestWindowChangeFloodIsThrottled(t *testing.T) {
	logs := &testkit.Buffer{}
	ts := startServer(t, nil, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
	})
	users := joinLobby(t, ts, "alice", "bob")
	alice, bob := users[0], users[1]

	const flood = time.Second
	sent := 0
	start := time.Now()
	for time.Since(start) < flood {
		alice.Resize(100+sent%2, 30+sent%3)
		sent++
		if sent == 200 {
			bob.TypeLine("said during the flood")
		}
	}
	alice.Resize(30, 8)
	took := time.Since(start)
	t.Logf("alice sent %d window changes in %s", sent, took.Round(time.Millisecond))
	if sent < 1000 {
		t.Fatalf("only %d window changes sent: not a flood", sent)
	}

	alice.WaitFor("Terminal too small")
	alice.WaitFor("30×8")
	alice.Resize(100, 30)
	alice.WaitFor("said during the flood")
	alice.TypeLine("alice is fine")
	bob.WaitFor("alice is fine")

	alice.Press(testkit.CtrlC)
	alice.WaitEnded()
	var line []string
	testkit.Eventually(t, "alice's session to end in the log", func() bool {
		line = regexp.MustCompile(`msg="ssh session ended".* resizes=(\d+)`).FindStringSubmatch(logs.String())
		return line != nil
	})
	applied, _ := strconv.Atoi(line[1])
	// Ten a second over the whole flood, the two sizes after it, and one
	// in hand for a tick at either end.
	allowed := int(took/(100*time.Millisecond)) + 4
	t.Logf("the session re-laid itself out %d times (at most %d allowed)", applied, allowed)
	if applied > allowed || applied < 2 {
		t.Fatalf("%d window changes led to %d re-layouts; want between 2 and %d", sent, applied, allowed)
	}
}
