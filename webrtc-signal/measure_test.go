package webrtcsignal

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"parley/internal/testkit"
)

// TestMeasureStalledCutOff reports how long a browser session that never
// reads stays in the hub while its room is busy (testkit.Chatter: 20
// users, 33 lines of 400 characters a second), with the default settings.
// A measurement, like sshui's test of the same name:
//
//	PARLEY_MEASURE=1 go test ./webrtc-signal/ -run TestMeasureStalledCutOff -v -count=1
//
// Whichever comes first ends it: a write blocked for WriteWait once the
// socket buffers are full, a ping left unanswered for PongWait (a client
// that does not read does not answer pings), or the core's slow_timeout.
func TestMeasureStalledCutOff(t *testing.T) {
	if os.Getenv("PARLEY_MEASURE") != "1" {
		t.Skip("a measurement: set PARLEY_MEASURE=1 to run it")
	}
	const limit = 3 * time.Minute
	ts := startServer(t)
	took, cut := testkit.MeasureCutOff(t, ts.hub, "#lobby", limit, func() {
		ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.url, "http")+"/ws", map[string][]string{"Origin": {ts.url}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ws.Close() })
		if err := ws.WriteJSON(map[string]any{"type": "hello", "name": "stuck"}); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, "the stalled user in the hub", func() bool { u, _, _ := ts.hub.Counts(); return u == 1 })
	})
	if !cut {
		t.Fatalf("a WebSocket that never reads is still in the hub after %s", limit)
	}
	t.Logf("a WebSocket that never reads: out of the hub after %s", took.Round(100*time.Millisecond))
}
