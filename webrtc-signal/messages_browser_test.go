package webrtcsignal

import (
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"parley/core"
	"parley/internal/testkit"
)

// Web addresses in messages are links (http and https only), opened with
// no opener and no referrer; the message's text is all still there.
func TestLinksAreClickable(t *testing.T) {
	ts := startServer(t)
	browser := testkit.Chromium(t)
	alice := testkit.OpenPage(t, browser, "alice", ts.url)
	bob := testkit.OpenPage(t, browser, "bob", ts.url)
	alice.Code()
	bob.Code()
	const text = `see https://example.org/a_(b)?q=1, javascript:alert(1) and <b>http://x.test</b>.`
	alice.Say(text)
	bob.WaitLog("javascript:alert(1)")
	type link struct{ Href, Rel, Text string }
	links := testkit.Eval[[]link](bob, `[...document.querySelectorAll('#log li a')].map(a => ({href: a.href, rel: a.rel, text: a.textContent}))`)
	want := []link{
		{"https://example.org/a_(b)?q=1", "noopener noreferrer", "https://example.org/a_(b)?q=1"},
		{"http://x.test/", "noopener noreferrer", "http://x.test"},
	}
	if fmt.Sprint(links) != fmt.Sprint(want) {
		t.Fatalf("links %+v, want %+v", links, want)
	}
	if got := testkit.Eval[string](bob, `[...document.querySelectorAll('#log li')].pop().querySelector('.text').textContent`); got != text {
		t.Fatalf("the message reads %q, want %q", got, text)
	}
	if testkit.Eval[int](bob, `document.querySelectorAll('#log b').length`) != 0 {
		t.Fatal("markup in a message became markup on the page")
	}
}

// Joins and leaves that follow each other in a room take one line.
func TestJoinsAndLeavesCollapse(t *testing.T) {
	ts := startServer(t)
	browser := testkit.Chromium(t)
	page := testkit.OpenPage(t, browser, "alice", ts.url)
	page.Code()
	page.Say("before the crowd")
	page.WaitLog("before the crowd")
	var crowd []*core.Session
	for i := range 5 {
		s, err := ts.hub.Connect(core.ConnectInfo{LoginName: fmt.Sprintf("guest%d", i), Transport: "ssh", IP: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		crowd = append(crowd, s)
	}
	for _, s := range crowd[:3] {
		s.Close("")
	}
	t.Cleanup(func() {
		for _, s := range crowd[3:] {
			s.Close("")
		}
	})
	page.WaitLog("5 joined, 3 left")
	lines := testkit.Eval[int](page, `[...document.querySelectorAll('#log li')].filter(li => li.textContent.includes('joined') || li.textContent.includes('left')).length`)
	if lines != 2 { // alice's own join, before her message, and the crowd's line
		t.Fatalf("%d lines of joins and leaves, want 2: %s", lines, testkit.Eval[string](page, `document.getElementById('log').textContent`))
	}
	if title := testkit.Eval[string](page, `[...document.querySelectorAll('#log li')].pop().title`); title == "" {
		t.Fatal("the folded line does not name who came and went")
	}
	page.Say("/home")
	page.WaitJS("home", `document.getElementById('conv-title').textContent === 'Home'`)
	page.ClickCSS(`#convs li[data-conv="#lobby"]`)
	page.WaitLog("5 joined, 3 left")
}

// A tab in the background: a mention or a private message raises a
// notification, and the title counts what came.
func TestBackgroundTabNotifies(t *testing.T) {
	ts := startServer(t)
	browser := testkit.Chromium(t)
	alice := testkit.OpenPage(t, browser, "alice", ts.url)
	bob := testkit.OpenPage(t, browser, "bob", ts.url)
	alice.Code()
	bob.Code()
	bobName := bob.Text("me-name")
	// The tab goes to the background, with notifications allowed.
	testkit.Eval[bool](bob, `(() => {
		window.shown = [];
		window.Notification = class { constructor(title, o) { shown.push(title + ': ' + o.body); } addEventListener() {} close() {} };
		Notification.permission = 'granted';
		Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
		document.dispatchEvent(new Event('visibilitychange'));
		return true;
	})()`)
	alice.Say("nothing for bob here")
	alice.Say("hello " + bobName)
	bob.WaitJS("a notification for the mention", `shown.length === 1`)
	if got := testkit.Eval[string](bob, `shown[0]`); got != alice.Text("me-name")+" in #lobby: hello "+bobName {
		t.Fatalf("the notification reads %q", got)
	}
	bob.WaitJS("two unread in the title", `document.title === '(2) Parley'`)
	alice.Say("/dm " + bobName)
	alice.Say("just between us")
	bob.WaitJS("a notification for the private message", `shown.length === 2 && shown[1].endsWith('(private): just between us')`)
	testkit.Eval[bool](bob, `(() => {
		Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});
		document.dispatchEvent(new Event('visibilitychange'));
		return true;
	})()`)
	// The private chat opened on screen; back on the tab it is read, and
	// the lobby's two messages are left to count.
	bob.WaitJS("the title counts the lobby's messages only", `document.getElementById('conv-title').textContent !== '#lobby' && document.title === '(2) Parley'`)
}

// Permission for notifications is asked when the person first sends
// something, never on load.
func TestNotificationPermissionWaitsForTheFirstMessage(t *testing.T) {
	ts := startServer(t)
	browser := testkit.Chromium(t)
	p := testkit.OpenPage(t, browser, "alice", "about:blank")
	if _, err := chromedp.Call(p.Ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.asked = 0;
		window.Notification = class { static permission = 'default'; static requestPermission() { asked++; return Promise.resolve('default'); } };`}); err != nil {
		t.Fatal(err)
	}
	p.Do(chromedp.Navigate(ts.url))
	p.Code()
	p.WaitJS("the lobby", `document.getElementById('conv-title').textContent === '#lobby'`)
	if n := testkit.Eval[int](p, `asked`); n != 0 {
		t.Fatalf("the page asked for notifications %d times on load", n)
	}
	p.Say("hello")
	p.WaitJS("the question", `asked === 1`)
}
