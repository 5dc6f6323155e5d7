package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/ssh"

	"parley/config"
	"parley/internal/testkit"
)

// binary is the parley command built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "parley-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "parley")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building parley:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// runParley runs the binary to completion and returns its output and
// exit code.
func runParley(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runParleyWithInput(t, "", env, args...)
}

func runParleyWithInput(t *testing.T, input string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdin = strings.NewReader(input)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("parley %v did not finish", args)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// cleanEnv is the test's environment without PARLEY_* variables, so that
// the tests see only the settings they give.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envPrefix) {
			env = append(env, kv)
		}
	}
	return env
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckConfig(t *testing.T) {
	good := writeFile(t, "good.toml", "[limits]\nhistory = 50\n")
	out, errOut, code := runParley(t, nil, "--check-config", good)
	if code != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("valid file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	bad := writeFile(t, "bad.toml", "[limits]\nhistory = 50\n\n[[rooms]]\nname = \"lobby\"\npassword = \"hunter2\"\n")
	out, errOut, code = runParley(t, nil, "--check-config", bad)
	if code == 0 || !strings.Contains(errOut, bad+":6: rooms.password: unknown key") {
		t.Fatalf("invalid file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for content, want := range map[string]string{
		"[admin]\ntoken = \"hunter2\"\n":                               ":2: admin.token: the token must be at least 16 characters",
		"[web]\nhsts = true\n\ntls_cert = \"/nonexistent/cert.pem\"\n": ":4: web.tls_cert: open /nonexistent/cert.pem: no such file or directory",
		"[ice]\nturn = [\"turn.example.org\"]\n":                       ":2: ice.turn: \"turn.example.org\" must start with turn: or turns:",
	} {
		path := writeFile(t, "services.toml", content)
		if _, errOut, code := runParley(t, nil, "--check-config", path); code != 1 || !strings.Contains(errOut, path+want) {
			t.Errorf("%q: exit %d, stderr %q; want %q", content, code, errOut, want)
		}
	}
	_, errOut, code = runParley(t, nil, "--check-config", filepath.Join(t.TempDir(), "missing.toml"))
	if code == 0 || !strings.Contains(errOut, "missing.toml") {
		t.Fatalf("missing file: exit %d, stderr %q", code, errOut)
	}
}

func TestDefaultConfigRoundTrips(t *testing.T) {
	out, _, code := runParley(t, nil, "--print-default-config")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out, "# ") || !strings.Contains(out, "[limits]") {
		t.Fatalf("not a commented config file:\n%s", out)
	}
	path := writeFile(t, "default.toml", out)
	if _, errOut, code := runParley(t, nil, "--check-config", path); code != 0 {
		t.Fatalf("the printed default does not pass --check-config: %s", errOut)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprintf("%+v", cfg), fmt.Sprintf("%+v", config.Default()); got != want {
		t.Fatalf("the printed default parses to\n%s\nnot\n%s", got, want)
	}
}

func TestBadConfigStopsStartup(t *testing.T) {
	bad := writeFile(t, "bad.toml", "auto_join = true\n[limits]\nmute_for = \"forever\"\n")
	_, errOut, code := runParley(t, nil, "--config", bad, "--ssh-addr", "127.0.0.1:0", "--http-addr", "", "--hostkey-dir", t.TempDir())
	if code == 0 || !strings.Contains(errOut, bad+":3: limits.mute_for") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestVersionAndHelp(t *testing.T) {
	out, _, code := runParley(t, nil, "--version")
	if code != 0 || !strings.HasPrefix(out, "parley ") || !strings.Contains(out, "go1.") {
		t.Fatalf("--version: exit %d, %q", code, out)
	}
	_, errOut, code := runParley(t, nil, "--help")
	for _, want := range []string{"-ssh-addr", "PARLEY_SSH_ADDR", "-admin-addr", "(default 127.0.0.1:9090)", "PARLEY_ADMIN_TOKEN", "PARLEY_TURN_SECRET"} {
		if code != 0 || !strings.Contains(errOut, want) {
			t.Fatalf("--help: exit %d, no %q in %q", code, want, errOut)
		}
	}
	_, errOut, code = runParley(t, nil, "--no-such-flag")
	if code != 2 || !strings.Contains(errOut, "no-such-flag") {
		t.Fatalf("unknown flag: exit %d, %q", code, errOut)
	}
	_, errOut, code = runParley(t, []string{"PARLEY_LOG_FORMAT=xml"})
	if code != 2 || !strings.Contains(errOut, "xml") {
		t.Fatalf("bad PARLEY_LOG_FORMAT: exit %d, %q", code, errOut)
	}
}

// server is a parley process started by a test.
type server struct {
	cmd       *exec.Cmd
	stdout    *testkit.Buffer
	logs      *testkit.Buffer // stderr: one JSON record a line
	sshAddr   string
	httpAddr  string
	adminAddr string
	publicURL string
	hostKey   string
	exited    chan struct{}
}

// startServer starts parley with JSON logs and waits for the log line
// that gives the addresses it bound. The admin listener takes a free
// loopback port unless args say otherwise.
func startServer(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	return startServerUnder(t, nil, env, args...)
}

// startServerUnder is startServer with the binary run by the command
// wrapper (such as prlimit and its options).
func startServerUnder(t *testing.T, wrapper, env []string, args ...string) *server {
	t.Helper()
	argv := append(append(slices.Clone(wrapper), binary, "--log-format", "json", "--admin-addr", "127.0.0.1:0"), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(cleanEnv(), env...)
	s := &server{cmd: cmd, stdout: &testkit.Buffer{}, logs: &testkit.Buffer{}, exited: make(chan struct{})}
	cmd.Stdout = s.stdout
	logs, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			cmd.Process.Kill()
			<-s.exited
		}
	})
	listening := make(chan map[string]any, 1)
	go func() {
		sc := bufio.NewScanner(logs)
		for sc.Scan() {
			s.logs.Write(append(sc.Bytes(), '\n'))
			var rec map[string]any
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec["msg"] == "listening" {
				listening <- rec
			}
		}
		cmd.Wait()
		close(s.exited)
	}()
	select {
	case rec := <-listening:
		s.sshAddr, _ = rec["ssh_addr"].(string)
		s.httpAddr, _ = rec["http_addr"].(string)
		s.adminAddr, _ = rec["admin_addr"].(string)
		s.publicURL, _ = rec["public_url"].(string)
		s.hostKey, _ = rec["host_key"].(string)
	case <-s.exited:
		t.Fatalf("parley exited before listening (code %d)", cmd.ProcessState.ExitCode())
	case <-time.After(60 * time.Second):
		t.Fatal("parley did not start listening")
	}
	return s
}

