package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"parley/internal/testkit"
)

// A reverse proxy left out of trusted_proxies is told loudly: at start,
// when the settings look like one, and as soon as a request carries
// X-Forwarded-For from an untrusted peer; both in the log and in
// /readyz's body, which stays ready.
func TestUntrustedProxyIsWarnedAbout(t *testing.T) {
	s := startServer(t, nil, "--config", quickStop(t), "--hostkey-dir", t.TempDir(), "--ssh-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0", "--public-url", "https://chat.example.org")
	readyz := func() string {
		resp, body := get(t, httpClient, "http://"+s.adminAddr+"/readyz")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/readyz: %s", resp.Status)
		}
		return body
	}
	if body := readyz(); !strings.Contains(body, "no trusted_proxies") {
		t.Fatalf("/readyz does not warn of the loopback listener behind a public URL:\n%s", body)
	}
	if body := readyz(); strings.Contains(body, "X-Forwarded-For") {
		t.Fatalf("/readyz warns of a forwarded request before any came:\n%s", body)
	}

	h := http.Header{"X-Forwarded-For": {"203.0.113.7"}}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+s.httpAddr+"/ws", h)
	if err != nil {
		t.Fatal(err)
	}
	ws.Close()
	testkit.Eventually(t, "the warning in /readyz", func() bool { return strings.Contains(readyz(), "X-Forwarded-For") })
	if !strings.Contains(s.logs.String(), `"level":"ERROR","msg":"requests from 127.0.0.1 carry X-Forwarded-For`) {
		t.Fatalf("no error logged:\n%s", s.logs.String())
	}
}
