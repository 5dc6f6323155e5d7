package core

import (
	"fmt"
	"testing"
	"time"
)

// A room above MemberEventsUpTo tells its members how many they are, a
// moment after people come and go, instead of one event per arrival; the
// joins and leaves that post a notice are still told one by one.
func TestBigRoomsSendMemberCounts(t *testing.T) {
	h := newTestHub(t, func(c *Config) {
		c.Limits.JoinNoticesUpTo = 2
		c.Limits.MemberEventsUpTo = 2
		c.Limits.MemberCountInterval = 10 * time.Millisecond
	})
	a, b, c, d := connect(t, h, "alice"), connect(t, h, "bob"), connect(t, h, "carol"), connect(t, h, "dave")
	for _, s := range []*Session{a, b, c, d} {
		if err := s.Input("/join #go"); err != nil {
			t.Fatal(err)
		}
	}
	// heard follows what alice hears of #go until ok says stop; no crowd
	// member may be announced one by one.
	heard := func(what string, ok func(Event) bool) {
		t.Helper()
		waitFor(t, a, what, func(ev Event) bool {
			if ev.Conv != "#go" {
				return false
			}
			if (ev.Kind == EventMemberJoined || ev.Kind == EventMemberLeft) && ev.Member.Name != "bob" {
				t.Fatalf("alice was told of %s one by one (event %d)", ev.Member.Name, ev.Kind)
			}
			return ok(ev)
		})
	}
	heard("bob joining with a notice", func(ev Event) bool {
		return ev.Kind == EventMemberJoined && ev.Member.Name == "bob" && ev.Msg != nil && ev.Msg.Text == "bob joined"
	})
	heard("a count of 4", func(ev Event) bool { return ev.Kind == EventMemberCount && ev.N == 4 })
	if v := viewOf(t, a, "#go"); v.MemberCount != 4 {
		t.Fatalf("the view counts %d members, want 4", v.MemberCount)
	}
	c.Close("quit")
	d.Close("quit")
	heard("a count of 2", func(ev Event) bool { return ev.Kind == EventMemberCount && ev.N == 2 })
	b.Close("quit")
	heard("bob leaving with a notice", func(ev Event) bool {
		return ev.Kind == EventMemberLeft && ev.Member.Name == "bob" && ev.Msg != nil && ev.Msg.Text == "bob left (quit)"
	})
}

// However fast a crowd arrives, each member gets at most one count per
// MemberCountInterval, and the last one is right.
func TestMemberCountsAreRateBound(t *testing.T) {
	const interval, crowd = 50 * time.Millisecond, 60
	h := newTestHub(t, func(c *Config) {
		c.Limits.JoinNoticesUpTo = 1
		c.Limits.MemberEventsUpTo = 1
		c.Limits.MemberCountInterval = interval
	})
	a := connect(t, h, "alice")
	a.Outbox().Drain()
	start := time.Now()
	for i := range crowd {
		connect(t, h, fmt.Sprintf("guest%02d", i))
	}
	counts := 0
	waitFor(t, a, "the whole crowd counted", func(ev Event) bool {
		switch ev.Kind {
		case EventMemberJoined, EventMemberLeft:
			t.Fatalf("alice was told of %s one by one", ev.Member.Name)
		case EventMemberCount:
			counts++
		}
		return ev.Kind == EventMemberCount && ev.N == crowd+1
	})
	if most := int(time.Since(start)/interval) + 1; counts > most {
		t.Fatalf("%d counts within %s, at most %d allowed", counts, time.Since(start), most)
	}
}

// MemberEventsUpTo = 0 tells every join one by one, as before.
func TestMemberEventsForEveryRoomWhenUnlimited(t *testing.T) {
	h := newTestHub(t, func(c *Config) {
		c.Limits.JoinNoticesUpTo = 1
		c.Limits.MemberEventsUpTo = 0
	})
	a := connect(t, h, "alice")
	connect(t, h, "bob")
	connect(t, h, "carol")
	waitFor(t, a, "carol joining", func(ev Event) bool {
		if ev.Kind == EventMemberCount {
			t.Fatal("a count was sent with MemberEventsUpTo = 0")
		}
		return ev.Kind == EventMemberJoined && ev.Member.Name == "carol" && ev.Msg == nil
	})
}

func TestMemberCountIntervalIsChecked(t *testing.T) {
	for _, d := range []time.Duration{0, time.Millisecond, time.Minute} {
		cfg := DefaultConfig()
		cfg.Limits.MemberCountInterval = d
		if err := cfg.Validate(); err == nil {
			t.Errorf("member_count_interval %s was accepted", d)
		}
	}
}
