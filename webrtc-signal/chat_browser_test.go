package webrtcsignal

import (
	"testing"

	"github.com/chromedp/chromedp"

	"parley/core"
	"parley/internal/testkit"
)

func TestPhoneWidth(t *testing.T) {
	ts := startServer(t)
	browser := testkit.Chromium(t)
	phone := testkit.OpenPage(t, browser, "phone", ts.url)
	phone.Do(chromedp.EmulateViewport(375, 700, chromedp.EmulateMobile))
	phone.Code()
	// The chat and its input fill the screen; the lists wait behind the menu.
	if !testkit.Eval[bool](phone, `(() => {
		const r = document.getElementById('input').getBoundingClientRect();
		return r.width > 200 && r.right <= 375 && r.bottom <= 700;
	})()`) {
		t.Fatal("the input is not on the phone's screen")
	}
	if testkit.Eval[bool](phone, `document.getElementById('sidebar').getClientRects().length > 0`) {
		t.Fatal("the sidebar covers the chat at phone width")
	}
	phone.Click("menu-toggle")
	phone.ClickCSS(`#convs li[data-conv="#lobby"]`)
	phone.WaitJS("the menu closed", `document.getElementById('sidebar').getClientRects().length === 0`)
	phone.Say("hello from a phone")
	phone.WaitLog("hello from a phone")
	if w := testkit.Eval[int](phone, `document.documentElement.scrollWidth`); w > 375 {
		t.Fatalf("the page is %d px wide on a 375 px screen", w)
	}
}

// A terminal user who logged in with a key shows its tag in the browser's
// members panel, so a look-alike name with another key or none stands out.
func TestMembersPanelShowsKeyTags(t *testing.T) {
	ts := startServer(t)
	const fp = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
	keyed, err := ts.hub.Connect(core.ConnectInfo{LoginName: "alice", Transport: "ssh", IP: "127.0.0.1", Fingerprint: fp})
	if err != nil {
		t.Fatal(err)
	}
	defer keyed.Close("")
	guest, err := ts.hub.Connect(core.ConnectInfo{LoginName: "alicia", Transport: "ssh", IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer guest.Close("")
	browser := testkit.Chromium(t)
	page := testkit.OpenPage(t, browser, "bob", ts.url)
	page.Code()
	page.Click("members-toggle")
	page.WaitJS("alice with her key tag", `[...document.querySelectorAll('#member-list li')].some(li => li.textContent.includes('alice') && li.textContent.includes('key uNiVztks'))`)
	if testkit.Eval[bool](page, `[...document.querySelectorAll('#member-list li')].some(li => li.textContent.includes('alicia') && li.textContent.includes('key '))`) {
		t.Fatal("a user without a key shows a key tag")
	}
}

// A private chat someone opens by code takes a browser user into it, ready
// to answer; one typing a draft stays, told who opened which chat.
func TestPrivateChatByCodeIsWhereTheBrowserUserIs(t *testing.T) {
	ts := startServer(t)
	browser := testkit.Chromium(t)
	page := testkit.OpenPage(t, browser, "bob", ts.url)
	code := page.Code()

	terminalUser := func(name string) *core.Session {
		s, err := ts.hub.Connect(core.ConnectInfo{LoginName: name, Transport: "ssh", IP: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close("") })
		go testkit.DiscardEvents(s)
		return s
	}
	alice := terminalUser("alice")
	if err := alice.Input("/join " + code); err != nil {
		t.Fatal(err)
	}
	page.WaitJS("bob in the chat alice opened", `document.getElementById('conv-title').textContent === 'alice'`)
	page.WaitJS("who opened it", `document.getElementById('status').textContent.includes('alice opened a private chat with you')`)
	if err := alice.Input("hello bob"); err != nil {
		t.Fatal(err)
	}
	page.WaitLog("hello bob")

	page.ClickCSS(`#convs li[data-conv="#lobby"]`)
	page.WaitJS("bob back in the lobby", `document.getElementById('conv-title').textContent === '#lobby'`)
	page.Do(chromedp.SetValue(chromedp.ID("input"), "a draft"))
	if err := terminalUser("carol").Input("/join " + code); err != nil {
		t.Fatal(err)
	}
	page.WaitJS("the status naming carol's chat", `document.getElementById('status').textContent.includes('carol opened a private chat with you: choose @carol')`)
	if title, draft := testkit.Eval[string](page, `document.getElementById('conv-title').textContent`), testkit.Eval[string](page, `document.getElementById('input').value`); title != "#lobby" || draft != "a draft" {
		t.Fatalf("bob, typing, was moved to %q or lost his draft (%q)", title, draft)
	}
}