// waitLog waits for a log record with the message msg.
func (s *server) waitLog(t *testing.T, msg string) {
	t.Helper()
	want := fmt.Sprintf(`"msg":%q`, msg)
	testkit.Eventually(t, "log record "+want, func() bool { return strings.Contains(s.logs.String(), want) })
}

// stop sends SIGTERM and returns the exit code and how long it took.
func (s *server) stop(t *testing.T) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("parley did not exit after SIGTERM")
	}
	return s.cmd.ProcessState.ExitCode(), time.Since(start)
}

// sshHostKey connects to addr and returns the fingerprint of the host key
// the server presents in the handshake.
func sshHostKey(t *testing.T, addr string) string {
	t.Helper()
	var got string
	cfg := &ssh.ClientConfig{
		User: "tester",
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			got = ssh.FingerprintSHA256(key)
			return nil
		},
		Timeout: 30 * time.Second,
	}
	if c, err := ssh.Dial("tcp", addr, cfg); err == nil {
		c.Close()
	}
	if got == "" {
		t.Fatalf("no SSH handshake with %s", addr)
	}
	return got
}

func TestServeRestartAndStop(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	grace := time.Second
	cfg := writeFile(t, "parley.toml", fmt.Sprintf("[server]\nshutdown_grace = %q\nssh_addr = \":1\"\n", grace))
	// The file's ssh_addr is overridden by the flag; the host key folder
	// and the config file come from the environment.
	env := []string{"PARLEY_HOSTKEY_DIR=" + keys, "PARLEY_CONFIG=" + cfg}
	args := []string{"--ssh-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}

	first := startServer(t, env, args...)
	if !strings.HasPrefix(first.hostKey, "SHA256:") {
		t.Fatalf("no host key fingerprint in the log: %q", first.hostKey)
	}
	if got := sshHostKey(t, first.sshAddr); got != first.hostKey {
		t.Fatalf("the server presents %s but announced %s", got, first.hostKey)
	}
	_, port, _ := net.SplitHostPort(first.sshAddr)
	for _, want := range []string{first.hostKey, "ssh -p " + port + " localhost"} {
		testkit.Eventually(t, "the banner showing "+want, func() bool { return strings.Contains(first.stdout.String(), want) })
	}
	checkHealthz(t, first.httpAddr)
	checkKeyFiles(t, keys)

	code, took := first.stop(t)
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	if took > grace+time.Second {
		t.Errorf("took %v to stop with a grace of %v", took, grace)
	}

	second := startServer(t, env, args...)
	if second.hostKey != first.hostKey {
		t.Fatalf("the host key changed across a restart: %s, then %s", first.hostKey, second.hostKey)
	}
	if got := sshHostKey(t, second.sshAddr); got != first.hostKey {
		t.Fatalf("after a restart the server presents %s, not %s", got, first.hostKey)
	}
	checkKeyFiles(t, keys)
	if code, _ := second.stop(t); code != 0 {
		t.Fatalf("exit code %d after the second SIGTERM", code)
	}
}

func checkHealthz(t *testing.T, addr string) {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Fatalf("/healthz: %d %q", resp.StatusCode, body)
	}
}

