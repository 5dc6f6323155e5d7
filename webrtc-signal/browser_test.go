package webrtcsignal

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests drive Debian's headless Chromium with a fake camera
// and microphone. Without chromium they skip, except in CI (CI=true),
// where a missing browser is a failure.

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed, and CI=true requires the browser tests (apt-get install chromium)")
	}
	t.Skip("chromium is not installed: the browser tests need it (apt-get install chromium)")
	return ""
}

// newBrowser starts one headless Chromium for the test; pages opened in it
// are isolated from each other like separate browsers.
func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := chromiumPath(t)
	// Chromium's singleton socket lives in TMPDIR and must fit a Unix
	// socket path, which t.TempDir's long names overflow.
	tmp, err := os.MkdirTemp("", "parley-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(tmp+"/profile"),
		chromedp.Env("TMPDIR="+tmp),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(1200, 900),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return bctx
}

// page is one tab with its own cookies and storage.
type page struct {
	t    *testing.T
	name string
	ctx  context.Context
}

func openPage(t *testing.T, browser context.Context, name, url string) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first run creates the tab and must not carry a timeout: the tab
	// lives as long as the context of that run.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: opening a tab: %v", name, err)
	}
	p := &page{t: t, name: name, ctx: ctx}
	p.do(chromedp.Navigate(url))
	return p
}

func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", p.name, err)
	}
}

// eval runs a JavaScript expression (awaiting a promise) and decodes its value.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: evaluating %s: %v", p.name, expr, err)
	}
	return v
}

// waitJS waits until a JavaScript expression (or the promise it gives) is
// truthy. It polls with Runtime.evaluate: chromedp's Poll builds its
// predicate with new Function, which the page's CSP rightly forbids.
func (p *page) waitJS(what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("Promise.resolve("+expr+").then(v => !!v)", chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: waiting for %s: %v\npage state: %s", p.name, what, err, p.debugState())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *page) debugState() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({call: window.parley && window.parley.call(), status: document.getElementById('status').textContent, title: document.getElementById('conv-title').textContent, log: [...document.querySelectorAll('#log li')].slice(-8).map(li => li.textContent)})`))
	if err != nil {
		return err.Error()
	}
	return s
}

// say types a line into the input and sends it, as a person would.
func (p *page) say(text string) {
	p.t.Helper()
	p.do(chromedp.SetValue(chromedp.ID("input"), text), chromedp.Click(chromedp.CSS("#composer button")))
}

// waitLog waits until a line of the chat pane contains text.
func (p *page) waitLog(text string) {
	p.t.Helper()
	p.waitJS("a chat line with "+text, fmt.Sprintf(`[...document.querySelectorAll('#log li')].some(li => li.textContent.includes(%q))`, text))
}

// click waits until the element with that id is shown, then clicks it.
func (p *page) click(id string) {
	p.t.Helper()
	p.clickCSS("#" + id)
}

func (p *page) clickCSS(css string) {
	p.t.Helper()
	sel := fmt.Sprintf(`document.querySelector(%q)`, css)
	p.waitJS(css+" on screen", sel+` && `+sel+`.getClientRects().length > 0 && !`+sel+`.disabled`)
	eval[bool](p, sel+`.click() === undefined`)
}

func (p *page) text(id string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`document.getElementById(%q).textContent`, id))
}

// code waits for the welcome and returns the user's code.
func (p *page) code() string {
	p.t.Helper()
	p.waitJS("the welcome", `document.getElementById('me-code').textContent.length === 8`)
	return p.text("me-code")
}

type videoStats struct {
	FramesDecoded int     `json:"framesDecoded"`
	FrameWidth    int     `json:"frameWidth"`
	AudioPackets  int     `json:"audioPackets"`
	VideoWidth    float64 `json:"videoWidth"`
}

func (p *page) stats() videoStats {
	p.t.Helper()
	return eval[videoStats](p, `window.parley.stats()`)
}

// waitVideo waits until the page decodes the peer's video, then checks
// that frames keep coming.
func waitVideo(t *testing.T, pages ...*page) {
	t.Helper()
	for _, p := range pages {
		p.waitJS("decoded video", `window.parley.stats().then(s => s.framesDecoded > 0 && s.videoWidth > 0)`)
	}
	before := make([]videoStats, len(pages))
	for i, p := range pages {
		before[i] = p.stats()
	}
	for i, p := range pages {
		p.waitJS("more decoded frames", fmt.Sprintf(`window.parley.stats().then(s => s.framesDecoded > %d && s.videoWidth > 0)`, before[i].FramesDecoded))
		s := p.stats()
		t.Logf("%s: %d frames decoded, %d px wide, %d audio packets", p.name, s.FramesDecoded, s.FrameWidth, s.AudioPackets)
	}
}

func (p *page) waitCallState(state string) {
	p.t.Helper()
	p.waitJS("call state "+state, fmt.Sprintf(`window.parley.call().state === %q`, state))
}

func (p *page) endedText() string {
	p.t.Helper()
	return eval[string](p, `window.parley.call().endedText`)
}

// openPrivate makes a open a private chat with b by typing b's code.
func openPrivate(t *testing.T, a, b *page) {
	t.Helper()
	code := b.code()
	a.code()
	a.say("/join " + strings.ToLower(code))
	a.waitJS("the private chat", `document.getElementById('conv-desc').textContent === 'private chat'`)
	b.clickCSS(`#convs li[data-conv^="@"]`)
	b.waitJS("the private chat", `document.getElementById('conv-desc').textContent === 'private chat'`)
}
