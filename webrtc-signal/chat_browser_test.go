package webrtcsignal

import (
	"testing"

	"github.com/chromedp/chromedp"
)

func TestPhoneWidth(t *testing.T) {
	ts := startServer(t)
	browser := newBrowser(t)
	phone := openPage(t, browser, "phone", ts.url)
	phone.do(chromedp.EmulateViewport(375, 700, chromedp.EmulateMobile))
	phone.code()
	// The chat and its input fill the screen; the lists wait behind the menu.
	if !eval[bool](phone, `(() => {
		const r = document.getElementById('input').getBoundingClientRect();
		return r.width > 200 && r.right <= 375 && r.bottom <= 700;
	})()`) {
		t.Fatal("the input is not on the phone's screen")
	}
	if eval[bool](phone, `document.getElementById('sidebar').getClientRects().length > 0`) {
		t.Fatal("the sidebar covers the chat at phone width")
	}
	phone.click("menu-toggle")
	phone.clickCSS(`#convs li[data-conv="#lobby"]`)
	phone.waitJS("the menu closed", `document.getElementById('sidebar').getClientRects().length === 0`)
	phone.say("hello from a phone")
	phone.waitLog("hello from a phone")
	if w := eval[int](phone, `document.documentElement.scrollWidth`); w > 375 {
		t.Fatalf("the page is %d px wide on a 375 px screen", w)
	}
}
