package webrtcsignal

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"parley/internal/testkit"
)

// freePort reserves a loopback port for a program that cannot be told to
// pick its own.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestNginxExample runs the shipped nginx example in front of the web side
// and opens a chat session through it over WSS. It needs nginx installed.
func TestNginxExample(t *testing.T) {
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		t.Skip("nginx is not installed: the example config is checked only where it is")
	}
	ts := startServer(t, func(c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	})
	example, err := os.ReadFile("../deploy/nginx/parley.conf")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile, pool := testkit.SelfSigned(t)
	httpAddr, httpsAddr := freePort(t), freePort(t)
	conf := string(example)
	for _, r := range []struct{ re, with string }{
		{`listen \[::\]:[^;]*;\n`, ""},
		{`listen 80;`, "listen " + httpAddr + ";"},
		{`listen 443 `, "listen " + httpsAddr + " "},
		{`ssl_certificate +\S+;`, "ssl_certificate " + certFile + ";"},
		{`ssl_certificate_key +\S+;`, "ssl_certificate_key " + keyFile + ";"},
		{`http://127\.0\.0\.1:8080`, ts.url},
	} {
		conf = regexp.MustCompile(r.re).ReplaceAllString(conf, r.with)
	}
	site := filepath.Join(dir, "parley.conf")
	os.WriteFile(site, []byte(conf), 0o600)
	main := "pid " + dir + "/nginx.pid;\nerror_log " + dir + "/error.log;\nevents {}\nhttp {\n" +
		"access_log off;\nclient_body_temp_path " + dir + ";\nproxy_temp_path " + dir + ";\n" +
		"include " + site + ";\n}\n"
	mainConf := filepath.Join(dir, "nginx.conf")
	os.WriteFile(mainConf, []byte(main), 0o600)
	if out, err := exec.Command(nginx, "-t", "-q", "-p", dir, "-c", mainConf).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", mainConf, "-g", "daemon off; master_process off;")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})

	tlsConf := &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	dialer := websocket.Dialer{TLSClientConfig: tlsConf, HandshakeTimeout: 10 * time.Second}
	header := http.Header{"Origin": {"https://chat.example.org"}, "Host": {"chat.example.org"}}
	var ws *websocket.Conn
	deadline := time.Now().Add(10 * time.Second)
	for {
		ws, _, err = dialer.Dial("wss://"+httpsAddr+"/ws", header)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		t.Fatalf("WSS through nginx: %v\n%s", err, log)
	}
	defer ws.Close()
	c := &wsClient{t: t, ws: ws}
	c.send(map[string]any{"type": "hello", "name": "proxied"})
	var w welcomeOut
	c.expect("welcome", &w)
	if w.Self.Name != "proxied" {
		t.Fatalf("welcome %+v", w)
	}

	// The page comes through with its headers, and port 80 redirects.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("https://" + httpsAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") || resp.Header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("headers through nginx: %v", resp.Header)
	}
	resp, err = client.Get("http://" + httpAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || !strings.HasPrefix(resp.Header.Get("Location"), "https://") {
		t.Fatalf("port 80 answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
