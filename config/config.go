// Package config reads Parley's TOML config file into the settings of the
// core and of the server process around it. Every key is optional: what a
// file leaves out keeps its default, and a key the reader does not know is
// an error, so a typo is never silently ignored.
package config

import (
	"crypto/tls"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"parley/bans"
	"parley/core"
	"parley/sshui"
)

// Config is everything a config file sets.
type Config struct {
	Core    core.Config
	Server  Server
	Web     Web
	ICE     ICE
	Admin   Admin
	Cluster Cluster
	// ReloadMayClear lets a reload remove every room besides the default
	// one, every room password, every operator or every reserved name,
	// which CheckReload otherwise refuses.
	ReloadMayClear bool
}

// Cluster says how this node joins others to serve as one: empty Node
// means a single node, with no NATS at all. The cluster package checks
// the values when the node starts.
type Cluster struct {
	Node string   // this node's name in the cluster
	NATS []string // the NATS servers' client URLs
	// CredsFile is a NATS credentials file; TLSCA verifies the NATS
	// servers, TLSCert and TLSKey are this node's client certificate.
	CredsFile              string
	TLSCA, TLSCert, TLSKey string
	// Replicas is how many NATS servers keep each stream and bucket.
	Replicas int
	// Heartbeat is how often the node renews its lease; NodeTTL how long
	// a node that stopped renewing it counts as alive.
	Heartbeat, NodeTTL time.Duration
	// PublishTimeout bounds how long a message may wait for NATS before
	// its author is told it was not sent.
	PublishTimeout time.Duration
	// Prefix starts every subject and names every stream and bucket.
	Prefix string
	// Embed runs a NATS server in this process: small clusters need no
	// NATS machines of their own. Listen is its client address,
	// ClusterListen where the other nodes' servers connect, Routes those
	// servers' cluster addresses, DataDir where it keeps the ban list.
	Embed         bool
	Listen        string
	ClusterListen string
	Routes        []string
	DataDir       string
	// MonitorListen is where the embedded server's HTTP monitoring
	// listens (NATS's own statistics); "" turns it off.
	MonitorListen string
}

// Server holds the settings of the process rather than of the chat.
type Server struct {
	SSHAddr    string // where the SSH server listens
	HTTPAddr   string // where the HTTP server listens; "" turns it off
	HostKeyDir string // folder of the SSH host keys, created if missing
	// BanFile keeps the operators' bans across restarts; "" means
	// bans.json in HostKeyDir.
	BanFile string
	// ShutdownGrace is how long users are warned before the server stops.
	ShutdownGrace time.Duration
	// IdleTimeout is how long an SSH connection whose peer stopped
	// answering keepalives is kept; quiet but connected users stay.
	IdleTimeout time.Duration
	// TerminalAnswerTimeout is how long an SSH user's terminal may take
	// to answer a cursor-position question sent with its output before
	// the session is cut off as no longer reading; 0 turns it off.
	TerminalAnswerTimeout time.Duration
	// MaxHandshakes caps the SSH connections still in their handshake;
	// HandshakeTimeout is how long one may take before it is closed.
	MaxHandshakes    int
	HandshakeTimeout time.Duration
	// EarlyDropHandshakes and EarlyDropPercent drop new SSH connections
	// at random before the cap: EarlyDropPercent of them with
	// EarlyDropHandshakes in the handshake, rising to all at the cap;
	// 0 means half of MaxHandshakes.
	EarlyDropHandshakes int
	EarlyDropPercent    int
	// HandshakesPerIP caps the SSH connections in their handshake from
	// one address (IPv6: one /64), well below MaxHandshakes; an address
	// whose connection was closed for taking longer than
	// HandshakeTimeout gets no new handshake for HandshakePenalty (and
	// longer as it goes on). Exempt addresses are free of both.
	HandshakesPerIP  int
	HandshakePenalty time.Duration
	// MaxSSHConns caps the SSH connections open at once; 0 means three
	// eighths of the process's file limit.
	MaxSSHConns int
	// MaxAuthTries bounds the login attempts on one SSH connection.
	MaxAuthTries int
	// SSHKeyExchanges, SSHCiphers and SSHMACs are the SSH algorithms
	// offered, in order of preference; empty means Parley's modern set.
	SSHKeyExchanges, SSHCiphers, SSHMACs []string
	// ResizeInterval is the shortest time between two re-layouts of a
	// terminal, however fast its window changes.
	ResizeInterval time.Duration
	// MaxInputChars caps a line typed or pasted at a terminal; a longer
	// one is refused once and the rest of it dropped.
	MaxInputChars int
	// HTTPReadTimeout bounds the time from a request's headers to the
	// end of its body, on the web and admin listeners.
	HTTPReadTimeout time.Duration
	// HTTPConnsPerIP caps the HTTP connections (pages and WebSockets)
	// open at once from one address (IPv6: one /64); exempt addresses
	// and trusted proxies are free of it. MaxHTTPConns caps them from all
	// addresses; 0 means half of the process's file limit.
	HTTPConnsPerIP int
	MaxHTTPConns   int
	// GCPercent is the garbage collector's target (GOGC): how far the
	// heap may grow past the memory in use before it is collected. Lower
	// holds less memory per session and costs more CPU.
	GCPercent int
}

