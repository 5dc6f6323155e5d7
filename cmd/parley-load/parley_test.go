package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"parley/core"
	"parley/internal/testkit"
	"parley/sshui"
	webrtcsignal "parley/webrtc-signal"
)

// parleyAddrs are the loopback addresses of one in-process Parley, and
// how many connections each accepted.
type parleyAddrs struct {
	ssh, web     string
	sshIn, webIn *atomic.Int64
}

// startParleyInProcess serves Parley's SSH and web sides over one fresh
// core on loopback ports, as the binary does.
func startParleyInProcess(t *testing.T) parleyAddrs {
	return startParleyFronts(t, 1)[0]
}

// startParleyFronts serves n pairs of Parley's SSH and web sides, each on
// loopback ports of its own, over one fresh core: n addresses of one
// server, as a cluster's nodes are.
func startParleyFronts(t *testing.T, n int) []parleyAddrs {
	t.Helper()
	hub, err := core.NewHub(core.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Stop)
	fronts := make([]parleyAddrs, n)
	for i := range fronts {
		srv, err := sshui.New(hub, sshui.Config{HostKeyDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		sshLn := countAccepts(testkit.Listen(t))
		testkit.Serve(t, sshLn, srv.Serve, srv.Shutdown)
		web, err := webrtcsignal.New(hub, webrtcsignal.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		webLn := countAccepts(testkit.Listen(t))
		httpSrv := &http.Server{Handler: web.Handler(), ReadHeaderTimeout: 10 * time.Second}
		testkit.Serve(t, webLn, httpSrv.Serve, func(ctx context.Context) error {
			return errors.Join(web.Shutdown(ctx), httpSrv.Shutdown(ctx))
		})
		fronts[i] = parleyAddrs{ssh: sshLn.Addr().String(), web: webLn.Addr().String(), sshIn: &sshLn.n, webIn: &webLn.n}
	}
	return fronts
}

// countingListener counts the connections it accepted.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func countAccepts(ln net.Listener) *countingListener { return &countingListener{Listener: ln} }

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
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
	cfg.WSTargets = []string{startParleyInProcess(t).web}
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
	cfg.WSTargets = []string{addrs.web}
	cfg.Sessions, cfg.WS = 3, 20 // senders: 3 SSH sessions, then 2 WebSocket clients
	res, err := Run(cfg)
	checkComplete(t, res, err, cfg.Sessions+cfg.WS)
}

// Sessions spread over several addresses of one server, over both
// transports, reach each other as on one address; each address gets its
// share, and the figures are broken down by address.
func TestSmokeParleySpreadOverSeveralAddresses(t *testing.T) {
	fronts := startParleyFronts(t, 3)
	cfg := smokeConfig(t, "")
	for _, f := range fronts {
		cfg.Targets = append(cfg.Targets, f.ssh)
		cfg.WSTargets = append(cfg.WSTargets, f.web)
	}
	cfg.Sessions, cfg.WS = 30, 9
	res, err := Run(cfg)
	checkComplete(t, res, err, cfg.Sessions+cfg.WS)
	if len(res.Nodes) != len(fronts) {
		t.Fatalf("%d nodes in the result, want %d", len(res.Nodes), len(fronts))
	}
	var delivered int64
	for i, f := range fronts {
		n := res.Nodes[i]
		if f.sshIn.Load() != 10 || f.webIn.Load() != 3 {
			t.Errorf("address %d accepted %d SSH and %d WebSocket connections, want 10 and 3", i+1, f.sshIn.Load(), f.webIn.Load())
		}
		if n.SSH != f.ssh || n.Web != f.web || n.Sessions != 13 || n.Fanout.N != int(n.Delivered) {
			t.Errorf("node %d: %+v", i+1, n)
		}
		delivered += n.Delivered
	}
	if delivered != res.Delivered {
		t.Errorf("nodes delivered %d in all, the run %d", delivered, res.Delivered)
	}
}
