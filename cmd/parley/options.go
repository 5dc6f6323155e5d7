package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"parley/config"
)

// envPrefix starts the environment variable of each setting flag:
// --ssh-addr is PARLEY_SSH_ADDR.
const envPrefix = "PARLEY_"

// valueKind says how the text of a flag or variable becomes a config value.
type valueKind uint8

const (
	text     valueKind = iota
	list               // comma-separated
	boolean            // --hsts alone means true
	duration           // "30s", "2m"
	number             // a whole number
)

// setting is one flag that a PARLEY_* variable may give too.
type setting struct {
	name  string // the flag; the variable is envName(name)
	key   string // the config file key it overrides; "" for config and log-format
	kind  valueKind
	usage string // for --help; a `word` in it names the value
	// envOnly settings are secrets: a command line is visible to every
	// user of the machine, so they come only from the environment.
	envOnly bool
}

var settingFlags = []setting{
	{name: "config", usage: "read settings from this TOML `file` (see --print-default-config)"},
	{name: "log-format", usage: "log as `text` or json"},
	{name: "ssh-addr", key: "server.ssh_addr", usage: "listen for SSH on this `address`"},
	{name: "http-addr", key: "server.http_addr", usage: "serve the web client on this `address` (\"\" turns it off)"},
	{name: "hostkey-dir", key: "server.hostkey_dir", usage: "keep the SSH host keys in this `folder`"},
	{name: "ban-file", key: "server.ban_file", usage: "keep the operators' bans in this `file` (default: bans.json in the host key folder)"},
	{name: "public-url", key: "web.public_url", usage: "the `URL` browsers reach Parley at, for call links (default: the HTTP address)"},
	{name: "allowed-origins", key: "web.allowed_origins", kind: list, usage: "other `origins` allowed to open the WebSocket, comma-separated"},
	{name: "trusted-proxies", key: "web.trusted_proxies", kind: list, usage: "reverse proxy `addresses` whose X-Forwarded-For is believed, comma-separated"},
	{name: "tls-cert", key: "web.tls_cert", usage: "serve HTTPS with this PEM certificate `file` (with --tls-key)"},
	{name: "tls-key", key: "web.tls_key", usage: "the PEM private key `file` of --tls-cert"},
	{name: "acme-domain", key: "web.acme_domains", kind: list, usage: "get certificates automatically for these `domains`, comma-separated (needs ports 80 and 443)"},
	{name: "acme-cache", key: "web.acme_cache", usage: "keep automatic certificates in this `folder`"},
	{name: "hsts", key: "web.hsts", kind: boolean, usage: "send Strict-Transport-Security (when served over HTTPS)"},
	{name: "resume-grace", key: "web.resume_grace", kind: duration, usage: "keep a browser user whose connection ended this `long` for its tab to resume it"},
	{name: "stun", key: "ice.stun", kind: list, usage: "STUN server `URLs` for calls, comma-separated"},
	{name: "turn", key: "ice.turn", kind: list, usage: "TURN server `URLs` for calls, comma-separated"},
	{name: "turn-secret", key: "ice.turn_secret", envOnly: true},
	{name: "gc-percent", key: "server.gc_percent", kind: number, usage: "collect garbage when the heap has grown this many `percent` past the memory in use (as GOGC)"},
	{name: "admin-addr", key: "admin.addr", usage: "serve metrics, health and the monitor on this `address` (\"\" turns it off)"},
	{name: "admin-token", key: "admin.token", envOnly: true},
	{name: "stats-interval", key: "admin.stats_interval", kind: duration, usage: "log a stats line this `often` (0s: never)"},
	{name: "monitor-viewers", key: "admin.monitor_viewers", kind: number, usage: "at most this `many` live monitor viewers"},
	{name: "monitor-queue", key: "admin.monitor_queue", kind: number, usage: "monitor `events` waiting for one viewer"},
	{name: "node", key: "cluster.node", usage: "run as this `node` of a cluster (with --nats or embedded NATS)"},
	{name: "nats", key: "cluster.nats", kind: list, usage: "the cluster's NATS server `URLs`, comma-separated"},
}

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// options are what the command line and the environment ask for.
type options struct {
	configPath string
	logFormat  string

	version      bool
	hashPassword bool
	printDefault bool
	checkConfig  string
	// given holds the settings from the command line or the
	// environment, by flag name, with where each came from.
	given map[string]givenValue
}

type givenValue struct {
	text   string
	source string // "--ssh-addr" or "PARLEY_SSH_ADDR", for errors
}

// flagValue is a setting flag as the flag package sees it: text kept
// for later, so that it can be checked like the config file's value.
type flagValue struct {
	def, text string
	set       bool
	isBool    bool
}

func (v *flagValue) String() string {
	if v == nil {
		return ""
	}
	if v.set {
		return v.text
	}
	return v.def
}

func (v *flagValue) Set(s string) error {
	v.text, v.set = s, true
	return nil
}

func (v *flagValue) IsBoolFlag() bool { return v.isBool }

