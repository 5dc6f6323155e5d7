package webrtcsignal

import (
	"testing"

	"github.com/chromedp/chromedp"

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
