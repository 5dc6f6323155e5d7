package sshui

import (
	"fmt"
	"testing"

	"go.uber.org/goleak"
	gossh "golang.org/x/crypto/ssh"

	"parley/internal/testkit"
)

// TestThousandSessionsLeaveNoGoroutines connects and disconnects 1,000
// sessions, half dropping the connection and half quitting with Ctrl-C,
// and checks that nothing they started is still running.
func TestThousandSessionsLeaveNoGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("connects 1,000 sessions")
	}
	ts := startServer(t, nil, nil)
	ignore := goleak.IgnoreCurrent()
	connectCycles(t, ts, 1000)

	testkit.NoLeaks(t, ignore)
}

// connectOnce opens a session, waits for the first screen, then either
// drops the connection or quits with Ctrl-C and waits for the end.
func connectOnce(addr string, cfg *gossh.ClientConfig, drop bool) error {
	client, err := gossh.Dial("tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer client.Close()
	sess, stdin, stdout, err := openShell(client, nil)
	if err != nil {
		return err
	}
	if drop {
		return client.Close()
	}
	// Ctrl-C after the answer to the cursor question of the first frame,
	// as a terminal gives it: the server waits for an answer still out
	// when a session ends, so that it does not land at the shell prompt.
	if _, err := stdin.Write([]byte("\x1b[1;1R\x03")); err != nil {
		return err
	}
	if err := readUntil(stdout, "Parley: bye"); err != nil {
		return err
	}
	if err := sess.Wait(); err != nil {
		return fmt.Errorf("after Ctrl-C: %w", err)
	}
	return nil
}

// connectCycles connects and ends n sessions from 8 workers: every other
// one logs in with a key, and half of them drop the connection while the
// others press Ctrl-C. It returns once every user has left the hub.
func connectCycles(t testing.TB, ts *testServer, n int) {
	t.Helper()
	withKey := testkit.KeyLogin(t, "keyed")
	keyless := testkit.KeylessLogin("guest")
	testkit.Cycles(t, n, 8, func(i int) error {
		cfg := keyless
		if i%2 == 0 {
			cfg = withKey
		}
		return connectOnce(ts.addr, cfg, i%4 < 2)
	})
	testkit.Eventually(t, "every user to leave the hub", func() bool { u, _, _ := ts.hub.Counts(); return u == 0 })
}