// parseOptions reads the command line, then fills the setting flags it
// left out from PARLEY_* variables. It returns flag.ErrHelp after printing
// help for --help.
func parseOptions(args []string, lookupEnv func(string) (string, bool), stderr io.Writer) (*options, error) {
	o := &options{logFormat: "text", given: map[string]givenValue{}}
	fs := flag.NewFlagSet("parley", flag.ContinueOnError)
	fs.SetOutput(stderr)
	values := map[string]*flagValue{}
	defaults := defaultTexts()
	defaults["log-format"] = "text"
	for _, s := range settingFlags {
		if s.envOnly {
			continue
		}
		v := &flagValue{def: defaults[s.name], isBool: s.kind == boolean}
		if v.isBool && v.def == "false" {
			v.def = "" // a bool flag is off unless given: no "(default false)"
		}
		values[s.name] = v
		fs.Var(v, s.name, s.usage)
	}
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.BoolVar(&o.printDefault, "print-default-config", false, "print a commented config file holding the defaults and exit")
	fs.StringVar(&o.checkConfig, "check-config", "", "check the config `file` and exit: 0 when valid, else 1 with the line at fault")
	fs.Usage = func() { usage(fs, stderr) }
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "hash-password":
		o.hashPassword = true
	case fs.NArg() > 0:
		fs.Usage()
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	for _, s := range settingFlags {
		if v := values[s.name]; v != nil && v.set {
			o.given[s.name] = givenValue{v.text, "--" + s.name}
		} else if text, ok := lookupEnv(envName(s.name)); ok {
			o.given[s.name] = givenValue{text, envName(s.name)}
		}
	}
	if v, ok := o.given["config"]; ok {
		o.configPath = v.text
	}
	if v, ok := o.given["log-format"]; ok {
		o.logFormat = v.text
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return nil, fmt.Errorf("log format %q: use text or json", o.logFormat)
	}
	return o, nil
}

func usage(fs *flag.FlagSet, stderr io.Writer) {
	fmt.Fprint(stderr, "Usage: parley [flags]\n       parley hash-password   (prints the bcrypt hash of a room password)\n\n"+
		"Parley is a chat server reached by ssh and by web browser.\n\nFlags:\n")
	fs.PrintDefaults()
	var env, secrets []string
	for _, s := range settingFlags {
		if s.envOnly {
			secrets = append(secrets, envName(s.name))
		} else {
			env = append(env, envName(s.name))
		}
	}
	fmt.Fprintf(stderr, "\nEach setting flag can also be set in the environment: %s.\n"+
		"Secrets come only from the environment or the config file, never from flags: %s.\n"+
		"Precedence: flags, then environment, then the config file, then defaults.\n",
		strings.Join(env, " "), strings.Join(secrets, " "))
}

// defaultTexts are the defaults of the setting flags, as --help shows
// them, read from the default config file so that they cannot differ.
func defaultTexts() map[string]string {
	var doc map[string]any
	if _, err := toml.Decode(config.DefaultFile(), &doc); err != nil {
		panic("the default config file does not parse: " + err.Error())
	}
	out := map[string]string{}
	for _, s := range settingFlags {
		table, key, ok := strings.Cut(s.key, ".")
		if !ok {
			continue
		}
		m, _ := doc[table].(map[string]any)
		switch v := m[key].(type) {
		case []any:
			items := make([]string, len(v))
			for i, item := range v {
				items[i] = fmt.Sprint(item)
			}
			out[s.name] = strings.Join(items, ",")
		case nil:
		default:
			out[s.name] = fmt.Sprint(v)
		}
	}
	return out
}

// settings merges every source: flags, then environment, then the config
// file, then the defaults.
func (o *options) settings() (config.Config, error) {
	cfg := config.Default()
	if o.configPath != "" {
		var err error
		if cfg, err = config.Load(o.configPath); err != nil {
			return config.Config{}, err
		}
	}
	for _, s := range settingFlags {
		v, ok := o.given[s.name]
		if !ok || s.key == "" {
			continue
		}
		value, err := s.value(v.text)
		if err != nil {
			return config.Config{}, fmt.Errorf("%s: %w", v.source, err)
		}
		if err := config.Override(&cfg, v.source, s.key, value); err != nil {
			return config.Config{}, err
		}
	}
	if err := cfg.Check(); err != nil {
		return config.Config{}, err
	}
	return cfg, nil
}

// value turns the text of a flag or variable into the value the config
// file would hold.
func (s setting) value(t string) (any, error) {
	switch s.kind {
	case list:
		items := []any{}
		for _, item := range strings.Split(t, ",") {
			if item = strings.TrimSpace(item); item != "" {
				items = append(items, item)
			}
		}
		return items, nil
	case boolean:
		b, err := strconv.ParseBool(t)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", t)
		}
		return b, nil
	case number:
		n, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", t)
		}
		return n, nil
	}
	return t, nil // text, and durations, which the config reader parses
}
