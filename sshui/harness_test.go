package sshui

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/core"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
	gossh "golang.org/x/crypto/ssh"
)

// waitLimit bounds every wait in these tests: generous, so a loaded CI
// machine cannot fail them, while a real hang still ends.
const waitLimit = 30 * time.Second

type testServer struct {
	addr string
	hub  *core.Hub
	srv  *Server
}

// startServer runs a hub and an SSH server on 127.0.0.1:0 until the test
// ends. The mutators adjust the configs before use.
func startServer(t testing.TB, coreMut func(*core.Config), sshMut func(*Config)) *testServer {
	t.Helper()
	ccfg := core.DefaultConfig()
	ccfg.Rooms = append(ccfg.Rooms, core.RoomConfig{Name: "games", Description: "Play nicely"})
	if coreMut != nil {
		coreMut(&ccfg)
	}
	hub, err := core.NewHub(ccfg)
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
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		hub.Stop()
	})
	return &testServer{addr: ln.Addr().String(), hub: hub, srv: srv}
}

// clientConfig logs in as user with a fresh key, or with
// keyboard-interactive and no answers when withKey is false.
func clientConfig(t testing.TB, user string, withKey bool) *gossh.ClientConfig {
	t.Helper()
	cfg := &gossh.ClientConfig{User: user, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: waitLimit}
	if withKey {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		signer, err := gossh.NewSignerFromKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Auth = []gossh.AuthMethod{gossh.PublicKeys(signer)}
	} else {
		cfg.Auth = []gossh.AuthMethod{gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return nil, nil })}
	}
	return cfg
}

// rawLog keeps every byte a terminal received.
type rawLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *rawLog) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *rawLog) Bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

// testTerm is a person at a terminal: a real SSH session with a PTY whose
// output feeds a terminal emulator, the emulator's replies going back.
type testTerm struct {
	t      testing.TB
	name   string
	client *gossh.Client
	sess   *gossh.Session
	stdin  io.WriteCloser
	emu    *vt.SafeEmulator
	raw    *rawLog
	ended  chan struct{} // closed when the server stops sending
}

func dialTerm(t testing.TB, addr, user string, w, h int) *testTerm {
	t.Helper()
	return dialTermWith(t, addr, clientConfig(t, user, true), w, h)
}

func dialTermWith(t testing.TB, addr string, cfg *gossh.ClientConfig, w, h int) *testTerm {
	t.Helper()
	client, err := gossh.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	tt := &testTerm{t: t, name: cfg.User, client: client, sess: sess, emu: vt.NewSafeEmulator(w, h), raw: &rawLog{}, ended: make(chan struct{})}
	tt.stdin, err = sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", h, w, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(tt.ended)
		_, _ = io.Copy(io.MultiWriter(tt.emu, tt.raw), stdout)
	}()
	go func() { _, _ = io.Copy(tt.stdin, tt.emu) }()
	t.Cleanup(func() { client.Close() })
	return tt
}

// screen is what a person would read on the terminal now.
func (tt *testTerm) screen() string { return ansi.Strip(tt.emu.Render()) }

// waitFor polls the screen until ok holds, failing with the screen.
func (tt *testTerm) waitFor(what string, ok func(string) bool) string {
	tt.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		s := tt.screen()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			tt.t.Fatalf("%s: timed out waiting for %s; screen:\n%s", tt.name, what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tt *testTerm) waitText(text string) string {
	tt.t.Helper()
	return tt.waitFor(strings.TrimSpace(text), func(s string) bool { return strings.Contains(s, text) })
}

func (tt *testTerm) waitGone(text string) string {
	tt.t.Helper()
	return tt.waitFor("no "+text, func(s string) bool { return !strings.Contains(s, text) })
}

func (tt *testTerm) send(s string) {
	tt.t.Helper()
	if _, err := io.WriteString(tt.stdin, s); err != nil {
		tt.t.Fatalf("%s: typing: %v", tt.name, err)
	}
}

// typeLine types a line and Enter.
func (tt *testTerm) typeLine(s string) {
	tt.t.Helper()
	tt.send(s)
	tt.send("\r")
}

var codeRE = regexp.MustCompile(`code ([0-9A-Z]{8})`)

// code waits for the header and reads this user's code from it.
func (tt *testTerm) code() string {
	tt.t.Helper()
	s := tt.waitFor("a code in the header", codeRE.MatchString)
	return codeRE.FindStringSubmatch(s)[1]
}

func (tt *testTerm) resize(w, h int) {
	tt.t.Helper()
	tt.emu.Resize(w, h)
	if err := tt.sess.WindowChange(h, w); err != nil {
		tt.t.Fatal(err)
	}
}

// waitEnded waits until the server closes the session.
func (tt *testTerm) waitEnded() {
	tt.t.Helper()
	select {
	case <-tt.ended:
	case <-time.After(waitLimit):
		tt.t.Fatalf("%s: the session did not end; screen:\n%s", tt.name, tt.screen())
	}
}

// eventually polls cond until it holds.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	go func() {
		out := s.Outbox()
		for {
			select {
			case <-out.Ready():
				out.Drain()
			case <-out.Done():
				return
			}
		}
	}()
	t.Cleanup(func() { s.Close("") })
	return s
}
