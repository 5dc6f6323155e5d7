package cluster

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"parley/cluster/embedded"

	"parley/core"
)

// Settings say how a node joins its cluster. The configuration side fills
// them; zero durations and counts take the defaults below.
type Settings struct {
	// Node names this node: 1 to 32 of a-z, 0-9 and -, unique in the cluster.
	Node string
	// NATS lists the NATS servers' client URLs. Empty with Embed set: the
	// embedded server's.
	NATS []string
	// CredsFile is a NATS credentials file (JWT and nkey seed); empty: none.
	CredsFile string
	// TLSCA verifies the NATS servers; TLSCert and TLSKey (both or neither)
	// are this node's client certificate.
	TLSCA, TLSCert, TLSKey string
	// Replicas is how many NATS servers keep each stream and bucket: 1, 3
	// or 5, at most the number of NATS servers.
	Replicas int
	// Heartbeat is how often the node renews its lease.
	Heartbeat time.Duration
	// NodeTTL is how long a lease lasts without renewal: a node that dies
	// is declared lost that long after its last renewal. At least 3 ×
	// Heartbeat.
	NodeTTL time.Duration
	// PublishTimeout bounds how long an entry is retried before its author
	// is told it was not sent.
	PublishTimeout time.Duration
	// Prefix starts every subject and names every stream and bucket
	// (upper-cased), so several clusters can share one NATS.
	Prefix string
	// ConfigHash summarises the settings every node should share (rooms,
	// operators, reserved names); a node whose hash differs is reported.
	ConfigHash string
	// HostKey is the fingerprint of this node's SSH host key: every node
	// behind one name must present the same, and one that differs is
	// reported.
	HostKey string
	// QueueSize bounds the entries waiting to be published.
	QueueSize int
	// LogMaxAge and LogMaxEntries bound what the stream keeps: enough for
	// a node that falls behind, or is being brought up from a snapshot, to
	// catch up.
	LogMaxAge     time.Duration
	LogMaxEntries int64
	// ImportBans names a ban file (the single-node format) whose bans are
	// copied into the cluster's ban list once, the first time any node
	// starts with the list empty. Empty: none.
	ImportBans string
	// Embed, when set, runs a nats-server in this process first, named
	// after the node unless it says otherwise.
	Embed *embedded.Settings
}

// Defaults.
const (
	DefaultHeartbeat      = time.Second
	DefaultNodeTTL        = 5 * time.Second
	DefaultPublishTimeout = 2 * time.Second
	DefaultPrefix         = "parley"
	DefaultReplicas       = 1
	DefaultQueueSize      = 16384
	DefaultLogMaxAge      = 15 * time.Minute
	DefaultLogMaxEntries  = 200_000
)

var (
	nodeName = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	prefixRe = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
)

// withDefaults fills what was left zero.
func (s Settings) withDefaults() Settings {
	if s.Heartbeat == 0 {
		s.Heartbeat = DefaultHeartbeat
	}
	if s.NodeTTL == 0 {
		s.NodeTTL = DefaultNodeTTL
	}
	if s.PublishTimeout == 0 {
		s.PublishTimeout = DefaultPublishTimeout
	}
	if s.Prefix == "" {
		s.Prefix = DefaultPrefix
	}
	if s.Replicas == 0 {
		s.Replicas = DefaultReplicas
	}
	if s.QueueSize == 0 {
		s.QueueSize = DefaultQueueSize
	}
	if s.LogMaxAge == 0 {
		s.LogMaxAge = DefaultLogMaxAge
	}
	if s.LogMaxEntries == 0 {
		s.LogMaxEntries = DefaultLogMaxEntries
	}
	if s.Embed != nil && s.Embed.Name == "" {
		e := *s.Embed
		e.Name = s.Node
		s.Embed = &e
	}
	return s
}

// Validate reports the first setting that cannot work, naming it as the
// configuration file does.
func (s Settings) Validate() error {
	s = s.withDefaults()
	if !nodeName.MatchString(s.Node) {
		return fmt.Errorf("cluster.node %q: use 1 to 32 of a-z, 0-9 and -", s.Node)
	}
	if len(s.NATS) == 0 && s.Embed == nil {
		return errors.New("cluster.nats is empty: list the NATS servers (nats://host:4222), or set cluster.embed")
	}
	for _, u := range s.NATS {
		p, err := url.Parse(u)
		if err != nil || p.Host == "" || !slices.Contains([]string{"nats", "tls", "ws", "wss"}, p.Scheme) {
			return fmt.Errorf("cluster.nats %q: expected nats://host:port", u)
		}
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		return errors.New("cluster.tls_cert and cluster.tls_key go together: set both or neither")
	}
	if s.Replicas != 1 && s.Replicas != 3 && s.Replicas != 5 {
		return fmt.Errorf("cluster.replicas %d: use 1, 3 or 5", s.Replicas)
	}
	if s.Heartbeat < 10*time.Millisecond {
		return fmt.Errorf("cluster.heartbeat %s: at least 10ms", s.Heartbeat)
	}
	if s.NodeTTL < 3*s.Heartbeat {
		return fmt.Errorf("cluster.node_ttl %s: at least 3 × heartbeat (%s), so a node fences itself before its lease can expire", s.NodeTTL, 3*s.Heartbeat)
	}
	if s.NodeTTL < time.Second {
		return fmt.Errorf("cluster.node_ttl %s: at least 1s, the shortest lease NATS keeps", s.NodeTTL)
	}
	if s.PublishTimeout <= 0 {
		return fmt.Errorf("cluster.publish_timeout %s: must be positive", s.PublishTimeout)
	}
	if !prefixRe.MatchString(s.Prefix) {
		return fmt.Errorf("cluster.prefix %q: use 1 to 32 of a-z, 0-9, _ and -", s.Prefix)
	}
	if s.QueueSize < 1 {
		return fmt.Errorf("cluster.queue_size %d: at least 1", s.QueueSize)
	}
	if s.LogMaxAge < time.Minute {
		return fmt.Errorf("cluster.log_max_age %s: at least 1m, long enough for a node to catch up", s.LogMaxAge)
	}
	if s.LogMaxEntries < 1000 {
		return fmt.Errorf("cluster.log_max_entries %d: at least 1000", s.LogMaxEntries)
	}
	if s.Embed != nil {
		if err := s.Embed.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// names of the stream and buckets, derived from the prefix.
type names struct {
	prefix string
}

func (n names) upper(suffix string) string {
	return strings.ToUpper(strings.ReplaceAll(n.prefix, "-", "_")) + "_" + suffix
}

func (n names) stream() string { return n.upper("LOG") }
func (n names) ids() string    { return n.upper("IDS") }
func (n names) nodes() string  { return n.upper("NODES") }
func (n names) reap() string   { return n.upper("REAP") }
func (n names) bans() string   { return n.upper("BANS") }
func (n names) claims(k core.ClaimKind) string {
	switch k {
	case core.ClaimName:
		return n.upper("NAMES")
	case core.ClaimCode:
		return n.upper("CODES")
	}
	return ""
}
func (n names) logSubjects() string { return n.prefix + ".log.>" }
func (n names) snapshot() string    { return n.prefix + ".snapshot" }
