package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"parley/core"
)

func TestDefaultFileParsesToDefaults(t *testing.T) {
	got, err := Parse("default.toml", []byte(DefaultFile()))
	if err != nil {
		t.Fatalf("the default file does not parse: %v", err)
	}
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("the default file parses to\n%+v\nnot the defaults\n%+v", got, want)
	}
}

func TestEmptyFileMeansDefaults(t *testing.T) {
	got, err := Parse("empty.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, Default()) {
		t.Fatalf("an empty file gives %+v", got)
	}
}

// Every field of core.Limits must be settable from the file: a limit added
// to the core without a config key fails here.
func TestEveryLimitIsSettable(t *testing.T) {
	src := `
[limits]
message_chars = 800
name_cells = 16
history = 7
rate_burst = 4
rate_per_second = 0.5
rate_warnings = 1
mute_for = "2m"
muted_strikes = 3
rename_burst = 1
renames_per_minute = 0.5
wrong_codes_per_minute = 2
password_workers = 2
password_queue = 3
password_checks_per_minute = 4
server_wrong_codes_per_minute = 50
outbox_size = 64
slow_timeout = "1m30s"
max_rooms = 20
join_notices_up_to = 50
member_events_up_to = 40
member_count_interval = "2s"
conns_per_ip = 3
new_conns_per_minute = 6
exempt_ips = ["10.0.0.7", "fd00::/8"]
`
	got, err := Parse("limits.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	def := reflect.ValueOf(core.DefaultLimits())
	val := reflect.ValueOf(got.Core.Limits)
	for i := 0; i < def.NumField(); i++ {
		if reflect.DeepEqual(def.Field(i).Interface(), val.Field(i).Interface()) {
			t.Errorf("limit %s was not set from the file", def.Type().Field(i).Name)
		}
	}
	if got.Core.Limits.MuteFor != 2*time.Minute || got.Core.Limits.RatePerSec != 0.5 {
		t.Errorf("limits read wrongly: %+v", got.Core.Limits)
	}
}

func TestPartialFileKeepsOtherDefaults(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("letmein"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	src := `
default_room = "hall"
auto_join = false
welcome = """
Welcome to the hall.

Be kind."""

[[rooms]]
name = "hall"
description = "The big room"

[[rooms]]
name = "#Back-Office"
hidden = true
password_hash = "` + string(hash) + `"
max_members = 5

[limits]
history = 20
rate_per_second = 3

[server]
ssh_addr = "127.0.0.1:2022"
shutdown_grace = "1s"
`
	got, err := Parse("partial.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Core.DefaultRoom = "hall"
	want.Core.AutoJoin = false
	want.Core.Welcome = "Welcome to the hall.\n\nBe kind."
	want.Core.Rooms = []core.RoomConfig{
		{Name: "hall", Description: "The big room"},
		{Name: "#Back-Office", Hidden: true, PasswordHash: string(hash), MaxMembers: 5},
	}
	want.Core.Limits.History = 20
	want.Core.Limits.RatePerSec = 3
	want.Server.SSHAddr = "127.0.0.1:2022"
	want.Server.ShutdownGrace = time.Second
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", got, want)
	}
}

func TestErrorsNameTheFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		line int
		msg  string
	}{
		{"syntax", "auto_join = true\nwelcome = \"unclosed\n", 2, ""},
		{"duplicate key", "auto_join = true\nauto_join = false\n", 2, "auto_join"},
		{"unknown top-level key", "auto_join = true\n\nmessage_of_the_day = \"hi\"\n", 3, "message_of_the_day: unknown key"},
		{"unknown limit", "[limits]\nhistory = 5\nhistroy = 5\n", 3, "limits.histroy: unknown key"},
		{"unknown key in a later room", "[[rooms]]\nname = \"lobby\"\n[[rooms]]\nname = \"b\"\ncolour = \"red\"\n", 5, "rooms.colour: unknown key"},
		{"wrong type", "[limits]\n\nhistory = \"lots\"\n", 3, "limits.history: must be a whole number"},
		{"wrong table type", "limits = 5\n", 1, "must be a table"},
		{"bad duration", "[limits]\nmute_for = \"5 minutes\"\n", 2, "not a duration"},
		{"bare number duration", "[server]\nshutdown_grace = 5\n", 2, "in quotes"},
		{"negative duration", "[server]\nshutdown_grace = \"-1s\"\n", 2, "must not be negative"},
		{"no idle timeout", "[server]\nidle_timeout = \"0s\"\n", 2, "at least 1s"},
		{"instant terminal answer", "[server]\nterminal_answer_timeout = \"100ms\"\n", 2, "0 (off) or at least 1s"},
		{"no handshakes", "[server]\nmax_handshakes = 0\n", 2, "at least 1"},
		{"early drop beyond the cap", "[server]\nmax_handshakes = 10\nearly_drop_handshakes = 11\n", 3, "between 0 (half of max_handshakes) and max_handshakes"},
		{"early drop rate", "[server]\nearly_drop_percent = 0\n", 2, "between 1 and 100"},
		{"instant handshake", "[server]\n\nhandshake_timeout = \"10ms\"\n", 3, "at least 1s"},
		{"auth tries", "[server]\nmax_auth_tries = 50\n", 2, "between 1 and 20"},
		{"resize interval", "[server]\nresize_interval = \"1ms\"\n", 2, "between 10ms and 10s"},
		{"collector target", "[server]\ngc_percent = 5\n", 2, "between 10 and 1000"},
		{"limit out of range", "[limits]\nrate_burst = 3\nhistory = -1\n", 3, "history is out of range"},
		{"limit in an inline table", "auto_join = true\nlimits = { history = -1 }\n", 2, "history is out of range"},
		{"bad name in the second room", "[[rooms]]\nname = \"lobby\"\n\n[[rooms]]\ndescription = \"x\"\nname = \"no spaces\"\n", 6, "invalid room name"},
		{"room without a name", "[[rooms]]\nname = \"lobby\"\n[[rooms]]\ndescription = \"x\"\n", 3, "needs a name"},
		{"bad operator fingerprint", "auto_join = true\noperators = [\"MD5:16:27:ac\"]\n", 2, "not an SSH key fingerprint"},
		{"two-line motd", "\nmotd = \"\"\"\na\nb\"\"\"\n", 2, "single line"},
		{"room defined twice", "[[rooms]]\nname = \"lobby\"\n[[rooms]]\nname = \"LOBBY\"\n", 4, "defined twice"},
		{"default room missing", "default_room = \"hall\"\n[[rooms]]\nname = \"lobby\"\n", 1, "not one of the configured rooms"},
		{"negative member limit", "[[rooms]]\nname = \"lobby\"\nmax_members = -2\n", 3, "max_members"},
		{"plain password", "[[rooms]]\nname = \"lobby\"\npassword_hash = \"secret\"\n", 3, "bcrypt"},
		{"escape in description", "[[rooms]]\nname = \"lobby\"\ndescription = \"a\\u001b[2Jb\"\n", 3, "control character"},
		{"escape in welcome", "auto_join = true\nwelcome = \"hi \\u001b]0;pwned\\u0007\"\n", 2, "control character"},
		{"too many welcome lines", "welcome = \"\"\"" + strings.Repeat("line\n", 30) + "\"\"\"\n", 1, "at most 20"},
		{"key after a multi-line string", "welcome = '''\nhistory = 1\n[limits]\n'''\n[limits]\nhistory = \"x\"\n", 6, "limits.history"},
		{"bad exempt address", "[limits]\nhistory = 5\nexempt_ips = [\n  \"127.0.0.1\",\n  \"localhost\",\n]\n", 3, `"localhost" is neither an address nor a prefix`},
		{"exempt addresses not a list", "[limits]\nexempt_ips = \"::1\"\n", 2, "must be a list of strings"},
		{"bad ssh address", "[server]\nssh_addr = \"2222\"\n", 2, "not an address"},
		{"empty hostkey dir", "[server]\n\nhostkey_dir = \"\"\n", 3, "must not be empty"},
		{"public url with a path", "[web]\npublic_url = \"https://chat.example.org/x\"\n", 2, "not a URL"},
		{"public url without scheme", "[web]\n\npublic_url = \"chat.example.org\"\n", 3, "not a URL"},
		{"origin with a path", "[web]\nallowed_origins = [\"https://a.example/\"]\n", 2, "not an origin"},
		{"bad trusted proxy", "[web]\ntrusted_proxies = [\"10.0.0.1\", \"proxy\"]\n", 2, `"proxy" is neither`},
		{"missing certificate", "[web]\ntls_cert = \"/nonexistent/cert.pem\"\ntls_key = \"/nonexistent/key.pem\"\n", 2, "web.tls_cert: open /nonexistent/cert.pem"},
		{"certificate without key", "[web]\nhsts = true\ntls_cert = \"config_test.go\"\n", 3, "needs tls_key"},
		{"certificate that is not one", "[web]\ntls_cert = \"config_test.go\"\ntls_key = \"config.go\"\n", 2, "unusable with tls_key"},
		{"certificate and acme", "[web]\ntls_cert = \"config_test.go\"\ntls_key = \"config.go\"\nacme_domains = [\"chat.example.org\"]\n", 4, "not both"},
		{"acme domain with a scheme", "[web]\nacme_domains = [\"https://chat.example.org\"]\n", 2, "not a domain name"},
		{"acme without cache", "[web]\nacme_domains = [\"chat.example.org\"]\nacme_cache = \"\"\n", 3, "must name a folder"},
		{"hsts not a boolean", "[web]\nhsts = \"yes\"\n", 2, "true or false"},
		{"resume grace too short", "[web]\nresume_grace = \"0s\"\n", 2, "between 1s and 1h"},
		{"stun url under turn", "[ice]\nstun = [\"stun:a.example\"]\nturn = [\"stun:b.example\"]\n", 3, "must start with turn: or turns:"},
		{"turn secret twice", "[ice]\nturn_secret = \"s\"\nturn_secret_file = \"config.go\"\n", 3, "not both"},
		{"turn secret file too big", "[ice]\nturn_secret_file = \"decode.go\"\n", 2, "larger than 4096 bytes"},
		{"missing turn secret file", "[ice]\nturn_secret_file = \"/nonexistent/secret\"\n", 2, "/nonexistent/secret"},
		{"short admin token", "[admin]\naddr = \"127.0.0.1:9\"\ntoken = \"hunter2\"\n", 3, "at least 16 characters"},
		{"admin token with a space", "[admin]\ntoken = \"correct horse battery staple\"\n", 2, "without spaces"},
		{"bad admin address", "[admin]\naddr = \"9090\"\n", 2, "not an address"},
		{"bad NATS monitor address", "[cluster]\nmonitor_listen = \"8222\"\n", 2, "cluster.monitor_listen"},
		{"no monitor viewers", "[admin]\nmonitor_viewers = 0\n", 2, "at least 1"},
		{"negative stats interval", "[admin]\nstats_interval = \"-1m\"\n", 2, "must not be negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("parley.toml", []byte(tc.src))
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("want config errors, got %v", err)
			}
			first := errs[0]
			if first.File != "parley.toml" || first.Line != tc.line {
				t.Errorf("error at %s:%d, want parley.toml:%d (%v)", first.File, first.Line, tc.line, err)
			}
			if !strings.Contains(first.Msg, tc.msg) {
				t.Errorf("error %q does not say %q", first.Msg, tc.msg)
			}
			if prefix := "parley.toml:" + strconv.Itoa(tc.line) + ": "; !strings.HasPrefix(err.Error(), prefix) {
				t.Errorf("error text %q does not start with %q", err, prefix)
			}
		})
	}
}

