package core

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Guessers that the per-address limit cannot tell apart (every browser
// behind an untrusted proxy is loopback, and loopback is exempt) meet a
// server-wide ceiling: past it every guess waits out the minute, and the
// chat goes on.
func TestWrongGuessesHaveAServerWideCeiling(t *testing.T) {
	h, clock := newClockHub(t, func(c *Config) { c.Limits.WrongCodesServer = 20 })
	target := connectFrom(t, h, "target", "127.0.0.1:4000")
	listener := connectFrom(t, h, "listener", "127.0.0.1:4001")
	wrong := 0
	for i := range 8 {
		s := connectFrom(t, h, fmt.Sprintf("guesser%d", i), fmt.Sprintf("127.0.0.1:%d", 5000+i))
		for range 5 {
			err := s.Input("/join 00000000")
			switch {
			case err != nil && strings.Contains(err.Error(), "no one online"):
				wrong++
			case err != nil && strings.Contains(err.Error(), "on this server"):
			default:
				t.Fatalf("guess: %v", err)
			}
		}
	}
	if wrong != 20 {
		t.Fatalf("%d wrong guesses were tried in a minute, want the ceiling of 20", wrong)
	}
	fresh := connectFrom(t, h, "fresh", "127.0.0.1:6000")
	if err := fresh.Input("/join " + target.Code()); err == nil || !strings.Contains(err.Error(), "on this server") {
		t.Fatalf("a guess past the ceiling: %v", err)
	}

	if err := target.Input("still talking"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, listener, "the message", func(ev Event) bool { return ev.Kind == EventMessage && ev.Msg.Text == "still talking" })

	clock.Add(time.Minute)
	if err := fresh.Input("/join " + target.Code()); err != nil {
		t.Fatalf("a minute later the ceiling still holds: %v", err)
	}
}
