package core

import (
	"strings"
	"testing"
)

func current(s *Session) string {
	return s.Snapshot().Current
}

// /msg writes privately without leaving the room on screen, opening the
// chat the first time; /reply answers whoever wrote last.
func TestMsgAndReply(t *testing.T) {
	h := newTestHub(t)
	alice, bob, carol := connect(t, h, "alice"), connect(t, h, "bob"), connect(t, h, "carol")
	if err := alice.Input("/msg bob are you there?"); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, bob, "alice's private message", message("are you there?"))
	if !strings.HasPrefix(got.Conv, "@") || got.Msg.From.Name != "alice" {
		t.Fatalf("the message reached bob in %s from %q", got.Conv, got.Msg.From.Name)
	}
	if cur := current(alice); cur != "#lobby" {
		t.Fatalf("after /msg alice is in %q, want #lobby", cur)
	}
	if err := alice.Input("/msg bob still there?"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, "the second message", message("still there?"))

	if err := carol.Input("/reply hello?"); err == nil || !strings.Contains(err.Error(), "no one has written to you privately") {
		t.Fatalf("/reply with no one to answer: %v", err)
	}
	if err := carol.Input("/msg carol me"); err == nil || err.Error() != "that is you" {
		t.Fatalf("/msg to oneself: %v", err)
	}
	if err := carol.Input("/msg nobody hi"); err == nil || !strings.Contains(err.Error(), "no one called nobody") {
		t.Fatalf("/msg to no one: %v", err)
	}
	if err := carol.Input("/msg bob"); err == nil || !strings.Contains(err.Error(), "usage: /msg NAME TEXT") {
		t.Fatalf("/msg without text: %v", err)
	}

	if err := bob.Input("/reply yes, here"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, "bob's reply", message("yes, here"))
	if err := bob.Input("/reply"); err != nil {
		t.Fatal(err)
	}
	if cur := current(bob); cur != got.Conv {
		t.Fatalf("/reply without text left bob in %q, want %s", cur, got.Conv)
	}
}

// A word given to /join that NormalizeCode could read as a code ("projects",
// its O read as 0) is a room, and costs no wrong guess; a word that can
// only be a code is one, and the error says how to name a room instead.
func TestJoinAWordIsARoomNotAWrongCode(t *testing.T) {
	h := newTestHub(t, func(c *Config) { c.Limits.WrongCodes = 1 })
	alice, bob := connect(t, h, "alice"), connect(t, h, "bob")
	for range 3 {
		if err := alice.Input("/join projects"); err != nil {
			t.Fatalf("/join projects: %v", err)
		}
	}
	if cur := current(alice); cur != "#projects" {
		t.Fatalf("/join projects made %q current, want #projects", cur)
	}
	err := alice.Input("/join kqmxdhtr")
	if err == nil || err.Error() != "no one online has the code KQMXDHTR; for a room of that name, type /join #kqmxdhtr" {
		t.Fatalf("/join of a code no one holds: %v", err)
	}
	// Once the room exists, its bare name joins it, and costs no guess.
	carol := connect(t, h, "carol")
	if err := carol.Input("/join #kqmxdhtr"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Input("/join kqmxdhtr"); err != nil || current(alice) != "#kqmxdhtr" {
		t.Fatalf("/join of a room named like a code: %v, in %q", err, current(alice))
	}
	if err := alice.Input("/join " + bob.Code()); err == nil || !strings.Contains(err.Error(), "too many") {
		t.Fatalf("the second wrong code in a minute was not refused: %v", err)
	}
}