// BanPath is the ban file Parley uses.
func (s Server) BanPath() string {
	if s.BanFile != "" {
		return s.BanFile
	}
	return filepath.Join(s.HostKeyDir, bans.FileName)
}

// Web holds the settings of the browser side on the HTTP address.
type Web struct {
	// PublicURL is where browsers reach Parley; call links for terminal
	// users start with it. "" means the HTTP address as seen from this
	// machine (http://localhost:8080).
	PublicURL string
	// AllowedOrigins may open the WebSocket besides the page's own host.
	AllowedOrigins []string
	// TrustedProxies are addresses or prefixes of reverse proxies whose
	// X-Forwarded-For names the real client.
	TrustedProxies []string
	// TLSCert and TLSKey are PEM files; set both to serve HTTPS.
	TLSCert, TLSKey string
	// ACMEDomains get certificates issued automatically (ports 80 and
	// 443 must be reachable); ACMECache keeps them between runs.
	ACMEDomains []string
	ACMECache   string
	// HSTS makes browsers insist on HTTPS for the host from then on.
	HSTS bool
	// CallConnectTimeout is how long a call may take to connect before
	// the browsers try an ICE restart, and as long again before they give
	// up with a reason.
	CallConnectTimeout time.Duration
	// ResumeGrace is how long a browser user whose connection ended
	// stays, unseen by others, for its tab to come back as the same user.
	ResumeGrace time.Duration
}

// ICE holds the STUN and TURN servers handed to browsers for calls.
type ICE struct {
	STUN []string // stun: or stuns: URLs
	TURN []string // turn: or turns: URLs
	// TURNSecret is the TURN server's shared secret (coturn's
	// static-auth-secret); browsers get short-lived credentials from it.
	TURNSecret string
}

// Admin holds the settings of the operators' listener.
type Admin struct {
	Addr string // where the admin listener listens; "" turns it off
	// Token, when set, guards everything but /healthz and /readyz.
	Token string
	// StatsInterval is how often a stats line is logged; 0 turns it off.
	StatsInterval time.Duration
	// MonitorViewers caps the live monitor's viewers at once, and
	// MonitorQueue the events waiting for one of them.
	MonitorViewers int
	MonitorQueue   int
	// MaxConns caps the admin listener's connections open at once.
	MaxConns int
}

// DefaultGCPercent is Parley's garbage collector target, below Go's 100:
// see docs/performance.md for what it saves and costs.
const DefaultGCPercent = 50

// Default returns the settings Parley runs with when no file is given.
func Default() Config {
	ssh := sshui.DefaultConfig()
	return Config{
		Core: core.DefaultConfig(),
		Server: Server{
			SSHAddr:               ":2222",
			HTTPAddr:              ":8080",
			HostKeyDir:            "hostkeys",
			ShutdownGrace:         5 * time.Second,
			IdleTimeout:           ssh.IdleTimeout,
			TerminalAnswerTimeout: ssh.AnswerTimeout,
			MaxHandshakes:         ssh.MaxHandshakes,
			HandshakeTimeout:      ssh.HandshakeTimeout,
			EarlyDropHandshakes:   0,
			EarlyDropPercent:      ssh.EarlyDropPercent,
			HandshakesPerIP:       ssh.HandshakesPerIP,
			HandshakePenalty:      ssh.HandshakePenalty,
			MaxAuthTries:          ssh.MaxAuthTries,
			SSHKeyExchanges:       []string{},
			SSHCiphers:            []string{},
			SSHMACs:               []string{},
			HTTPReadTimeout:       10 * time.Second,
			HTTPConnsPerIP:        64,
			ResizeInterval:        ssh.ResizeInterval,
			MaxInputChars:         ssh.MaxInputRunes,
			GCPercent:             DefaultGCPercent,
		},
		Web: Web{
			AllowedOrigins:     []string{},
			TrustedProxies:     []string{},
			ACMEDomains:        []string{},
			ACMECache:          "acme",
			CallConnectTimeout: 20 * time.Second,
			ResumeGrace:        2 * time.Minute,
		},
		ICE: ICE{STUN: []string{}, TURN: []string{}},
		Admin: Admin{
			Addr:           "127.0.0.1:9090",
			StatsInterval:  time.Minute,
			MonitorViewers: 4,
			MonitorQueue:   256,
			MaxConns:       32,
		},
		Cluster: Cluster{
			NATS:           []string{},
			Routes:         []string{},
			Replicas:       1,
			Heartbeat:      time.Second,
			NodeTTL:        5 * time.Second,
			PublishTimeout: 2 * time.Second,
			Prefix:         "parley",
			Listen:         "127.0.0.1:4222",
			DataDir:        "nats",
		},
	}
}

