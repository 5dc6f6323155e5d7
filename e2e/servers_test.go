package e2e

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"parley/core"
	"parley/internal/testkit"
	"parley/sshui"
	webrtcsignal "parley/webrtc-signal"
)

// servers is one hub with both transports on 127.0.0.1.
type servers struct {
	sshAddr string // host:port of the terminal UI
	url     string // http://127.0.0.1:port of the web side
}

// startServers runs a hub, the web side and the terminal UI until the
// test ends.
func startServers(t *testing.T) *servers {
	t.Helper()
	hub, err := core.NewHub(core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Stop)
	return &servers{url: startWeb(t, hub), sshAddr: startSSH(t, hub)}
}

func startWeb(t *testing.T, hub *core.Hub) string {
	t.Helper()
	ln := testkit.Listen(t)
	cfg := webrtcsignal.DefaultConfig()
	cfg.RingTimeout = 20 * time.Second
	cfg.InviteInterval = time.Nanosecond // the tests call again at once
	cfg.PublicURL = "http://" + ln.Addr().String()
	srv, err := webrtcsignal.New(hub, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hub.SetCalls(srv.Calls())
	web := &http.Server{Handler: srv.Handler()}
	testkit.Serve(t, ln, web.Serve, func(ctx context.Context) error {
		return errors.Join(srv.Shutdown(ctx), web.Shutdown(ctx))
	})
	return cfg.PublicURL
}

func startSSH(t *testing.T, hub *core.Hub) string {
	t.Helper()
	srv, err := sshui.New(hub, sshui.Config{HostKeyDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln := testkit.Listen(t)
	testkit.Serve(t, ln, srv.Serve, srv.Shutdown)
	return ln.Addr().String()
}
