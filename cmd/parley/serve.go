package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"parley/admin"
	"parley/bans"
	"parley/cluster"
	"parley/config"
	"parley/core"
	"parley/internal/connlimit"
	"parley/internal/logguard"
	"parley/sshui"
	webrtcsignal "parley/webrtc-signal"
)

// closeTimeout bounds the last step of a shutdown, after the grace period:
// every session is closed and the servers wait this long for them to go
// (a browser gets a moment to answer the WebSocket's close).
const closeTimeout = 2 * time.Second

// acmeHTTPAddr is where ACME's HTTP-01 challenges arrive; the CA asks on
// port 80 and nowhere else.
const acmeHTTPAddr = ":80"

// servers are the parts of one running Parley. The binary only composes
// them: each package owns its server's lifecycle.
type servers struct {
	hub       *core.Hub
	admin     *admin.Server
	ssh       *sshui.Server
	web       *webrtcsignal.Server // nil when HTTP is off
	http      *http.Server         // nil when HTTP is off
	acme      *http.Server         // ACME's challenges on port 80; nil unless on
	adminHTTP *http.Server         // nil when the admin listener is off
	node      *cluster.Node        // nil for a single node
	log       *slog.Logger
}

// listeners are the sockets of one start; close releases those opened.
type listeners struct {
	ssh, http, acme, admin net.Listener
	tls                    bool         // http serves HTTPS
	acmeHandler            http.Handler // answers on acme; nil unless ACME is on
}

func (l *listeners) close() {
	for _, ln := range []net.Listener{l.ssh, l.http, l.acme, l.admin} {
		if ln != nil {
			ln.Close()
		}
	}
}

