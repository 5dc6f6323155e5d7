package webrtcsignal

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/core"
	"parley/internal/testkit"
)

// privateChatOpen waits until page lists a private chat.
func privateChatOpen(p *testkit.Page) {
	p.WaitJS("a private chat in the list", `[...document.querySelectorAll('#convs li')].some(li => li.dataset.conv.startsWith('@'))`)
}

// unreadOf is the unread badge of page's private chat, "" for none.
func unreadOf(p *testkit.Page) string {
	return testkit.Eval[string](p, `(() => {
		const li = [...document.querySelectorAll('#convs li')].find(li => li.dataset.conv.startsWith('@'));
		const n = li && li.querySelector('.count');
		return n ? n.textContent : '';
	})()`)
}

// noLeaveSeen fails the test if page was told that someone left.
func noLeaveSeen(t *testing.T, p *testkit.Page) {
	t.Helper()
	if testkit.Eval[bool](p, `[...document.querySelectorAll('#log li')].some(li => li.textContent.includes(' left')) || document.getElementById('status').textContent.includes('left')`) {
		t.Fatalf("%s saw a leave: %s", p.Name, testkit.Eval[string](p, `document.getElementById('log').textContent + ' | ' + document.getElementById('status').textContent`))
	}
}

// inPrivateChat starts a server and the pages of alice and bob, in a
// private chat alice opened.
func inPrivateChat(t *testing.T) (ts *testServer, alice, bob *testkit.Page) {
	t.Helper()
	ts = startServer(t)
	browser := testkit.Chromium(t)
	alice = testkit.OpenPage(t, browser, "alice", ts.url)
	bob = testkit.OpenPage(t, browser, "bob", ts.url)
	alice.Code()
	alice.Say("/join " + bob.Code())
	privateChatOpen(bob)
	privateChatOpen(alice)
	return ts, alice, bob
}

// A reload brings the user back with the same code, name, private chat
// and unread count; the partner sees nothing of it.
func TestReloadResumesTheSameUser(t *testing.T) {
	ts, alice, bob := inPrivateChat(t)
	bobCode, bobName := bob.Code(), bob.Text("me-name")
	alice.Say("hello bob")
	bob.ClickCSS(`#convs li[data-conv^="@"]`)
	bob.WaitLog("hello bob")
	bob.ClickCSS(`#convs li[data-conv="#lobby"]`)
	bob.WaitJS("the lobby", `document.getElementById('conv-title').textContent === '#lobby'`)
	alice.Say("are you still there?")
	bob.WaitJS("one unread", `document.title === '(1) Parley'`)

	bob.Do(chromedp.Reload())
	if code := bob.Code(); code != bobCode {
		t.Fatalf("after a reload bob's code is %s, was %s", code, bobCode)
	}
	if name := bob.Text("me-name"); name != bobName {
		t.Fatalf("after a reload bob is %q, was %q", name, bobName)
	}
	privateChatOpen(bob)
	bob.WaitJS("the unread count kept", `document.title === '(1) Parley'`)
	if n := unreadOf(bob); n != "1" {
		t.Fatalf("the private chat shows %q unread after the reload, want 1", n)
	}
	if testkit.Eval[bool](bob, `document.getElementById('banner').hidden === false`) {
		t.Fatalf("a resumed page shows the banner: %s", bob.Text("banner"))
	}
	bob.ClickCSS(`#convs li[data-conv^="@"]`)
	bob.WaitLog("are you still there?")
	bob.Say("still here")
	alice.WaitLog("still here")
	noLeaveSeen(t, alice)
	alice.ClickCSS(`#convs li[data-conv="#lobby"]`)
	alice.WaitJS("the lobby", `document.getElementById('conv-title').textContent === '#lobby'`)
	noLeaveSeen(t, alice)
	if users, _, privates := ts.hub.Counts(); users != 2 || privates != 1 {
		t.Fatalf("after the reload: %d users, %d private chats", users, privates)
	}
}

// A connection that drops is resumed by the page by itself.
func TestDroppedConnectionResumes(t *testing.T) {
	ts, alice, bob := inPrivateChat(t)
	bobCode := bob.Code()
	id := testkit.Eval[uint64](bob, `state.self.id`)
	ts.srv.mu.Lock()
	c := ts.srv.byUser[id]
	ts.srv.mu.Unlock()
	c.ws.UnderlyingConn().Close() // as a network that went away would
	waitForNewConn(t, ts, id, c)
	bob.ClickCSS(`#convs li[data-conv^="@"]`)
	if code := bob.Code(); code != bobCode {
		t.Fatalf("after the drop bob's code is %s, was %s", code, bobCode)
	}
	alice.Say("did you drop?")
	bob.WaitLog("did you drop?")
	noLeaveSeen(t, alice)
}

