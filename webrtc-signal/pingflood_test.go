package webrtcsignal

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Pings are frames like any other: a browser sending nothing else is cut
// off at the frame rate limit, and the others chat on.
func TestPingFloodCountsTowardTheFrameLimit(t *testing.T) {
	const burst = 20
	ts := startServer(t, func(c *Config) {
		c.FrameBurst = burst
		c.FrameRate = 0.01
	})
	good, _ := helloClient(t, ts, "good")
	pinger, _ := helloClient(t, ts, "pinger")
	// One past the burst: the server reads every one, so it closes the
	// connection with nothing unread (which would make it a reset).
	for range burst + 1 {
		if err := pinger.ws.WriteControl(websocket.PingMessage, []byte("x"), time.Now().Add(5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	pinger.expectClose(websocket.ClosePolicyViolation)

	waitUsers(t, ts, 1)
	good.send(map[string]any{"type": "input", "id": 1, "text": "still heard"})
	var msg messageOut
	for msg.Msg.Text != "still heard" {
		good.expect("message", &msg)
	}
}