// Every key of [web], [ice] and [admin] is read into its field.
func TestEveryServiceSettingIsSettable(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "turn-secret")
	token := filepath.Join(dir, "admin-token")
	os.WriteFile(secret, []byte("turn-shared-secret\n"), 0o600)
	os.WriteFile(token, []byte("0123456789abcdef0123\n"), 0o600)
	src := `
[web]
public_url = "https://chat.example.org/"
allowed_origins = ["https://other.example.org"]
trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]
acme_domains = ["chat.example.org"]
acme_cache = "/var/lib/parley/acme"
hsts = true
call_connect_timeout = "45s"
resume_grace = "30s"

[ice]
stun = ["stun:stun.example.org:3478"]
turn = ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"]
turn_secret_file = "` + secret + `"

[admin]
addr = ""
token_file = "` + token + `"
stats_interval = "30s"
monitor_viewers = 2
monitor_queue = 64
max_conns = 8
`
	got, err := Parse("services.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Web = Web{
		PublicURL:          "https://chat.example.org/",
		AllowedOrigins:     []string{"https://other.example.org"},
		TrustedProxies:     []string{"127.0.0.1", "10.0.0.0/8"},
		TLSCert:            "",
		ACMEDomains:        []string{"chat.example.org"},
		ACMECache:          "/var/lib/parley/acme",
		HSTS:               true,
		CallConnectTimeout: 45 * time.Second,
		ResumeGrace:        30 * time.Second,
	}
	want.ICE = ICE{
		STUN:       []string{"stun:stun.example.org:3478"},
		TURN:       []string{"turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"},
		TURNSecret: "turn-shared-secret",
	}
	want.Admin = Admin{Token: "0123456789abcdef0123", StatsInterval: 30 * time.Second, MonitorViewers: 2, MonitorQueue: 64, MaxConns: 8}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", got, want)
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[Web](), reflect.TypeFor[ICE](), reflect.TypeFor[Admin]()} {
		def, val := reflect.ValueOf(Default()).FieldByName(typ.Name()), reflect.ValueOf(got).FieldByName(typ.Name())
		for i := 0; i < typ.NumField(); i++ {
			if name := typ.Field(i).Name; name != "TLSCert" && name != "TLSKey" && reflect.DeepEqual(def.Field(i).Interface(), val.Field(i).Interface()) {
				t.Errorf("%s.%s was not set from the file", typ.Name(), name)
			}
		}
	}
}

