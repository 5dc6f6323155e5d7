package logguard

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// A message repeated a thousand times a minute is logged a few times,
// and the next record after a quiet spell says how many were left out.
func TestRepeatedWarningsAreSampled(t *testing.T) {
	var out bytes.Buffer
	now := time.Unix(0, 0)
	s := NewWith(slog.New(slog.NewTextHandler(&out, nil)), 5, time.Minute, func() time.Time { return now })
	for range 1000 {
		s.Warn("connection refused", "remote", "192.0.2.1")
	}
	s.Warn("another warning")
	if got := strings.Count(out.String(), "connection refused"); got != 5 {
		t.Fatalf("%d records of a repeated warning in a minute, want 5:\n%s", got, out.String())
	}
	if !strings.Contains(out.String(), "another warning") {
		t.Fatal("a different warning was held back by the first")
	}
	now = now.Add(time.Minute)
	s.Warn("connection refused", "remote", "192.0.2.1")
	if !strings.Contains(out.String(), "suppressed=995") {
		t.Fatalf("the next record does not count those left out:\n%s", out.String())
	}
}

// A library's log lines (net/http's failed TLS handshakes) go through
// the sampler as one message.
func TestLibraryLinesAreSampled(t *testing.T) {
	var out bytes.Buffer
	s := NewWith(slog.New(slog.NewTextHandler(&out, nil)), 3, time.Minute, time.Now)
	for i := range 100 {
		fmt.Fprintf(s.Writer("http server error"), "http: TLS handshake error from 192.0.2.%d:5000: EOF\n", i)
	}
	if got := strings.Count(out.String(), "http server error"); got != 3 {
		t.Fatalf("%d records of 100 library lines, want 3:\n%s", got, out.String())
	}
	if !strings.Contains(out.String(), `detail="http: TLS handshake error from 192.0.2.0:5000: EOF"`) {
		t.Fatalf("the line is not kept as its detail:\n%s", out.String())
	}
}
