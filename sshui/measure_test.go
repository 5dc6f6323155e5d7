package sshui

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"parley/internal/testkit"
)

// TestMeasureIdleSessions reports the server's memory per idle session
// and the CPU that idle sessions cost. It is a measurement, not a check:
// it runs only with PARLEY_MEASURE=1, e.g.
//
//	PARLEY_MEASURE=1 PARLEY_MEASURE_SESSIONS=200 PARLEY_MEASURE_FOR=60s \
//	  go test ./sshui/ -run TestMeasureIdleSessions -v -count=1
//
// The clients run in a child process so that only the server is measured.
func TestMeasureIdleSessions(t *testing.T) {
	if os.Getenv("PARLEY_MEASURE") != "1" {
		t.Skip("a measurement: set PARLEY_MEASURE=1 to run it")
	}
	n := testkit.EnvInt("PARLEY_MEASURE_SESSIONS", 200)
	idle, err := time.ParseDuration(envOr("PARLEY_MEASURE_FOR", "60s"))
	if err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, nil, nil)
	runtime.GC()
	heap0, stack0, gor0 := testkit.LiveHeap(), stacks(), runtime.NumGoroutine()

	child := exec.Command(os.Args[0], "-test.run=^TestIdleClients$", "-test.v")
	child.Env = append(os.Environ(), "PARLEY_IDLE_ADDR="+ts.addr, fmt.Sprintf("PARLEY_IDLE_SESSIONS=%d", n))
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = child.Wait()
	}()
	if err := waitLine(stdout, "clients ready"); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "every session in the hub", func() bool { u, _, _ := ts.hub.Counts(); return u == n })
	time.Sleep(2 * time.Second) // let first frames and joins settle
	runtime.GC()
	heap1, stack1, gor1 := testkit.LiveHeap(), stacks(), runtime.NumGoroutine()
	cpu0 := cpuTime()
	time.Sleep(idle)
	cpu1 := cpuTime()
	t.Logf("%d idle sessions: live heap %.1f MiB more (%.1f KiB per session), %d goroutines more (%.1f per session)",
		n, float64(heap1-heap0)/(1<<20), float64(heap1-heap0)/float64(n)/1024, gor1-gor0, float64(gor1-gor0)/float64(n))
	t.Logf("goroutine stacks %.1f KiB more per session", float64(stack1-stack0)/float64(n)/1024)
	t.Logf("server CPU over %s idle: %.2f s (%.2f%% of one core)", idle, (cpu1 - cpu0).Seconds(), 100*(cpu1-cpu0).Seconds()/idle.Seconds())
}

