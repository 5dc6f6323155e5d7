package webrtcsignal

import (
	"encoding/json"
	"strings"
	"testing"
)

// request sends a typed request and reads until both its result and, if
// want is not "", a message of type want that ok accepts have arrived,
// in whichever order. It returns the result's error and that message.
func (c *wsClient) request(req map[string]any, want string, ok func([]byte) bool) (string, []byte) {
	c.t.Helper()
	id := req["id"].(int)
	c.send(req)
	var errText string
	var got []byte
	done := false
	for !done || (want != "" && got == nil) {
		typ, data := c.next()
		switch {
		case typ == "result":
			var r resultOut
			if err := json.Unmarshal(data, &r); err != nil {
				c.t.Fatal(err)
			}
			if int(r.ID) == id {
				errText, done = r.Error, true
				if errText != "" {
					return errText, nil
				}
			}
		case typ == want && got == nil && ok(data):
			got = data
		}
	}
	return errText, got
}

func currentIs(pred func(string) bool) func([]byte) bool {
	return func(data []byte) bool {
		var cur currentOut
		return json.Unmarshal(data, &cur) == nil && pred(cur.Conv)
	}
}

// Clicks and keys reach the core as typed requests, not as typed
// commands: a room by name, a private chat by code only, a chat with a
// room's member by name, and leaving a conversation.
func TestTypedRequests(t *testing.T) {
	ts := startServer(t)
	ann, _ := helloClient(t, ts, "ann")
	_, benHi := helloClient(t, ts, "ben")

	if err, _ := ann.request(map[string]any{"type": "join", "id": 1, "room": "#garden"}, "current",
		currentIs(func(c string) bool { return c == "#garden" })); err != "" {
		t.Fatalf("join: %s", err)
	}

	// The code field opens private chats only: a room name and a
	// "code with a password" are refused, and no room appears.
	for i, text := range []string{"projects", "VAJ8 C053"} {
		if err, _ := ann.request(map[string]any{"type": "open-code", "id": 10 + i, "code": text}, "", nil); err == "" {
			t.Fatalf("open %q was taken", text)
		}
	}
	ann.send(map[string]any{"type": "rooms"})
	var rooms roomsOut
	ann.expect("rooms", &rooms)
	for _, r := range rooms.Rooms {
		if r.Name != "#lobby" && r.Name != "#garden" {
			t.Fatalf("the code field created room %s", r.Name)
		}
	}

	err, data := ann.request(map[string]any{"type": "open-code", "id": 20, "code": strings.ToLower(benHi.Code)}, "current",
		currentIs(func(c string) bool { return strings.HasPrefix(c, "@") }))
	if err != "" {
		t.Fatalf("open by code: %s", err)
	}
	var cur currentOut
	json.Unmarshal(data, &cur)

	err, data = ann.request(map[string]any{"type": "leave", "id": 30, "conv": cur.Conv}, "conv-closed", func([]byte) bool { return true })
	if err != "" {
		t.Fatalf("leave: %s", err)
	}
	var closed convClosedOut
	json.Unmarshal(data, &closed)
	if closed.Conv != cur.Conv || !closed.ByYou {
		t.Fatalf("leaving the private chat closed %q, by you: %v", closed.Conv, closed.ByYou)
	}

	if err, _ := ann.request(map[string]any{"type": "dm", "id": 40, "name": "ben"}, "current",
		currentIs(func(c string) bool { return strings.HasPrefix(c, "@") })); err != "" {
		t.Fatalf("dm: %s", err)
	}
}