// Flags and environment variables go through the same checks as the file.
func TestOverride(t *testing.T) {
	cfg := Default()
	if err := Override(&cfg, "--public-url", "web.public_url", "https://chat.example.org"); err != nil {
		t.Fatal(err)
	}
	if err := Override(&cfg, "PARLEY_STUN", "ice.stun", []any{"stun:a.example", "stun:b.example"}); err != nil {
		t.Fatal(err)
	}
	if cfg.Web.PublicURL != "https://chat.example.org" || len(cfg.ICE.STUN) != 2 {
		t.Fatalf("not set: %+v %+v", cfg.Web, cfg.ICE)
	}
	err := Override(&cfg, "PARLEY_ADMIN_TOKEN", "admin.token", "short")
	if err == nil || err.Error() != "PARLEY_ADMIN_TOKEN: admin.token: the token must be at least 16 characters (try: openssl rand -hex 32)" {
		t.Fatalf("a short token from the environment: %v", err)
	}
	if err := Override(&cfg, "--monitor-queue", "admin.monitor_queue", int64(0)); err == nil {
		t.Fatal("a monitor queue of 0 was accepted")
	}
	cfg.Web.TLSCert = "cert.pem"
	if err := cfg.Check(); err == nil || !strings.Contains(err.Error(), "needs tls_key") {
		t.Fatalf("a certificate without a key from flags: %v", err)
	}
}

