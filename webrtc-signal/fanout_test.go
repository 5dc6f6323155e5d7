package webrtcsignal

import (
	"fmt"
	"testing"
)

// A burst of messages to a room reaches every browser whole and in order:
// the frames each writer gathers, shares with the other recipients and
// sends in one write are the frames of the events, one each.
func TestEveryBrowserGetsABurstWholeAndInOrder(t *testing.T) {
	ts := startServer(t)
	const browsers, burst = 12, 10
	clients := make([]*wsClient, browsers)
	for i := range clients {
		clients[i], _ = helloClient(t, ts, fmt.Sprintf("reader%02d", i))
	}
	waitUsers(t, ts, browsers)
	for i := range burst {
		clients[0].send(map[string]any{"type": "input", "id": i + 1, "text": fmt.Sprintf("line %d", i)})
	}
	for i, c := range clients {
		for want := range burst {
			var m messageOut
			c.expect("message", &m)
			if text := fmt.Sprintf("line %d", want); m.Msg.Text != text || m.Msg.From.Name != "reader00" || m.Msg.Kind != "text" {
				t.Fatalf("browser %d: got %+v, want %q from reader00", i, m.Msg, text)
			}
		}
	}
}
