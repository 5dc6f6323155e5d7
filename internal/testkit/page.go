package testkit

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Page is one tab of the web client, with its own cookies and storage.
type Page struct {
	t    testing.TB
	Name string          // who uses it, for failure messages
	Ctx  context.Context // the tab; chromedp.Cancel(Ctx) closes it
}

// OpenPage opens url in a new tab of browser, isolated from the others.
func OpenPage(t testing.TB, browser context.Context, name, url string) *Page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first run creates the tab and must not carry a timeout: the tab
	// lives as long as the context of that run.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: opening a tab: %v", name, err)
	}
	p := &Page{t: t, Name: name, Ctx: ctx}
	p.Do(chromedp.Navigate(url))
	return p
}

// Do runs chromedp steps in the tab, failing after WaitLimit.
func (p *Page) Do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, WaitLimit)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", p.Name, err)
	}
}

// Eval runs a JavaScript expression (awaiting a promise) and decodes its value.
func Eval[T any](p *Page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.Ctx, WaitLimit)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: evaluating %s: %v", p.Name, expr, err)
	}
	return v
}

// WaitJS waits until a JavaScript expression (or the promise it gives) is
// truthy. It polls with Runtime.evaluate: chromedp's Poll builds its
// predicate with new Function, which the page's CSP rightly forbids.
func (p *Page) WaitJS(what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(WaitLimit)
	for {
		ctx, cancel := context.WithTimeout(p.Ctx, 10*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("Promise.resolve("+expr+").then(v => !!v)", chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s: waiting for %s: %v\npage state: %s", p.Name, what, err, p.debugState())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// debugStateJS sums up the web client's state for a failure message.
const debugStateJS = `JSON.stringify({call: window.parley && window.parley.call(), status: document.getElementById('status').textContent, title: document.getElementById('conv-title').textContent, log: [...document.querySelectorAll('#log li')].slice(-8).map(li => li.textContent)})`

func (p *Page) debugState() string {
	ctx, cancel := context.WithTimeout(p.Ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](debugStateJS))
	if err != nil {
		return err.Error()
	}
	return s
}

// Say types a line into the input and sends it, as a person would.
func (p *Page) Say(text string) {
	p.t.Helper()
	p.Do(chromedp.SetValue(chromedp.ID("input"), text), chromedp.Click(chromedp.CSS("#composer button")))
}

// WaitLog waits until a line of the chat pane contains text.
func (p *Page) WaitLog(text string) {
	p.t.Helper()
	p.WaitJS("a chat line with "+text, fmt.Sprintf(`[...document.querySelectorAll('#log li')].some(li => li.textContent.includes(%q))`, text))
}

// Click waits until the element with that id is shown, then clicks it.
func (p *Page) Click(id string) {
	p.t.Helper()
	p.ClickCSS("#" + id)
}

// ClickCSS waits until the element css selects is shown and enabled,
// then clicks it.
func (p *Page) ClickCSS(css string) {
	p.t.Helper()
	sel := fmt.Sprintf(`document.querySelector(%q)`, css)
	p.WaitJS(css+" on screen", sel+` && `+sel+`.getClientRects().length > 0 && !`+sel+`.disabled`)
	Eval[bool](p, sel+`.click() === undefined`)
}

// Text is the text of the element with that id.
func (p *Page) Text(id string) string {
	p.t.Helper()
	return Eval[string](p, fmt.Sprintf(`document.getElementById(%q).textContent`, id))
}

// Code waits for the welcome and returns the user's code.
func (p *Page) Code() string {
	p.t.Helper()
	p.WaitJS("the welcome", `document.getElementById('me-code').textContent.length === 8`)
	return p.Text("me-code")
}

// WaitCallState waits until the client's call is in state.
func (p *Page) WaitCallState(state string) {
	p.t.Helper()
	p.WaitJS("call state "+state, fmt.Sprintf(`window.parley.call().state === %q`, state))
}

// EndedText is what the client says about the call that ended.
func (p *Page) EndedText() string {
	p.t.Helper()
	return Eval[string](p, `window.parley.call().endedText`)
}

type videoStats struct {
	FramesDecoded int     `json:"framesDecoded"`
	FrameWidth    int     `json:"frameWidth"`
	AudioPackets  int     `json:"audioPackets"`
	VideoWidth    float64 `json:"videoWidth"`
}

// Decode evaluates expr and decodes its value into v.
func (p *Page) Decode(expr string, v any) {
	p.t.Helper()
	raw := Eval[json.RawMessage](p, expr)
	if err := json.Unmarshal(raw, v); err != nil {
		p.t.Fatalf("%s: decoding %s: %v", p.Name, raw, err)
	}
}

func (p *Page) String() string { return p.Name }

// WebClient is the web client in a browser: a Chromium Page or a FirefoxPage.
type WebClient interface {
	WaitJS(what, expr string)
	Decode(expr string, v any)
	String() string
}

// WaitVideo waits until every page decodes its peer's video, then checks
// that frames keep coming.
func WaitVideo(t testing.TB, pages ...WebClient) {
	t.Helper()
	stats := func(p WebClient) (s videoStats) {
		p.Decode(`window.parley.stats()`, &s)
		return s
	}
	for _, p := range pages {
		p.WaitJS("decoded video", `window.parley.stats().then(s => s.framesDecoded > 0 && s.videoWidth > 0)`)
	}
	before := make([]videoStats, len(pages))
	for i, p := range pages {
		before[i] = stats(p)
	}
	for i, p := range pages {
		p.WaitJS("more decoded frames", fmt.Sprintf(`window.parley.stats().then(s => s.framesDecoded > %d && s.videoWidth > 0)`, before[i].FramesDecoded))
		s := stats(p)
		t.Logf("%s: %d frames decoded, %d px wide, %d audio packets", p, s.FramesDecoded, s.FrameWidth, s.AudioPackets)
	}
}
