package core

import (
	"strings"
	"testing"
)

func TestReloadKeepsUsersAndClosesRemovedRooms(t *testing.T) {
	h := newTestHub(t, func(c *Config) { c.Rooms = append(c.Rooms, RoomConfig{Name: "old"}) })
	a, b := connect(t, h, "alice"), connect(t, h, "bob")
	if err := a.Input("/join #old"); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Welcome = "new welcome"
	cfg.Rooms = append(cfg.Rooms, RoomConfig{Name: "fresh", Description: "just added"})
	cfg.Limits.MessageChars = 10
	if err := h.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	closed := waitFor(t, a, "#old closed", func(ev Event) bool { return ev.Kind == EventConvClosed && ev.Conv == "#old" })
	if !strings.Contains(closed.Text, "removed by the operator") {
		t.Fatalf("told %q", closed.Text)
	}
	if a.Welcome() != "new welcome" {
		t.Fatalf("welcome is %q", a.Welcome())
	}
	if err := b.Input("/join #fresh"); err != nil {
		t.Fatal(err)
	}
	if err := b.Input("this is longer than ten"); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("the new message limit does not apply: %v", err)
	}
	if users, rooms, _ := h.Counts(); users != 2 || rooms != 2 {
		t.Fatalf("%d users, %d rooms after reload", users, rooms)
	}
	bad := DefaultConfig()
	bad.DefaultRoom = "nowhere"
	if err := h.Reload(bad); err == nil {
		t.Fatal("an invalid config was installed")
	}
}
