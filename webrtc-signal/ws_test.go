package webrtcsignal

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"go.uber.org/goleak"

	"parley/core"
)

// openPrivateWS makes a open a private chat with b and returns its ID.
func openPrivateWS(t *testing.T, a *wsClient, b welcomeOut) string {
	t.Helper()
	a.send(map[string]any{"type": "input", "id": 1, "text": "/join " + b.Code})
	var cur currentOut
	for cur.Conv == "" || !strings.HasPrefix(cur.Conv, "@") {
		a.expect("current", &cur)
	}
	return cur.Conv
}

// nextCall skips chat traffic and returns the next call message.
func (c *wsClient) nextCall() (string, []byte) {
	c.t.Helper()
	for {
		typ, data := c.next()
		if strings.HasPrefix(typ, "call-") {
			return typ, data
		}
	}
}

func TestSignalingOnlyBetweenTheTwoParties(t *testing.T) {
	ts := startServer(t)
	ann, annHi := helloClient(t, ts, "ann")
	ben, benHi := helloClient(t, ts, "ben")
	cat, _ := helloClient(t, ts, "cat")
	conv := openPrivateWS(t, ann, benHi)

	ann.send(map[string]any{"type": "call-invite", "id": 2, "conv": conv})
	var incoming callOut
	ben.expect("call-incoming", &incoming)
	ben.send(map[string]any{"type": "call-accept", "call": incoming.Call})
	var start callStartOut
	ann.expect("call-start", &start)
	if start.Role != "offerer" {
		t.Fatalf("caller role %q", start.Role)
	}
	ben.expect("call-start", nil)

	// The outsider knows the call ID and tries everything.
	id := incoming.Call
	for _, m := range []map[string]any{
		{"type": "call-offer", "call": id, "sdp": "evil offer"},
		{"type": "call-answer", "call": id, "sdp": "evil answer"},
		{"type": "call-ice", "call": id, "candidate": map[string]any{"candidate": "evil"}},
		{"type": "call-restart", "call": id},
		{"type": "call-accept", "call": id},
		{"type": "call-hangup", "call": id},
	} {
		cat.send(m)
	}
	cat.expect("call-ended", nil)
	cat.expect("call-ended", nil) // accept and hang up: "that call has ended"

	// A client cannot choose the sender: "from" is not a client field.
	ann.send(map[string]any{"type": "call-offer", "call": id, "sdp": "spoofed", "from": 99})
	var refused textOut
	ann.expect("error", &refused)
	if !strings.Contains(refused.Text, "unknown field") {
		t.Fatalf("a spoofed sender: %q", refused.Text)
	}

	// The next call message each party sees is its partner's, stamped
	// with the partner's ID by the server.
	ann.send(map[string]any{"type": "call-offer", "call": id, "sdp": "real offer"})
	typ, data := ben.nextCall()
	var offer sdpOut
	if err := json.Unmarshal(data, &offer); err != nil || typ != "call-offer" || offer.SDP != "real offer" || offer.From != annHi.Self.ID {
		t.Fatalf("ben got %s %s", typ, data)
	}
	ben.send(map[string]any{"type": "call-ice", "call": id, "candidate": map[string]any{"candidate": "real", "sdpMid": "0"}})
	if typ, data := ann.nextCall(); typ != "call-ice" || !strings.Contains(string(data), `"candidate":"real"`) {
		t.Fatalf("ann got %s %s", typ, data)
	}

	// Someone else calling either of them hears "busy".
	dan, _ := helloClient(t, ts, "dan")
	danConv := openPrivateWS(t, dan, benHi)
	dan.send(map[string]any{"type": "call-invite", "id": 9, "conv": danConv})
	var res resultOut
	for res.ID != 9 {
		dan.expect("result", &res)
	}
	if !strings.Contains(res.Error, "busy") {
		t.Fatalf("calling someone in a call: %+v", res)
	}

	ben.send(map[string]any{"type": "call-hangup", "call": id})
	var ended callEndedOut
	ann.expect("call-ended", &ended)
	if ended.Reason != "hangup" || !strings.HasPrefix(ended.Text, "ben hung up") {
		t.Fatalf("ended %+v", ended)
	}
}