// waitForNewConn waits until user id is served by a connection other than old.
func waitForNewConn(t *testing.T, ts *testServer, id uint64, old *conn) {
	t.Helper()
	deadline := time.Now().Add(testkit.WaitLimit)
	for {
		ts.srv.mu.Lock()
		c := ts.srv.byUser[id]
		ts.srv.mu.Unlock()
		if c != nil && c != old {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the page did not reconnect")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// After a restart the server knows nobody: the page reconnects by itself,
// and says that the old code is gone.
func TestServerRestartSaysTheOldCodeIsGone(t *testing.T) {
	ln := testkit.Listen(t)
	addr := ln.Addr().String()
	first := startServerOn(t, ln, core.DefaultConfig())
	browser := testkit.Chromium(t)
	page := testkit.OpenPage(t, browser, "alice", first.url)
	old := page.Code()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := first.stop(ctx); err != nil {
		t.Fatal(err)
	}
	page.WaitJS("the offline banner", `!document.getElementById('banner').hidden && document.getElementById('banner-text').textContent.startsWith('Offline')`)
	if !testkit.Eval[bool](page, `document.getElementById('copy-code').disabled`) {
		t.Fatal("offline, the page still offers to copy a code that may be gone")
	}
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listening again on %s: %v", addr, err)
	}
	startServerOn(t, ln2, core.DefaultConfig())
	page.WaitJS("a new code", fmt.Sprintf(`document.getElementById('me-code').textContent.length === 8 && document.getElementById('me-code').textContent !== %q`, old))
	banner := page.Text("banner-text")
	if !strings.Contains(banner, "old code "+old+" is gone") || !strings.Contains(banner, page.Text("me-code")) {
		t.Fatalf("after the restart the banner says %q", banner)
	}
	page.Say("back again")
	page.WaitLog("back again")
}

// A copy of the tab takes the user over; the first tab says so, does not
// fight back by itself, and takes the user back when asked.
func TestSecondTabTakesOver(t *testing.T) {
	ts := startServer(t)
	browser := testkit.Chromium(t)
	first := testkit.OpenPage(t, browser, "first tab", ts.url)
	code := first.Code()
	secret := testkit.Eval[string](first, `sessionStorage.getItem('parley-resume')`)
	if len(secret) < 26 {
		t.Fatalf("the tab keeps the resume secret %q", secret)
	}
	if strings.Contains(testkit.Eval[string](first, `location.href`), secret) {
		t.Fatal("the secret is in the address")
	}
	second := testkit.OpenPage(t, browser, "second tab", ts.url)
	second.Code()
	testkit.Eval[bool](second, fmt.Sprintf(`(() => { sessionStorage.setItem('parley-resume', %q); sessionStorage.setItem('parley-code', %q); return true; })()`, secret, code))
	second.Do(chromedp.Reload())
	second.WaitJS("the first tab's code", fmt.Sprintf(`document.getElementById('me-code').textContent === %q`, code))
	first.WaitJS("the taken-over banner", `!document.getElementById('banner').hidden && document.getElementById('banner-text').textContent.includes('open in another tab')`)
	second.Say("from the second tab")
	second.WaitLog("from the second tab")
	first.Click("banner-action")
	first.WaitJS("the banner gone", `document.getElementById('banner').hidden`)
	second.WaitJS("the taken-over banner", `!document.getElementById('banner').hidden && document.getElementById('banner-text').textContent.includes('open in another tab')`)
	first.Say("back in the first tab")
	first.WaitLog("back in the first tab")
	if users, _, _ := ts.hub.Counts(); users != 2 {
		t.Fatalf("%d users, want 2: the shared one and the second tab's first, waiting out its grace", users)
	}
}

// After /quit the page stays out: no reconnection, no secret kept.
func TestQuitStaysQuit(t *testing.T) {
	ts := startServer(t)
	browser := testkit.Chromium(t)
	page := testkit.OpenPage(t, browser, "alice", ts.url)
	page.Code()
	page.Say("/quit")
	page.WaitJS("the goodbye", `!document.getElementById('banner').hidden && document.getElementById('banner-text').textContent === 'You have left Parley.'`)
	if !testkit.Eval[bool](page, `session.timer === 0 && sessionStorage.getItem('parley-resume') === null`) {
		t.Fatal("after /quit the page still means to come back")
	}
	waitUsers(t, ts, 0)
	page.Click("banner-action")
	page.WaitJS("a new welcome", `document.getElementById('banner').hidden && !document.body.classList.contains('offline')`)
	waitUsers(t, ts, 1)
}

// Closing the tab with a private chat open asks first.
func TestLeavingAPrivateChatAsksFirst(t *testing.T) {
	_, alice, bob := inPrivateChat(t)
	const asks = `(() => { const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); return e.defaultPrevented; })()`
	if !testkit.Eval[bool](alice, asks) {
		t.Fatal("the page closes without asking while a private chat is open")
	}
	alice.Say("/leave")
	bob.WaitJS("the private chat closed", `![...document.querySelectorAll('#convs li')].some(li => li.dataset.conv.startsWith('@'))`)
	if testkit.Eval[bool](bob, asks) {
		t.Fatal("the page asks before closing with no private chat open")
	}
}
