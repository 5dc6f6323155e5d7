package core

import (
	"strings"
	"testing"
)

// The code field opens private chats only: a room name or a code with a
// password after it is refused, never taken for a room.
func TestOpenCodeNeverMakesRooms(t *testing.T) {
	h := newTestHub(t)
	alice, bob := connect(t, h, "alice"), connect(t, h, "bob")
	for _, typed := range []string{"lobby", "VAJ8 C053 x", "#lobby", "hello there"} {
		err := alice.OpenCode(typed)
		if err == nil || !strings.Contains(err.Error(), "is not a code") {
			t.Fatalf("OpenCode(%q): %v", typed, err)
		}
	}
	if _, rooms, _ := h.Counts(); rooms != 1 {
		t.Fatalf("%d rooms after typing names in the code field", rooms)
	}
	spaced := strings.ToLower(bob.Code()[:4] + " - " + bob.Code()[4:])
	spaced = strings.NewReplacer("0", "o", "1", "i").Replace(spaced)
	if err := alice.OpenCode(spaced); err != nil {
		t.Fatalf("OpenCode(%q): %v", spaced, err)
	}
	waitFor(t, bob, "the private chat", func(ev Event) bool { return ev.Kind == EventConvOpened && ev.View.Kind == Private })
}
