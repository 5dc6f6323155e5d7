package webrtcsignal

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"parley/core"
	"parley/internal/testkit"
)

// testServer is a hub and its web side on 127.0.0.1.
type testServer struct {
	hub *core.Hub
	srv *Server
	url string // http://127.0.0.1:port
	// stop shuts the server down before the test ends, as a restart
	// would; the test's end does it anyway.
	stop func(context.Context) error
}

func startServer(t *testing.T, mutate ...func(*Config)) *testServer {
	t.Helper()
	return startServerWith(t, core.DefaultConfig(), mutate...)
}

// startServerWith starts a server whose hub has the config hubCfg.
func startServerWith(t *testing.T, hubCfg core.Config, mutate ...func(*Config)) *testServer {
	t.Helper()
	return startServerOn(t, testkit.Listen(t), hubCfg, mutate...)
}

// startServerOn starts a server on ln.
func startServerOn(t *testing.T, ln net.Listener, hubCfg core.Config, mutate ...func(*Config)) *testServer {
	t.Helper()
	hub, err := core.NewHub(hubCfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.RingTimeout = 20 * time.Second
	cfg.InviteInterval = time.Nanosecond // the tests call again at once
	cfg.PublicURL = "http://" + ln.Addr().String()
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := New(hub, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hub.SetCalls(srv.Calls())
	t.Cleanup(hub.Stop)
	web := &http.Server{Handler: srv.Handler()}
	stop := func(ctx context.Context) error {
		return errors.Join(srv.Shutdown(ctx), web.Shutdown(ctx))
	}
	testkit.Serve(t, ln, web.Serve, stop)
	return &testServer{hub: hub, srv: srv, url: "http://" + ln.Addr().String(), stop: stop}
}

// wsClient is a bare protocol client: what a script, or an attacker,
// would use instead of the page.
type wsClient struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialWS(t *testing.T, ts *testServer, origin string) (*wsClient, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(ts.url, "http")+"/ws", h)
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { ws.Close() })
	return &wsClient{t: t, ws: ws}, resp, nil
}

// helloClient connects a chat user and returns its welcome.
func helloClient(t *testing.T, ts *testServer, name string) (*wsClient, welcomeOut) {
	t.Helper()
	c, _, err := dialWS(t, ts, ts.url)
	if err != nil {
		t.Fatal(err)
	}
	c.send(map[string]any{"type": "hello", "name": name})
	var w welcomeOut
	c.expect("welcome", &w)
	return c, w
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(v); err != nil {
		c.t.Fatal(err)
	}
}

// next reads the next message, failing after a generous bound.
func (c *wsClient) next() (string, []byte) {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("reading: %v", err)
	}
	var env struct{ Type string }
	if err := json.Unmarshal(data, &env); err != nil {
		c.t.Fatalf("bad frame %q: %v", data, err)
	}
	return env.Type, data
}

// expect skips messages until one of type typ, decoded into v.
func (c *wsClient) expect(typ string, v any) {
	c.t.Helper()
	for {
		got, data := c.next()
		if got == typ {
			if v != nil {
				if err := json.Unmarshal(data, v); err != nil {
					c.t.Fatal(err)
				}
			}
			return
		}
	}
}
