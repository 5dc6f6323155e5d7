package sshui

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"parley/internal/testkit"

	gossh "golang.org/x/crypto/ssh"
)

// lineSession opens a session without a PTY, or with one named term, and
// collects its output.
func lineSession(t *testing.T, addr, user, term string) (*gossh.Session, io.WriteCloser, *testkit.Buffer) {
	t.Helper()
	client, err := gossh.Dial("tcp", addr, testkit.KeyLogin(t, user))
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
	out := &testkit.Buffer{}
	sess.Stdout = out
	if term != "" {
		if err := sess.RequestPty(term, 24, 80, gossh.TerminalModes{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	return sess, stdin, out
}

func waitOutput(t *testing.T, who string, out *testkit.Buffer, text string) {
	t.Helper()
	testkit.Poll(t, who, text, out.String, func(s string) bool { return strings.Contains(s, text) })
}

// A session without a PTY is served line by line: events as plain lines,
// input lines as messages and commands, errors marked, no escape sequence
// at all; the end of its input ends it cleanly once its lines are sent.
func TestLineModeWithoutPTY(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := joinLobby(t, ts, "alice")[0]
	sess, stdin, out := lineSession(t, ts.addr, "bot", "")
	waitOutput(t, "bot", out, "Parley: you are bot, your code is ")
	alice.WaitFor("bot joined")
	alice.TypeLine("hello bot")
	waitOutput(t, "bot", out, " #lobby alice: hello bot")

	input := "deploy finished\n/me waves\n/nosuch\n" + strings.Repeat("x", 20000) + "\r\n\nlast line, no newline"
	if _, err := io.WriteString(stdin, input); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	if err := sess.Wait(); err != nil {
		t.Fatalf("the session did not end cleanly: %v\n%s", err, out.String())
	}
	alice.WaitFor("bot: deploy finished")
	alice.WaitFor("* bot waves")
	alice.WaitFor("bot: last line, no newline")
	alice.WaitFor("bot left (quit)")
	got := out.String()
	for _, want := range []string{
		" #lobby bot: deploy finished\n", " #lobby * bot waves\n", "error: unknown command /nosuch",
		"error: line too long: at most 16384 characters; it was not sent\n", " #lobby bot: last line, no newline\n",
		"notice: you are talking in #lobby\n", "Parley: bye\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the output lacks %q:\n%s", want, got)
		}
	}
	if i, j := strings.Index(got, "bot: deploy finished"), strings.Index(got, "error: unknown command"); i < 0 || j < i {
		t.Errorf("an error came before the line typed before it:\n%s", got)
	}
	if strings.Contains(got, "closed") {
		t.Errorf("the end of input was told as conversations closing:\n%s", got)
	}
	if strings.Count(got, "error:") != 2 || strings.ContainsAny(got, "\x1b\r\a") {
		t.Fatalf("want two errors and no escapes, carriage returns or bells:\n%q", got)
	}
}

// TERM=dumb gets line mode on its PTY, typed input echoed.
func TestLineModeOnADumbTerminal(t *testing.T) {
	ts := startServer(t, nil, nil)
	alice := joinLobby(t, ts, "alice")[0]
	_, stdin, out := lineSession(t, ts.addr, "reader", "dumb")
	waitOutput(t, "reader", out, "Parley: you are reader")
	if _, err := io.WriteString(stdin, "hellp\x7fo from a screen reader\r"); err != nil {
		t.Fatal(err)
	}
	alice.WaitFor("reader: hello from a screen reader")
	waitOutput(t, "reader", out, " #lobby reader: hello from a screen reader\r\n")
	if _, err := io.WriteString(stdin, "\x03"); err != nil {
		t.Fatal(err)
	}
	alice.WaitFor("reader left (quit)")
	if got := out.String(); strings.Contains(got, "\x1b") {
		t.Fatalf("line mode wrote an escape sequence:\n%q", got)
	}
}

// The OpenSSH client with -T and its input from a file: what a script or
// a CI job does.
func TestLineModeThroughOpenSSH(t *testing.T) {
	if _, err := exec.LookPath("ssh"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ssh is required in CI: %v", err)
		}
		t.Skip("the OpenSSH client is not installed")
	}
	ts := startServer(t, nil, nil)
	alice := joinLobby(t, ts, "alice")[0]
	_, port, _ := net.SplitHostPort(ts.addr)
	dir := t.TempDir()
	in := filepath.Join(dir, "lines")
	if err := os.WriteFile(in, []byte("deploy finished\n/name ci-bot\nbuild 42 is green\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command("ssh", "-T", "-F", "/dev/null", "-p", port, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=keyboard-interactive", "ci@127.0.0.1")
	cmd.Stdin = f
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("ssh -T: %v\n%s%s", err, out.String(), errOut.String())
	}
	alice.WaitFor("ci: deploy finished")
	alice.WaitFor("ci-bot: build 42 is green")
	if got := out.String(); !strings.Contains(got, "#lobby ci-bot: build 42 is green\n") || strings.Contains(got, "\x1b") {
		t.Fatalf("ssh -T output:\n%q", got)
	}
}
