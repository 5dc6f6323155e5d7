package webrtcsignal

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"parley/core"
)

// A browser user banned by an operator reads why, and so does the same
// browser when it comes back, before the WebSocket closes.
func TestBannedBrowserIsTold(t *testing.T) {
	ts := startServer(t)
	opKey := "SHA256:" + base64.RawStdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	cfg := core.DefaultConfig()
	cfg.Operators = []string{opKey}
	cfg.Limits.ExemptIPs = nil // the test's browsers come from loopback, which is exempt by default
	if err := ts.hub.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	bob, welcome := helloClient(t, ts, "bob")
	for _, c := range welcome.Commands {
		if c.Name == "ban" || c.Name == "kick" {
			t.Errorf("a browser user is offered /%s", c.Name)
		}
	}
	op, err := ts.hub.Connect(core.ConnectInfo{LoginName: "olga", Transport: "ssh", IP: "192.0.2.1", Fingerprint: opKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { op.Close("") })
	if err := op.Input("/ban bob 1h spam"); err != nil {
		t.Fatal(err)
	}
	var closing textOut
	bob.expect("closing", &closing)
	if closing.Text != "banned by olga for 1h: spam" {
		t.Errorf("bob reads %q", closing.Text)
	}

	again, _, err := dialWS(t, ts, ts.url)
	if err != nil {
		t.Fatal(err)
	}
	again.send(map[string]any{"type": "hello", "name": "bob"})
	var refused textOut
	again.expect("error", &refused)
	if !strings.HasPrefix(refused.Text, "you are banned from this server until ") || !strings.HasSuffix(refused.Text, ": spam") {
		t.Errorf("the returning browser reads %q", refused.Text)
	}
	again.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := again.ws.ReadMessage(); !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
		t.Errorf("after the refusal: %v, want a close frame", err)
	}
}
