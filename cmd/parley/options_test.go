package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/admin"
	"parley/config"
)

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := vars[k]
		return v, ok
	}
}

// Each setting comes from the first source that has it: flag, then
// environment, then config file, then default.
func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "parley.toml")
	err := os.WriteFile(file, []byte(`[server]
ssh_addr = "127.0.0.1:1001"
http_addr = "127.0.0.1:1002"
hostkey_dir = "file-keys"
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	type want struct{ ssh, http, keys string }
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want want
	}{
		{"defaults", nil, nil, want{":2222", ":8080", "hostkeys"}},
		{"file over defaults", []string{"--config", file}, nil,
			want{"127.0.0.1:1001", "127.0.0.1:1002", "file-keys"}},
		{"config file from the environment", nil, map[string]string{"PARLEY_CONFIG": file},
			want{"127.0.0.1:1001", "127.0.0.1:1002", "file-keys"}},
		{"environment over file", []string{"--config", file},
			map[string]string{"PARLEY_SSH_ADDR": "127.0.0.1:2001", "PARLEY_HTTP_ADDR": "", "PARLEY_HOSTKEY_DIR": "env-keys"},
			want{"127.0.0.1:2001", "", "env-keys"}},
		{"flags over environment", []string{"--config", file, "--ssh-addr", "127.0.0.1:3001", "--hostkey-dir=flag-keys"},
			map[string]string{"PARLEY_SSH_ADDR": "127.0.0.1:2001", "PARLEY_HTTP_ADDR": "127.0.0.1:2002", "PARLEY_HOSTKEY_DIR": "env-keys"},
			want{"127.0.0.1:3001", "127.0.0.1:2002", "flag-keys"}},
		{"flag equal to the default still wins", []string{"--config", file, "--ssh-addr", ":2222"}, nil,
			want{":2222", "127.0.0.1:1002", "file-keys"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := parseOptions(tc.args, env(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := opts.settings()
			if err != nil {
				t.Fatal(err)
			}
			got := want{cfg.Server.SSHAddr, cfg.Server.HTTPAddr, cfg.Server.HostKeyDir}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// The [web], [ice] and [admin] settings follow the same precedence, and
// secrets come from the environment over the file.
func TestPrecedenceOfServiceSettings(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("file-token-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "parley.toml")
	err := os.WriteFile(file, []byte(`[web]
public_url = "https://file.example.org"
trusted_proxies = ["10.0.0.1"]
hsts = true
[ice]
stun = ["stun:file.example.org"]
turn_secret = "file-secret"
[admin]
addr = "127.0.0.1:1003"
token_file = "`+tokenFile+`"
stats_interval = "5m"
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		publicURL, proxies, stun, turnSecret, adminAddr, token string
		hsts                                                   bool
		stats                                                  time.Duration
		viewers                                                int
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want want
	}{
		{"defaults", nil, nil, want{"", "", "", "", "127.0.0.1:9090", "", false, time.Minute, 4}},
		{"file over defaults", []string{"--config", file}, nil,
			want{"https://file.example.org", "10.0.0.1", "stun:file.example.org", "file-secret", "127.0.0.1:1003", "file-token-0123456789", true, 5 * time.Minute, 4}},
		{"environment over file", []string{"--config", file}, map[string]string{
			"PARLEY_PUBLIC_URL": "https://env.example.org", "PARLEY_TRUSTED_PROXIES": "10.0.0.2, 10.1.0.0/16", "PARLEY_STUN": "",
			"PARLEY_TURN_SECRET": "env-secret", "PARLEY_ADMIN_ADDR": "", "PARLEY_ADMIN_TOKEN": "env-token-0123456789",
			"PARLEY_HSTS": "false", "PARLEY_STATS_INTERVAL": "0s", "PARLEY_MONITOR_VIEWERS": "2"},
			want{"https://env.example.org", "10.0.0.2 10.1.0.0/16", "", "env-secret", "", "env-token-0123456789", false, 0, 2}},
		{"flags over environment", []string{"--config", file, "--public-url", "https://flag.example.org", "--stun", "stun:flag.example.org",
			"--admin-addr", "127.0.0.1:3003", "--hsts", "--stats-interval", "10s", "--monitor-viewers", "3"},
			map[string]string{"PARLEY_PUBLIC_URL": "https://env.example.org", "PARLEY_ADMIN_ADDR": "", "PARLEY_HSTS": "false", "PARLEY_MONITOR_VIEWERS": "2"},
			want{"https://flag.example.org", "10.0.0.1", "stun:flag.example.org", "file-secret", "127.0.0.1:3003", "file-token-0123456789", true, 10 * time.Second, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := parseOptions(tc.args, env(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := opts.settings()
			if err != nil {
				t.Fatal(err)
			}
			got := want{cfg.Web.PublicURL, strings.Join(cfg.Web.TrustedProxies, " "), strings.Join(cfg.ICE.STUN, " "), cfg.ICE.TURNSecret,
				cfg.Admin.Addr, cfg.Admin.Token, cfg.Web.HSTS, cfg.Admin.StatsInterval, cfg.Admin.MonitorViewers}
			if got != tc.want {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// A flag or variable gets the checks its config key gets, and names
// itself in the error.
func TestSettingErrorsNameTheirSource(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--public-url", "chat.example.org"}, nil, "--public-url: web.public_url:"},
		{nil, map[string]string{"PARLEY_ADMIN_TOKEN": "short"}, "PARLEY_ADMIN_TOKEN: admin.token: the token must be at least 16 characters"},
		{[]string{"--monitor-queue", "many"}, nil, `--monitor-queue: "many" is not a whole number`},
		{nil, map[string]string{"PARLEY_HSTS": "yes please"}, `PARLEY_HSTS: "yes please" is not true or false`},
		{[]string{"--stats-interval", "5"}, nil, "--stats-interval: admin.stats_interval:"},
		{[]string{"--tls-cert", "options.go"}, nil, "web.tls_cert: needs tls_key"},
		{[]string{"--turn", "stun:x.example.org"}, nil, "--turn: ice.turn:"},
	} {
		opts, err := parseOptions(tc.args, env(tc.env), io.Discard)
		if err == nil {
			_, err = opts.settings()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: got %v, want an error with %q", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--log-format", "yaml"}, nil, "yaml"},
		{nil, map[string]string{"PARLEY_LOG_FORMAT": "yaml"}, "yaml"},
		{[]string{"serve"}, nil, "unexpected argument"},
		{[]string{"--ssh-addr"}, nil, "needs an argument"},
		{[]string{"--admin-token", "0123456789abcdef"}, nil, "not defined"}, // secrets never on a command line
	} {
		_, err := parseOptions(tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %v: got %v, want an error about %q", tc.args, tc.env, err, tc.want)
		}
	}
	if _, err := parseOptions([]string{"--help"}, env(nil), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
}

func TestEmptySSHAddrIsRefused(t *testing.T) {
	opts, err := parseOptions(nil, env(map[string]string{"PARLEY_SSH_ADDR": ""}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opts.settings(); err == nil {
		t.Fatal("an empty SSH address was accepted")
	}
}

// The config package keeps no import of the admin side, so its copies of
// the admin side's numbers are checked here.
func TestAdminDefaultsAgree(t *testing.T) {
	def := config.Default().Admin
	if config.MinAdminToken != admin.MinTokenLength || def.MonitorViewers != admin.DefaultMaxViewers || def.MonitorQueue != admin.DefaultViewerQueue {
		t.Fatalf("config: token %d, viewers %d, queue %d; admin: %d, %d, %d", config.MinAdminToken, def.MonitorViewers, def.MonitorQueue,
			admin.MinTokenLength, admin.DefaultMaxViewers, admin.DefaultViewerQueue)
	}
}

// The garbage collector's target is Parley's default unless the
// operator sets it, and the running process uses it (the Go collector's
// own metric tells).
func TestGCPercentReachesTheRuntime(t *testing.T) {
	s := startServer(t, nil, "--ssh-addr", "127.0.0.1:0", "--http-addr", "", "--hostkey-dir", t.TempDir())
	if got := metric(t, s.adminAddr, "go_gc_gogc_percent"); got != config.DefaultGCPercent {
		t.Fatalf("default: go_gc_gogc_percent is %v, want %d", got, config.DefaultGCPercent)
	}
	s = startServer(t, []string{"PARLEY_GC_PERCENT=80"}, "--ssh-addr", "127.0.0.1:0", "--http-addr", "", "--hostkey-dir", t.TempDir())
	if got := metric(t, s.adminAddr, "go_gc_gogc_percent"); got != 80 {
		t.Fatalf("PARLEY_GC_PERCENT=80: go_gc_gogc_percent is %v", got)
	}
}
