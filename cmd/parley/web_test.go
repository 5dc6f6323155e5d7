package main

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"parley/internal/testkit"
)

var httpClient = &http.Client{Timeout: testkit.WaitLimit}

// quickStop is a config file with a short shutdown grace, for tests
// that stop the server but are not about the grace.
func quickStop(t *testing.T) string {
	return writeFile(t, "parley.toml", "[server]\nshutdown_grace = \"200ms\"\n")
}

// get fetches url and returns the response with its body read.
func get(t *testing.T, client *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// scrape reads /metrics from the admin listener through the Prometheus
// text parser.
func scrape(t *testing.T, adminAddr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := httpClient.Get("http://" + adminAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return families
}

// metric returns the value of family name whose labels include the pairs
// given (name, value, …); -1 when there is none.
func metric(t *testing.T, adminAddr, name string, labels ...string) float64 {
	t.Helper()
	families := scrape(t, adminAddr)
next:
	for _, m := range families[name].GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return sampleValue(m)
	}
	return -1
}

func sampleValue(m *dto.Metric) float64 {
	switch {
	case m.GetGauge() != nil:
		return m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		return m.GetCounter().GetValue()
	}
	return m.GetUntyped().GetValue()
}

// The built binary serves the web client and /ws on its HTTP port, and
// metrics and health on its admin port; both ports are in the banner and
// in the "listening" log record.
func TestBinaryServesWebAndAdmin(t *testing.T) {
	s := startServer(t, nil, "--config", quickStop(t), "--ssh-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--hostkey-dir", t.TempDir())
	if s.adminAddr == "" || s.httpAddr == "" {
		t.Fatalf("the listening record lacks an address: http %q, admin %q", s.httpAddr, s.adminAddr)
	}
	_, httpPort, _ := net.SplitHostPort(s.httpAddr)
	if want := "http://localhost:" + httpPort; s.publicURL != want {
		t.Errorf("public URL %q, want %q derived from the HTTP address", s.publicURL, want)
	}
	for _, want := range []string{"http://localhost:" + httpPort + "/", "http://" + s.adminAddr + "/"} {
		testkit.Eventually(t, "the banner showing "+want, func() bool { return strings.Contains(s.stdout.String(), want) })
	}

	resp, page := get(t, httpClient, "http://"+s.httpAddr+"/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "<html") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("/: %s, CSP %q, page:\n%.300s", resp.Status, resp.Header.Get("Content-Security-Policy"), page)
	}
	checkHealthz(t, s.httpAddr)
	checkHealthz(t, s.adminAddr)
	if resp, body := get(t, httpClient, "http://"+s.adminAddr+"/readyz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %s %q", resp.Status, body)
	}
	if v := metric(t, s.adminAddr, "parley_build_info"); v != 1 {
		t.Fatalf("parley_build_info = %v", v)
	}
	// The README's table of metric families is what /metrics serves.
	families := scrape(t, s.adminAddr)
	documented := regexp.MustCompile("(?m)^\\| `(parley_[a-z_]+)").FindAllStringSubmatch(between(t, readme(t), "metrics"), -1)
	seen := map[string]bool{}
	for _, m := range documented {
		seen[m[1]] = true
		if families[m[1]] == nil {
			t.Errorf("the README lists %s, which /metrics does not serve", m[1])
		}
	}
	for name := range families {
		if strings.HasPrefix(name, "parley_") && !seen[name] {
			t.Errorf("the README does not list %s", name)
		}
	}

	// A browser's WebSocket becomes a chat user, and the admin side
	// counts it.
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+s.httpAddr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteJSON(map[string]string{"type": "hello", "name": "wanda"}); err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(testkit.WaitLimit))
	var welcome struct {
		Type string
		Code string
		Self struct{ Name string }
	}
	if err := ws.ReadJSON(&welcome); err != nil {
		t.Fatal(err)
	}
	if welcome.Type != "welcome" || len(welcome.Code) != 8 || welcome.Self.Name != "wanda" {
		t.Fatalf("first message %+v, want wanda's welcome", welcome)
	}
	testkit.Eventually(t, "one web session in the metrics", func() bool {
		return metric(t, s.adminAddr, "parley_sessions", "transport", "web") == 1
	})
	// The pprof handlers are on the admin listener only.
	if resp, _ := get(t, httpClient, "http://"+s.httpAddr+"/debug/pprof/"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the web listener answers /debug/pprof/ with %s", resp.Status)
	}
	if resp, body := get(t, httpClient, "http://"+s.adminAddr+"/debug/pprof/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Fatalf("admin /debug/pprof/: %s", resp.Status)
	}
	if code, _ := s.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