func TestOriginCheck(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.AllowedOrigins = []string{"https://app.example.org"} })
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser
		{ts.url, true},
		{"https://app.example.org", true},
		{"https://evil.example.org", false},
		{"http://127.0.0.1.evil.example.org", false},
		{"https" + strings.TrimPrefix(ts.url, "http"), false}, // the same host, another scheme
		{"null", false},
	} {
		c, resp, err := dialWS(t, ts, tc.origin)
		if tc.ok != (err == nil) {
			t.Errorf("origin %q: %v", tc.origin, err)
			continue
		}
		if err != nil && resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: status %d", tc.origin, resp.StatusCode)
		}
		if c != nil {
			c.ws.Close()
		}
	}
}

func TestPageHeadersAndHealth(t *testing.T) {
	ts := startServer(t)
	resp, err := http.Get(ts.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := resp.Header
	for name, want := range map[string]string{
		"Content-Security-Policy": "script-src 'self';",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
		"Permissions-Policy":      "camera=(self)",
		"Content-Type":            "text/html",
	} {
		if !strings.Contains(h.Get(name), want) {
			t.Errorf("%s: %q, want %q in it", name, h.Get(name), want)
		}
	}
	if strings.Contains(h.Get("Content-Security-Policy"), "unsafe") {
		t.Errorf("the CSP allows unsafe code: %s", h.Get("Content-Security-Policy"))
	}
	resp, err = http.Get(ts.url + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}

// expectClose reads until the server closes the connection with code.
func (c *wsClient) expectClose(code int) {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue
		}
		if !websocket.IsCloseError(err, code) {
			c.t.Fatalf("want close %d, got %v", code, err)
		}
		return
	}
}

func waitUsers(t *testing.T, ts *testServer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		users, _, _ := ts.hub.Counts()
		if users == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d users online, want %d", users, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBadClientsAffectOnlyThemselves(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.ReadLimit = 4096
		c.MaxSDP = 2048
		c.FrameBurst = 20
		c.FrameRate = 1
	})
	good, _ := helloClient(t, ts, "good")

	// Malformed frames get an error and the connection goes on.
	sloppy, _ := helloClient(t, ts, "sloppy")
	sloppy.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":`))
	var e textOut
	sloppy.expect("error", &e)
	sloppy.send(map[string]any{"type": "input", "id": 1, "text": "still here"})
	var res resultOut
	sloppy.expect("result", &res)
	if res.Error != "" {
		t.Fatal(res.Error)
	}

	big, _ := helloClient(t, ts, "big")
	big.send(map[string]any{"type": "input", "id": 1, "text": strings.Repeat("x", 5000)})
	big.expectClose(websocket.CloseMessageTooBig)

	binary, _ := helloClient(t, ts, "binary")
	binary.ws.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
	binary.expectClose(websocket.CloseUnsupportedData)

	flood, _ := helloClient(t, ts, "flood")
	for range 30 {
		flood.ws.WriteJSON(map[string]any{"type": "rooms"})
	}
	flood.expectClose(websocket.ClosePolicyViolation)

	rude, _, err := dialWS(t, ts, "")
	if err != nil {
		t.Fatal(err)
	}
	rude.send(map[string]any{"type": "input", "id": 1, "text": "no hello"})
	rude.expect("error", &e)
	if !strings.Contains(e.Text, "hello") {
		t.Fatalf("a session without hello: %q", e.Text)
	}
	rude.expectClose(websocket.ClosePolicyViolation)

	waitUsers(t, ts, 2)
	good.send(map[string]any{"type": "input", "id": 5, "text": "all fine here"})
	var msg messageOut
	for msg.Msg.Text != "all fine here" {
		good.expect("message", &msg)
	}
}

