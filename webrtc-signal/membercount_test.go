package webrtcsignal

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"parley/core"
	"parley/internal/testkit"
)

// bigRoomConfig makes every room of more than one member a big one: no
// join notices, and member counts instead of each join and leave.
func bigRoomConfig() core.Config {
	cfg := core.DefaultConfig()
	cfg.Limits.JoinNoticesUpTo = 1
	cfg.Limits.MemberEventsUpTo = 1
	cfg.Limits.MemberCountInterval = 20 * time.Millisecond
	return cfg
}

// Browsers in a big room hear how many they are, not of each arrival, and
// a message still reaches all of them.
func TestBrowsersInABigRoomGetMemberCounts(t *testing.T) {
	ts := startServerWith(t, bigRoomConfig())
	const browsers = 6
	clients := make([]*wsClient, browsers)
	for i := range clients {
		clients[i], _ = helloClient(t, ts, fmt.Sprintf("crowd%02d", i))
	}
	first := clients[0]
	// untilCount reads first's frames up to a member count of want; a
	// join or leave told one by one fails the test.
	untilCount := func(want int) {
		t.Helper()
		for {
			typ, data := first.next()
			switch typ {
			case "member-joined", "member-left":
				t.Fatalf("a big room told of one member: %s", data)
			case "member-count":
				var m memberCountOut
				if err := json.Unmarshal(data, &m); err != nil {
					t.Fatal(err)
				}
				if m.Conv != "#lobby" {
					t.Fatalf("count of another room: %s", data)
				}
				if m.Count == want {
					return
				}
			}
		}
	}
	untilCount(browsers)
	clients[browsers-1].ws.Close()
	untilCount(browsers - 1)
	clients[1].send(map[string]any{"type": "input", "id": 1, "text": "hello crowd"})
	for i, c := range clients[:browsers-1] {
		var m messageOut
		c.expect("message", &m)
		if m.Msg.Text != "hello crowd" {
			t.Fatalf("browser %d got %+v", i, m.Msg)
		}
	}
}

// The page shows a big room's count as it changes, and its members
// panel catches up with who is there.
func TestPageFollowsABigRoomsCount(t *testing.T) {
	ts := startServerWith(t, bigRoomConfig())
	browser := testkit.Chromium(t)
	page := testkit.OpenPage(t, browser, "watcher", ts.url)
	page.Code()
	page.WaitJS("the lobby", `document.getElementById('conv-desc').textContent.endsWith(' · 1 here')`)
	var crowd []*core.Session
	for i := range 3 {
		s, err := ts.hub.Connect(core.ConnectInfo{LoginName: fmt.Sprintf("guest%d", i), Transport: "ssh", IP: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close("")
		crowd = append(crowd, s)
	}
	page.WaitJS("a count of 4", `document.getElementById('conv-desc').textContent.endsWith(' · 4 here')`)
	page.WaitJS("the guests listed", `['guest0', 'guest1', 'guest2'].every(n => [...document.querySelectorAll('#member-list li')].some(li => li.textContent.includes(n)))`)
	crowd[1].Close("")
	page.WaitJS("a count of 3", `document.getElementById('conv-desc').textContent.endsWith(' · 3 here')`)
	page.WaitJS("guest1 gone from the list", `![...document.querySelectorAll('#member-list li')].some(li => li.textContent.includes('guest1'))`)
}
