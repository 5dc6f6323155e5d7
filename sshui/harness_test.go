package sshui

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"testing"

	"parley/core"
	"parley/internal/testkit"

	gossh "golang.org/x/crypto/ssh"
)

type testServer struct {
	addr string
	hub  *core.Hub
	srv  *Server
}

// startServer runs a hub and an SSH server on 127.0.0.1:0 until the test
// ends. The mutators adjust the configs before use; opts go to the hub.
func startServer(t testing.TB, coreMut func(*core.Config), sshMut func(*Config), opts ...core.Option) *testServer {
	t.Helper()
	ccfg := core.DefaultConfig()
	ccfg.Rooms = append(ccfg.Rooms, core.RoomConfig{Name: "games", Description: "Play nicely"})
	if coreMut != nil {
		coreMut(&ccfg)
	}
	hub, err := core.NewHub(ccfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{HostKeyDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if sshMut != nil {
		sshMut(&cfg)
	}
	srv, err := New(hub, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Stop)
	ln := testkit.Listen(t)
	testkit.Serve(t, ln, srv.Serve, srv.Shutdown)
	return &testServer{addr: ln.Addr().String(), hub: hub, srv: srv}
}

// joinLobby logs the users in at 100×30 terminals one after the other,
// each waiting until #lobby counts it.
func joinLobby(t testing.TB, ts *testServer, names ...string) []*testkit.Term {
	t.Helper()
	users := make([]*testkit.Term, len(names))
	for i, name := range names {
		users[i] = testkit.Dial(t, ts.addr, name, 100, 30)
		count := fmt.Sprintf("%d members", i+1)
		if i == 0 {
			count = "1 member" // not "1 members"
		}
		users[i].WaitFor("#lobby · " + count + " ·")
	}
	return users
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

func statMode(path string) (os.FileMode, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Mode().Perm(), nil
}

func chmod(path string, mode os.FileMode) error { return os.Chmod(path, mode) }

// coreUser connects a user straight to the hub, reading its events like
// a transport would, to produce traffic without a terminal.
func coreUser(t testing.TB, hub *core.Hub, name string) *core.Session {
	t.Helper()
	s, err := hub.Connect(core.ConnectInfo{LoginName: name, Transport: "web", IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	go testkit.DiscardEvents(s)
	t.Cleanup(func() { s.Close("") })
	return s
}

// openShell opens an 80×24 PTY shell on client for a raw client without
// a screen, and reads until the first frame. beforeShell, when set, runs
// between the PTY request and the shell.
func openShell(client *gossh.Client, beforeShell func(*gossh.Session) error) (*gossh.Session, io.Writer, io.Reader, error) {
	sess, err := client.NewSession()
	if err != nil {
		return nil, nil, nil, err
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{}); err != nil {
		return nil, nil, nil, err
	}
	if beforeShell != nil {
		if err := beforeShell(sess); err != nil {
			return nil, nil, nil, err
		}
	}
	if err := sess.Shell(); err != nil {
		return nil, nil, nil, err
	}
	if err := readUntil(stdout, "Parley"); err != nil {
		return nil, nil, nil, err
	}
	return sess, stdin, stdout, nil
}

// readUntil reads r until want appears, for raw clients without a screen.
func readUntil(r io.Reader, want string) error {
	var seen []byte
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		seen = append(seen, buf[:n]...)
		if bytes.Contains(seen, []byte(want)) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w before %q", err, want)
		}
	}
}

// unreadShell opens a w×h shell with TERM term on client, whose output
// nobody reads.
func unreadShell(t testing.TB, client *gossh.Client, term string, w, h int) *gossh.Session {
	t.Helper()
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sess.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty(term, h, w, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	return sess
}

// stalledSession logs in as "stuck" and opens a w×h terminal whose output
// is never read. Its Wait ends when the server closes the session.
func stalledSession(t testing.TB, addr string, w, h int) *gossh.Session {
	t.Helper()
	_, sess, _, _ := testkit.OpenShell(t, addr, testkit.KeyLogin(t, "stuck"), w, h)
	return sess
}