func TestShutdownClosesEveryWebSocket(t *testing.T) {
	ts := startServer(t)
	a, _ := helloClient(t, ts, "a")
	b, _ := helloClient(t, ts, "b")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ts.srv.Shutdown(ctx) }()
	a.expectClose(websocket.CloseGoingAway)
	b.expectClose(websocket.CloseGoingAway)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, resp, err := dialWS(t, ts, ""); err == nil || resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a connection after shutdown: %v", err)
	}
	waitUsers(t, ts, 0)
}

func TestConnectionsPerAddressAreBounded(t *testing.T) {
	limits := core.DefaultLimits()
	limits.ConnsPerIP = 2
	limits.ExemptIPs = nil
	guard, err := core.NewConnGuard(limits)
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(c *Config) { c.Guard = guard })
	helloClient(t, ts, "one")
	helloClient(t, ts, "two")
	if _, resp, err := dialWS(t, ts, ""); err == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a third connection from one address: %v", err)
	}
}

func TestClientAddressBehindATrustedProxy(t *testing.T) {
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	for _, tc := range []struct{ remote, xff, want string }{
		{"192.0.2.1:5000", "203.0.113.9", "192.0.2.1"}, // not a proxy: the header is ignored
		{"10.1.2.3:5000", "203.0.113.9", "203.0.113.9"},
		{"10.1.2.3:5000", "198.51.100.1, 203.0.113.9", "203.0.113.9"}, // the hop the proxy saw
		{"10.1.2.3:5000", "garbage", "10.1.2.3"},
		{"[::ffff:10.1.2.3]:5000", "203.0.113.9", "203.0.113.9"},
	} {
		r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{"X-Forwarded-For": {tc.xff}}}
		if got := s.clientIP(r); got != tc.want {
			t.Errorf("%s via %q: %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

func TestTURNRestCredentials(t *testing.T) {
	cfg, err := Config{
		ICEServers: []ICEServer{{URLs: []string{"stun:stun.example.org"}}, {URLs: []string{"turn:turn.example.org:3478"}, Username: "static", Credential: "static"}},
		TURNSecret: "s3cret",
		TURNTTL:    time.Hour,
	}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	got := cfg.iceServersFor(42, now)
	if got[0].Username != "" || got[0].Credential != "" {
		t.Fatalf("a STUN server got credentials: %+v", got[0])
	}
	wantUser := strconv.FormatInt(now.Add(time.Hour).Unix(), 10) + ":42"
	m := hmac.New(sha1.New, []byte("s3cret"))
	m.Write([]byte(wantUser))
	if got[1].Username != wantUser || got[1].Credential != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
		t.Fatalf("TURN credentials %+v", got[1])
	}
	if _, err := (Config{ICEServers: []ICEServer{{URLs: []string{"http://x"}}}}).withDefaults(); err == nil {
		t.Fatal("a non-ICE URL was accepted")
	}
}

func TestQRCodeShape(t *testing.T) {
	lines, err := qrLines("https://chat.example.org/#call=ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	if err != nil {
		t.Fatal(err)
	}
	width := len([]rune(lines[0]))
	if width < 25 || len(lines) != (width+1)/2 {
		t.Fatalf("%d lines of %d cells", len(lines), width)
	}
	for _, l := range lines {
		if len([]rune(l)) != width || strings.Trim(l, "█▀▄ ") != "" {
			t.Fatalf("bad row %q", l)
		}
	}
	if lines[0] != strings.Repeat("█", width) {
		t.Fatalf("no light margin on top: %q", lines[0])
	}
}

func TestSilentClientsAreDropped(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.HelloTimeout = 300 * time.Millisecond
		c.PingInterval = 100 * time.Millisecond
		c.PongWait = 400 * time.Millisecond
	})
	// One that never says hello.
	mute, _, err := dialWS(t, ts, "")
	if err != nil {
		t.Fatal(err)
	}
	var e textOut
	mute.expect("error", &e)
	if !strings.Contains(e.Text, "no hello") {
		t.Fatalf("told %q", e.Text)
	}
	mute.expectClose(websocket.ClosePolicyViolation)
	// One that stops answering pings (it stops reading, so no pongs).
	deaf, _ := helloClient(t, ts, "deaf")
	waitUsers(t, ts, 1)
	time.Sleep(time.Second)
	waitUsers(t, ts, 0)
	deaf.ws.Close()
}