func TestEveryProblemIsReportedInLineOrder(t *testing.T) {
	src := "[server]\nssh_addr = 5\n\n[limits]\nhistory = true\n\nbogus = 1\n"
	_, err := Parse("multi.toml", []byte(src))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want Errors, got %v", err)
	}
	var lines []int
	for _, e := range errs {
		lines = append(lines, e.Line)
	}
	if !reflect.DeepEqual(lines, []int{2, 5, 7}) {
		t.Fatalf("errors on lines %v, want [2 5 7]:\n%v", lines, err)
	}
}

func TestErrorWithoutLineStillNamesTheFile(t *testing.T) {
	// The default room stays "lobby", which this file no longer defines:
	// there is no line to blame, but the file and the key are named.
	_, err := Parse("rooms.toml", []byte("[[rooms]]\nname = \"hall\"\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "rooms.toml") || !strings.Contains(err.Error(), "default_room") {
		t.Fatalf("got %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.toml")
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

func TestLoadReadsTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.toml")
	if err := os.WriteFile(path, []byte("[limits]\nhistory = 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil || cfg.Core.Limits.History != 3 {
		t.Fatalf("got %+v, %v", cfg.Core.Limits, err)
	}
	if err := os.WriteFile(path, []byte("[limits]\nhistory = 3\nhistory = 4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.HasPrefix(err.Error(), path+":3: ") {
		t.Fatalf("got %v", err)
	}
}

func TestParsedConfigStartsAHub(t *testing.T) {
	cfg, err := Parse("default.toml", []byte(DefaultFile()))
	if err != nil {
		t.Fatal(err)
	}
	hub, err := core.NewHub(cfg.Core)
	if err != nil {
		t.Fatal(err)
	}
	hub.Stop()
}

func TestModerationSettings(t *testing.T) {
	fp := "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
	got, err := Parse("mod.toml", []byte("motd = \"be kind\"\noperators = [\""+fp+"\"]\n[server]\nhostkey_dir = \"/var/lib/parley/keys\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Core.Motd != "be kind" || !reflect.DeepEqual(got.Core.Operators, []string{fp}) {
		t.Errorf("motd %q, operators %q", got.Core.Motd, got.Core.Operators)
	}
	if p := got.Server.BanPath(); p != filepath.Join("/var/lib/parley/keys", "bans.json") {
		t.Errorf("the ban file defaults to %s", p)
	}
	got, err = Parse("mod.toml", []byte("[server]\nban_file = \"/var/lib/parley/bans.json\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p := got.Server.BanPath(); p != "/var/lib/parley/bans.json" {
		t.Errorf("ban_file gives %s", p)
	}
}

func TestSSHDefenceSettings(t *testing.T) {
	got, err := Parse("ssh.toml", []byte("[server]\nmax_handshakes = 64\nearly_drop_handshakes = 40\nearly_drop_percent = 50\nhandshake_timeout = \"5s\"\nmax_auth_tries = 2\nresize_interval = \"250ms\"\nterminal_answer_timeout = \"0\"\ngc_percent = 80\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := got.Server
	if s.MaxHandshakes != 64 || s.EarlyDropHandshakes != 40 || s.EarlyDropPercent != 50 || s.HandshakeTimeout != 5*time.Second || s.MaxAuthTries != 2 || s.ResizeInterval != 250*time.Millisecond || s.TerminalAnswerTimeout != 0 || s.GCPercent != 80 {
		t.Fatalf("read %+v", s)
	}
	if Default().Server.TerminalAnswerTimeout != 30*time.Second {
		t.Fatalf("terminal_answer_timeout defaults to %s", Default().Server.TerminalAnswerTimeout)
	}
}

func TestReservedNames(t *testing.T) {
	a, b := "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s", "SHA256:Xh0tJ3QOHkq3y0x6mXvYbWjXw4qfKzGm0s2d3Xo7QeA"
	got, err := Parse("names.toml", []byte("[reserved]\nalice = [\""+a+"\", \""+b+"\"]\nbob = [\""+b+"\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string][]string{"alice": {a, b}, "bob": {b}}; !reflect.DeepEqual(got.Core.Reserved, want) {
		t.Errorf("read %q", got.Core.Reserved)
	}
	for _, tc := range []struct{ src, want string }{
		{"[reserved]\nalice = \"" + a + "\"\n", "names.toml:2: reserved.alice: must be a list of strings"},
		{"motd = \"\"\n[reserved]\nalice = [\"SHA256:nope\"]\n", "names.toml:2: reserved: alice: \"SHA256:nope\" is not an SSH key fingerprint"},
		{"[reserved]\nalice = [\"" + a + "\"]\nALICE = [\"" + b + "\"]\n", "names.toml:1: reserved: ALICE and alice are the same name"},
	} {
		if _, err := Parse("names.toml", []byte(tc.src)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.src, err, tc.want)
		}
	}
}

// The embedded NATS server's monitoring is off unless the file asks for it.
func TestClusterMonitorListen(t *testing.T) {
	if Default().Cluster.MonitorListen != "" {
		t.Fatal("monitoring is on by default")
	}
	got, err := Parse("node.toml", []byte("[cluster]\nmonitor_listen = \"127.0.0.1:8222\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Cluster.MonitorListen != "127.0.0.1:8222" {
		t.Fatalf("monitor_listen %q", got.Cluster.MonitorListen)
	}
}
