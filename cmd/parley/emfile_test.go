package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/internal/testkit"
)

// cpuTime is the CPU time process pid has used, from /proc.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	// The fields after the command, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks (100 a second).
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, _ := strconv.Atoi(fields[11])
	stime, _ := strconv.Atoi(fields[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// With the connection caps set above the file limit, a flood makes
// accept fail for want of descriptors: the server backs off rather than
// spinning, and serves again once the flood is gone. The CPU it used
// meanwhile is logged, not asserted.
func TestOutOfDescriptorsTheServerBacksOffAndRecovers(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Skip("prlimit (util-linux) is not installed")
	}
	cfg := writeFile(t, "parley.toml", `
[server]
shutdown_grace = "200ms"
max_http_conns = 1000
max_ssh_conns = 1000
`)
	s := startServerUnder(t, []string{prlimit, "--nofile=64:64"}, nil,
		"--config", cfg, "--hostkey-dir", t.TempDir(), "--ssh-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0")
	var flood []net.Conn
	for range 100 {
		c, err := net.DialTimeout("tcp", s.httpAddr, testkit.WaitLimit)
		if err != nil {
			t.Fatal(err)
		}
		flood = append(flood, c)
	}
	testkit.Eventually(t, "accept to run out of descriptors", func() bool {
		return strings.Contains(s.logs.String(), "too many open files")
	})
	before := cpuTime(t, s.cmd.Process.Pid)
	time.Sleep(2 * time.Second) // a measurement: the CPU used while out of descriptors
	t.Logf("CPU used in 2 s out of descriptors: %s", cpuTime(t, s.cmd.Process.Pid)-before)
	for _, c := range flood {
		c.Close()
	}
	testkit.Eventually(t, "a page load once the flood is gone", func() bool {
		resp, err := httpClient.Get("http://" + s.httpAddr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	term := testkit.Dial(t, s.sshAddr, "after", 100, 30)
	term.WaitFor("#lobby")
}
