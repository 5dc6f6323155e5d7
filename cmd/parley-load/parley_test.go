package main

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"parley/core"
	"parley/sshui"
)

// startParleyInProcess serves Parley's SSH side over a fresh core on a
// loopback port.
func startParleyInProcess(t *testing.T) string {
	t.Helper()
	hub, err := core.NewHub(core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sshui.New(hub, sshui.Config{HostKeyDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-served
		hub.Stop()
	})
	return ln.Addr().String()
}

// Every Parley user arrives in #lobby; every token typed there must reach
// every other user's screen.
func TestSmokeParleyDeliversEverything(t *testing.T) {
	cfg := smokeConfig(t, startParleyInProcess(t))
	cfg.Rate = 1
	cfg.Duration = 5 * time.Second
	res, err := Run(cfg)
	checkComplete(t, res, err, cfg.Sessions)
}
