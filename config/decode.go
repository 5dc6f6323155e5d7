package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	gossh "golang.org/x/crypto/ssh"

	"parley/core"
)

// Bounds of the welcome message, which the home screen shows whole.
const (
	maxWelcomeLines = 20
	maxWelcomeChars = 500 // per line
)

// reader turns a decoded TOML document into a Config, collecting every
// problem with the line it is on.
type reader struct {
	file  string
	lines *lineIndex
	errs  Errors
}

func (r *reader) fail(key string, room int, format string, args ...any) {
	r.errs = append(r.errs, &Error{File: r.file, Line: r.lines.find(key, room), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// table is one TOML table being read. Keys are marked as they are read,
// so that whatever is left over can be reported as unknown.
type table struct {
	r    *reader
	path string // dotted path of the table, "" at the top
	room int    // index of the [[rooms]] entry, or -1
	m    map[string]any
	seen map[string]bool
}

func newTable(r *reader, path string, room int, m map[string]any) *table {
	return &table{r: r, path: path, room: room, m: m, seen: map[string]bool{}}
}

func (t *table) key(k string) string {
	if t.path == "" {
		return k
	}
	return t.path + "." + k
}

func (t *table) fail(k, format string, args ...any) {
	t.r.fail(t.key(k), t.room, "%s: %s", t.key(k), fmt.Sprintf(format, args...))
}

func (t *table) value(k string) (any, bool) {
	t.seen[k] = true
	v, ok := t.m[k]
	return v, ok
}

// done reports the keys nobody asked for.
func (t *table) done() {
	var unknown []string
	for k := range t.m {
		if !t.seen[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		t.fail(k, "unknown key")
	}
}

func (t *table) str(k string, dst *string) bool {
	v, ok := t.value(k)
	if !ok {
		return false
	}
	s, ok := v.(string)
	if !ok {
		t.fail(k, "must be a string, not %s", typeName(v))
		return false
	}
	*dst = s
	return true
}

func (t *table) boolean(k string, dst *bool) {
	v, ok := t.value(k)
	if !ok {
		return
	}
	b, ok := v.(bool)
	if !ok {
		t.fail(k, "must be true or false, not %s", typeName(v))
		return
	}
	*dst = b
}

func (t *table) integer(k string, dst *int) {
	v, ok := t.value(k)
	if !ok {
		return
	}
	n, ok := v.(int64)
	if !ok {
		t.fail(k, "must be a whole number, not %s", typeName(v))
		return
	}
	if int64(int(n)) != n {
		t.fail(k, "%d is too large", n)
		return
	}
	*dst = int(n)
}

func (t *table) number(k string, dst *float64) {
	v, ok := t.value(k)
	if !ok {
		return
	}
	switch n := v.(type) {
	case float64:
		*dst = n
	case int64:
		*dst = float64(n)
	default:
		t.fail(k, "must be a number, not %s", typeName(v))
	}
}

func (t *table) duration(k string, dst *time.Duration) {
	v, ok := t.value(k)
	if !ok {
		return
	}
	s, ok := v.(string)
	if !ok {
		t.fail(k, `must be a duration in quotes such as "30s" or "2m", not %s`, typeName(v))
		return
	}
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		t.fail(k, `%q is not a duration such as "30s" or "2m"`, s)
	case d < 0:
		t.fail(k, "must not be negative")
	default:
		*dst = d
	}
}

func (t *table) strings(k string, dst *[]string) bool {
	v, ok := t.value(k)
	if !ok {
		return false
	}
	list, ok := v.([]any)
	if !ok {
		t.fail(k, "must be a list of strings, not %s", typeName(v))
		return false
	}
	out := make([]string, 0, len(list))
	for _, item := range list {
		s, ok := item.(string)
		if !ok {
			t.fail(k, "must be a list of strings, but holds %s", typeName(item))
			return false
		}
		out = append(out, s)
	}
	*dst = out
	return true
}

// sub returns the table under key k, or nil when there is none.
func (t *table) sub(k string) *table {
	v, ok := t.value(k)
	if !ok {
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.fail(k, "must be a table ([%s]), not %s", t.key(k), typeName(v))
		return nil
	}
	return newTable(t.r, t.key(k), -1, m)
}

// list returns the tables of an array of tables ([[k]]).
func (t *table) list(k string) ([]map[string]any, bool) {
	v, ok := t.value(k)
	if !ok {
		return nil, false
	}
	switch l := v.(type) {
	case []map[string]any:
		return l, true
	case []any:
		out := make([]map[string]any, 0, len(l))
		for _, item := range l {
			m, ok := item.(map[string]any)
			if !ok {
				t.fail(k, "must be tables ([[%s]]), but holds %s", t.key(k), typeName(item))
				return nil, false
			}
			out = append(out, m)
		}
		return out, true
	}
	t.fail(k, "must be tables ([[%s]]), not %s", t.key(k), typeName(v))
	return nil, false
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "a whole number"
	case float64:
		return "a fractional number"
	case bool:
		return "true/false"
	case []any, []map[string]any:
		return "a list"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date"
	}
	return fmt.Sprintf("a %T", v)
}

// document reads the whole file into cfg.
func (r *reader) document(t *table, cfg *Config) {
	c := &cfg.Core
	t.str("default_room", &c.DefaultRoom)
	t.boolean("auto_join", &c.AutoJoin)
	t.boolean("allow_user_rooms", &c.AllowUserRooms)
	var welcome string
	if t.str("welcome", &welcome) {
		c.Welcome = checkWelcome(t, welcome)
	}
	t.str("motd", &c.Motd)
	t.boolean("reload_may_clear", &cfg.ReloadMayClear)
	t.strings("operators", &c.Operators)
	if rooms, ok := t.list("rooms"); ok {
		c.Rooms = make([]core.RoomConfig, 0, len(rooms))
		for i, m := range rooms {
			c.Rooms = append(c.Rooms, r.room(newTable(r, "rooms", i, m)))
		}
	}
	if rt := t.sub("reserved"); rt != nil {
		c.Reserved = reservedNames(rt)
	}
	if lt := t.sub("limits"); lt != nil {
		limits(lt, &c.Limits)
	}
	if st := t.sub("server"); st != nil {
		server(st, &cfg.Server)
	}
	if wt := t.sub("web"); wt != nil {
		web(wt, &cfg.Web)
	}
	if it := t.sub("ice"); it != nil {
		ice(it, &cfg.ICE)
	}
	if at := t.sub("admin"); at != nil {
		adminTable(at, &cfg.Admin)
	}
	if ct := t.sub("cluster"); ct != nil {
		clusterTable(ct, &cfg.Cluster)
	}
	t.done()
}

// reservedNames reads [reserved]: each key is a name, its value the
// fingerprints of the SSH keys that may hold it. An empty table is none.
func reservedNames(t *table) map[string][]string {
	names := make([]string, 0, len(t.m))
	for name := range t.m {
		names = append(names, name)
	}
	sort.Strings(names)
	var out map[string][]string
	for _, name := range names {
		var fps []string
		if t.strings(name, &fps) {
			if out == nil {
				out = map[string][]string{}
			}
			out[name] = fps
		}
	}
	t.done()
	return out
}

// checkWelcome validates the welcome message line by line with the rules
// for chat text, and returns it with its lines in NFC.
func checkWelcome(t *table, s string) string {
	s = strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > maxWelcomeLines {
		t.fail("welcome", "has %d lines, at most %d", len(lines), maxWelcomeLines)
		return ""
	}
	for i, line := range lines {
		clean, err := core.CleanMessage(line, maxWelcomeChars)
		switch {
		case errors.Is(err, core.ErrEmpty):
			lines[i] = ""
		case err != nil:
			t.fail("welcome", "line %d: %s", i+1, err)
			return ""
		default:
			lines[i] = clean
		}
	}
	return strings.Join(lines, "\n")
}

func (r *reader) room(t *table) core.RoomConfig {
	var rc core.RoomConfig
	if !t.str("name", &rc.Name) {
		if _, present := t.m["name"]; !present {
			r.fail("rooms", t.room, "rooms: every [[rooms]] entry needs a name")
		}
	}
	t.str("description", &rc.Description)
	t.boolean("hidden", &rc.Hidden)
	if t.str("password_hash", &rc.PasswordHash) && rc.PasswordHash != "" {
		if _, err := bcrypt.Cost([]byte(rc.PasswordHash)); err != nil {
			t.fail("password_hash", "must be a bcrypt hash such as parley hash-password prints, never the password itself")
		}
	}
	t.integer("max_members", &rc.MaxMembers)
	t.done()
	return rc
}

func limits(t *table, l *core.Limits) {
	t.integer("message_chars", &l.MessageChars)
	t.integer("name_cells", &l.NameCells)
	t.integer("history", &l.History)
	t.integer("rate_burst", &l.RateBurst)
	t.number("rate_per_second", &l.RatePerSec)
	t.integer("rate_warnings", &l.RateWarnings)
	t.duration("mute_for", &l.MuteFor)
	t.integer("muted_strikes", &l.MutedStrikes)
	t.integer("rename_burst", &l.RenameBurst)
	t.number("renames_per_minute", &l.RenamesPerMinute)
	t.integer("wrong_codes_per_minute", &l.WrongCodes)
	t.integer("password_workers", &l.PasswordWorkers)
	t.integer("password_queue", &l.PasswordQueue)
	t.integer("password_checks_per_minute", &l.PasswordChecks)
	t.integer("server_wrong_codes_per_minute", &l.WrongCodesServer)
	t.integer("outbox_size", &l.OutboxSize)
	t.duration("slow_timeout", &l.SlowTimeout)
	t.integer("max_rooms", &l.MaxRooms)
	t.integer("join_notices_up_to", &l.JoinNoticesUpTo)
	t.integer("member_events_up_to", &l.MemberEventsUpTo)
	t.duration("member_count_interval", &l.MemberCountInterval)
	t.integer("conns_per_ip", &l.ConnsPerIP)
	t.integer("new_conns_per_minute", &l.NewConnsPerMinute)
	t.strings("exempt_ips", &l.ExemptIPs)
	t.done()
}

func server(t *table, s *Server) {
	if t.str("ssh_addr", &s.SSHAddr) {
		checkAddr(t, "ssh_addr", s.SSHAddr, false)
	}
	if t.str("http_addr", &s.HTTPAddr) {
		checkAddr(t, "http_addr", s.HTTPAddr, true)
	}
	if t.str("hostkey_dir", &s.HostKeyDir) && s.HostKeyDir == "" {
		t.fail("hostkey_dir", "must not be empty")
	}
	t.str("ban_file", &s.BanFile)
	t.duration("shutdown_grace", &s.ShutdownGrace)
	t.duration("idle_timeout", &s.IdleTimeout)
	if s.IdleTimeout < time.Second {
		t.fail("idle_timeout", "must be at least 1s")
	}
	t.duration("terminal_answer_timeout", &s.TerminalAnswerTimeout)
	if s.TerminalAnswerTimeout != 0 && s.TerminalAnswerTimeout < time.Second {
		t.fail("terminal_answer_timeout", "must be 0 (off) or at least 1s")
	}
	t.integer("max_handshakes", &s.MaxHandshakes)
	if s.MaxHandshakes < 1 {
		t.fail("max_handshakes", "must be at least 1")
	}
	t.integer("early_drop_handshakes", &s.EarlyDropHandshakes)
	if s.EarlyDropHandshakes < 0 || s.EarlyDropHandshakes > s.MaxHandshakes {
		t.fail("early_drop_handshakes", "must be between 0 (half of max_handshakes) and max_handshakes")
	}
	t.integer("early_drop_percent", &s.EarlyDropPercent)
	if s.EarlyDropPercent < 1 || s.EarlyDropPercent > 100 {
		t.fail("early_drop_percent", "must be between 1 and 100")
	}
	t.duration("handshake_timeout", &s.HandshakeTimeout)
	if s.HandshakeTimeout < time.Second {
		t.fail("handshake_timeout", "must be at least 1s")
	}
	t.integer("handshakes_per_ip", &s.HandshakesPerIP)
	if s.HandshakesPerIP < 1 {
		t.fail("handshakes_per_ip", "must be at least 1")
	}
	t.duration("handshake_penalty", &s.HandshakePenalty)
	if s.HandshakePenalty < 0 || s.HandshakePenalty > time.Hour {
		t.fail("handshake_penalty", "must be between 0s (none) and 1h")
	}
	t.integer("max_ssh_conns", &s.MaxSSHConns)
	if s.MaxSSHConns < 0 {
		t.fail("max_ssh_conns", "must be 0 (three eighths of the file limit) or more")
	}
	t.duration("http_read_timeout", &s.HTTPReadTimeout)
	if s.HTTPReadTimeout < time.Second {
		t.fail("http_read_timeout", "must be at least 1s")
	}
	t.integer("http_conns_per_ip", &s.HTTPConnsPerIP)
	if s.HTTPConnsPerIP < 0 {
		t.fail("http_conns_per_ip", "must be 0 (no limit) or more")
	}
	t.integer("max_http_conns", &s.MaxHTTPConns)
	if s.MaxHTTPConns < 0 {
		t.fail("max_http_conns", "must be 0 (half of the file limit) or more")
	}
	t.integer("max_auth_tries", &s.MaxAuthTries)
	if s.MaxAuthTries < 1 || s.MaxAuthTries > 20 {
		t.fail("max_auth_tries", "must be between 1 and 20")
	}
	supported := gossh.SupportedAlgorithms()
	sshAlgorithms(t, "ssh_key_exchanges", &s.SSHKeyExchanges, supported.KeyExchanges)
	sshAlgorithms(t, "ssh_ciphers", &s.SSHCiphers, supported.Ciphers)
	sshAlgorithms(t, "ssh_macs", &s.SSHMACs, supported.MACs)
	t.duration("resize_interval", &s.ResizeInterval)
	if s.ResizeInterval < 10*time.Millisecond || s.ResizeInterval > 10*time.Second {
		t.fail("resize_interval", "must be between 10ms and 10s")
	}
	t.integer("max_input_chars", &s.MaxInputChars)
	if s.MaxInputChars < 100 || s.MaxInputChars > 1<<20 {
		t.fail("max_input_chars", "must be between 100 and 1048576")
	}
	t.integer("gc_percent", &s.GCPercent)
	if s.GCPercent < 10 || s.GCPercent > 1000 {
		t.fail("gc_percent", "must be between 10 and 1000")
	}
	t.done()
}

// sshAlgorithms reads a list of SSH algorithms, each of which the SSH
// library must support (and not count as insecure).
func sshAlgorithms(t *table, k string, list *[]string, supported []string) {
	if !t.strings(k, list) {
		return
	}
	for _, a := range *list {
		if !slices.Contains(supported, a) {
			t.fail(k, "%q is not one of %s", a, strings.Join(supported, ", "))
		}
	}
}

func checkAddr(t *table, k, addr string, mayBeEmpty bool) {
	if addr == "" && mayBeEmpty {
		return
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		t.fail(k, `%q is not an address such as ":2222" or "127.0.0.1:2222"`, addr)
	}
}

func web(t *table, w *Web) {
	if t.str("public_url", &w.PublicURL) && w.PublicURL != "" {
		if u, err := url.Parse(w.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
			t.fail("public_url", `%q is not a URL such as "https://chat.example.org"`, w.PublicURL)
		}
	}
	if t.strings("allowed_origins", &w.AllowedOrigins) {
		for _, o := range w.AllowedOrigins {
			if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
				t.fail("allowed_origins", `%q is not an origin such as "https://chat.example.org"`, o)
			}
		}
	}
	if t.strings("trusted_proxies", &w.TrustedProxies) {
		if _, err := Prefixes(w.TrustedProxies); err != nil {
			t.fail("trusted_proxies", "%s", err)
		}
	}
	if t.str("tls_cert", &w.TLSCert) && w.TLSCert != "" {
		checkReadable(t, "tls_cert", w.TLSCert)
	}
	if t.str("tls_key", &w.TLSKey) && w.TLSKey != "" {
		checkReadable(t, "tls_key", w.TLSKey)
	}
	if t.strings("acme_domains", &w.ACMEDomains) {
		for _, d := range w.ACMEDomains {
			if d == "" || strings.ContainsAny(d, ":/ \t") {
				t.fail("acme_domains", `%q is not a domain name such as "chat.example.org"`, d)
			}
		}
	}
	t.str("acme_cache", &w.ACMECache)
	t.boolean("hsts", &w.HSTS)
	t.duration("call_connect_timeout", &w.CallConnectTimeout)
	if w.CallConnectTimeout < time.Second {
		t.fail("call_connect_timeout", "must be at least 1s")
	}
	t.duration("resume_grace", &w.ResumeGrace)
	if w.ResumeGrace < time.Second || w.ResumeGrace > time.Hour {
		t.fail("resume_grace", "must be between 1s and 1h")
	}
	t.done()
}

// Prefixes parses addresses and CIDR prefixes ("10.0.0.7", "fd00::/8").
func Prefixes(items []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(items))
	for _, it := range items {
		if p, err := netip.ParsePrefix(it); err == nil {
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(it)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a prefix", it)
		}
		out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
	}
	return out, nil
}

