package webrtcsignal

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"parley/internal/testkit"
)

// TestLongWebSocketCycles connects and disconnects PARLEY_CYCLES browser
// sessions over the WebSocket (10,000 by default; half drop the
// connection, half send /quit and wait for the server to close) and
// checks that goroutines and the live heap return to their baseline, as
// sshui's TestLongConnectCycles does for terminals. It takes minutes, so
// it runs only with PARLEY_LONG=1, as CI does:
//
//	PARLEY_LONG=1 go test ./webrtc-signal/ -run '^TestLong' -v -count=1 -timeout 30m
func TestLongWebSocketCycles(t *testing.T) {
	if testing.Short() || os.Getenv("PARLEY_LONG") != "1" {
		t.Skip("a long test: set PARLEY_LONG=1 to run it")
	}
	ts := startServer(t)
	testkit.Soak(t, testkit.EnvInt("PARLEY_CYCLES", 10000), func(n int) {
		testkit.Cycles(t, n, 8, func(i int) error { return webSessionOnce(ts, i%2 == 0) })
		testkit.Eventually(t, "every user to leave the hub", func() bool { u, _, _ := ts.hub.Counts(); return u == 0 })
	})
}

// webSessionOnce says hello, waits for the welcome, then either drops
// the connection or quits and waits until the server closes it.
func webSessionOnce(ts *testServer, drop bool) error {
	h := map[string][]string{"Origin": {ts.url}}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.url, "http")+"/ws", h)
	if err != nil {
		return err
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(testkit.WaitLimit))
	if err := ws.WriteJSON(map[string]any{"type": "hello", "name": "soak"}); err != nil {
		return err
	}
	if err := readUntilType(ws, "welcome"); err != nil {
		return err
	}
	if drop {
		return nil
	}
	if err := ws.WriteJSON(map[string]any{"type": "input", "id": 1, "text": "/quit"}); err != nil {
		return err
	}
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			if websocket.IsCloseError(err, websocket.CloseNormalClosure) {
				return nil
			}
			return fmt.Errorf("after /quit: %w", err)
		}
	}
}

// readUntilType reads messages until one of type typ.
func readUntilType(ws *websocket.Conn, typ string) error {
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return fmt.Errorf("%w before %q", err, typ)
		}
		var env struct{ Type string }
		if err := json.Unmarshal(data, &env); err != nil {
			return err
		}
		if env.Type == typ {
			return nil
		}
	}
}
