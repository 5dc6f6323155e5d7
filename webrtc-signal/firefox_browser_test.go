package webrtcsignal

import (
	"testing"

	"parley/internal/testkit"
)

// TestFirefoxAndChromiumCallEachOther: a Firefox ESR user and a Chromium
// user chat and call; each side decodes the other's video.
func TestFirefoxAndChromiumCallEachOther(t *testing.T) {
	ts := startServer(t)
	browser := testkit.Chromium(t)
	alice := testkit.OpenPage(t, browser, "alice (Chromium)", ts.url)
	bob := testkit.OpenFirefox(t, "bob (Firefox)", ts.url)

	bob.WaitJS("the welcome", `document.getElementById('me-code').textContent.length === 8`)
	var code string
	bob.Decode(`document.getElementById('me-code').textContent`, &code)
	alice.Code()
	alice.Say("/join " + code)
	alice.WaitJS("the private chat", `document.getElementById('conv-desc').textContent === 'private chat'`)
	bob.WaitJS("the private chat in the list", `document.querySelector('#convs li[data-conv^="@"] button')`)
	bob.Decode(`document.querySelector('#convs li[data-conv^="@"] button').click() === undefined`, new(bool))
	bob.WaitJS("the private chat", `document.getElementById('conv-desc').textContent === 'private chat'`)
	alice.Say("hello Firefox")
	bob.WaitJS("alice's message", `[...document.querySelectorAll('#log li')].some(li => li.textContent.includes('hello Firefox'))`)

	// Firefox calls, Chromium answers.
	bob.WaitJS("the call button", `document.getElementById('call-button').getClientRects().length > 0`)
	bob.Decode(`document.getElementById('call-button').click() === undefined`, new(bool))
	bob.WaitJS("the ring", `window.parley.call().state === 'ringing-out'`)
	alice.WaitCallState("ringing-in")
	alice.Click("call-accept")
	testkit.WaitVideo(t, alice, bob)
	alice.Click("call-hangup")
	bob.WaitJS("the end of the call", `window.parley.call().state === 'ended'`)
}
