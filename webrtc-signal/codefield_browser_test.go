package webrtcsignal

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"parley/internal/testkit"
)

// The "their code" field opens private chats only: a name or a code with
// a word after it gets a clear error and makes no room; a code typed with
// spaces, dashes and look-alike letters works.
func TestCodeFieldTakesOnlyCodes(t *testing.T) {
	ts := startServer(t)
	browser := testkit.Chromium(t)
	alice := testkit.OpenPage(t, browser, "alice", ts.url)
	bob := testkit.OpenPage(t, browser, "bob", ts.url)
	alice.Code()
	code := bob.Code()
	for _, typed := range []string{"VAJ8 C053 x", "bob the builder", "#lobby"} {
		alice.Do(chromedp.SetValue(chromedp.ID("code-input"), typed))
		alice.ClickCSS("#code-form button")
		alice.WaitJS("the error for "+typed, `document.getElementById('code-error').textContent.includes('is not a code')`)
		if !testkit.Eval[bool](alice, `document.getElementById('code-error').getClientRects().length > 0`) {
			t.Fatal("the error is not shown")
		}
		testkit.Eval[bool](alice, `(document.getElementById('code-error').textContent = '') === ''`)
	}
	if _, rooms, _ := ts.hub.Counts(); rooms != 1 {
		t.Fatalf("%d rooms after typing other things than codes", rooms)
	}
	typed := strings.NewReplacer("0", "o", "1", "I").Replace(strings.ToLower(code[:4] + "-" + code[4:]))
	alice.Do(chromedp.SetValue(chromedp.ID("code-input"), " "+typed+" "))
	alice.ClickCSS("#code-form button")
	privateChatOpen(bob)
	alice.WaitJS("the private chat current", `document.getElementById('conv-title').textContent === document.getElementById('convs').querySelector('li.current bdi').textContent && document.querySelector('#convs li.current').dataset.conv.startsWith('@')`)
	if testkit.Eval[string](alice, `document.getElementById('code-error').textContent`) != "" {
		t.Fatal("an error is left under the field")
	}
}
