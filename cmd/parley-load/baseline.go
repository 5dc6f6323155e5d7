package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"parley/bench/baseline"
)

// listenBaseline creates a baseline server and its loopback listener.
func listenBaseline(addr string, queueLines int) (*baseline.Server, net.Listener, error) {
	if err := checkLoopback(addr); err != nil {
		return nil, nil, err
	}
	cfg := baseline.DefaultConfig()
	if queueLines > 0 {
		cfg.QueueLines = queueLines
	}
	srv, err := baseline.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	return srv, ln, nil
}

// baselineChild is a baseline server running in a child process.
type baselineChild struct {
	cmd  *exec.Cmd
	addr string
	pid  int
}

// startBaseline runs this executable's serve-baseline command and waits
// for the address it listens on.
func startBaseline() (*baselineChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "serve-baseline", "--addr", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	// The child must not outlive the tool, even if the tool is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &baselineChild{cmd: cmd, pid: cmd.Process.Pid}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		addr, ok := strings.CutPrefix(strings.TrimSpace(s), "listening on ")
		if !ok {
			c.stop()
			return nil, fmt.Errorf("baseline server did not start: %q", s)
		}
		c.addr = addr
		return c, nil
	case <-time.After(10 * time.Second):
		c.stop()
		return nil, errors.New("baseline server did not start within 10s")
	}
}

// stop ends the child with SIGTERM, then SIGKILL if it lingers.
func (c *baselineChild) stop() {
	c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		c.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}
