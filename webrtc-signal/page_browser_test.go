package webrtcsignal

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"

	"parley/internal/testkit"
)

// A phone: the page does not jump about as it fills in after connecting,
// and the menu never covers the header's code and Copy button, however
// long the name.
func TestPhonePageIsSteady(t *testing.T) {
	ts := startServer(t)
	// The welcome comes a moment after the page is drawn, as over a real
	// network, so that whatever it moves is seen moving.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" {
			time.Sleep(time.Second)
		}
		ts.srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(slow.Close)
	browser := testkit.Chromium(t)
	phone := testkit.OpenPage(t, browser, "phone", "about:blank")
	phone.Do(chromedp.EmulateViewport(375, 700, chromedp.EmulateMobile), chromedp.Navigate(slow.URL))
	phone.Code()
	phone.WaitJS("the lobby", `document.getElementById('conv-title').textContent === '#lobby' && document.querySelectorAll('#log li').length > 0`)
	shift := testkit.Eval[float64](phone, `new Promise(resolve => {
		let sum = 0;
		new PerformanceObserver(list => {
			for (const e of list.getEntries()) if (!e.hadRecentInput) sum += e.value;
		}).observe({type: 'layout-shift', buffered: true});
		setTimeout(() => resolve(sum), 200);
	})`)
	t.Logf("cumulative layout shift: %.3f", shift)
	if shift > 0.1 {
		t.Fatalf("the page shifted by %.3f while filling in (good is at most 0.1)", shift)
	}
	phone.Say("/name " + strings.Repeat("w", 24))
	phone.WaitJS("the long name", `document.getElementById('me-name').textContent.length === 24`)
	phone.Click("menu-toggle")
	covered := testkit.Eval[bool](phone, `(() => {
		const menu = document.getElementById('sidebar').getBoundingClientRect();
		return ['me-code', 'copy-code'].some(id => {
			const r = document.getElementById(id).getBoundingClientRect();
			return r.width === 0 || r.right > 375 || (r.bottom > menu.top && r.left < menu.right);
		});
	})()`)
	if covered {
		t.Fatal("with the menu open, the code or the Copy button is covered or off screen")
	}
}

// The page loads with no console error (a missing favicon was one) and Esc
// goes home, as /help says.
func TestNoConsoleErrorsAndEscGoesHome(t *testing.T) {
	ts := startServer(t)
	browser := testkit.Chromium(t)
	p := testkit.OpenPage(t, browser, "alice", ts.url)
	p.Code()
	p.WaitJS("the lobby", `document.getElementById('conv-title').textContent === '#lobby'`)
	p.WaitJS("the icon", `fetch(document.querySelector('link[rel=icon]').href).then(r => r.ok && r.headers.get('Content-Type').startsWith('image/'))`)
	var mu sync.Mutex
	var errs []string
	if err := chromedp.Listen(p.Ctx, func(ev any) {
		if e, ok := ev.(*cdplog.EventEntryAdded); ok && e.Entry.Level == cdplog.EntryLevelError {
			mu.Lock()
			errs = append(errs, e.Entry.Text+" "+e.Entry.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	// Enabling the log domain replays what the page logged so far.
	if _, err := chromedp.Call(p.Ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	p.Do(chromedp.KeyEvent("\u001b"))
	p.WaitJS("home", `document.getElementById('conv-title').textContent === 'Home' && !document.getElementById('home').hidden`)
	mu.Lock()
	defer mu.Unlock()
	if len(errs) > 0 {
		t.Fatalf("the page logged errors: %q", errs)
	}
}
