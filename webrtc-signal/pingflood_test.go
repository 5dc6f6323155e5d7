package webrtcsignal

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Pings are frames like any other: a browser sending nothing else is cut
// off at the frame rate limit, and the others chat on.
func TestPingFloodCountsTowardTheFrameLimit(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.FrameBurst = 20
		c.FrameRate = 1
	})
	good, _ := helloClient(t, ts, "good")
	pinger, _ := helloClient(t, ts, "pinger")
	for range 200 {
		if pinger.ws.WriteControl(websocket.PingMessage, []byte("x"), time.Now().Add(5*time.Second)) != nil {
			break // already cut off
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
