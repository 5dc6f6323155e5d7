package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"parley/core"
	"parley/internal/testkit"
	"parley/sshui"
	webrtcsignal "parley/webrtc-signal"
)

// parleyAddrs are the loopback addresses of one in-process Parley.
type parleyAddrs struct {
	ssh, web string
}

// startParleyInProcess serves Parley's SSH and web sides over one fresh
// core on loopback ports, as the binary does.
func startParleyInProcess(t *testing.T) parleyAddrs {
	t.Helper()
	hub, err := core.NewHub(core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Stop)
	srv, err := sshui.New(hub, sshui.Config{HostKeyDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	sshLn := testkit.Listen(t)
	testkit.Serve(t, sshLn, srv.Serve, srv.Shutdown)
	web, err := webrtcsignal.New(hub, webrtcsignal.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	webLn := testkit.Listen(t)
	httpSrv := &http.Server{Handler: web.Handler(), ReadHeaderTimeout: 10 * time.Second}
	testkit.Serve(t, webLn, httpSrv.Serve, func(ctx context.Context) error {
		return errors.Join(web.Shutdown(ctx), httpSrv.Shutdown(ctx))
	})
	return parleyAddrs{ssh: sshLn.Addr().String(), web: webLn.Addr().String()}
}

// Every Parley user arrives in #lobby; every token typed there must reach
// every other user's screen.
func TestSmokeParleyDeliversEverything(t *testing.T) {
	cfg := smokeConfig(t, startParleyInProcess(t).ssh)
	cfg.Rate = 1
	cfg.Duration = 5 * time.Second
	res, err := Run(cfg)
	checkComplete(t, res, err, cfg.Sessions)
}

// WebSocket clients speak the browser protocol to /ws: every token sent as
// an input message must come back to every other client as a message event.
func TestSmokeParleyWebSocketDeliversEverything(t *testing.T) {
	cfg := smokeConfig(t, "")
	cfg.WSTarget = startParleyInProcess(t).web
	cfg.WS, cfg.Sessions = cfg.Sessions, 0
	res, err := Run(cfg)
	checkComplete(t, res, err, cfg.WS)
	if res.WS != cfg.WS || res.Resyncs != 0 {
		t.Fatalf("%d WebSocket clients in the result, %d resyncs", res.WS, res.Resyncs)
	}
}

// SSH and WebSocket users share the room: senders on both sides reach
// readers on both sides.
func TestSmokeParleyMixedTransports(t *testing.T) {
	addrs := startParleyInProcess(t)
	cfg := smokeConfig(t, addrs.ssh)
	cfg.WSTarget = addrs.web
	cfg.Sessions, cfg.WS = 3, 20 // senders: 3 SSH sessions, then 2 WebSocket clients
	res, err := Run(cfg)
	checkComplete(t, res, err, cfg.Sessions+cfg.WS)
}
