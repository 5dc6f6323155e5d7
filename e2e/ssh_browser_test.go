package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"parley/internal/testkit"
)

// The SSH side of these tests is the real terminal server with a real SSH
// client and a PTY; the screen is read through a terminal emulator, so
// every assertion is on what a person at the terminal would see.

// dialTess logs tess in at a 120×50 terminal.
func dialTess(t *testing.T, ts *servers) *testkit.Term {
	t.Helper()
	return testkit.Dial(t, ts.sshAddr, "tess", 120, 50)
}

// sshAndBrowser starts the web side and the terminal UI on one hub, with
// tess at a terminal and one browser user.
func sshAndBrowser(t *testing.T) (*servers, *testkit.Term, context.Context, *testkit.Page, string) {
	t.Helper()
	ts := startServers(t)
	term := dialTess(t, ts)
	term.Code()
	browser := testkit.Chromium(t)
	web := testkit.OpenPage(t, browser, "web", ts.url)
	web.Code()
	return ts, term, browser, web, web.Text("me-name")
}

func TestSSHAndBrowserUsersChat(t *testing.T) {
	ts := startServers(t)
	term := dialTess(t, ts)
	termCode := term.Code()
	term.TypeLine("said before you came")
	term.WaitFor("said before you came")
	browser := testkit.Chromium(t)
	web := testkit.OpenPage(t, browser, "web", ts.url)
	web.Code()
	webName := web.Text("me-name")
	web.WaitLog("said before you came") // the room's history

	// In the lobby, both ways.
	term.WaitFor(webName + " joined")
	term.TypeLine("hello from the terminal")
	web.WaitLog("hello from the terminal")
	web.Say("hello from the browser")
	term.WaitFor("hello from the browser")
	web.Click("members-toggle")
	web.WaitJS("tess in the members list", `[...document.querySelectorAll('#member-list li')].some(li => li.textContent.includes('tess') && li.textContent.includes('ssh'))`)

	// Markup typed at a terminal is text in the browser, never HTML.
	const attack = `<img src=x onerror="window.pwned=1">`
	term.TypeLine(attack)
	web.WaitLog(attack)
	if n := testkit.Eval[int](web, `document.querySelectorAll('#log img, #log script').length`); n != 0 {
		t.Fatalf("the message became %d elements", n)
	}
	if testkit.Eval[bool](web, `window.pwned === 1`) {
		t.Fatal("the message ran script")
	}

	// Click-to-DM from the members list opens a private chat; leaving it
	// at the terminal closes it in the browser.
	web.ClickCSS(`#member-list li[title]`)
	web.WaitJS("the private chat", `document.getElementById('conv-title').textContent === 'tess'`)
	term.WaitFor(webName + " opened a private chat with you")
	term.TypeLine("/switch " + webName)
	web.Say("just between us")
	term.WaitFor("just between us")
	term.TypeLine("/leave")
	web.WaitJS("the private chat closed", `document.querySelectorAll('#convs li[data-conv^="@"]').length === 0`)

	// Privately, by code, both ways round: the browser types the
	// terminal user's code, then the terminal types the browser's.
	web.Say("/join " + strings.ToLower(termCode))
	web.WaitJS("the private chat", `document.getElementById('conv-title').textContent === 'tess'`)
	term.TypeLine("/switch " + webName)
	web.Say("psst, terminal")
	term.WaitFor("psst, terminal")
	term.TypeLine("psst, browser")
	web.WaitLog("psst, browser")
	term.TypeLine("/leave")
	web.WaitJS("the private chat closed", `document.querySelectorAll('#convs li[data-conv^="@"]').length === 0`)
	// A private chat someone opens with you is where you are, ready to
	// reply.
	term.TypeLine("/join " + web.Code())
	web.WaitJS("the private chat again, on screen", `document.getElementById('conv-title').textContent === 'tess'`)
	term.TypeLine("are you there?")
	web.WaitLog("are you there?")

	// Commands work as in the terminal, with their output in the chat pane.
	web.Say("/rooms")
	web.WaitLog("Everyone starts here")

	// A refused line stays in the input, with the error on the status line.
	web.Say("/join 7777AAAA")
	web.WaitJS("the error", `document.getElementById('status').textContent.includes('no one online')`)
	if v := testkit.Eval[string](web, `document.getElementById('input').value`); v != "/join 7777AAAA" {
		t.Fatalf("the refused line was not kept: input holds %q", v)
	}
}