//go:embed default.toml
var defaultFile string

// DefaultFile is a commented config file that sets every key to its default.
func DefaultFile() string { return defaultFile }

// Load reads and validates the config file at path.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("cannot read config file: %w", err)
	}
	return Parse(path, data)
}

// Parse reads a config file's content on top of the defaults and validates
// the result. name is the file's name for error messages. The error, if
// any, is an Errors listing every problem found, in line order.
func Parse(name string, data []byte) (Config, error) {
	var doc map[string]any
	if _, err := toml.Decode(string(data), &doc); err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			return Config{}, Errors{{File: name, Line: perr.Position.Line, Msg: perr.Message}}
		}
		return Config{}, Errors{{File: name, Msg: err.Error()}}
	}
	r := &reader{file: name, lines: keyLines(string(data))}
	cfg := Default()
	r.document(newTable(r, "", -1, doc), &cfg)
	if len(r.errs) == 0 {
		if key, msg := cfg.Web.tlsProblem(); key != "" {
			r.fail(key, -1, "%s: %s", key, msg)
		}
		if err := cfg.Core.Validate(); err != nil {
			var serr *core.SettingError
			switch {
			case errors.As(err, &serr) && r.lines.find(serr.Key, serr.Room) == 0:
				r.fail(serr.Key, serr.Room, "%s (%s is not set in this file, so its default applies)", err, serr.Key)
			case serr != nil:
				r.fail(serr.Key, serr.Room, "%s", err)
			default:
				r.fail("", -1, "%s", err)
			}
		}
	}
	if len(r.errs) > 0 {
		sort.SliceStable(r.errs, func(i, j int) bool { return r.errs[i].Line < r.errs[j].Line })
		return Config{}, r.errs
	}
	return cfg, nil
}

// Override sets one key of cfg, named as in the file ("web.public_url"),
// from another source such as a flag, with the checks the file's key gets.
// source names that source in the error.
func Override(cfg *Config, source, key string, value any) error {
	parts := strings.Split(key, ".")
	doc := map[string]any{parts[len(parts)-1]: value}
	for i := len(parts) - 2; i >= 0; i-- {
		doc = map[string]any{parts[i]: doc}
	}
	r := &reader{file: source, lines: keyLines("")}
	r.document(newTable(r, "", -1, doc), cfg)
	if len(r.errs) > 0 {
		return r.errs
	}
	return nil
}

// Check checks the settings that depend on each other once every source
// is merged; Parse checks a file's alone.
func (c Config) Check() error {
	if key, msg := c.Web.tlsProblem(); key != "" {
		return fmt.Errorf("%s: %s", key, msg)
	}
	return nil
}

// tlsProblem says what is wrong with the TLS settings taken together: the
// key at fault and why, or "" when nothing is.
func (w Web) tlsProblem() (key, msg string) {
	files := w.TLSCert != "" || w.TLSKey != ""
	switch {
	case files && len(w.ACMEDomains) > 0:
		return "web.acme_domains", "use either tls_cert and tls_key or acme_domains, not both"
	case w.TLSCert != "" && w.TLSKey == "":
		return "web.tls_cert", "needs tls_key (--tls-key) too"
	case w.TLSKey != "" && w.TLSCert == "":
		return "web.tls_key", "needs tls_cert (--tls-cert) too"
	case files:
		if _, err := tls.LoadX509KeyPair(w.TLSCert, w.TLSKey); err != nil {
			return "web.tls_cert", fmt.Sprintf("unusable with tls_key: %v", err)
		}
	case len(w.ACMEDomains) > 0 && w.ACMECache == "":
		return "web.acme_cache", "must name a folder when acme_domains is set"
	}
	return "", ""
}

// Error is one problem in a config file.
type Error struct {
	File string
	// Line is where the problem is, from 1; 0 when the file does not set
	// the key concerned (a default that clashes with another setting).
	Line int
	Key  string // dotted key concerned, "" for a syntax error
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	return loc + ": " + e.Msg
}

// Errors is every problem found in one config file.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}