// checkReadable makes sure the file at path can be opened now, rather than
// when the server starts.
func checkReadable(t *table, k, path string) {
	f, err := os.Open(path)
	if err != nil {
		t.fail(k, "%v", err)
		return
	}
	f.Close()
}

func ice(t *table, i *ICE) {
	if t.strings("stun", &i.STUN) {
		checkURLs(t, "stun", i.STUN, "stun:", "stuns:")
	}
	if t.strings("turn", &i.TURN) {
		checkURLs(t, "turn", i.TURN, "turn:", "turns:")
	}
	secretOrFile(t, "turn_secret", "turn_secret_file", &i.TURNSecret)
	t.done()
}

func checkURLs(t *table, k string, urls []string, schemes ...string) {
	for _, u := range urls {
		ok := false
		for _, s := range schemes {
			ok = ok || strings.HasPrefix(u, s) && len(u) > len(s)
		}
		if !ok {
			t.fail(k, "%q must start with %s", u, strings.Join(schemes, " or "))
		}
	}
}

// secretOrFile reads a secret given either in the file itself (key k) or
// in a file of its own (key fileKey), which keeps it out of the config. It
// returns the key that gave it, "" for neither.
func secretOrFile(t *table, k, fileKey string, dst *string) string {
	from := ""
	if t.str(k, dst) {
		from = k
	}
	var path string
	if !t.str(fileKey, &path) || path == "" {
		return from
	}
	if from != "" && *dst != "" {
		t.fail(fileKey, "set %s or %s, not both", t.key(k), t.key(fileKey))
		return ""
	}
	data, err := readSmall(path, maxSecretFile)
	if err != nil {
		t.fail(fileKey, "%v", err)
		return ""
	}
	if *dst = strings.TrimSpace(string(data)); *dst == "" {
		t.fail(fileKey, "%s is empty", path)
		return ""
	}
	return fileKey
}

