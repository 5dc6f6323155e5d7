package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"parley/config"
	"parley/core"
	"parley/sshui"
)

// closeTimeout bounds the last step of a shutdown, after the grace period:
// every session is closed and the servers wait this long for them to go.
const closeTimeout = 500 * time.Millisecond

// servers are the listeners of one running Parley.
type servers struct {
	hub  *core.Hub
	ssh  *sshui.Server
	http *http.Server // nil when HTTP is off
	log  *slog.Logger
}

// serve runs Parley until a signal or a failing server stops it, and
// returns the exit code. On SIGHUP it takes the settings from load again.
func serve(cfg config.Config, load func() (config.Config, error), log *slog.Logger, stdout io.Writer, sigs signals) int {
	hub, err := core.NewHub(cfg.Core)
	if err != nil {
		log.Error("invalid configuration", "err", err)
		return 1
	}
	defer hub.Stop()
	s := &servers{hub: hub, log: log}
	s.ssh, err = sshui.New(hub, sshui.Config{
		Addr:        cfg.Server.SSHAddr,
		HostKeyDir:  cfg.Server.HostKeyDir,
		IdleTimeout: cfg.Server.IdleTimeout,
		Logger:      log,
	})
	if err != nil {
		log.Error("cannot set up the SSH server", "err", err)
		return 1
	}
	sshLn, err := net.Listen("tcp", cfg.Server.SSHAddr)
	if err != nil {
		log.Error("cannot listen for SSH", "err", err)
		return 1
	}
	var httpLn net.Listener
	if cfg.Server.HTTPAddr != "" {
		if httpLn, err = net.Listen("tcp", cfg.Server.HTTPAddr); err != nil {
			sshLn.Close()
			log.Error("cannot listen for HTTP", "err", err)
			return 1
		}
		s.http = &http.Server{
			Handler:           routes(),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
	}

	failed := make(chan error, 2)
	go func() { failed <- fmt.Errorf("SSH server stopped: %v", s.ssh.Serve(sshLn)) }()
	var httpAddr net.Addr
	if s.http != nil {
		httpAddr = httpLn.Addr()
		go func() { failed <- fmt.Errorf("HTTP server stopped: %v", s.http.Serve(httpLn)) }()
	}
	printBanner(stdout, sshLn.Addr(), httpAddr, s.ssh.Fingerprint())
	log.Info("listening", "ssh_addr", sshLn.Addr().String(), "http_addr", addrString(httpAddr),
		"host_key", s.ssh.Fingerprint(), "version", version())

	code := 0
wait:
	for {
		select {
		case <-sigs.reload:
			s.reload(load, cfg.Server)
		case sig := <-sigs.stop:
			log.Info("shutting down", "signal", sig.String(), "grace", cfg.Server.ShutdownGrace.String())
			break wait
		case err := <-failed:
			log.Error("shutting down after a failure", "err", err, "grace", cfg.Server.ShutdownGrace.String())
			code = 1
			break wait
		}
	}
	if !s.shutdown(cfg.Server.ShutdownGrace, sigs.stop) {
		return 1
	}
	log.Info("stopped")
	return code
}

// reload applies the rooms, limits and welcome of a freshly read config
// without dropping anyone. A file with errors changes nothing.
func (s *servers) reload(load func() (config.Config, error), running config.Server) {
	cfg, err := load()
	if err == nil {
		err = s.hub.Reload(cfg.Core)
	}
	if err != nil {
		s.log.Error("config not reloaded: the running settings stay", "err", err)
		return
	}
	_, rooms, _ := s.hub.Counts()
	s.log.Info("config reloaded", "rooms", rooms)
	if cfg.Server != running {
		s.log.Warn("the [server] settings take effect only after a restart")
	}
}

// shutdown warns everyone, waits out the grace period, then closes the
// listeners and every session. It returns false when a second signal cut
// it short.
func (s *servers) shutdown(grace time.Duration, signals <-chan os.Signal) bool {
	s.hub.SetDraining()
	s.hub.Announce(fmt.Sprintf("Parley is shutting down in %s", grace))
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-timer.C:
	case sig := <-signals:
		s.log.Warn("second signal: exiting now", "signal", sig.String())
		return false
	}

	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	// The servers stop accepting at once and then wait for their
	// connections, which CloseAll ends.
	var wg sync.WaitGroup
	wg.Go(func() { s.logShutdown("SSH", s.ssh.Shutdown(ctx)) })
	if s.http != nil {
		wg.Go(func() { s.logShutdown("HTTP", s.http.Shutdown(ctx)) })
	}
	s.hub.CloseAll("Parley has shut down")
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.log.Warn("connections still open after the shutdown deadline")
	case sig := <-signals:
		s.log.Warn("second signal: exiting now", "signal", sig.String())
		return false
	}
	return true
}

func (s *servers) logShutdown(server string, err error) {
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("shutdown", "server", server, "err", err)
	}
}

// printBanner tells the person who started Parley where it listens, how
// to connect, and which host key fingerprint ssh will show.
// httpAddr is nil when HTTP is off.
func printBanner(w io.Writer, sshAddr, httpAddr net.Addr, fingerprint string) {
	host, port := connectTarget(sshAddr)
	fmt.Fprintf(w, "Parley is running.\n  SSH   %s  host key %s\n", sshAddr, fingerprint)
	if httpAddr != nil {
		h, p := connectTarget(httpAddr)
		fmt.Fprintf(w, "  HTTP  http://%s/\n", net.JoinHostPort(h, p))
	}
	cmd := "ssh " + host
	if port != "22" {
		cmd = "ssh -p " + port + " " + host
	}
	fmt.Fprintf(w, "Connect with:  %s\nThe first time, ssh asks you to confirm the host key: it must be %s.\n", cmd, fingerprint)
}

// addrString is addr as text, "" for none.
func addrString(addr net.Addr) string {
	if addr == nil {
		return ""
	}
	return addr.String()
}

// connectTarget is the host and port a local user would type to reach a
// listener: "localhost" when it listens on every interface or on loopback.
func connectTarget(addr net.Addr) (host, port string) {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		h, p, _ := net.SplitHostPort(addr.String())
		return h, p
	}
	port = strconv.Itoa(tcp.Port)
	if tcp.IP == nil || tcp.IP.IsUnspecified() || tcp.IP.IsLoopback() {
		return "localhost", port
	}
	return tcp.IP.String(), port
}
