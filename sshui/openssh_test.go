package sshui

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"parley/internal/testkit"
)

// tmuxPane is one user of the real OpenSSH client inside a tmux window.
type tmuxPane struct {
	t      *testing.T
	socket string
	name   string
}

func (p *tmuxPane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", p.socket}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (p *tmuxPane) capture() string {
	out, _ := exec.Command("tmux", "-L", p.socket, "capture-pane", "-p", "-t", p.name).CombinedOutput()
	return string(out)
}

func (p *tmuxPane) waitText(text string) string {
	p.t.Helper()
	return p.waitFor(fmt.Sprintf("%q", text), func(s string) bool { return strings.Contains(s, text) })
}

func (p *tmuxPane) waitFor(what string, ok func(string) bool) string {
	p.t.Helper()
	return testkit.Poll(p.t, p.name, what, p.capture, ok)
}

func (p *tmuxPane) typeLine(text string) {
	p.t.Helper()
	p.tmux("send-keys", "-t", p.name, "-l", text)
	p.tmux("send-keys", "-t", p.name, "Enter")
}

// TestOpenSSHClientUnderTmux drives the real ssh client: one user with a
// key, one with keyboard-interactive and no key.
func TestOpenSSHClientUnderTmux(t *testing.T) {
	for _, tool := range []string{"tmux", "ssh"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required in CI: %v", tool, err)
			}
			t.Skipf("%s is not installed; this end-to-end test needs tmux and the OpenSSH client", tool)
		}
	}
	ts := startServer(t, nil, nil)
	_, port, _ := net.SplitHostPort(ts.addr)

	dir := t.TempDir()
	keyPath := filepath.Join(dir, "id_ed25519")
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	socket := fmt.Sprintf("parley-test-%d", os.Getpid())
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", socket, "kill-server").Run() })

	common := "ssh -tt -F /dev/null -p " + port + " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
	start := func(name, sshArgs string) *tmuxPane {
		p := &tmuxPane{t: t, socket: socket, name: name}
		p.tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30",
			"env TERM=xterm-256color "+common+" "+sshArgs+" "+name+"@127.0.0.1")
		return p
	}
	alice := start("alice", "-i "+keyPath+" -o IdentitiesOnly=yes")
	alice.waitText("#lobby · 1 member")
	bob := start("bob", "-o PubkeyAuthentication=no -o PreferredAuthentications=keyboard-interactive")
	bob.waitText("#lobby · 2 members")
	alice.waitText("#lobby · 2 members")

	alice.typeLine("hello from openssh")
	bob.waitText("alice: hello from openssh")

	// Words that name keys are text, sent by tmux in one write, or pasted
	// by tmux with bracketed paste as a terminal does.
	alice.typeLine("see you at the end of the day, home left ctrl+c")
	bob.waitText("alice: see you at the end of the day, home left ctrl+c")
	alice.tmux("set-buffer", "-b", "clip", "pasted at the end: esc f1 up ctrl+c")
	alice.tmux("paste-buffer", "-p", "-b", "clip", "-t", "alice")
	alice.waitText("> pasted at the end: esc f1 up ctrl+c")
	alice.tmux("send-keys", "-t", "alice", "Enter")
	bob.waitText("alice: pasted at the end: esc f1 up ctrl+c")

	code := testkit.CodePattern.FindStringSubmatch(alice.capture())
	if code == nil {
		t.Fatalf("no code in alice's header:\n%s", alice.capture())
	}
	bob.typeLine("/join " + code[1])
	bob.waitText("@alice · private chat")
	alice.waitText("bob opened a private chat with you · Alt-1 back to #lobby")
	bob.typeLine("a private word")
	alice.waitText("bob: a private word")
	alice.typeLine("answered without a key")
	bob.waitText("alice: answered without a key")

	bob.tmux("resize-window", "-t", "bob", "-x", "50", "-y", "20")
	bob.waitFor("the chat without a sidebar", func(s string) bool {
		return strings.Contains(s, "a private word") && !strings.Contains(s, "Conversations")
	})
	bob.tmux("resize-window", "-t", "bob", "-x", "30", "-y", "8")
	bob.waitText("Terminal too small")
	bob.tmux("resize-window", "-t", "bob", "-x", "110", "-y", "30")
	bob.waitText("Conversations")

	alice.tmux("send-keys", "-t", "alice", "C-c")
	bob.waitText("This chat has ended")
	bob.tmux("send-keys", "-t", "bob", "Escape")
	bob.waitText("Your code is")
	bob.tmux("send-keys", "-t", "bob", "C-n")
	bob.waitText("alice left (quit)")
}
