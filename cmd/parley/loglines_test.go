package main

import (
	"strings"
	"testing"

	"parley/internal/testkit"

	gossh "golang.org/x/crypto/ssh"
)

// A login name and a TERM of 50 KB each make a log line of a few
// hundred bytes, not 100 KB.
func TestLongLoginNameAndTermAreClippedInTheLog(t *testing.T) {
	s := startServer(t, nil, "--config", quickStop(t), "--hostkey-dir", t.TempDir(), "--ssh-addr", "127.0.0.1:0",
		"--http-addr", "")
	long := strings.Repeat("n", 50_000)
	client, err := gossh.Dial("tcp", s.sshAddr, testkit.KeyLogin(t, long))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty(strings.Repeat("t", 50_000), 24, 80, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "ssh session started")
	for _, line := range strings.Split(s.logs.String(), "\n") {
		if len(line) > 2000 {
			t.Fatalf("a log line of %d bytes: %.300s…", len(line), line)
		}
	}
}