// checkKeyFiles makes sure the host key folder holds keys only its owner
// can read.
func checkKeyFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if info.Mode().IsRegular() {
			files++
			if perm := info.Mode().Perm(); perm&0o077 != 0 {
				t.Errorf("%s has mode %v: others can read it", e.Name(), perm)
			}
		}
	}
	if files == 0 {
		t.Fatalf("no host key in %s", dir)
	}
}

func TestSecondSignalExitsAtOnce(t *testing.T) {
	cfg := writeFile(t, "parley.toml", "[server]\nshutdown_grace = \"10m\"\n")
	s := startServer(t, nil, "--config", cfg, "--ssh-addr", "127.0.0.1:0", "--http-addr", "", "--hostkey-dir", t.TempDir())
	if s.httpAddr != "" {
		t.Fatalf("HTTP is on at %s though --http-addr is empty", s.httpAddr)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "shutting down")
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("a second signal did not end a 10-minute grace period")
	}
	if code := s.cmd.ProcessState.ExitCode(); code == 0 {
		t.Fatalf("exit code 0 after an interrupted shutdown")
	}
}

// countLogs counts the log records with the message msg.
func (s *server) countLogs(msg string) int {
	return strings.Count(s.logs.String(), fmt.Sprintf(`"msg":%q`, msg))
}

