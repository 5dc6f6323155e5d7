package main

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	gossh "golang.org/x/crypto/ssh"

	"parley/internal/testkit"
)

// loadClient is one SSH or WebSocket user of the shutdown test: it
// records everything the server sends and when the server closed it.
type loadClient struct {
	got    testkit.Buffer
	closed chan struct{}
	close  func()
}

func (c *loadClient) saw(text string) bool { return bytes.Contains(c.got.Bytes(), []byte(text)) }

func dialSSHUser(addr, name string) (*loadClient, error) {
	noAnswers := func(string, string, []string, []bool) ([]string, error) { return nil, nil }
	client, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: name, Auth: []gossh.AuthMethod{gossh.KeyboardInteractive(noAnswers)}, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: testkit.WaitLimit})
	if err != nil {
		return nil, err
	}
	sess, err := client.NewSession()
	if err == nil {
		err = sess.RequestPty("xterm-256color", 30, 100, gossh.TerminalModes{})
	}
	var stdout io.Reader
	var stdin io.Writer
	if err == nil {
		stdout, err = sess.StdoutPipe()
	}
	if err == nil {
		stdin, err = sess.StdinPipe()
	}
	if err == nil {
		err = sess.Shell()
	}
	if err != nil {
		client.Close()
		return nil, err
	}
	c := &loadClient{closed: make(chan struct{}), close: func() { client.Close() }}
	go func() {
		defer close(c.closed)
		_ = testkit.AnswerCursorQueries(&c.got, stdout, stdin)
	}()
	return c, nil
}

func dialWebUser(addr, name string) (*loadClient, error) {
	dialer := websocket.Dialer{HandshakeTimeout: testkit.WaitLimit}
	ws, _, err := dialer.Dial("ws://"+addr+"/ws", nil)
	if err != nil {
		return nil, err
	}
	if err := ws.WriteJSON(map[string]string{"type": "hello", "name": name}); err != nil {
		ws.Close()
		return nil, err
	}
	c := &loadClient{closed: make(chan struct{}), close: func() { ws.Close() }}
	go func() {
		defer close(c.closed)
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			_, _ = c.got.Write(append(msg, '\n'))
		}
	}()
	return c, nil
}

// TestShutdownUnderLoad connects 250 terminal and 250 browser users to
// the built binary, sends it SIGTERM, and checks that every one of them
// is told, that new users are turned away during the grace period, that
// every session is closed and that the process exits once the grace
// period is over, logging how long after SIGTERM it did.
func TestShutdownUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("connects 500 users")
	}
	const perTransport = 250
	grace := 3 * time.Second
	cfg := writeFile(t, "parley.toml", fmt.Sprintf("[server]\nshutdown_grace = %q\n", grace))
	s := startServer(t, nil, "--config", cfg, "--ssh-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--hostkey-dir", t.TempDir())

	clients := make([]*loadClient, 2*perTransport)
	var wg sync.WaitGroup
	errs := make(chan error, len(clients))
	jobs := make(chan int)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				var c *loadClient
				var err error
				if i < perTransport {
					c, err = dialSSHUser(s.sshAddr, fmt.Sprintf("term%d", i))
				} else {
					c, err = dialWebUser(s.httpAddr, fmt.Sprintf("web%d", i))
				}
				if err != nil {
					errs <- fmt.Errorf("user %d: %w", i, err)
					continue
				}
				clients[i] = c
			}
		}()
	}
	for i := range clients {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range clients {
			c.close()
		}
	})
	// Every user is in: terminals show the chat, browsers got a welcome.
	testkit.Eventually(t, "every user's first screen or welcome", func() bool {
		for i, c := range clients {
			if (i < perTransport && !c.saw("#lobby")) || (i >= perTransport && !c.saw(`"welcome"`)) {
				return false
			}
		}
		return true
	})

	start := time.Now()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "every user to be told of the shutdown", func() bool {
		for _, c := range clients {
			if !c.saw("shutting down") {
				return false
			}
		}
		return true
	})
	told := time.Since(start)

	// During the grace period new users are turned away.
	if c, err := dialSSHUser(s.sshAddr, "late"); err == nil {
		select {
		case <-c.closed:
		case <-time.After(testkit.WaitLimit):
			t.Error("a terminal user who came during the shutdown was kept")
		}
		if c.saw("#lobby") {
			t.Error("a terminal user who came during the shutdown got into the chat")
		}
		c.close()
	}
	if c, err := dialWebUser(s.httpAddr, "late"); err == nil {
		select {
		case <-c.closed:
		case <-time.After(testkit.WaitLimit):
			t.Error("a browser user who came during the shutdown was kept")
		}
		if c.saw(`"welcome"`) {
			t.Error("a browser user who came during the shutdown was welcomed")
		}
		c.close()
	}

	select {
	case <-s.exited:
	case <-time.After(testkit.WaitLimit):
		t.Fatal("parley did not exit")
	}
	exited := time.Since(start)
	for i, c := range clients {
		select {
		case <-c.closed:
		case <-time.After(testkit.WaitLimit):
			t.Fatalf("user %d was not disconnected", i)
		}
	}
	t.Logf("%d users: all told within %s, exit after %s (grace %s)", len(clients), told.Round(time.Millisecond), exited.Round(time.Millisecond), grace)
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	// The design's bound is grace + 1 s, measured and reported from the
	// log line above; the test fails only on a clear hang, so a loaded CI
	// machine cannot turn a slow close into a red run.
	if exited > grace+5*time.Second {
		t.Fatalf("parley exited %s after SIGTERM, far beyond the grace period (%s)", exited, grace)
	}
}
