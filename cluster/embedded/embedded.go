// Package embedded runs a nats-server with JetStream inside the Parley
// process: the all-in-one cluster mode, and the servers of the tests.
package embedded

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Settings run a nats-server with JetStream inside the Parley process,
// for small clusters without NATS machines of their own: each Parley node
// runs one, and the servers route to each other.
type Settings struct {
	// Name names the server in its NATS cluster; unique per server.
	Name string
	// ClientListen is where this node (and only it, normally) connects:
	// host:port, port 0 for any free one.
	ClientListen string
	// ClusterListen is where the other servers' routes arrive: host:port,
	// port 0 for any free one. Empty: a server of its own, no routes.
	ClusterListen string
	// Routes are the other servers' cluster addresses (nats-route://host:port).
	Routes []string
	// ClusterName names the NATS cluster; every server of it uses the same.
	ClusterName string
	// MonitorListen is where the server's HTTP monitoring (/varz, /connz,
	// /subsz, /jsz) listens: host:port, port 0 for any free one. Empty: off.
	// It has no authentication: keep it on loopback or a private network.
	MonitorListen string
	// StoreDir is JetStream's folder. Only the ban bucket is written to it:
	// chat text stays in memory.
	StoreDir string
}

var serverName = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// DefaultClusterName is the NATS cluster name when Settings leave it empty.
const DefaultClusterName = "parley"

// Validate reports the first setting that cannot work.
func (e Settings) Validate() error {
	if !serverName.MatchString(e.Name) {
		return fmt.Errorf("cluster.embed name %q: use 1 to 32 of a-z, 0-9 and -", e.Name)
	}
	if _, _, err := splitHostPort(e.ClientListen); err != nil {
		return fmt.Errorf("cluster.embed client_listen: %w", err)
	}
	if e.ClusterListen != "" {
		if _, _, err := splitHostPort(e.ClusterListen); err != nil {
			return fmt.Errorf("cluster.embed cluster_listen: %w", err)
		}
	}
	if e.MonitorListen != "" {
		if _, _, err := splitHostPort(e.MonitorListen); err != nil {
			return fmt.Errorf("cluster.embed monitor_listen: %w", err)
		}
	}
	if len(e.Routes) > 0 && e.ClusterListen == "" {
		return errors.New("cluster.embed routes need cluster_listen: the other servers route to it")
	}
	for _, r := range e.Routes {
		u, err := url.Parse(r)
		if err != nil || u.Scheme != "nats-route" || u.Port() == "" {
			return fmt.Errorf("cluster.embed route %q: expected nats-route://host:port", r)
		}
	}
	if e.StoreDir == "" {
		return errors.New("cluster.embed store_dir is empty: JetStream needs a folder for the ban list")
	}
	return nil
}

// splitHostPort reads host:port, where port 0 means any free port, which
// the NATS server spells -1.
func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("%q: expected host:port", addr)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%q: port must be 0 to 65535", addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// Server is a running in-process nats-server.
type Server struct {
	srv *server.Server
}

// startTimeout bounds how long a starting server may take to listen.
const startTimeout = 10 * time.Second

// Start starts a nats-server with JetStream as s says. logger receives its
// warnings and errors (nil: none).
func Start(s Settings, logger *slog.Logger) (*Server, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	host, port, _ := splitHostPort(s.ClientListen)
	opts := &server.Options{
		ServerName: s.Name,
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   s.StoreDir,
		NoSigs:     true,
		NoLog:      logger == nil,
	}
	if s.ClusterListen != "" {
		chost, cport, _ := splitHostPort(s.ClusterListen)
		opts.Cluster = server.ClusterOpts{Name: s.ClusterName, Host: chost, Port: cport}
		if opts.Cluster.Name == "" {
			opts.Cluster.Name = DefaultClusterName
		}
		for _, r := range s.Routes {
			u, _ := url.Parse(r)
			opts.Routes = append(opts.Routes, u)
		}
	}
	if s.MonitorListen != "" {
		opts.HTTPHost, opts.HTTPPort, _ = splitHostPort(s.MonitorListen)
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded NATS server: %w", err)
	}
	if logger != nil {
		srv.SetLoggerV2(natsLogger{logger.With("nats_server", s.Name)}, false, false, false)
	}
	srv.Start()
	if !srv.ReadyForConnections(startTimeout) {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("embedded NATS server %s did not listen on %s within %s", s.Name, s.ClientListen, startTimeout)
	}
	return &Server{srv: srv}, nil
}

// ClientURL is the address a node connects to.
func (e *Server) ClientURL() string { return e.srv.ClientURL() }

// MonitorAddr is where the HTTP monitoring listens (nil when it is off).
func (e *Server) MonitorAddr() *net.TCPAddr { return e.srv.MonitorAddr() }

// ClusterAddr is where the other servers' routes arrive (nil for a server
// of its own).
func (e *Server) ClusterAddr() *net.TCPAddr { return e.srv.ClusterAddr() }

// IsStreamLeader reports whether this server leads the named stream.
func (e *Server) IsStreamLeader(stream string) bool {
	return e.srv.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream)
}

// JetStreamReady reports whether this server's JetStream knows its
// cluster's leader and is caught up with it: streams can be made.
func (e *Server) JetStreamReady() bool {
	return e.srv.JetStreamEnabled() && e.srv.JetStreamIsCurrent()
}

// Shutdown stops the server and waits until it has stopped.
func (e *Server) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// natsLogger passes the server's warnings and errors to slog; its notices,
// debug and trace lines are too chatty for Parley's log.
type natsLogger struct{ l *slog.Logger }

func (n natsLogger) Noticef(string, ...any) {}
func (n natsLogger) Debugf(string, ...any)  {}
func (n natsLogger) Tracef(string, ...any)  {}
func (n natsLogger) Warnf(format string, v ...any) {
	n.l.Warn(fmt.Sprintf(format, v...))
}
func (n natsLogger) Errorf(format string, v ...any) {
	n.l.Error(fmt.Sprintf(format, v...))
}
func (n natsLogger) Fatalf(format string, v ...any) {
	n.l.Error(fmt.Sprintf(format, v...))
}
