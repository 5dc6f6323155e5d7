package webrtcsignal

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/core"
)

// terminalUser stands for an SSH user: a core session with the "ssh"
// transport, read the way the terminal UI reads it.
type terminalUser struct {
	t    *testing.T
	sess *core.Session
}

func connectTerminal(t *testing.T, ts *testServer, login string) *terminalUser {
	t.Helper()
	s, err := ts.hub.Connect(core.ConnectInfo{LoginName: login, Transport: "ssh", IP: "192.0.2.7"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close("") })
	return &terminalUser{t: t, sess: s}
}

// wait drains events until one satisfies ok.
func (u *terminalUser) wait(what string, ok func(core.Event) bool) core.Event {
	u.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		for _, ev := range u.sess.Outbox().Drain() {
			if ok(ev) {
				return ev
			}
		}
		select {
		case <-u.sess.Outbox().Ready():
		case <-deadline:
			u.t.Fatalf("terminal user %s: no event for %s", u.sess.Name(), what)
		}
	}
}

func (u *terminalUser) waitMessage(text string) core.Event {
	u.t.Helper()
	return u.wait("message "+text, func(ev core.Event) bool { return ev.Kind == core.EventMessage && ev.Msg.Text == text })
}

func (u *terminalUser) input(line string) {
	u.t.Helper()
	if err := u.sess.Input(line); err != nil {
		u.t.Fatalf("%s: %v", line, err)
	}
}

func TestBrowserAndTerminalChatInARoomAndPrivately(t *testing.T) {
	ts := startServer(t)
	browser := newBrowser(t)
	term := connectTerminal(t, ts, "tess")
	term.input("said before you came")
	web := openPage(t, browser, "web", ts.url)
	web.code()
	web.waitJS("the lobby", `document.getElementById('conv-title').textContent === '#lobby'`)
	web.waitLog("said before you came") // the room's history

	// In the room.
	term.input("hello from the terminal")
	web.waitLog("hello from the terminal")
	web.say("hello from the browser")
	got := term.waitMessage("hello from the browser")
	if got.Msg.From.Transport != "web" {
		t.Fatalf("the browser's message came from transport %q", got.Msg.From.Transport)
	}
	web.click("members-toggle")
	web.waitJS("tess in the members list", `[...document.querySelectorAll('#member-list li')].some(li => li.textContent.includes('tess') && li.textContent.includes('ssh'))`)

	// Markup in a message is text, never HTML.
	const attack = `<img src=x onerror="window.pwned=1">`
	term.input(attack)
	web.waitLog(attack)
	if n := eval[int](web, `document.querySelectorAll('#log img, #log script').length`); n != 0 {
		t.Fatalf("the message became %d elements", n)
	}
	if eval[bool](web, `window.pwned === 1`) {
		t.Fatal("the message ran script")
	}

	// Click-to-DM from the members list opens a private chat.
	web.clickCSS(`#member-list li[title]`)
	opened := term.wait("the private chat", func(ev core.Event) bool { return ev.Kind == core.EventConvOpened && ev.View.Kind == core.Private })
	web.waitJS("the private chat", `document.getElementById('conv-title').textContent === 'tess'`)
	if err := term.sess.Switch(opened.Conv); err != nil {
		t.Fatal(err)
	}
	term.input("/leave")
	web.waitJS("the private chat closed", `document.querySelectorAll('#convs li').length === 1`)

	// Privately, by code: the terminal user types the browser user's code.
	term.input("/join " + strings.ToLower(web.code()))
	web.waitJS("the private chat again", `document.querySelectorAll('#convs li[data-conv^="@"]').length === 1`)
	web.clickCSS(`#convs li[data-conv^="@"]`)
	web.waitJS("the private chat", `document.getElementById('conv-title').textContent === 'tess'`)
	term.input("psst, browser")
	web.waitLog("psst, browser")
	web.say("psst, terminal")
	if ev := term.waitMessage("psst, terminal"); ev.Conv != opened.Conv {
		t.Fatalf("the reply went to %s, not the private chat %s", ev.Conv, opened.Conv)
	}

	// Unread counts: a message in the room while the private chat is current.
	if err := term.sess.Send("#lobby", "back in the lobby"); err != nil {
		t.Fatal(err)
	}
	web.waitJS("an unread count on #lobby", `[...document.querySelectorAll('#convs li')].some(li => li.textContent.includes('#lobby') && li.querySelector('.count') && li.querySelector('.count').textContent === '1')`)

	// Commands work as in the terminal, with their output in the chat pane.
	web.say("/rooms")
	web.waitLog("Rooms")
	web.waitLog("Everyone starts here")

	// A refused line stays in the input, with the error on the status line.
	web.say("/join 7777AAAA")
	web.waitJS("the error", `document.getElementById('status').textContent.includes('no one online')`)
	if v := eval[string](web, `document.getElementById('input').value`); v != "/join 7777AAAA" {
		t.Fatalf("the refused line was not kept: input holds %q", v)
	}
}

func TestPhoneWidth(t *testing.T) {
	ts := startServer(t)
	browser := newBrowser(t)
	phone := openPage(t, browser, "phone", ts.url)
	phone.do(chromedp.EmulateViewport(375, 700, chromedp.EmulateMobile))
	phone.code()
	// The chat and its input fill the screen; the lists wait behind the menu.
	if !eval[bool](phone, `(() => {
		const r = document.getElementById('input').getBoundingClientRect();
		return r.width > 200 && r.right <= 375 && r.bottom <= 700;
	})()`) {
		t.Fatal("the input is not on the phone's screen")
	}
	if eval[bool](phone, `document.getElementById('sidebar').getClientRects().length > 0`) {
		t.Fatal("the sidebar covers the chat at phone width")
	}
	phone.click("menu-toggle")
	phone.clickCSS(`#convs li[data-conv="#lobby"]`)
	phone.waitJS("the menu closed", `document.getElementById('sidebar').getClientRects().length === 0`)
	phone.say("hello from a phone")
	phone.waitLog("hello from a phone")
	if w := eval[int](phone, `document.documentElement.scrollWidth`); w > 375 {
		t.Fatalf("the page is %d px wide on a 375 px screen", w)
	}
}
