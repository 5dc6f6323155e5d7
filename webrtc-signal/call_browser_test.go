package webrtcsignal

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/internal/testkit"
)

func TestTwoBrowsersCallEachOther(t *testing.T) {
	ts := startServer(t)
	alice, bob := privatePair(t, ts.url)

	alice.Click("call-button")
	bob.WaitCallState("ringing-in")
	if got := bob.Text("call-text"); !strings.Contains(got, "is calling you") {
		t.Fatalf("bob's ring says %q", got)
	}
	alice.WaitCallState("ringing-out")
	bob.Click("call-accept")
	testkit.WaitVideo(t, alice, bob)
	alice.WaitCallState("active")
	bob.WaitCallState("active")

	// A third user who learns the call ID cannot inject into it: the call
	// keeps its media, and nothing it sends reaches either side (checked
	// message by message in TestSignalingOnlyBetweenTheTwoParties).
	intruder, _ := helloClient(t, ts, "mallory")
	id := testkit.Eval[string](alice, `window.parley.call().id`)
	intruder.send(map[string]any{"type": "call-offer", "call": id, "sdp": "v=0\r\n"})
	intruder.send(map[string]any{"type": "call-ice", "call": id, "candidate": map[string]any{"candidate": "candidate:1 1 udp 1 192.0.2.66 9 typ host", "sdpMid": "0"}})
	intruder.send(map[string]any{"type": "call-hangup", "call": id})
	intruder.expect("call-ended", nil) // the intruder is told there is no such call
	testkit.WaitVideo(t, alice, bob)

	// Mute and camera off act on the tracks that are sent; the call clock runs.
	alice.Click("call-mute")
	alice.Click("call-camera")
	if !testkit.Eval[bool](alice, `(() => {
		const v = document.getElementById('local-video').srcObject;
		return v.getAudioTracks().every(t => !t.enabled) && v.getVideoTracks().every(t => !t.enabled) &&
			document.getElementById('call-mute').getAttribute('aria-pressed') === 'true';
	})()`) {
		t.Fatal("mute and camera off left the tracks on")
	}
	alice.Click("call-mute")
	alice.WaitJS("the duration", `document.getElementById('call-duration').textContent !== '0:00'`)

	bob.Click("call-hangup")
	alice.WaitCallState("ended")
	bob.WaitCallState("ended")
	if got := alice.EndedText(); !strings.Contains(got, "hung up") || !strings.Contains(got, "lasted") {
		t.Fatalf("alice was told %q", got)
	}
	alice.WaitJS("the call panel closed", `document.getElementById('call').hidden && document.getElementById('remote-video').srcObject === null`)

	// They can call again after hanging up; a browser that goes away ends
	// the call for the other side.
	bob.Click("call-button")
	alice.WaitCallState("ringing-in")
	alice.Click("call-accept")
	alice.WaitCallState("active")
	if err := chromedp.Cancel(bob.Ctx); err != nil {
		t.Fatal(err)
	}
	alice.WaitCallState("ended")
	if got := alice.EndedText(); !strings.Contains(got, "left the call") && !strings.Contains(got, "private chat") {
		t.Fatalf("alice was told %q", got)
	}
}

func TestDeclineAndRingTimeoutEndCleanly(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.RingTimeout = 2 * time.Second })
	alice, bob := privatePair(t, ts.url)

	alice.Click("call-button")
	bob.WaitCallState("ringing-in")
	bob.Click("call-decline")
	alice.WaitCallState("ended")
	bob.WaitCallState("ended")
	if got := alice.EndedText(); !strings.Contains(got, "declined") {
		t.Fatalf("alice was told %q", got)
	}
	aliceName := alice.Text("me-name")
	bob.WaitLog("declined a call from " + aliceName)

	alice.Click("call-button")
	bob.WaitCallState("ringing-in")
	alice.WaitCallState("ended")
	bob.WaitCallState("ended")
	for _, p := range []*testkit.Page{alice, bob} {
		if got := p.EndedText(); !strings.Contains(got, "no answer") {
			t.Fatalf("%s was told %q", p.Name, got)
		}
		p.WaitJS("the call panel closed", `document.getElementById('call').hidden`)
		p.WaitLog("missed call from " + aliceName)
	}
	// Nothing is left behind: both can chat and call again.
	alice.Say("still here")
	bob.WaitLog("still here")
	ts.srv.calls.mu.Lock()
	left := len(ts.srv.calls.calls) + len(ts.srv.calls.byUser) + len(ts.srv.calls.byEP)
	ts.srv.calls.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d call records left after the calls ended", left)
	}
}

func TestForeignOriginIsRefusedInTheBrowser(t *testing.T) {
	ts := startServer(t)
	browser := testkit.Chromium(t)
	// Another site, on another origin, tries to open a WebSocket to the
	// chat with the visitor's browser (cross-site WebSocket hijacking).
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<!doctype html><title>elsewhere</title>"))
	}))
	t.Cleanup(attacker.Close)
	p := testkit.OpenPage(t, browser, "attacker", attacker.URL)
	got := testkit.Eval[string](p, fmt.Sprintf(`new Promise(resolve => {
		const ws = new WebSocket(%q);
		ws.onopen = () => resolve('open');
		ws.onclose = (e) => resolve('closed ' + e.code);
	})`, "ws"+strings.TrimPrefix(ts.url, "http")+"/ws"))
	if got != "closed 1006" {
		t.Fatalf("a WebSocket from %s to %s: %s", attacker.URL, ts.url, got)
	}
	if users, _, _ := ts.hub.Counts(); users != 0 {
		t.Fatalf("%d users connected", users)
	}
}

// TestCallOverTLS serves the page over HTTPS through the TLS helper, as a
// deployment without a proxy would: the page, the WebSocket (wss) and a
// call all work.
func TestCallOverTLS(t *testing.T) {
	ts := startServer(t)
	certFile, keyFile, _ := testkit.SelfSigned(t)
	ln, _, err := TLSSettings{CertFile: certFile, KeyFile: keyFile}.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: ts.srv.Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := "https://" + ln.Addr().String()

	alice, bob := privatePair(t, url, chromedp.IgnoreCertErrors)
	if got := testkit.Eval[string](alice, `location.protocol + ' ' + window.isSecureContext`); got != "https: true" {
		t.Fatalf("page: %s", got)
	}
	alice.Say("over TLS")
	bob.WaitLog("over TLS")
	alice.Click("call-button")
	bob.Click("call-accept")
	testkit.WaitVideo(t, alice, bob)
	alice.Click("call-hangup")
	bob.WaitCallState("ended")
}