var linkPattern = regexp.MustCompile(`https?://[^ ]+/#call=[A-Z2-7]+`)

// callLink waits for a call link on the terminal and returns it.
func callLink(term *testkit.Term) string {
	link := linkPattern.FindString(term.WaitUntil("a call link", linkPattern.MatchString))
	term.WaitFor("▄") // with its QR code
	return link
}

func TestSSHUserCallsThroughALink(t *testing.T) {
	ts, term, browser, web, webName := sshAndBrowser(t)
	web.Say("/join " + term.Code())
	term.WaitFor(webName + " opened a private chat with you")
	term.TypeLine("/switch " + webName)

	// /video at the terminal rings the browser and shows the terminal a
	// one-time link and its QR code; the link opened in a browser is
	// tess's side of the call.
	term.TypeLine("/video")
	link := callLink(term)
	if !strings.HasPrefix(link, ts.url+"/#call=") {
		t.Fatalf("the link %q does not start with the public URL %s", link, ts.url)
	}
	web.WaitCallState("ringing-in")
	web.Click("call-accept")
	phone := testkit.OpenPage(t, browser, "tess's phone", link)
	testkit.WaitVideo(t, web, phone)
	if got := phone.Text("me-name"); got != "tess" {
		t.Fatalf("the link page stands for %q", got)
	}

	// The link worked once.
	again := testkit.OpenPage(t, browser, "second visit", link)
	again.WaitJS("a refusal", `document.getElementById('call-text').textContent.includes('not valid')`)

	web.Click("call-hangup")
	phone.WaitCallState("ended")
	term.WaitFor(webName + " hung up")
}

func TestSSHUserIsCalledAndAnswersThroughALink(t *testing.T) {
	_, term, browser, web, webName := sshAndBrowser(t)
	web.Say("/join " + term.Code())
	web.WaitJS("the private chat", `document.getElementById('conv-title').textContent === 'tess'`)
	web.Click("call-button")
	web.WaitCallState("ringing-out")
	term.WaitFor(webName + " is calling you")
	link := callLink(term)

	phone := testkit.OpenPage(t, browser, "tess's phone", link)
	phone.WaitCallState("ringing-in")
	phone.Click("call-accept")
	testkit.WaitVideo(t, web, phone)

	phone.Click("call-hangup")
	web.WaitCallState("ended")
	if got := web.EndedText(); !strings.Contains(got, "tess hung up") {
		t.Fatalf("the browser was told %q", got)
	}
	term.WaitFor("you hung up")
}

// TestLookAlikeNamesShowTheirKeys: a browser user who takes a name like
// the terminal user's sees, and is seen, with the key each logged in
// with beside the name on every chat line.
func TestLookAlikeNamesShowTheirKeys(t *testing.T) {
	_, term, _, web, _ := sshAndBrowser(t)
	web.Say("/name tess_")
	web.WaitJS("the new name", `document.getElementById('me-name').textContent === 'tess_'`)
	web.Say("it is me, tess")
	term.WaitFor("tess_ [no key]: it is me, tess")
	term.TypeLine("no, I am tess")
	web.WaitJS("tess's line with her key tag", `[...document.querySelectorAll('#log li')].some(li => /tess \[key [A-Za-z0-9+\/]{8}\]no, I am tess/.test(li.textContent))`)
}