// maxSecretFile bounds a secret's file: a token or a shared secret is
// short, and a wrong path (a log, a device) must not be read whole.
const maxSecretFile = 4096

// readSmall reads a file of at most max bytes.
func readSmall(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes: not a secret", path, max)
	}
	return data, nil
}

// MinAdminToken is the shortest admin token accepted: the admin listener
// may face the network.
const MinAdminToken = 16

func adminTable(t *table, a *Admin) {
	if t.str("addr", &a.Addr) {
		checkAddr(t, "addr", a.Addr, true)
	}
	if from := secretOrFile(t, "token", "token_file", &a.Token); from != "" && a.Token != "" {
		switch {
		case len(a.Token) < MinAdminToken:
			t.fail(from, "the token must be at least %d characters (try: openssl rand -hex 32)", MinAdminToken)
		case strings.IndexFunc(a.Token, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0:
			t.fail(from, "the token must be printable ASCII without spaces")
		}
	}
	t.duration("stats_interval", &a.StatsInterval)
	t.integer("monitor_viewers", &a.MonitorViewers)
	if a.MonitorViewers < 1 {
		t.fail("monitor_viewers", "must be at least 1")
	}
	t.integer("monitor_queue", &a.MonitorQueue)
	if a.MonitorQueue < 1 {
		t.fail("monitor_queue", "must be at least 1")
	}
	t.integer("max_conns", &a.MaxConns)
	if a.MaxConns < 1 {
		t.fail("max_conns", "must be at least 1")
	}
	t.done()
}

func clusterTable(t *table, c *Cluster) {
	t.str("node", &c.Node)
	t.strings("nats", &c.NATS)
	if t.str("creds_file", &c.CredsFile) && c.CredsFile != "" {
		checkReadable(t, "creds_file", c.CredsFile)
	}
	for k, dst := range map[string]*string{"tls_ca": &c.TLSCA, "tls_cert": &c.TLSCert, "tls_key": &c.TLSKey} {
		if t.str(k, dst) && *dst != "" {
			checkReadable(t, k, *dst)
		}
	}
	t.integer("replicas", &c.Replicas)
	t.duration("heartbeat", &c.Heartbeat)
	t.duration("node_ttl", &c.NodeTTL)
	t.duration("publish_timeout", &c.PublishTimeout)
	t.str("prefix", &c.Prefix)
	t.boolean("embed", &c.Embed)
	if t.str("listen", &c.Listen) {
		checkAddr(t, "listen", c.Listen, true)
	}
	if t.str("cluster_listen", &c.ClusterListen) {
		checkAddr(t, "cluster_listen", c.ClusterListen, true)
	}
	t.strings("routes", &c.Routes)
	t.str("data_dir", &c.DataDir)
	if t.str("monitor_listen", &c.MonitorListen) {
		checkAddr(t, "monitor_listen", c.MonitorListen, true)
	}
	t.done()
}