func TestReloadOnSIGHUP(t *testing.T) {
	path := writeFile(t, "parley.toml", "[[rooms]]\nname = \"lobby\"\n[[rooms]]\nname = \"old\"\n")
	s := startServer(t, nil, "--config", path, "--ssh-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--hostkey-dir", t.TempDir())
	// Someone is connected, in a room the new file drops.
	ann := testkit.Dial(t, s.sshAddr, "ann", 100, 30)
	ann.WaitFor("#lobby")
	ann.TypeLine("/join #old")
	ann.WaitFor("#old · 1 member")

	rooms := "[[rooms]]\nname = \"lobby\"\n[[rooms]]\nname = \"hall\"\n[[rooms]]\nname = \"garden\"\n[limits]\nhistory = 10\n"
	if err := os.WriteFile(path, []byte(rooms), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "config reloaded")
	if !strings.Contains(s.logs.String(), `"rooms":3`) {
		t.Fatalf("the hub does not have the 3 rooms of the new file:\n%s", s.logs.String())
	}
	if want := `"changed":["room #garden added","room #hall added","room #old removed","limit History: 100 → 10"]`; !strings.Contains(s.logs.String(), want) {
		t.Fatalf("the log does not say what changed (%s):\n%s", want, s.logs.String())
	}
	ann.WaitFor("#old was removed by the operator")
	ann.TypeLine("/rooms")
	ann.WaitFor("#garden")

	if err := os.WriteFile(path, []byte(rooms+"histroy = 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "config not reloaded: the running settings stay")
	if want := path + ":9: limits.histroy: unknown key"; !strings.Contains(s.logs.String(), want) {
		t.Fatalf("the log does not say %q:\n%s", want, s.logs.String())
	}
	if n := s.countLogs("config reloaded"); n != 1 {
		t.Fatalf("%d reloads logged, want 1", n)
	}
	checkHealthz(t, s.httpAddr)
	if code, _ := s.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// An empty config file on SIGHUP would drop every room, room password,
// operator and reserved name: it is refused and the log says why, until
// the file says reload_may_clear = true. Users in the rooms stay.
func TestReloadRefusesAFileThatClearsEverything(t *testing.T) {
	const fp = "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "parley.toml", "operators = [\""+fp+"\"]\n[reserved]\nalice = [\""+fp+"\"]\n"+
		"[[rooms]]\nname = \"lobby\"\n[[rooms]]\nname = \"ops\"\npassword_hash = \""+string(hash)+"\"\n")
	s := startServer(t, nil, "--config", path, "--ssh-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--hostkey-dir", t.TempDir())
	ann := testkit.Dial(t, s.sshAddr, "ann", 100, 30)
	ann.TypeLine("/join #ops secret")
	ann.WaitFor("#ops · 1 member")

	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "config not reloaded: the running settings stay")
	if want := "the file would remove every room but #lobby, every room password, every operator, every reserved name"; !strings.Contains(s.logs.String(), want) {
		t.Fatalf("the log does not say %q:\n%s", want, s.logs.String())
	}
	ann.TypeLine("still here")
	ann.WaitFor("ann: still here")
	if strings.Contains(ann.Screen(), "removed by the operator") {
		t.Fatal("the refused reload removed #ops")
	}

	if err := os.WriteFile(path, []byte("reload_may_clear = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "config reloaded")
	if want := `"changed":["room #lobby: settings changed","room #ops removed","operators: 0 added, 1 removed","name alice no longer reserved"]`; !strings.Contains(s.logs.String(), want) {
		t.Fatalf("the log does not say %s:\n%s", want, s.logs.String())
	}
	ann.WaitFor("#ops was removed by the operator")
	if code, _ := s.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

func TestHashPassword(t *testing.T) {
	out, errOut, code := runParleyWithInput(t, "correct horse\n", nil, "hash-password")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	hash := strings.TrimSpace(out)
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("correct horse")); err != nil {
		t.Fatalf("%q is not a hash of the password: %v", hash, err)
	}
	path := writeFile(t, "parley.toml", fmt.Sprintf("[[rooms]]\nname = \"lobby\"\npassword_hash = %q\n", hash))
	if _, errOut, code := runParley(t, nil, "--check-config", path); code != 0 {
		t.Fatalf("a config with the hash does not check: %s", errOut)
	}
	for input, why := range map[string]string{
		"\n":                    "empty",
		"tab\there\n":           "tabs",
		strings.Repeat("é", 40): "72 bytes",
		strings.Repeat("x", 73): "too long",
		"\u202eevil\n":          "bidirectional",
	} {
		if _, errOut, code := runParleyWithInput(t, input, nil, "hash-password"); code == 0 || !strings.Contains(errOut, why) {
			t.Errorf("password %q: exit %d, %q; want a refusal about %q", input, code, errOut, why)
		}
	}
}

// max_input_chars reaches the terminal: a line longer than it is refused
// once.
func TestMaxInputCharsFromTheConfigFile(t *testing.T) {
	path := writeFile(t, "parley.toml", "[server]\nmax_input_chars = 100\n")
	s := startServer(t, nil, "--config", path, "--ssh-addr", "127.0.0.1:0", "--http-addr", "", "--hostkey-dir", t.TempDir())
	ann := testkit.Dial(t, s.sshAddr, "ann", 100, 30)
	ann.WaitFor("#lobby")
	ann.Type(strings.Repeat("x", 150) + "\r")
	ann.WaitFor("line too long: at most 100 characters")
}