// TestIdleClients is the child process of TestMeasureIdleSessions: it
// holds PARLEY_IDLE_SESSIONS sessions open until its stdin closes.
func TestIdleClients(t *testing.T) {
	addr := os.Getenv("PARLEY_IDLE_ADDR")
	if addr == "" {
		t.Skip("the client side of TestMeasureIdleSessions")
	}
	n := testkit.EnvInt("PARLEY_IDLE_SESSIONS", 200)
	cfg := testkit.KeylessLogin("idle")
	for i := 0; i < n; i++ {
		client, err := gossh.Dial("tcp", addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		_, stdin, stdout, err := openShell(client, nil)
		if err != nil {
			t.Fatal(err)
		}
		go func() { _ = testkit.AnswerCursorQueries(io.Discard, stdout, stdin) }()
	}
	fmt.Println("clients ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// stacks is the memory of goroutine stacks.
func stacks() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func waitLine(r io.Reader, want string) error {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if strings.Contains(sc.Text(), want) {
			return nil
		}
	}
	return fmt.Errorf("child ended before %q: %v", want, sc.Err())
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// TestMeasureStalledCutOff reports how long a terminal that never reads
// stays in the hub while its room is busy (testkit.Chatter: 20 users, 33
// lines of 400 characters a second), with the default limits, at 80×24
// and at the largest size a client may announce, and when its session
// channel is closed. A measurement:
//
//	PARLEY_MEASURE=1 go test ./sshui/ -run TestMeasureStalledCutOff -v -count=1
//
// The terminal's SSH layer goes on reading, so the client's SSH window
// (2 MiB with golang.org/x/crypto, OpenSSH's is similar) takes minutes of
// small frames to fill; the server sees the client stopped reading once
// it leaves the terminal probe's question unanswered for
// terminal_answer_timeout. The last case freezes the whole client, which
// the keepalives find.
func TestMeasureStalledCutOff(t *testing.T) {
	if os.Getenv("PARLEY_MEASURE") != "1" {
		t.Skip("a measurement: set PARLEY_MEASURE=1 to run it")
	}
	const limit = 3 * time.Minute
	for _, size := range [][2]int{{512, 200}, {80, 24}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			ts := startServer(t, nil, nil)
			closed := make(chan time.Time, 1)
			took, cut := testkit.MeasureCutOff(t, ts.hub, "#lobby", limit, func() {
				sess := stalledSession(t, ts.addr, size[0], size[1])
				go func() {
					_ = sess.Wait()
					closed <- time.Now()
				}()
				testkit.Eventually(t, "the stalled user in the hub", func() bool { u, _, _ := ts.hub.Counts(); return u == 1 })
			})
			if !cut {
				t.Logf("a %d×%d terminal that never reads: still in the hub after %s", size[0], size[1], limit)
				return
			}
			start := time.Now().Add(-took)
			select {
			case at := <-closed:
				t.Logf("a %d×%d terminal that never reads: out of the hub after %s, its session closed after %s",
					size[0], size[1], took.Round(100*time.Millisecond), at.Sub(start).Round(100*time.Millisecond))
			case <-time.After(testkit.WaitLimit):
				t.Fatalf("out of the hub after %s, but its session is still open %s later", took, testkit.WaitLimit)
			}
		})
	}
	// The worst case for the probe: a terminal that stops reading right
	// after it answered, so the next question comes only a timeout later.
	t.Run("80x24 that stops once it answered", func(t *testing.T) {
		ts := startServer(t, nil, nil)
		took, cut := testkit.MeasureCutOff(t, ts.hub, "#lobby", limit, func() {
			_, _, stdin, stdout := testkit.OpenShell(t, ts.addr, testkit.KeyLogin(t, "stuck"), 80, 24)
			first := &answerOnce{w: stdin, answered: make(chan struct{}), ended: make(chan struct{})}
			t.Cleanup(func() { close(first.ended) })
			go func() { _ = testkit.AnswerCursorQueries(io.Discard, stdout, first) }()
			<-first.answered
		})
		if !cut {
			t.Logf("an 80×24 terminal that stopped reading once it answered: still in the hub after %s", limit)
			return
		}
		t.Logf("an 80×24 terminal that stopped reading once it answered: out of the hub after %s", took.Round(100*time.Millisecond))
	})
	// A client whose whole process stops (suspended, or its host gone)
	// reads nothing at all, not even the server's keepalives.
	t.Run("frozen 80x24", func(t *testing.T) {
		ts := startServer(t, nil, nil)
		took, cut := testkit.MeasureCutOff(t, ts.hub, "#lobby", limit, func() {
			link := testkit.NewFaultyLink(t, ts.addr)
			stalledSession(t, link.Addr(), 80, 24)
			testkit.Eventually(t, "the frozen user in the hub", func() bool { u, _, _ := ts.hub.Counts(); return u == 1 })
			link.Freeze()
		})
		if !cut {
			t.Logf("an 80×24 client that froze: still in the hub after %s", limit)
			return
		}
		t.Logf("an 80×24 client that froze: out of the hub after %s", took.Round(100*time.Millisecond))
	})
}

// answerOnce passes on the first answer, then blocks its writer, and so
// the reader of the terminal's output, until the test ends.
type answerOnce struct {
	w        io.Writer
	answered chan struct{}
	ended    chan struct{}
}

func (a *answerOnce) Write(p []byte) (int, error) {
	select {
	case <-a.answered:
		<-a.ended
		return 0, io.ErrClosedPipe
	default:
	}
	n, err := a.w.Write(p)
	close(a.answered)
	return n, err
}