// serve runs Parley until a signal or a failing server stops it, and
// returns the exit code. On SIGHUP it takes the settings from load again.
func serve(cfg config.Config, load func() (config.Config, error), log *slog.Logger, stdout io.Writer, sigs signals) int {
	fail := func(what string, err error) int {
		log.Error(what, "err", err)
		return 1
	}
	debug.SetGCPercent(cfg.Server.GCPercent)
	adm, err := admin.New(admin.Options{
		Token:       cfg.Admin.Token,
		Version:     version(),
		MaxViewers:  cfg.Admin.MonitorViewers,
		ViewerQueue: cfg.Admin.MonitorQueue,
		Logger:      log,
	})
	if err != nil {
		return fail("invalid admin settings", err)
	}
	// One guard for both transports: the per-address limits count a
	// client's SSH and browser connections together.
	guard, err := core.NewConnGuard(cfg.Core.Limits)
	if err != nil {
		return fail("invalid configuration", err)
	}
	guard.SetObserver(adm)
	node, err := joinCluster(cfg, log)
	if err != nil {
		return fail("cannot join the cluster", err)
	}
	hubOpts := []core.Option{core.WithObserver(adm)}
	if node != nil {
		// The ban list lives in NATS; a bans.json of a single node is
		// imported into it once.
		hubOpts = append(hubOpts, core.WithCluster(node.Name(), node.Incarnation(), node.Log(), node.Directory()), core.WithBans(node.Bans()))
	} else {
		banList, err := bans.Open(cfg.Server.BanPath())
		if err != nil {
			return fail("cannot read the ban list", err)
		}
		log.Info("ban list", "file", cfg.Server.BanPath(), "bans", len(banList.List(time.Now())), "operators", len(cfg.Core.Operators))
		hubOpts = append(hubOpts, core.WithBans(banList))
	}
	hub, err := core.NewHub(cfg.Core, hubOpts...)
	if err != nil {
		if node != nil {
			node.Close()
		}
		return fail("invalid configuration", err)
	}
	defer hub.Stop()
	adm.Attach(hub)
	if node != nil {
		defer node.Close()
		ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
		err := node.Attach(ctx, hub, cluster.Hooks{PublishFailed: hub.Unsent})
		cancel()
		if err != nil {
			return fail("cannot join the cluster", err)
		}
		adm.AddReadiness(node.Ready)
		if err := adm.Register(clusterCollector{node}); err != nil {
			return fail("cannot export the cluster's metrics", err)
		}
		log.Info("joined the cluster", "node", node.Name(), "incarnation", node.Incarnation())
	}

	s := &servers{hub: hub, admin: adm, node: node, log: log}
	s.ssh, err = sshui.New(hub, sshui.Config{
		Addr:                cfg.Server.SSHAddr,
		HostKeyDir:          cfg.Server.HostKeyDir,
		IdleTimeout:         cfg.Server.IdleTimeout,
		AnswerTimeout:       offIfZero(cfg.Server.TerminalAnswerTimeout),
		MaxHandshakes:       cfg.Server.MaxHandshakes,
		EarlyDropHandshakes: cfg.Server.EarlyDropHandshakes,
		EarlyDropPercent:    cfg.Server.EarlyDropPercent,
		HandshakeTimeout:    cfg.Server.HandshakeTimeout,
		HandshakesPerIP:     cfg.Server.HandshakesPerIP,
		HandshakePenalty:    offIfZero(cfg.Server.HandshakePenalty),
		MaxAuthTries:        cfg.Server.MaxAuthTries,
		Algorithms: sshui.Algorithms{KeyExchanges: cfg.Server.SSHKeyExchanges, Ciphers: cfg.Server.SSHCiphers,
			MACs: cfg.Server.SSHMACs},
		ResizeInterval: cfg.Server.ResizeInterval,
		MaxInputRunes:  cfg.Server.MaxInputChars,
		Logger:         log,
		Guard:          guard,
	})
	if err != nil {
		return fail("cannot set up the SSH server", err)
	}
	lns, err := listen(cfg, newConnLimits(cfg, log))
	if err != nil {
		return fail("cannot listen", err)
	}
	// net/http logs each failed TLS handshake and the like, which anyone
	// can repeat at will: a few a minute are enough to see them.
	errorLog := stdlog.New(logguard.New(log).Writer("http server error"), "", 0)
	var publicURL string
	if lns.http != nil {
		// Created before anyone can connect: its call service, which
		// /video needs, goes into the hub below.
		publicURL = derivePublicURL(cfg.Web, lns.http.Addr(), lns.tls)
		warnProxy(log, adm, cfg.Web, lns.http.Addr(), publicURL)
		untrusted := func(peer netip.Addr) {
			warning := fmt.Sprintf("requests from %s carry X-Forwarded-For, but it is not in trusted_proxies: "+
				"if it is a reverse proxy, every browser behind it counts as one address, exempt if it is loopback", peer)
			log.Error(warning)
			adm.Warn(warning)
		}
		if s.web, err = newWeb(hub, cfg, publicURL, guard, untrusted); err != nil {
			lns.close()
			return fail("invalid web settings", err)
		}
		hub.SetCalls(s.web.Calls())
		s.http = &http.Server{
			Handler:           connlimit.BodyDeadline(routes(s.web), cfg.Server.HTTPReadTimeout),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ErrorLog:          errorLog,
		}
	}
	if lns.acme != nil {
		s.acme = &http.Server{Handler: connlimit.BodyDeadline(lns.acmeHandler, cfg.Server.HTTPReadTimeout),
			ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: errorLog}
	}
	if lns.admin != nil {
		// No WriteTimeout: the monitor's event stream and pprof's
		// profiles run for as long as they are asked to.
		s.adminHTTP = &http.Server{Handler: connlimit.BodyDeadline(adm.Handler(), cfg.Server.HTTPReadTimeout),
			ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: errorLog}
	}

	failed := make(chan error, 4)
	go func() { failed <- fmt.Errorf("SSH server stopped: %v", s.ssh.Serve(lns.ssh)) }()
	for _, h := range []struct {
		name string
		srv  *http.Server
		ln   net.Listener
	}{{"HTTP", s.http, lns.http}, {"ACME challenge", s.acme, lns.acme}, {"admin", s.adminHTTP, lns.admin}} {
		if h.srv != nil {
			go func() { failed <- fmt.Errorf("%s server stopped: %v", h.name, h.srv.Serve(h.ln)) }()
		}
	}
	stats, stopStats := context.WithCancel(context.Background())
	defer stopStats()
	go adm.LogStats(stats, cfg.Admin.StatsInterval)

	printBanner(stdout, lns, publicURL, s.ssh.Fingerprint())
	log.Info("listening", "ssh_addr", lns.ssh.Addr().String(), "http_addr", addrString(lns.http), "tls", lns.tls,
		"public_url", publicURL, "admin_addr", addrString(lns.admin), "host_key", s.ssh.Fingerprint(), "version", version())

	code := 0
	current := cfg // the settings the last reload applied
wait:
	for {
		select {
		case <-sigs.reload:
			current = s.reload(load, cfg, current)
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

// offIfZero maps the config's "0 is off" to the SSH server's, where
// zero means its default and a negative duration off.
func offIfZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

func tlsSettings(w config.Web, limit func(net.Listener) net.Listener) webrtcsignal.TLSSettings {
	return webrtcsignal.TLSSettings{CertFile: w.TLSCert, KeyFile: w.TLSKey, ACMEDomains: w.ACMEDomains, ACMECache: w.ACMECache,
		Limit: limit}
}

// connLimits are the bounds of each listener's connections. Their
// automatic totals share the process's file limit: half for HTTP, three
// eighths for SSH, and the last eighth stays free for the admin listener,
// the files Parley opens and the slack of connections being closed.
type connLimits struct {
	ssh, http, acme, admin connlimit.Limits
}

// acmeMaxConns caps the connections to the ACME challenge listener (port
// 80) at once: the CA asks a few times per certificate.
const acmeMaxConns = 64

func newConnLimits(cfg config.Config, log *slog.Logger) connLimits {
	files := connlimit.FileLimit()
	// Both lists were checked when the config was read.
	exempt, _ := config.Prefixes(cfg.Core.Limits.ExemptIPs)
	proxies, _ := config.Prefixes(cfg.Web.TrustedProxies)
	refusals := logguard.New(log)
	refused := func(listener string) func(netip.Addr, string) {
		return func(addr netip.Addr, limit string) {
			refusals.Warn("connection refused", "listener", listener, "remote", addr.String(), "limit", limit)
		}
	}
	l := connLimits{
		ssh: connlimit.Limits{Total: cfg.Server.MaxSSHConns, Refused: refused("ssh")},
		http: connlimit.Limits{PerAddress: cfg.Server.HTTPConnsPerIP, Total: cfg.Server.MaxHTTPConns,
			Exempt: append(exempt, proxies...), Refused: refused("http")},
		acme: connlimit.Limits{PerAddress: cfg.Server.HTTPConnsPerIP, Total: acmeMaxConns, Exempt: exempt,
			Refused: refused("acme")},
		admin: connlimit.Limits{PerAddress: cfg.Server.HTTPConnsPerIP, Total: cfg.Admin.MaxConns, Exempt: exempt,
			Refused: refused("admin")},
	}
	if l.ssh.Total == 0 {
		l.ssh.Total = connlimit.Share(files, 3, 8, 6144)
	}
	if l.http.Total == 0 {
		l.http.Total = connlimit.Share(files, 1, 2, 8192)
	}
	log.Info("connection limits", "files", files, "ssh", l.ssh.Total, "http", l.http.Total, "http_per_ip", l.http.PerAddress,
		"admin", l.admin.Total)
	return l
}

// limit wraps ln with limits.
func limit(limits connlimit.Limits) func(net.Listener) net.Listener {
	return func(ln net.Listener) net.Listener { return connlimit.Listen(ln, limits) }
}

// listen opens every listener the settings ask for, or none.
func listen(cfg config.Config, limits connLimits) (*listeners, error) {
	l := &listeners{}
	var err error
	if l.ssh, err = net.Listen("tcp", cfg.Server.SSHAddr); err != nil {
		return nil, fmt.Errorf("SSH: %w", err)
	}
	l.ssh = connlimit.Listen(l.ssh, limits.ssh)
	if cfg.Server.HTTPAddr != "" {
		if l.http, l.acmeHandler, err = tlsSettings(cfg.Web, limit(limits.http)).Listen(cfg.Server.HTTPAddr); err != nil {
			l.close()
			return nil, fmt.Errorf("HTTP: %w", err)
		}
		l.tls = cfg.Web.TLSCert != "" || len(cfg.Web.ACMEDomains) > 0
		if l.acmeHandler != nil {
			if l.acme, err = net.Listen("tcp", acmeHTTPAddr); err != nil {
				l.close()
				return nil, fmt.Errorf("ACME challenges: %w", err)
			}
			l.acme = connlimit.Listen(l.acme, limits.acme)
		}
	}
	if cfg.Admin.Addr != "" {
		if l.admin, err = net.Listen("tcp", cfg.Admin.Addr); err != nil {
			l.close()
			return nil, fmt.Errorf("admin: %w", err)
		}
		l.admin = connlimit.Listen(l.admin, limits.admin)
	}
	return l, nil
}

// newWeb creates the browser side with the [web] and [ice] settings.
func newWeb(hub *core.Hub, cfg config.Config, publicURL string, guard *core.ConnGuard, untrustedProxy func(netip.Addr)) (*webrtcsignal.Server, error) {
	proxies, err := config.Prefixes(cfg.Web.TrustedProxies)
	if err != nil {
		return nil, err
	}
	var ice []webrtcsignal.ICEServer
	for _, urls := range [][]string{cfg.ICE.STUN, cfg.ICE.TURN} {
		if len(urls) > 0 {
			ice = append(ice, webrtcsignal.ICEServer{URLs: urls})
		}
	}
	return webrtcsignal.New(hub, webrtcsignal.Config{
		UntrustedProxy: untrustedProxy,
		AllowedOrigins: cfg.Web.AllowedOrigins,
		PublicURL:      publicURL,
		ICEServers:     ice,
		TURNSecret:     cfg.ICE.TURNSecret,
		TrustedProxies: proxies,
		Guard:          guard,
		HSTS:           cfg.Web.HSTS,
		ConnectTimeout: cfg.Web.CallConnectTimeout,
		ResumeGrace:    cfg.Web.ResumeGrace,
	})
}

// warnProxy warns when the settings look like a reverse proxy in front
// of the web side that trusted_proxies does not name: the HTTP listener
// on loopback only, while browsers come through another public URL.
func warnProxy(log *slog.Logger, adm *admin.Server, w config.Web, httpAddr net.Addr, publicURL string) {
	tcp, ok := httpAddr.(*net.TCPAddr)
	if !ok || !tcp.IP.IsLoopback() || len(w.TrustedProxies) > 0 || w.PublicURL == "" {
		return
	}
	if u, err := url.Parse(publicURL); err != nil || u.Hostname() == "localhost" || net.ParseIP(u.Hostname()).IsLoopback() {
		return
	}
	warning := "the web side listens on loopback behind " + publicURL + " with no trusted_proxies: " +
		"the per-address limits will see the proxy, not the browsers"
	log.Error(warning)
	adm.Warn(warning)
}

// derivePublicURL is the configured public URL, else the first automatic
// certificate's domain, else the HTTP address as a local user reaches it,
// so that call links work on this machine out of the box.
func derivePublicURL(w config.Web, httpAddr net.Addr, tls bool) string {
	if w.PublicURL != "" {
		return w.PublicURL
	}
	scheme, defaultPort := "http", "80"
	if tls {
		scheme, defaultPort = "https", "443"
	}
	host, port := connectTarget(httpAddr)
	if len(w.ACMEDomains) > 0 {
		host = w.ACMEDomains[0]
	}
	if port == defaultPort {
		return scheme + "://" + host
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// reload applies the rooms, limits and welcome of a freshly read config
// without dropping anyone, logs what changed since current and returns
// the settings now in force. A file with errors, or one that would remove
// every room, password, operator or reserved name without saying so,
// changes nothing. running is the config the process started with.
func (s *servers) reload(load func() (config.Config, error), running, current config.Config) config.Config {
	cfg, err := load()
	if err == nil {
		err = config.CheckReload(current, cfg)
	}
	if err == nil {
		err = s.hub.Reload(cfg.Core)
	}
	if err != nil {
		s.log.Error("config not reloaded: the running settings stay", "err", err)
		return current
	}
	_, rooms, _ := s.hub.Counts()
	changes := config.ReloadChanges(current, cfg)
	if len(changes) == 0 {
		changes = []string{"nothing"}
	}
	s.log.Info("config reloaded", "rooms", rooms, "changed", changes)
	if !reflect.DeepEqual(cfg.Server, running.Server) || !reflect.DeepEqual(cfg.Web, running.Web) ||
		!reflect.DeepEqual(cfg.ICE, running.ICE) || !reflect.DeepEqual(cfg.Admin, running.Admin) {
		s.log.Warn("the [server], [web], [ice] and [admin] settings take effect only after a restart")
	}
	if !reflect.DeepEqual(cfg.Cluster, running.Cluster) {
		s.log.Warn("the [cluster] settings take effect only after a restart")
	}
	l, r := cfg.Core.Limits, running.Core.Limits
	if l.ConnsPerIP != r.ConnsPerIP || l.NewConnsPerMinute != r.NewConnsPerMinute || !reflect.DeepEqual(l.ExemptIPs, r.ExemptIPs) {
		s.log.Warn("conns_per_ip, new_conns_per_minute and exempt_ips apply to new connections only after a restart")
	}
	return cfg
}

// shutdown marks the server not ready, warns everyone, waits out the
// grace period, then closes the listeners and every session. It returns
// false when a second signal cut it short.
func (s *servers) shutdown(grace time.Duration, signals <-chan os.Signal) bool {
	s.admin.SetDraining()
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
	// Every session is told first: CloseAll queues the closing message
	// in each one's outbox before the servers close their connections,
	// which flush the outbox before they close. Closed the other way
	// round, most browsers were gone before their message was queued.
	s.hub.CloseAll("Parley has shut down")
	// The servers stop accepting at once and then wait for their
	// connections, which CloseAll ends. http.Server.Shutdown neither
	// closes nor waits for WebSockets: the web side's Shutdown does.
	var wg sync.WaitGroup
	wg.Go(func() { s.logShutdown("SSH", s.ssh.Shutdown(ctx)) })
	if s.http != nil {
		wg.Go(func() { s.logShutdown("HTTP", s.http.Shutdown(ctx)) })
		wg.Go(func() { s.logShutdown("web", s.web.Shutdown(ctx)) })
	}
	if s.acme != nil {
		wg.Go(func() { s.logShutdown("ACME challenge", s.acme.Shutdown(ctx)) })
	}
	if s.node != nil {
		// Leave at once, so the other nodes need not wait for the lease
		// to expire to tell everyone this node's users left.
		s.node.Close()
	}
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
	// The admin listener goes last, so /healthz and /metrics answer
	// until the end; Close ends the monitor's streams first.
	s.admin.Close()
	if s.adminHTTP != nil {
		adminCtx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		s.logShutdown("admin", s.adminHTTP.Shutdown(adminCtx))
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
func printBanner(w io.Writer, lns *listeners, publicURL, fingerprint string) {
	host, port := connectTarget(lns.ssh.Addr())
	fmt.Fprintf(w, "Parley is running.\n  SSH    %s  host key %s\n", lns.ssh.Addr(), fingerprint)
	if lns.http != nil {
		scheme := "http"
		if lns.tls {
			scheme = "https"
		}
		h, p := connectTarget(lns.http.Addr())
		local := scheme + "://" + net.JoinHostPort(h, p)
		fmt.Fprintf(w, "  Web    %s/", local)
		if publicURL != local {
			fmt.Fprintf(w, "  (call links: %s)", publicURL)
		}
		fmt.Fprintln(w)
	}
	if lns.admin != nil {
		fmt.Fprintf(w, "  Admin  http://%s/  (metrics, health, live monitor)\n", lns.admin.Addr())
	}
	cmd := "ssh " + host
	if port != "22" {
		cmd = "ssh -p " + port + " " + host
	}
	fmt.Fprintf(w, "Connect with:  %s\nThe first time, ssh asks you to confirm the host key: it must be %s.\n", cmd, fingerprint)
}

// addrString is the listener's address as text, "" for none.
func addrString(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
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
