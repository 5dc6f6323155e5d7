package webrtcsignal

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"parley/internal/testkit"
)

// TestAccessibleInEveryState runs axe-core on the page in each of its
// states: no serious or critical violation anywhere.
func TestAccessibleInEveryState(t *testing.T) {
	testkit.NodeModules(t, "axe-core")
	ts := startServer(t)
	alice, bob := privatePair(t, ts.url)

	bob.Say("hello " + alice.Text("me-name")) // a mention, drawn apart
	alice.WaitJS("the mention", `document.querySelector('#log .mention') !== null`)
	testkit.NoAxeViolations(t, alice, "private chat")
	alice.Say("/home")
	alice.WaitJS("the home screen", `!document.getElementById('home').hidden`)
	testkit.NoAxeViolations(t, alice, "home")
	alice.Say("/help")
	alice.WaitJS("the help", `document.querySelector('#home .info') !== null`)
	testkit.NoAxeViolations(t, alice, "help on the home screen")
	alice.Say("/join #lobby")
	alice.WaitJS("the room", `document.getElementById('conv-title').textContent === '#lobby'`)
	alice.Click("members-toggle")
	alice.WaitJS("the members", `document.querySelectorAll('#member-list li').length > 1`)
	testkit.NoAxeViolations(t, alice, "room")
	alice.Say("/help")
	alice.WaitJS("the help", `document.querySelector('#log .info') !== null`)
	testkit.NoAxeViolations(t, alice, "help")

	bob.Click("call-button")
	alice.WaitCallState("ringing-in")
	testkit.NoAxeViolations(t, alice, "incoming call")
	testkit.NoAxeViolations(t, bob, "ringing call")
	alice.Click("call-accept")
	testkit.WaitVideo(t, alice, bob)
	bob.Click("call-mute")
	alice.WaitJS("the muted indicator", `!document.getElementById('remote-muted').hidden`)
	testkit.NoAxeViolations(t, alice, "active call")
	testkit.NoAxeViolations(t, bob, "active call")
}

// TestEverythingWorksByKeyboard walks the page with Tab alone: every
// conversation, room and member is reached and works with Enter, and so
// does the message log. New messages are announced.
func TestEverythingWorksByKeyboard(t *testing.T) {
	ts := startServer(t)
	alice, bob := privatePair(t, ts.url)
	bobName := bob.Text("me-name")
	bob.Say("/join #lobby")
	bob.WaitJS("the room", `document.getElementById('conv-title').textContent === '#lobby'`)
	alice.Click("members-toggle")

	// focusOn presses Tab until the focused element matches css.
	focusOn := func(p *testkit.Page, css string) {
		t.Helper()
		var seen []string
		for range 60 {
			p.Do(chromedp.KeyEvent(kb.Tab))
			if testkit.Eval[bool](p, fmt.Sprintf(`document.activeElement.matches(%q)`, css)) {
				return
			}
			seen = append(seen, testkit.Eval[string](p, `document.activeElement.id || document.activeElement.textContent.slice(0, 30)`))
		}
		t.Fatalf("%s: Tab never reached %s; it went through %q", p.Name, css, seen)
	}
	enter := func(p *testkit.Page) { p.Do(chromedp.KeyEvent(kb.Enter)) }

	focusOn(alice, `#log`)
	focusOn(alice, `#rooms li button`) // #lobby, from the room list
	enter(alice)
	alice.WaitJS("the room", `document.getElementById('conv-title').textContent === '#lobby'`)
	alice.WaitJS("the members", `document.querySelectorAll('#member-list li button').length > 0`)
	focusOn(alice, `#convs li[data-conv^="@"] button`) // back to the private chat
	enter(alice)
	alice.WaitJS("the private chat", `document.getElementById('conv-desc').textContent === 'private chat'`)
	alice.Say("/join #lobby")
	alice.WaitJS("the room", `document.getElementById('conv-title').textContent === '#lobby'`)
	alice.WaitJS("the members", `document.querySelectorAll('#member-list li button').length > 0`)
	focusOn(alice, `#member-list li button`) // bob, the only other member
	enter(alice)
	alice.WaitJS("the private chat", `document.getElementById('conv-desc').textContent === 'private chat'`)
	if got := alice.Text("conv-title"); got != bobName {
		t.Fatalf("Enter on a member opened %q, want %q", got, bobName)
	}

	// What bob writes is read out to alice.
	bob.ClickCSS(`#convs li[data-conv^="@"] button`)
	bob.Say("can you hear me")
	alice.WaitJS("the announcement", `document.getElementById('announce-polite').textContent === '`+bobName+`: can you hear me'`)
	if strings.Contains(testkit.Eval[string](alice, `document.getElementById('log').getAttribute('aria-live') || ''`), "polite") {
		t.Fatal("the whole log is a live region: switching conversations would read all of it")
	}
}
