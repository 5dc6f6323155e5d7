package webrtcsignal

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"parley/internal/testkit"
)

// TestBrokenWebSocketsAreCleanedUp drops browser users the ways networks
// do, through a proxy: a TCP reset with no close frame, and a connection
// that goes silent in both directions while staying open. Each is
// announced to another user in the room, and once everyone has gone
// nothing of theirs keeps running.
func TestBrokenWebSocketsAreCleanedUp(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.PingInterval = 100 * time.Millisecond
		c.PongWait = 400 * time.Millisecond
	})
	ignore := goleak.IgnoreCurrent()
	watcher, _ := helloClient(t, ts, "watcher")

	for _, fault := range []string{"reset", "blackhole"} {
		link := testkit.NewFaultyLink(t, strings.TrimPrefix(ts.url, "http://"))
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+link.Addr()+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		ghost := &wsClient{t: t, ws: ws}
		ghost.send(map[string]any{"type": "hello", "name": "ghost-" + fault})
		ghost.expect("welcome", nil)
		waitUsers(t, ts, 2)

		if fault == "reset" {
			link.Reset()
		} else {
			link.Blackhole()
		}
		for {
			typ, data := watcher.next()
			if typ == "member-left" && strings.Contains(string(data), "ghost-"+fault) {
				break
			}
		}
		waitUsers(t, ts, 1)
		ws.Close()
	}
	watcher.ws.Close()
	waitUsers(t, ts, 0)
	testkit.NoLeaks(t, ignore)
}
