package sshui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"parley/core"
	"parley/internal/testkit"
)

// In a room above member_events_up_to, arrivals and departures come as a
// member count now and then: the header and the members panel follow it.
func TestBigRoomCountReachesTheScreen(t *testing.T) {
	ts := startServer(t, func(c *core.Config) {
		c.Limits.JoinNoticesUpTo = 1
		c.Limits.MemberEventsUpTo = 1
		c.Limits.MemberCountInterval = 50 * time.Millisecond
	}, nil)
	alice := testkit.Dial(t, ts.addr, "alice", 100, 30)
	alice.WaitFor("#lobby · 1 member")
	alice.Press(testkit.F2)
	alice.WaitFor("Members (1)")
	crowd := make([]*core.Session, 4)
	for i := range crowd {
		crowd[i] = coreUser(t, ts.hub, fmt.Sprintf("guest%d", i))
	}
	s := alice.WaitFor("#lobby · 5 members")
	alice.WaitFor("Members (5)")
	if strings.Contains(s, "guest0 joined") {
		t.Fatalf("a big room posted a join notice:\n%s", s)
	}
	alice.WaitFor("guest3")
	crowd[3].Close("")
	crowd[2].Close("")
	alice.WaitFor("#lobby · 3 members")
	alice.WaitFor("Members (3)")
	alice.WaitGone("guest3")
}
