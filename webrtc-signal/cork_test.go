package webrtcsignal

import (
	"net"
	"strings"
	"testing"
	"time"
)

// net.Pipe has no buffer: a Write returns only once the other end has
// read it, so a Write that returns with no reader was held back.
func TestCorkedWritesLeaveTogetherInOrder(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	c := &corkConn{Conn: server}
	defer c.Close()
	c.cork()
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	for _, frame := range []string{"one,", "two,", "three"} {
		if _, err := c.Write([]byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan string, 1)
	go func() {
		buf := make([]byte, 1024)
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _ := client.Read(buf)
		got <- string(buf[:n])
	}()
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "one,two,three" {
		t.Fatalf("one read got %q, want the three frames together", s)
	}
	if c.buf != nil {
		t.Error("the connection kept its buffer after the burst")
	}
}

func TestCorkedBurstPastTheLimitKeepsItsOrder(t *testing.T) {
	server, client := net.Pipe()
	defer client.Close()
	c := &corkConn{Conn: server}
	defer c.Close()
	want := strings.Repeat("a", corkLimit-10) + strings.Repeat("b", 100) + strings.Repeat("c", corkLimit+1) + "d"
	got := make(chan string, 1)
	go func() {
		var sb strings.Builder
		buf := make([]byte, 4096)
		client.SetReadDeadline(time.Now().Add(10 * time.Second))
		for sb.Len() < len(want) {
			n, err := client.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				break
			}
		}
		got <- sb.String()
	}()
	c.cork()
	for _, part := range []string{want[:corkLimit-10], want[corkLimit-10 : corkLimit+90], want[corkLimit+90 : len(want)-1], "d"} {
		if _, err := c.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != want {
		t.Fatalf("received %d bytes out of order or incomplete, want %d", len(s), len(want))
	}
}

// A browser's writes of chat events: a few go out at once, then one per
// interval, and a quiet spell gives the few back.
func TestFlushPacerLetsAFewThroughThenSpacesThem(t *testing.T) {
	const interval = 20 * time.Millisecond
	p := flushPacer{interval: interval}
	now := time.Date(2026, 1, 2, 15, 4, 0, 0, time.UTC)
	for i := range flushBurst {
		if w := p.wait(now); w != 0 {
			t.Fatalf("write %d of a burst waits %s", i+1, w)
		}
	}
	if w := p.wait(now); w != interval {
		t.Fatalf("the write after a burst of %d waits %s; want %s", flushBurst, w, interval)
	}
	now = now.Add(interval) // that write went out; the next comes at once
	if w := p.wait(now); w != interval {
		t.Fatalf("a write right after a spaced one waits %s; want %s", w, interval)
	}
	now = now.Add(interval + interval/2) // it went out, then half an interval passed
	if w := p.wait(now); w != interval/2 {
		t.Fatalf("a write half an interval after a spaced one waits %s; want %s", w, interval/2)
	}
	now = now.Add(interval/2 + time.Second)
	for i := range flushBurst {
		if w := p.wait(now); w != 0 {
			t.Fatalf("after a quiet second, write %d waits %s", i+1, w)
		}
	}
}
