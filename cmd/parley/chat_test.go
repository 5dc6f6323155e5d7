package main

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"parley/internal/testkit"
)

// Two people chat through the built binary, and both see the shutdown
// warning with the configured grace before their sessions end.
func TestUsersChatAndSeeTheShutdown(t *testing.T) {
	grace := 2 * time.Second
	cfg := writeFile(t, "parley.toml", fmt.Sprintf("[server]\nshutdown_grace = %q\n", grace))
	s := startServer(t, nil, "--config", cfg, "--ssh-addr", "127.0.0.1:0", "--http-addr", "", "--hostkey-dir", t.TempDir())

	alice := testkit.Dial(t, s.sshAddr, "alice", 100, 30)
	bob := testkit.Dial(t, s.sshAddr, "bob", 100, 30)
	alice.WaitFor("bob joined")
	alice.TypeLine("hello from alice")
	bob.WaitFor("hello from alice")

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for _, term := range []*testkit.Term{alice, bob} {
		term.WaitFor(fmt.Sprintf("Parley is shutting down in %s", grace))
	}
	alice.WaitEnded()
	bob.WaitEnded()
	select {
	case <-s.exited:
	case <-time.After(testkit.WaitLimit):
		t.Fatal("parley did not exit")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
