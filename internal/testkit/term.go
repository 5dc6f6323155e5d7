package testkit

import (
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
	gossh "golang.org/x/crypto/ssh"
)

// NewKey makes a fresh ed25519 key, for a person who must log in with
// the same key again (or whose fingerprint a server must know).
func NewKey(t testing.TB) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

// KeyLogin logs in as user with a fresh ed25519 key.
func KeyLogin(t testing.TB, user string) *gossh.ClientConfig {
	t.Helper()
	return SignerLogin(user, NewKey(t))
}

// SignerLogin logs in as user with the given key.
func SignerLogin(user string, key gossh.Signer) *gossh.ClientConfig {
	return &gossh.ClientConfig{User: user, Auth: []gossh.AuthMethod{gossh.PublicKeys(key)}, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: WaitLimit}
}

// KeylessLogin logs in as user without a key: keyboard-interactive with
// no answers, as a guest would.
func KeylessLogin(user string) *gossh.ClientConfig {
	noAnswers := func(string, string, []string, []bool) ([]string, error) { return nil, nil }
	return &gossh.ClientConfig{User: user, Auth: []gossh.AuthMethod{gossh.KeyboardInteractive(noAnswers)}, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: WaitLimit}
}

// Term is a person at a terminal: a real SSH session with a PTY whose
// output feeds a terminal emulator, the emulator's replies to terminal
// queries going back to the server.
type Term struct {
	t      testing.TB
	name   string
	client *gossh.Client
	sess   *gossh.Session
	stdin  io.Writer
	emu    *vt.SafeEmulator
	raw    *Buffer
	ended  chan struct{} // closed when the server stops sending
}

// Dial logs in as user with a fresh key and opens a w×h terminal.
func Dial(t testing.TB, addr, user string, w, h int) *Term {
	t.Helper()
	return DialWith(t, addr, KeyLogin(t, user), w, h)
}

// DialWith logs in with cfg (its User is the login name) and opens a w×h
// terminal.
func DialWith(t testing.TB, addr string, cfg *gossh.ClientConfig, w, h int) *Term {
	t.Helper()
	client, sess, out, stdout := OpenShell(t, addr, cfg, w, h)
	// The test types and the emulator answers the server's queries on the
	// same channel, whose Write is not safe for concurrent use.
	stdin := &lockedWriter{w: out}
	tt := &Term{t: t, name: cfg.User, client: client, sess: sess, stdin: stdin, emu: vt.NewSafeEmulator(w, h), raw: &Buffer{}, ended: make(chan struct{})}
	go func() {
		defer close(tt.ended)
		_, _ = io.Copy(io.MultiWriter(tt.emu, tt.raw), stdout)
	}()
	go pumpReplies(stdin, tt.emu)
	return tt
}

// OpenShell logs in with cfg and opens a w×h PTY shell whose input and
// output the caller handles; the connection closes with the test.
func OpenShell(t testing.TB, addr string, cfg *gossh.ClientConfig, w, h int) (*gossh.Client, *gossh.Session, io.Writer, io.Reader) {
	t.Helper()
	client, err := gossh.Dial("tcp", addr, cfg)
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
	if err := sess.RequestPty("xterm-256color", h, w, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	return client, sess, stdin, stdout
}

// lockedWriter lets several goroutines write to one writer in turn.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// ReplyPump names the goroutine that carries a test terminal's answers
// (to the server's queries) back to the server, for leak checks to ignore.
const ReplyPump = "parley/internal/testkit.pumpReplies"

// pumpReplies copies the emulator's replies to the session's input. It
// ends only with the test binary: the emulator cannot be closed while it
// is read without a data race inside it.
func pumpReplies(stdin io.Writer, emu io.Reader) { _, _ = io.Copy(stdin, emu) }

// AnswerCursorQueries copies a session's output to w and answers each
// cursor position question in it on stdin, as every terminal does: the
// server takes a client that never answers for one that stopped reading.
func AnswerCursorQueries(w io.Writer, stdout io.Reader, stdin io.Writer) error {
	const ask = "\x1b[6n"
	buf := make([]byte, 32<<10)
	var tail []byte // the last bytes, for a question split across reads
	for {
		n, err := stdout.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			across := append(tail[:len(tail):len(tail)], buf[:min(n, len(ask)-1)]...)
			asked := strings.Count(string(across), ask) + strings.Count(string(buf[:n]), ask)
			for range asked {
				if _, werr := io.WriteString(stdin, "\x1b[1;1R"); werr != nil {
					return werr
				}
			}
			tail = append(tail, buf[max(0, n-len(ask)+1):n]...)
			tail = tail[max(0, len(tail)-len(ask)+1):]
		}
		if err != nil {
			return err
		}
	}
}

// Screen is what a person would read on the terminal now.
func (tt *Term) Screen() string { return ansi.Strip(tt.emu.Render()) }

// Raw is every byte the terminal has received.
func (tt *Term) Raw() []byte { return tt.raw.Bytes() }

// WaitUntil polls the screen until ok holds, failing with the screen.
func (tt *Term) WaitUntil(what string, ok func(screen string) bool) string {
	tt.t.Helper()
	return Poll(tt.t, tt.name, what, tt.Screen, ok)
}

// WaitFor waits until the screen shows text.
func (tt *Term) WaitFor(text string) string {
	tt.t.Helper()
	return tt.WaitUntil(strings.TrimSpace(text), func(s string) bool { return strings.Contains(s, text) })
}

// WaitGone waits until the screen no longer shows text.
func (tt *Term) WaitGone(text string) string {
	tt.t.Helper()
	return tt.WaitUntil("no "+text, func(s string) bool { return !strings.Contains(s, text) })
}

// Type types text as it is, keys and all.
func (tt *Term) Type(text string) {
	tt.t.Helper()
	if _, err := io.WriteString(tt.stdin, text); err != nil {
		tt.t.Fatalf("%s: typing: %v", tt.name, err)
	}
}

// TypeLine types a line and Enter.
func (tt *Term) TypeLine(line string) {
	tt.t.Helper()
	tt.Type(line)
	tt.Press(Enter)
}

// Press presses the keys one after the other, in one write.
func (tt *Term) Press(keys ...Key) {
	tt.t.Helper()
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(string(k))
	}
	tt.Type(b.String())
}

// CodePattern finds a user's code in the terminal UI's header.
var CodePattern = regexp.MustCompile(`code ([0-9A-Z]{8})`)

// Code waits for the header and reads this user's code from it.
func (tt *Term) Code() string {
	tt.t.Helper()
	return CodePattern.FindStringSubmatch(tt.WaitUntil("a code in the header", CodePattern.MatchString))[1]
}

// Resize changes the terminal's size, as a person dragging the window.
func (tt *Term) Resize(w, h int) {
	tt.t.Helper()
	tt.emu.Resize(w, h)
	if err := tt.sess.WindowChange(h, w); err != nil {
		tt.t.Fatal(err)
	}
}

// WaitEnded waits until the server closes the session.
func (tt *Term) WaitEnded() {
	tt.t.Helper()
	select {
	case <-tt.ended:
	case <-time.After(WaitLimit):
		tt.t.Fatalf("%s: the session did not end; screen:\n%s", tt.name, tt.Screen())
	}
}

// Close drops the connection, as a network failure would.
func (tt *Term) Close() { tt.client.Close() }