func TestConfigIsChecked(t *testing.T) {
	for _, cfg := range []Config{
		{PublicURL: "chat.example.org"},
		{PublicURL: "ftp://chat.example.org"},
		{AllowedOrigins: []string{"chat.example.org"}},
		{AllowedOrigins: []string{"https://chat.example.org/path"}},
		{ReadLimit: 1000, MaxSDP: 2000},
		{PingInterval: time.Minute, PongWait: time.Second},
		{SendQueue: 2},
		{FlushInterval: -time.Millisecond},
		{FlushInterval: 2 * time.Second},
		{ConnectTimeout: time.Millisecond},
	} {
		if _, err := cfg.withDefaults(); err == nil {
			t.Errorf("%+v was accepted", cfg)
		}
	}
	cfg, err := Config{PublicURL: "https://chat.example.org/"}.withDefaults()
	if err != nil || cfg.PublicURL != "https://chat.example.org" || cfg.RingTimeout != 30*time.Second || cfg.LinkTTL != 2*time.Minute || cfg.ConnectTimeout != 20*time.Second {
		t.Fatalf("defaults: %+v, %v", cfg, err)
	}
}

// TestQRCodeScans reads the drawn code back the way a phone would see it
// on a dark terminal: blocks are lit, spaces are dark.
func TestQRCodeScans(t *testing.T) {
	const url = "https://chat.example.org/#call=ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lines, err := qrLines(url)
	if err != nil {
		t.Fatal(err)
	}
	const scale = 4
	width := len([]rune(lines[0]))
	img := image.NewGray(image.Rect(0, 0, (width+8)*scale, (2*len(lines)+8)*scale))
	for i := range img.Pix {
		img.Pix[i] = 0 // the terminal's dark background around the code
	}
	for row, l := range lines {
		for col, r := range []rune(l) {
			top, bottom := r == '█' || r == '▀', r == '█' || r == '▄'
			for dy := range scale {
				for dx := range scale {
					x, y := (col+4)*scale+dx, (2*row+4)*scale+dy
					if top {
						img.SetGray(x, y, color.Gray{Y: 255})
					}
					if bottom {
						img.SetGray(x, y+scale, color.Gray{Y: 255})
					}
				}
			}
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("the code does not scan: %v", err)
	}
	if res.GetText() != url {
		t.Fatalf("scanned %q", res.GetText())
	}
}

// TestConnectionsLeaveNoGoroutines opens and ends many sessions and calls,
// in every way a connection can end, and checks that nothing is left
// running once the server has shut down.
func TestConnectionsLeaveNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	hub, err := core.NewHub(core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.InviteInterval = time.Nanosecond
	srv, err := New(hub, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hub.SetCalls(srv.Calls())
	hs := httptest.NewServer(srv.Handler())
	ts := &testServer{hub: hub, srv: srv, url: hs.URL}
	for i := range 20 {
		a, _ := helloClient(t, ts, "")
		b, bHi := helloClient(t, ts, "")
		conv := openPrivateWS(t, a, bHi)
		a.send(map[string]any{"type": "call-invite", "id": 2, "conv": conv})
		var in callOut
		b.expect("call-incoming", &in)
		switch i % 4 {
		case 0: // the caller's browser just goes away
			a.ws.Close()
		case 1: // the callee quits
			b.send(map[string]any{"type": "input", "id": 3, "text": "/quit"})
			b.expectClose(websocket.CloseNormalClosure)
		case 2: // accepted, then hung up
			b.send(map[string]any{"type": "call-accept", "call": in.Call})
			a.expect("call-start", nil)
			a.send(map[string]any{"type": "call-hangup", "call": in.Call})
			b.expect("call-ended", nil)
		case 3: // left ringing until shutdown
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	hs.Close()
	hub.Stop()
	waitUsers(t, ts, 0)
}
