package sshui

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	gossh "golang.org/x/crypto/ssh"
)

// TestThousandSessionsLeaveNoGoroutines connects and disconnects 1,000
// sessions, half dropping the connection and half quitting with Ctrl-C,
// and checks that nothing they started is still running.
func TestThousandSessionsLeaveNoGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("connects 1,000 sessions")
	}
	ts := startServer(t, nil, nil)
	ignore := goleak.IgnoreCurrent()
	withKey := clientConfig(t, "keyed", true)
	keyless := clientConfig(t, "guest", false)

	const total, workers = 1000, 8
	jobs := make(chan int)
	errs := make(chan error, total)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				cfg := keyless
				if i%2 == 0 {
					cfg = withKey
				}
				if err := connectOnce(ts.addr, cfg, i%4 < 2); err != nil {
					errs <- fmt.Errorf("session %d: %w", i, err)
				}
			}
		}()
	}
	for i := 0; i < total; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	eventually(t, "every user to leave the hub", func() bool { n, _, _ := ts.hub.Counts(); return n == 0 })

	deadline := time.Now().Add(waitLimit)
	for {
		err := goleak.Find(ignore)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// connectOnce opens a session, waits for the first screen, then either
// drops the connection or quits with Ctrl-C and waits for the end.
func connectOnce(addr string, cfg *gossh.ClientConfig, drop bool) error {
	client, err := gossh.Dial("tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return err
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return err
	}
	if err := sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{}); err != nil {
		return err
	}
	if err := sess.Shell(); err != nil {
		return err
	}
	if err := readUntil(stdout, "Parley"); err != nil {
		return err
	}
	if drop {
		return client.Close()
	}
	if _, err := stdin.Write([]byte{3}); err != nil {
		return err
	}
	if err := readUntil(stdout, "Parley: bye"); err != nil {
		return err
	}
	if err := sess.Wait(); err != nil {
		return fmt.Errorf("after Ctrl-C: %w", err)
	}
	return nil
}
