package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"parley/internal/testkit"
)

// A flood of unfinished HTTP requests from a few addresses, at a small
// file limit, stops neither SSH logins, nor page loads from elsewhere,
// nor the admin listener; and the unfinished requests are cut off.
func TestHTTPFloodLeavesTheOtherListenersServing(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) is not installed")
	}
	cfg := writeFile(t, "parley.toml", `
[limits]
exempt_ips = []
[server]
shutdown_grace = "200ms"
http_conns_per_ip = 40
http_read_timeout = "1s"
`)
	s := startServerUnder(t, []string{prlimit, "--nofile=256:256"}, nil,
		"--config", cfg, "--hostkey-dir", t.TempDir(), "--ssh-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0")

	// 300 requests announcing a body and sending 3 bytes of it, from
	// three addresses: more than the server has files.
	var flood []net.Conn
	for i := range 300 {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%3))}, Timeout: testkit.WaitLimit}
		c, err := d.Dial("tcp", s.httpAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /ws HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc")
		flood = append(flood, c)
	}

	term := testkit.Dial(t, s.sshAddr, "victim", 100, 30)
	term.WaitFor("#lobby")
	resp, err := httpClient.Get("http://" + s.httpAddr + "/")
	if err != nil {
		t.Fatalf("page load during the flood: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page load during the flood: %s", resp.Status)
	}
	checkHealthz(t, s.adminAddr)

	for i, c := range flood {
		c.SetReadDeadline(time.Now().Add(testkit.WaitLimit))
		if _, err := io.Copy(io.Discard, c); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("unfinished request %d is still open", i)
			}
		}
	}
	s.waitLog(t, "connection refused")
}
