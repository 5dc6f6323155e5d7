package webrtcsignal

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"parley/core"
	"parley/internal/testkit"
)

// TestCallThatCannotConnectEndsWithAReason: bob's browser gathers no ICE
// candidate at all (relay only, and no relay), as a browser with no route
// would. The call tries once more with an ICE restart, then ends on both
// sides with a reason, and the private chat keeps a line about it.
func TestCallThatCannotConnectEndsWithAReason(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.ConnectTimeout = 2 * time.Second })
	alice, bob := privatePair(t, ts.url)
	testkit.Eval[bool](bob, `(() => {
		const Real = window.RTCPeerConnection;
		window.RTCPeerConnection = class extends Real {
			constructor(cfg) { super({ ...cfg, iceTransportPolicy: 'relay' }); }
		};
		return true;
	})()`)

	alice.Click("call-button")
	bob.Click("call-accept")
	alice.WaitCallState("connecting")
	alice.WaitJS("the ICE restart", `window.parley.call().retried && document.getElementById('call-text').textContent.includes('trying once more')`)
	alice.WaitCallState("ended")
	bob.WaitCallState("ended")
	for _, p := range []*testkit.Page{alice, bob} {
		if got := p.EndedText(); !strings.Contains(got, "could not connect") {
			t.Fatalf("%s was told %q", p.Name, got)
		}
		p.WaitLog("could not connect")
		p.WaitJS("the call panel closed", `document.getElementById('call').hidden`)
	}
	if n := testkit.Eval[int](alice, `window.parley.call().offers`); n < 2 {
		t.Fatalf("alice made %d offers: no ICE restart was tried", n)
	}
}

// TestCallRingsShowsMediaStateAndKeepsTheChat covers what both sides see
// around a call: the ring (chime, title, notification when the tab is
// hidden, a focus-trapping dialog), the peer's mute and camera-off
// indicators, and the conversation, still usable beside the video.
func TestCallRingsShowsMediaStateAndKeepsTheChat(t *testing.T) {
	ts := startServer(t)
	alice, bob := privatePair(t, ts.url)
	// Bob's tab is in the background, and he allowed notifications.
	testkit.Eval[bool](bob, `(() => {
		Object.defineProperty(document, 'hidden', { get: () => true, configurable: true });
		Object.defineProperty(document, 'visibilityState', { get: () => 'hidden', configurable: true });
		window.shown = [];
		window.Notification = class {
			static permission = 'granted';
			constructor(title, opts) { window.shown.push(title + ': ' + opts.body); }
			close() {}
		};
		return true;
	})()`)
	aliceName := alice.Text("me-name")

	alice.Click("call-button")
	bob.WaitCallState("ringing-in")
	bob.WaitJS("the ring", `window.parley.call().ringing && window.parley.call().chimes > 0`)
	bob.WaitJS("the flashing title", `document.title.includes('is calling you')`)
	if got := testkit.Eval[[]string](bob, `window.shown`); len(got) != 1 || !strings.Contains(got[0], aliceName+" is calling you") {
		t.Fatalf("bob's notifications: %q", got)
	}
	bob.WaitJS("the announcement", `document.getElementById('announce').textContent.includes('is calling you')`)
	// The ringing dialog has the focus and keeps it.
	if got := testkit.Eval[string](bob, `document.activeElement.id`); got != "call-accept" {
		t.Fatalf("focus on %q while ringing", got)
	}
	for _, want := range []string{"call-decline", "call-accept", "call-decline"} {
		bob.Do(chromedp.KeyEvent(kb.Tab))
		if got := testkit.Eval[string](bob, `document.activeElement.id`); got != want {
			t.Fatalf("Tab went to %q, want %q", got, want)
		}
	}
	bob.Do(chromedp.KeyEvent(kb.Enter)) // Decline, by keyboard
	alice.WaitCallState("ended")
	bob.WaitJS("the ring stopped", `!window.parley.call().ringing && !document.title.includes('calling')`)
	for _, p := range []*testkit.Page{alice, bob} {
		p.WaitLog("declined a call from " + aliceName)
	}

	alice.Click("call-button")
	bob.WaitCallState("ringing-in")
	bob.Do(chromedp.KeyEvent(kb.Enter)) // Accept
	testkit.WaitVideo(t, alice, bob)
	bob.WaitCallState("active")
	if !testkit.Eval[bool](bob, `document.getElementById('call').contains(document.activeElement)`) {
		t.Fatal("the call did not take the focus")
	}

	// Alice mutes, then turns her camera off: bob sees each.
	indicators := `[...document.querySelectorAll('#remote-state span')].filter(s => s.getClientRects().length > 0).map(s => s.textContent).join(' | ')`
	if got := testkit.Eval[string](bob, indicators); got != "" {
		t.Fatalf("indicators before anything was turned off: %q", got)
	}
	alice.Click("call-mute")
	bob.WaitJS("the muted indicator", indicators+` === '`+aliceName+` is muted'`)
	alice.Click("call-camera")
	bob.WaitJS("both indicators", indicators+` === '`+aliceName+` is muted | `+aliceName+`\'s camera is off'`)
	alice.Click("call-mute")
	alice.Click("call-camera")
	bob.WaitJS("no indicator", indicators+` === ''`)

	// The chat stays in view and usable during the call.
	for _, p := range []*testkit.Page{alice, bob} {
		if !testkit.Eval[bool](p, `(() => {
			const visible = (id) => {
				const r = document.getElementById(id).getBoundingClientRect();
				if (r.width === 0 || r.height < 20) return false;
				const hit = document.elementFromPoint(r.left + r.width / 2, r.top + Math.min(r.height / 2, 10));
				return hit !== null && document.getElementById(id).contains(hit);
			};
			return visible('input') && visible('log') && visible('remote-video');
		})()`) {
			t.Fatalf("%s: the conversation is hidden behind the call", p.Name)
		}
	}
	bob.Say("I can type during the call")
	alice.WaitLog("I can type during the call")
	testkit.WaitVideo(t, alice, bob)
	alice.Click("call-hangup")
	bob.WaitCallState("ended")
}

