package webrtcsignal

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"parley/internal/testkit"
)

// privatePair opens url for alice and bob in one Chromium, and alice
// opens a private chat with bob by typing his code.
func privatePair(t *testing.T, url string, extra ...chromedp.ExecAllocatorOption) (alice, bob *testkit.Page) {
	t.Helper()
	browser := testkit.Chromium(t, extra...)
	alice = testkit.OpenPage(t, browser, "alice", url)
	bob = testkit.OpenPage(t, browser, "bob", url)
	openPrivate(alice, bob)
	return alice, bob
}

// openPrivate makes a open a private chat with b by typing b's code.
func openPrivate(a, b *testkit.Page) {
	code := b.Code()
	a.Code()
	a.Say("/join " + strings.ToLower(code))
	a.WaitJS("the private chat", `document.getElementById('conv-desc').textContent === 'private chat'`)
	b.ClickCSS(`#convs li[data-conv^="@"]`)
	b.WaitJS("the private chat", `document.getElementById('conv-desc').textContent === 'private chat'`)
}
