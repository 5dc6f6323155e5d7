package sshui

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"parley/internal/testkit"
)

// TestOnlyTheTerminalIsServed asks, over a real SSH connection, for what
// a chat has no use for: environment variables, the sftp subsystem,
// agent and X11 forwarding on the session, then remote and local port
// forwarding on the connection. Each is refused, and the same session
// then opens its terminal and chats as usual.
func TestOnlyTheTerminalIsServed(t *testing.T) {
	ts := startServer(t, nil, nil)
	bob := joinLobby(t, ts, "bob")[0]
	client, err := gossh.Dial("tcp", ts.addr, testkit.KeyLogin(t, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	var refusals []string
	expectRefused := func(what string, err error) {
		if err == nil {
			refusals = append(refusals, what+" was granted")
		}
	}
	_, stdin, _, err := openShell(client, func(sess *gossh.Session) error {
		expectRefused("env LC_PARLEY", sess.Setenv("LC_PARLEY", "1"))
		for i := 0; i < 1000; i++ {
			if err := sess.Setenv(fmt.Sprintf("FLOOD%d", i), strings.Repeat("x", 1000)); err == nil {
				refusals = append(refusals, "a flood of env requests was kept")
				break
			}
		}
		if err := sess.Setenv("COLORTERM", "truecolor"); err != nil {
			return fmt.Errorf("COLORTERM, the one variable read, was refused: %w", err)
		}
		expectRefused("a second COLORTERM", sess.Setenv("COLORTERM", "24bit"))
		expectRefused("the sftp subsystem", sess.RequestSubsystem("sftp"))
		expectRefused("agent forwarding", agent.RequestAgentForwarding(sess))
		ok, err := sess.SendRequest("x11-req", true, gossh.Marshal(struct {
			Single           bool
			Protocol, Cookie string
			Screen           uint32
		}{false, "MIT-MAGIC-COOKIE-1", "00112233445566778899aabbccddeeff", 0}))
		if err != nil {
			return err
		}
		if ok {
			refusals = append(refusals, "X11 forwarding was granted")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	ok, _, err := client.SendRequest("tcpip-forward", true, gossh.Marshal(struct {
		Addr string
		Port uint32
	}{"127.0.0.1", 0}))
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		refusals = append(refusals, "remote port forwarding (tcpip-forward) was granted")
	}
	if ln, err := client.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
		refusals = append(refusals, "a remote listener was opened")
	}
	if c, err := client.Dial("tcp", ts.addr); err == nil {
		c.Close()
		refusals = append(refusals, "local port forwarding (direct-tcpip) was granted")
	}
	if len(refusals) > 0 {
		t.Fatal(strings.Join(refusals, "; "))
	}

	if _, err := stdin.Write([]byte("nothing was forwarded\r")); err != nil {
		t.Fatal(err)
	}
	bob.WaitFor("nothing was forwarded")
	bob.TypeLine("and bob chats on")
	bob.WaitFor("and bob chats on")
}

// panicOnLogin is a log handler that panics while the session of login
// starts, standing in for a bug inside one session, and keeps the rest.
type panicOnLogin struct {
	login  string
	logged *testkit.Buffer
}

func (h panicOnLogin) Enabled(context.Context, slog.Level) bool { return true }

func (h panicOnLogin) Handle(_ context.Context, r slog.Record) error {
	line := r.Level.String() + " " + r.Message
	boom := false
	r.Attrs(func(a slog.Attr) bool {
		line += " " + a.String()
		boom = boom || (r.Message == "ssh session started" && a.Key == "login" && a.Value.String() == h.login)
		return true
	})
	if boom {
		panic("a bug in " + h.login + "'s session")
	}
	fmt.Fprintln(h.logged, line)
	return nil
}

func (h panicOnLogin) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicOnLogin) WithGroup(string) slog.Handler      { return h }

// TestPanicInOneSessionIsContained makes one session panic once it is in
// the hub: the panic is recovered and logged, that session ends and
// leaves the hub, and the others keep chatting.
func TestPanicInOneSessionIsContained(t *testing.T) {
	logged := &testkit.Buffer{}
	ts := startServer(t, nil, func(c *Config) {
		c.Logger = slog.New(panicOnLogin{login: "boom", logged: logged})
	})
	users := joinLobby(t, ts, "alice", "bob")
	alice, bob := users[0], users[1]

	boom := testkit.Dial(t, ts.addr, "boom", 100, 30)
	boom.WaitEnded()
	testkit.Eventually(t, "the panicked session to leave the hub", func() bool { u, _, _ := ts.hub.Counts(); return u == 2 })
	testkit.Eventually(t, "the panic in the log", func() bool {
		return strings.Contains(logged.String(), "ERROR sshui: recovered panic where=session panic=a bug in boom's session")
	})

	alice.TypeLine("still here after the panic")
	bob.WaitFor("still here after the panic")
	late := testkit.Dial(t, ts.addr, "carol", 100, 30)
	late.WaitFor("#lobby · 3 members")
}