// TestBrowserCalledFromATerminal: a terminal user calls a browser user.
// The browser says the caller joins through a link; once the link is used,
// opening it again shows an ended page, not idle call controls.
func TestBrowserCalledFromATerminal(t *testing.T) {
	ts := startServer(t)
	browser := testkit.Chromium(t)
	bob := testkit.OpenPage(t, browser, "bob", ts.url)
	tom, err := ts.hub.Connect(core.ConnectInfo{LoginName: "tom", Transport: "ssh", IP: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer tom.Close("")
	if err := tom.Input("/join " + bob.Code()); err != nil {
		t.Fatal(err)
	}
	if err := tom.Input("/video"); err != nil {
		t.Fatal(err)
	}
	link := waitCallLink(t, tom)

	bob.WaitCallState("ringing-in")
	if got := bob.Text("call-text"); !strings.Contains(got, "from a terminal") || !strings.Contains(got, "link") {
		t.Fatalf("bob's ring says %q", got)
	}
	bob.Click("call-accept")
	bob.WaitJS("the wait for the link", `document.getElementById('call-text').textContent.includes('to open their call link')`)

	phone := testkit.OpenPage(t, browser, "tom's phone", link)
	testkit.WaitVideo(t, bob, phone)

	// The link was used: opening it again shows that, and no call controls.
	again := testkit.OpenPage(t, browser, "the link again", link)
	again.WaitJS("the ended page", `document.getElementById('call').classList.contains('over')`)
	if got := again.Text("call-text"); !strings.Contains(got, "not valid") {
		t.Fatalf("the used link says %q", got)
	}
	if testkit.Eval[bool](again, `['call-controls', 'videos', 'call-ring'].some(id => document.getElementById(id).getClientRects().length > 0)`) {
		t.Fatal("the used link shows call controls")
	}
	again.WaitJS("a way back", `document.querySelector('#call-over a').getClientRects().length > 0`)

	// So does the link page of a call that ended.
	bob.Click("call-hangup")
	phone.WaitJS("the ended page", `document.getElementById('call').classList.contains('over') && document.getElementById('call-controls').getClientRects().length === 0`)
	if got := phone.Text("call-text"); !strings.Contains(got, "hung up") {
		t.Fatalf("the link page says %q", got)
	}
}

// waitCallLink waits for the call link a terminal session is shown.
func waitCallLink(t *testing.T, s *core.Session) string {
	t.Helper()
	deadline := time.Now().Add(testkit.WaitLimit)
	for time.Now().Before(deadline) {
		for _, ev := range s.Outbox().Drain() {
			for _, l := range ev.Lines {
				if strings.Contains(l, "/#call=") {
					return l
				}
			}
		}
		select {
		case <-s.Outbox().Ready():
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatal("the terminal user was shown no call link")
	return ""
}