// From the first moment of a shutdown, /readyz says 503 so that load
// balancers stop sending people, while /healthz stays 200: the process
// is alive and its users are still being warned.
func TestReadyzFailsDuringTheShutdownGrace(t *testing.T) {
	cfg := writeFile(t, "parley.toml", "[server]\nshutdown_grace = \"10m\"\n")
	s := startServer(t, nil, "--config", cfg, "--ssh-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--hostkey-dir", t.TempDir())
	if resp, _ := get(t, httpClient, "http://"+s.adminAddr+"/readyz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz before the shutdown: %s", resp.Status)
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	s.waitLog(t, "shutting down")
	testkit.Eventually(t, "/readyz answering 503", func() bool {
		resp, _ := get(t, httpClient, "http://"+s.adminAddr+"/readyz")
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	checkHealthz(t, s.adminAddr)
	checkHealthz(t, s.httpAddr)
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(testkit.WaitLimit):
		t.Fatal("a second signal did not end the grace period")
	}
}

// An SSH user and a browser user chat in the lobby through the built
// binary, then the SSH user places a video call: the one-time link starts
// with the public URL derived from the HTTP address, so it works on this
// machine with no settings at all.
func TestSSHAndBrowserChatAndCallThroughTheBinary(t *testing.T) {
	s := startServer(t, nil, "--config", quickStop(t), "--stats-interval", "100ms",
		"--ssh-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--hostkey-dir", t.TempDir())
	term := testkit.Dial(t, s.sshAddr, "tess", 120, 40)
	termCode := term.Code()
	browser := testkit.Chromium(t)
	web := testkit.OpenPage(t, browser, "web", "http://"+s.httpAddr+"/")
	webCode := web.Code()
	webName := web.Text("me-name")

	term.WaitFor(webName + " joined")
	term.TypeLine("hello from the terminal")
	web.WaitLog("hello from the terminal")
	web.Say("hello from the browser")
	term.WaitFor("hello from the browser")
	testkit.Eventually(t, "both sessions in the metrics", func() bool {
		return metric(t, s.adminAddr, "parley_sessions", "transport", "web") == 1 &&
			metric(t, s.adminAddr, "parley_sessions", "transport", "ssh") == 1
	})

	web.Say("/join " + termCode)
	term.WaitFor(webName + " opened a private chat with you")
	term.TypeLine("/switch " + webName)
	term.TypeLine("/video")
	linkPattern := regexp.MustCompile(regexp.QuoteMeta(s.publicURL) + `/#call=[A-Z2-7]+`)
	link := linkPattern.FindString(term.WaitUntil("a call link with the public URL", linkPattern.MatchString))
	web.WaitCallState("ringing-in")
	web.Click("call-accept")
	phone := testkit.OpenPage(t, browser, "tess's phone", link)
	testkit.WaitVideo(t, web, phone)
	web.Click("call-hangup")
	term.WaitFor(webName + " hung up")
	testkit.Eventually(t, "the call's steps in the metrics", func() bool {
		return metric(t, s.adminAddr, "parley_calls_total", "stage", "answered") == 1 &&
			metric(t, s.adminAddr, "parley_calls_total", "stage", "ended") == 1
	})
	if code, _ := s.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	// The periodic stats line ran, and no log line holds a message, a
	// code or a call link.
	logs := s.logs.String()
	if !strings.Contains(logs, `"msg":"stats"`) {
		t.Error("no stats line in the log")
	}
	for _, secret := range []string{"hello from the terminal", "hello from the browser", termCode, webCode, "#call="} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

// With a certificate and key, the HTTP port serves HTTPS, call links
// start with https://, and the WebSocket works over TLS.
func TestTLSStart(t *testing.T) {
	certFile, keyFile, pool := testkit.SelfSigned(t)
	s := startServer(t, []string{"PARLEY_TLS_KEY=" + keyFile}, "--config", quickStop(t), "--tls-cert", certFile, "--hsts",
		"--ssh-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--hostkey-dir", t.TempDir())
	_, port, _ := net.SplitHostPort(s.httpAddr)
	if want := "https://localhost:" + port; s.publicURL != want {
		t.Errorf("public URL %q, want %q", s.publicURL, want)
	}
	testkit.Eventually(t, "the banner showing the https address", func() bool {
		return strings.Contains(s.stdout.String(), "https://localhost:"+port+"/")
	})
	tlsConfig := &tls.Config{RootCAs: pool}
	client := &http.Client{Timeout: testkit.WaitLimit, Transport: &http.Transport{TLSClientConfig: tlsConfig}}
	resp, body := get(t, client, "https://"+s.httpAddr+"/healthz")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(body) != "ok" || resp.TLS == nil {
		t.Fatalf("https /healthz: %s %q", resp.Status, body)
	}
	if hsts := resp.Header.Get("Strict-Transport-Security"); hsts == "" {
		t.Error("no Strict-Transport-Security with --hsts")
	}
	if resp, _ := get(t, httpClient, "http://"+s.httpAddr+"/healthz"); resp.StatusCode == http.StatusOK {
		t.Fatal("plain HTTP is answered on the TLS port")
	}
	dialer := websocket.Dialer{TLSClientConfig: tlsConfig, HandshakeTimeout: testkit.WaitLimit}
	ws, _, err := dialer.Dial("wss://"+s.httpAddr+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteJSON(map[string]string{"type": "hello"}); err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(testkit.WaitLimit))
	var first struct{ Type string }
	if err := ws.ReadJSON(&first); err != nil || first.Type != "welcome" {
		t.Fatalf("first message over WSS: %+v, %v", first, err)
	}
	if code, _ := s.stop(t); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}
