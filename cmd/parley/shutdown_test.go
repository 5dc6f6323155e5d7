package main

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"parley/admin"
	"parley/core"
	"parley/sshui"
)

// waitEvent drains a session's events until one satisfies ok.
func waitEvent(t *testing.T, s *core.Session, what string, ok func(core.Event) bool) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		for _, ev := range s.Outbox().Drain() {
			if ok(ev) {
				return
			}
		}
		select {
		case <-s.Outbox().Ready():
		case <-s.Outbox().Done():
			for _, ev := range s.Outbox().Drain() {
				if ok(ev) {
					return
				}
			}
			t.Fatalf("the session ended without %s", what)
		case <-timeout:
			t.Fatalf("no %s", what)
		}
	}
}

// The shutdown sequence as users see it: a warning naming the real grace
// period, no newcomers meanwhile, then everyone is closed with a reason
// and the listeners are gone.
func TestShutdownWarnsThenClosesEveryone(t *testing.T) {
	hub, err := core.NewHub(core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer hub.Stop()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sshSrv, err := sshui.New(hub, sshui.Config{Addr: "127.0.0.1:0", HostKeyDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- sshSrv.Serve(ln) }()

	disconnected := make(chan string, 1)
	alice, err := hub.Connect(core.ConnectInfo{LoginName: "alice", Transport: "ssh", IP: "127.0.0.1",
		Disconnect: func(reason string) { disconnected <- reason }})
	if err != nil {
		t.Fatal(err)
	}

	adm, err := admin.New(admin.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s := &servers{hub: hub, admin: adm, ssh: sshSrv, log: quiet}
	finished := make(chan bool, 1)
	go func() { finished <- s.shutdown(300*time.Millisecond, make(chan os.Signal)) }()

	waitEvent(t, alice, "shutdown warning", func(ev core.Event) bool {
		return ev.Kind == core.EventNotice && ev.Text == "Parley is shutting down in 300ms"
	})
	if _, err := hub.Connect(core.ConnectInfo{LoginName: "bob", Transport: "ssh", IP: "127.0.0.1"}); !errors.Is(err, core.ErrDraining) {
		t.Fatalf("a newcomer during the grace period got %v, want ErrDraining", err)
	}
	ready := httptest.NewRecorder()
	adm.Handler().ServeHTTP(ready, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if ready.Code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz during the grace period: %d, want 503", ready.Code)
	}
	select {
	case ok := <-finished:
		if !ok {
			t.Fatal("shutdown reported an interruption")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("shutdown did not finish")
	}
	waitEvent(t, alice, "closing event", func(ev core.Event) bool { return ev.Kind == core.EventClosing })
	select {
	case reason := <-disconnected:
		if reason == "" {
			t.Error("disconnected without a reason")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the transport was never told to disconnect")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve returned %v after Shutdown", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the SSH server still serves after shutdown")
	}
	if users, _, _ := hub.Counts(); users != 0 {
		t.Fatalf("%d users left after shutdown", users)
	}
}
