package sshui

import (
	"bytes"
	"os"
	"runtime"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"parley/internal/testkit"
)

// TestMeasureChannelsWithoutAShell reports the server's live heap held
// by 20 connections with 2 session channels each, a PTY and no shell,
// each channel writing 1 MiB: with the early input bounded (the
// default), and unbounded as it was before; and what the connections
// hold when the channels write nothing, for comparison. A measurement, not a check:
//
//	PARLEY_MEASURE=1 go test ./sshui/ -run TestMeasureChannelsWithoutAShell -v -count=1
func TestMeasureChannelsWithoutAShell(t *testing.T) {
	if os.Getenv("PARLEY_MEASURE") != "1" {
		t.Skip("a measurement: set PARLEY_MEASURE=1 to run it")
	}
	for _, tc := range []struct {
		name   string
		early  int
		chunks int
	}{{"nothing written (the connections alone)", 0, 0}, {"bounded (default)", 0, 32}, {"unbounded (as before)", 64 << 20, 32}} {
		ts := startServer(t, nil, func(c *Config) {
			c.EarlyInputBytes = tc.early
			c.ShellTimeout = time.Hour // memory, not the deadline, is measured
		})
		runtime.GC()
		heap0 := testkit.LiveHeap()
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for range 20 {
			client, err := gossh.Dial("tcp", ts.addr, testkit.KeyLogin(t, "hoarder"))
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close()
			for range 2 {
				ch, reqs, err := client.OpenChannel("session", nil)
				if err != nil {
					t.Fatal(err)
				}
				go gossh.DiscardRequests(reqs)
				if _, err := ch.SendRequest("pty-req", true, gossh.Marshal(ptyRequest{Term: "xterm", Columns: 80, Rows: 24})); err != nil {
					t.Fatal(err)
				}
				for range tc.chunks {
					if _, err := ch.Write(chunk); err != nil {
						break
					}
				}
			}
		}
		// Sent is not yet received: give the server a moment to take in
		// what it will keep.
		time.Sleep(2 * time.Second)
		runtime.GC()
		t.Logf("%s: live heap +%.1f MiB for 40 channels", tc.name,
			float64(int64(testkit.LiveHeap())-int64(heap0))/(1<<20))
	}
}
