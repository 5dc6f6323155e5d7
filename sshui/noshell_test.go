package sshui

import (
	"bytes"
	"io"
	"testing"
	"time"

	"parley/internal/testkit"

	gossh "golang.org/x/crypto/ssh"
)

// closedWithin reports whether the server closes ch (its reads end)
// within the test's wait limit.
func closedWithin(ch gossh.Channel) bool {
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, ch)
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(testkit.WaitLimit):
		return false
	}
}

// Session channels that never start a shell hold neither memory nor a
// slot for long: one that sends a megabyte is closed once it passes the
// early input limit, a quiet one at the shell deadline; the same
// connection then opens a real session, and what it says is heard.
func TestChannelsWithoutAShellAreBounded(t *testing.T) {
	ts := startServer(t, nil, func(c *Config) {
		c.ShellTimeout = 500 * time.Millisecond
		c.EarlyInputBytes = 4096
	})
	alice := testkit.Dial(t, ts.addr, "alice", 100, 30)
	alice.WaitFor("#lobby")

	client, err := gossh.Dial("tcp", ts.addr, testkit.KeyLogin(t, "hoarder"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	open := func() gossh.Channel {
		ch, reqs, err := client.OpenChannel("session", nil)
		if err != nil {
			t.Fatal(err)
		}
		go gossh.DiscardRequests(reqs)
		pty := gossh.Marshal(ptyRequest{Term: "xterm", Columns: 80, Rows: 24})
		if ok, err := ch.SendRequest("pty-req", true, pty); !ok || err != nil {
			t.Fatalf("pty-req: %v %v", ok, err)
		}
		return ch
	}
	writer, quiet := open(), open()
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	for range 32 { // 1 MiB, within the client's 2 MiB window
		if _, err := writer.Write(chunk); err != nil {
			break // closed already
		}
	}
	if !closedWithin(writer) {
		t.Fatal("a channel that sent 1 MiB without a shell is still open")
	}
	if !closedWithin(quiet) {
		t.Fatal("a channel without a shell is still open past the deadline")
	}

	_, stdin, _, err := openShell(client, nil)
	if err != nil {
		t.Fatalf("the connection cannot open a real session after: %v", err)
	}
	io.WriteString(stdin, "here now\r")
	alice.WaitFor("here now")
}

// Keys typed before the shell starts reach it, in order.
func TestKeysTypedBeforeTheShellArrive(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := testkit.Dial(t, ts.addr, "alice", 100, 30)
	alice.WaitFor("#lobby")
	client, err := gossh.Dial("tcp", ts.addr, testkit.KeyLogin(t, "early"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ch, reqs, err := client.OpenChannel("session", nil)
	if err != nil {
		t.Fatal(err)
	}
	go gossh.DiscardRequests(reqs)
	go io.Copy(io.Discard, ch)
	pty := gossh.Marshal(ptyRequest{Term: "xterm", Columns: 80, Rows: 24})
	if ok, err := ch.SendRequest("pty-req", true, pty); !ok || err != nil {
		t.Fatalf("pty-req: %v %v", ok, err)
	}
	if _, err := io.WriteString(ch, "typed ahead\r"); err != nil {
		t.Fatal(err)
	}
	if ok, err := ch.SendRequest("shell", true, nil); !ok || err != nil {
		t.Fatalf("shell: %v %v", ok, err)
	}
	alice.WaitFor("typed ahead")
}
