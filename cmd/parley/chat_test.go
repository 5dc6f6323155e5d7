package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
	"golang.org/x/crypto/ssh"
)

// terminal is a person at a terminal connected to the binary: an SSH
// session with a PTY whose output feeds a terminal emulator.
type terminal struct {
	t     *testing.T
	stdin io.Writer
	emu   *vt.SafeEmulator
	ended chan struct{} // closed when the server stops sending
}

func connectTerminal(t *testing.T, addr, user string) *terminal {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(),
		Timeout:         30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", 30, 100, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	term := &terminal{t: t, stdin: stdin, emu: vt.NewSafeEmulator(100, 30), ended: make(chan struct{})}
	go func() {
		defer close(term.ended)
		_, _ = io.Copy(term.emu, stdout)
	}()
	// The emulator answers the program's terminal queries.
	go func() { _, _ = io.Copy(stdin, term.emu) }()
	return term
}

// waitText waits until the screen shows text.
func (term *terminal) waitText(text string) {
	term.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		screen := ansi.Strip(term.emu.Render())
		if strings.Contains(screen, text) {
			return
		}
		if time.Now().After(deadline) {
			term.t.Fatalf("the screen never showed %q:\n%s", text, screen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (term *terminal) typeLine(s string) {
	term.t.Helper()
	if _, err := io.WriteString(term.stdin, s+"\r"); err != nil {
		term.t.Fatal(err)
	}
}

// Two people chat through the built binary, and both see the shutdown
// warning with the configured grace before their sessions end.
func TestUsersChatAndSeeTheShutdown(t *testing.T) {
	grace := 2 * time.Second
	cfg := writeFile(t, "parley.toml", fmt.Sprintf("[server]\nshutdown_grace = %q\n", grace))
	s := startServer(t, nil, "--config", cfg, "--ssh-addr", "127.0.0.1:0", "--http-addr", "", "--hostkey-dir", t.TempDir())

	alice := connectTerminal(t, s.sshAddr, "alice")
	bob := connectTerminal(t, s.sshAddr, "bob")
	alice.waitText("bob joined")
	alice.typeLine("hello from alice")
	bob.waitText("hello from alice")

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for _, term := range []*terminal{alice, bob} {
		term.waitText(fmt.Sprintf("Parley is shutting down in %s", grace))
	}
	for name, term := range map[string]*terminal{"alice": alice, "bob": bob} {
		select {
		case <-term.ended:
		case <-time.After(60 * time.Second):
			t.Fatalf("%s's session was not ended by the shutdown", name)
		}
	}
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("parley did not exit")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
