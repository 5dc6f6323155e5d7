package webrtcsignal

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"
	gossh "golang.org/x/crypto/ssh"

	"parley/sshui"
)

// The SSH side of these tests is the real terminal server with a real SSH
// client and a PTY; the screen is read through a terminal emulator, so
// every assertion is on what a person at the terminal would see.

// startSSH serves the terminal UI on the test server's hub.
func startSSH(t *testing.T, ts *testServer) string {
	t.Helper()
	srv, err := sshui.New(ts.hub, sshui.Config{HostKeyDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
		srv.Shutdown(ctx)
		<-served
	})
	return ln.Addr().String()
}

// terminal is a person at an SSH terminal.
type terminal struct {
	t     *testing.T
	name  string
	stdin io.Writer
	emu   *vt.SafeEmulator
}

func dialTerminal(t *testing.T, addr, user string) *terminal {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(key)
	if err != nil {
		t.Fatal(err)
	}
	client, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{
		User:            user,
		Auth:            []gossh.AuthMethod{gossh.PublicKeys(signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
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
	const w, h = 120, 50
	term := &terminal{t: t, name: user, emu: vt.NewSafeEmulator(w, h)}
	stdin, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	term.stdin = stdin
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
	go io.Copy(term.emu, stdout)
	go io.Copy(stdin, term.emu) // the emulator's answers to terminal queries
	return term
}

func (tt *terminal) screen() string { return ansi.Strip(tt.emu.Render()) }

// waitFor polls the screen until ok holds.
func (tt *terminal) waitFor(what string, ok func(string) bool) string {
	tt.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s := tt.screen()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			tt.t.Fatalf("%s: waiting for %s; the screen shows:\n%s", tt.name, what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tt *terminal) waitText(text string) string {
	tt.t.Helper()
	return tt.waitFor(text, func(s string) bool { return strings.Contains(s, text) })
}

func (tt *terminal) typeLine(line string) {
	tt.t.Helper()
	if _, err := io.WriteString(tt.stdin, line+"\r"); err != nil {
		tt.t.Fatal(err)
	}
}

var terminalCode = regexp.MustCompile(`code ([0-9A-Z]{8})`)

func (tt *terminal) code() string {
	tt.t.Helper()
	return terminalCode.FindStringSubmatch(tt.waitFor("the code", terminalCode.MatchString))[1]
}

// sshAndBrowser starts the web side and the terminal UI on one hub, with
// tess at a terminal and one browser user.
func sshAndBrowser(t *testing.T) (*testServer, *terminal, context.Context, *page, string) {
	t.Helper()
	ts := startServer(t)
	term := dialTerminal(t, startSSH(t, ts), "tess")
	term.code()
	browser := newBrowser(t)
	web := openPage(t, browser, "web", ts.url)
	web.code()
	return ts, term, browser, web, web.text("me-name")
}

func TestSSHAndBrowserUsersChat(t *testing.T) {
	ts := startServer(t)
	term := dialTerminal(t, startSSH(t, ts), "tess")
	termCode := term.code()
	term.typeLine("said before you came")
	term.waitText("said before you came")
	browser := newBrowser(t)
	web := openPage(t, browser, "web", ts.url)
	web.code()
	webName := web.text("me-name")
	web.waitLog("said before you came") // the room's history

	// In the lobby, both ways.
	term.waitText(webName + " joined")
	term.typeLine("hello from the terminal")
	web.waitLog("hello from the terminal")
	web.say("hello from the browser")
	term.waitText("hello from the browser")
	web.click("members-toggle")
	web.waitJS("tess in the members list", `[...document.querySelectorAll('#member-list li')].some(li => li.textContent.includes('tess') && li.textContent.includes('ssh'))`)

	// Markup typed at a terminal is text in the browser, never HTML.
	const attack = `<img src=x onerror="window.pwned=1">`
	term.typeLine(attack)
	web.waitLog(attack)
	if n := eval[int](web, `document.querySelectorAll('#log img, #log script').length`); n != 0 {
		t.Fatalf("the message became %d elements", n)
	}
	if eval[bool](web, `window.pwned === 1`) {
		t.Fatal("the message ran script")
	}

	// Click-to-DM from the members list opens a private chat; leaving it
	// at the terminal closes it in the browser.
	web.clickCSS(`#member-list li[title]`)
	web.waitJS("the private chat", `document.getElementById('conv-title').textContent === 'tess'`)
	term.waitText(webName + " opened a private chat with you")
	term.typeLine("/switch " + webName)
	web.say("just between us")
	term.waitText("just between us")
	term.typeLine("/leave")
	web.waitJS("the private chat closed", `document.querySelectorAll('#convs li[data-conv^="@"]').length === 0`)

	// Privately, by code, both ways round: the browser types the
	// terminal user's code, then the terminal types the browser's.
	web.say("/join " + strings.ToLower(termCode))
	web.waitJS("the private chat", `document.getElementById('conv-title').textContent === 'tess'`)
	term.typeLine("/switch " + webName)
	web.say("psst, terminal")
	term.waitText("psst, terminal")
	term.typeLine("psst, browser")
	web.waitLog("psst, browser")
	term.typeLine("/leave")
	web.waitJS("the private chat closed", `document.querySelectorAll('#convs li[data-conv^="@"]').length === 0`)
	term.typeLine("/join " + web.code())
	web.waitJS("the private chat again", `document.querySelectorAll('#convs li[data-conv^="@"]').length === 1`)
	term.typeLine("are you there?")
	web.waitJS("an unread count", `document.querySelector('#convs li[data-conv^="@"] .count') !== null`)
	web.clickCSS(`#convs li[data-conv^="@"]`)
	web.waitLog("are you there?")

	// Commands work as in the terminal, with their output in the chat pane.
	web.say("/rooms")
	web.waitLog("Everyone starts here")

	// A refused line stays in the input, with the error on the status line.
	web.say("/join 7777AAAA")
	web.waitJS("the error", `document.getElementById('status').textContent.includes('no one online')`)
	if v := eval[string](web, `document.getElementById('input').value`); v != "/join 7777AAAA" {
		t.Fatalf("the refused line was not kept: input holds %q", v)
	}
}

var linkPattern = regexp.MustCompile(`https?://[^ ]+/#call=[A-Z2-7]+`)

// callLink waits for a call link on the terminal and returns it.
func (tt *terminal) callLink() string {
	tt.t.Helper()
	link := linkPattern.FindString(tt.waitFor("a call link", linkPattern.MatchString))
	tt.waitText("▄") // with its QR code
	return link
}

func TestSSHUserCallsThroughALink(t *testing.T) {
	ts, term, browser, web, webName := sshAndBrowser(t)
	web.say("/join " + term.code())
	term.waitText(webName + " opened a private chat with you")
	term.typeLine("/switch " + webName)

	// /video at the terminal rings the browser and shows the terminal a
	// one-time link and its QR code; the link opened in a browser is
	// tess's side of the call.
	term.typeLine("/video")
	link := term.callLink()
	if !strings.HasPrefix(link, ts.url+"/#call=") {
		t.Fatalf("the link %q does not start with the public URL %s", link, ts.url)
	}
	web.waitCallState("ringing-in")
	web.click("call-accept")
	phone := openPage(t, browser, "tess's phone", link)
	waitVideo(t, web, phone)
	if got := phone.text("me-name"); got != "tess" {
		t.Fatalf("the link page stands for %q", got)
	}

	// The link worked once.
	again := openPage(t, browser, "second visit", link)
	again.waitJS("a refusal", `document.getElementById('call-text').textContent.includes('not valid')`)

	web.click("call-hangup")
	phone.waitCallState("ended")
	term.waitText(webName + " hung up")
}

func TestSSHUserIsCalledAndAnswersThroughALink(t *testing.T) {
	_, term, browser, web, webName := sshAndBrowser(t)
	web.say("/join " + term.code())
	web.waitJS("the private chat", `document.getElementById('conv-title').textContent === 'tess'`)
	web.click("call-button")
	web.waitCallState("ringing-out")
	term.waitText(webName + " is calling you")
	link := term.callLink()

	phone := openPage(t, browser, "tess's phone", link)
	phone.waitCallState("ringing-in")
	phone.click("call-accept")
	waitVideo(t, web, phone)

	phone.click("call-hangup")
	web.waitCallState("ended")
	if got := web.endedText(); !strings.Contains(got, "tess hung up") {
		t.Fatalf("the browser was told %q", got)
	}
	term.waitText("you hung up")
}
