package core

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newClockHub(t *testing.T, mutate ...func(*Config)) (*Hub, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	cfg := DefaultConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	h, err := NewHub(cfg, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Stop)
	return h, clock
}

func info(t *testing.T, s *Session, title string) Event {
	t.Helper()
	return waitFor(t, s, "info "+title, func(ev Event) bool { return ev.Kind == EventInfo && strings.Contains(ev.Text, title) })
}

func TestRoomOfThree(t *testing.T) {
	h := newTestHub(t)
	a, b, c := connect(t, h, "alice"), connect(t, h, "bob"), connect(t, h, "carol")
	for _, s := range []*Session{a, b, c} {
		if err := s.Input("/join #go"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, a, "carol joined", func(ev Event) bool { return ev.Kind == EventMemberJoined && ev.Member.Name == "carol" })
	if err := b.Input("hello gophers"); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Session{a, b, c} {
		got := waitFor(t, s, "bob's message", message("hello gophers"))
		if got.Conv != "#go" || got.Msg.From.Name != "bob" {
			t.Fatalf("%s got %+v", s.Name(), got.Msg)
		}
	}
	if err := c.Input("/list"); err != nil {
		t.Fatal(err)
	}
	list := info(t, c, "3 in #go")
	if strings.Join(list.Lines, ",") != "alice  [ssh],bob  [ssh],carol (you)  [ssh]" {
		t.Fatalf("/list shows %q", list.Lines)
	}
}

func TestRenameIsSeen(t *testing.T) {
	h := newTestHub(t)
	a, b := connect(t, h, "alice"), connect(t, h, "bob")
	if err := a.Input("/name alicia"); err != nil {
		t.Fatal(err)
	}
	ev := waitFor(t, b, "rename", func(ev Event) bool { return ev.Kind == EventRenamed })
	if ev.Text != "alice" || ev.Member.Name != "alicia" || ev.Msg.Text != "alice is now alicia" {
		t.Fatalf("rename event %+v %+v", ev, ev.Msg)
	}
	waitFor(t, a, "own rename", func(ev Event) bool { return ev.Kind == EventSelf && ev.Member.Name == "alicia" })
	if err := b.Input("/name ALICIA"); err == nil {
		t.Fatal("a taken name was accepted")
	}
	// The old name is free again.
	if err := b.Input("/name alice"); err != nil {
		t.Fatal(err)
	}
}

func TestLeavesAreAnnounced(t *testing.T) {
	h := newTestHub(t)
	a, b, c := connect(t, h, "alice"), connect(t, h, "bob"), connect(t, h, "carol")
	if err := a.Input("/join " + b.Code()); err != nil {
		t.Fatal(err)
	}
	a.Close("connection lost")
	waitFor(t, c, "alice left the room", func(ev Event) bool {
		return ev.Kind == EventMemberLeft && ev.Msg.Text == "alice left (connection lost)"
	})
	closed := waitFor(t, b, "private chat ended", func(ev Event) bool { return ev.Kind == EventConvClosed && strings.HasPrefix(ev.Conv, "@") })
	if closed.Text != "alice left the private chat (connection lost)" {
		t.Fatalf("bob was told %q", closed.Text)
	}
	if users, _, privates := h.Counts(); users != 2 || privates != 0 {
		t.Fatalf("after the leave: %d users, %d private chats", users, privates)
	}
	if err := c.Input("/quit"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, b, "carol quit", func(ev Event) bool { return ev.Kind == EventMemberLeft && ev.Msg.Text == "carol left (quit)" })
	select {
	case <-c.Outbox().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("/quit did not end the session")
	}
}

func TestFloodWarnsThenMutesThenDisconnects(t *testing.T) {
	h, clock := newClockHub(t)
	kicked := make(chan string, 1)
	s, err := h.Connect(ConnectInfo{LoginName: "flood", Transport: "ssh", Disconnect: func(r string) { kicked <- r }})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if err := s.Input("burst"); err != nil {
			t.Fatalf("message %d of the burst refused: %v", i, err)
		}
	}
	for i := 0; i < 3; i++ {
		if err := s.Input("more"); err == nil || !strings.Contains(err.Error(), "slow down") {
			t.Fatalf("warning %d: %v", i, err)
		}
	}
	if err := s.Input("more"); err == nil || !strings.Contains(err.Error(), "muted for 30s") {
		t.Fatalf("no mute: %v", err)
	}
	clock.Add(10 * time.Second)
	if err := s.Input("still"); err == nil || !strings.Contains(err.Error(), "muted") || !strings.Contains(err.Error(), "20s left") {
		t.Fatalf("muted user could send: %v", err)
	}
	for i := 0; i < 20; i++ {
		_ = s.Input("still")
	}
	select {
	case r := <-kicked:
		if !strings.Contains(r, "flooding") {
			t.Fatalf("kicked for %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a flooder who kept going while muted was not disconnected")
	}
}

func TestPasteOfAFewLinesIsFine(t *testing.T) {
	h, clock := newClockHub(t)
	s := connect(t, h, "paster")
	for round := 0; round < 5; round++ {
		for i := 0; i < 8; i++ {
			if err := s.Input("line"); err != nil {
				t.Fatalf("round %d line %d: %v", round, i, err)
			}
		}
		clock.Add(5 * time.Second)
	}
}

func TestSlowSessionMissesThenIsCutOff(t *testing.T) {
	h, clock := newClockHub(t, func(c *Config) { c.Limits.OutboxSize = 16; c.Limits.SlowTimeout = 5 * time.Second })
	kicked := make(chan string, 1)
	slow, err := h.Connect(ConnectInfo{LoginName: "slow", Transport: "ssh", Disconnect: func(r string) { kicked <- r }})
	if err != nil {
		t.Fatal(err)
	}
	fast := connect(t, h, "fast")
	talk := func(n int) {
		for i := 0; i < n; i++ {
			clock.Add(time.Second)
			if err := fast.Input("tick"); err != nil {
				t.Fatal(err)
			}
			fast.Outbox().Drain()
		}
	}
	talk(20)
	evs := slow.Outbox().Drain()
	if last := evs[len(evs)-1]; last.Kind != EventMissed || last.N == 0 {
		t.Fatalf("a full outbox did not report missed events: %+v", last)
	}
	talk(30)
	select {
	case r := <-kicked:
		if !strings.Contains(r, "too slow") {
			t.Fatalf("kicked for %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a session that stayed behind was not cut off")
	}
	if users, _, _ := h.Counts(); users != 1 {
		t.Fatalf("%d users after the cut-off", users)
	}
}

func TestRoomPasswordsLimitsAndVisibility(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("sesame"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	h := newTestHub(t, func(c *Config) {
		c.Rooms = append(c.Rooms,
			RoomConfig{Name: "vault", PasswordHash: string(hash), Description: "locked"},
			RoomConfig{Name: "secret", Hidden: true},
			RoomConfig{Name: "tiny", MaxMembers: 1})
	})
	a, b := connect(t, h, "alice"), connect(t, h, "bob")
	if err := a.Input("/join #vault"); err == nil || !strings.Contains(err.Error(), "needs a password") {
		t.Fatalf("no password: %v", err)
	}
	if err := a.Input("/join #vault wrong"); err == nil || !strings.Contains(err.Error(), "wrong password") {
		t.Fatalf("wrong password: %v", err)
	}
	if err := a.Input("/join #vault sesame"); err != nil {
		t.Fatal(err)
	}
	if err := a.Input("/join tiny"); err != nil {
		t.Fatal(err)
	}
	if err := b.Input("/join #tiny"); err == nil || !strings.Contains(err.Error(), "full (1/1)") {
		t.Fatalf("full room: %v", err)
	}
	if err := b.Input("/rooms"); err != nil {
		t.Fatal(err)
	}
	rooms := strings.Join(info(t, b, "Rooms").Lines, "\n")
	if strings.Contains(rooms, "#secret") || !strings.Contains(rooms, "[password]") || !strings.Contains(rooms, "1/1") {
		t.Fatalf("/rooms shows:\n%s", rooms)
	}
	if err := b.Input("/join #secret"); err != nil {
		t.Fatalf("hidden rooms can be joined by name: %v", err)
	}
}

func TestUserRoomsVanishWhenEmpty(t *testing.T) {
	h := newTestHub(t)
	a := connect(t, h, "alice")
	if err := a.Input("/join #pop-up"); err != nil {
		t.Fatal(err)
	}
	if _, rooms, _ := h.Counts(); rooms != 2 {
		t.Fatalf("%d rooms", rooms)
	}
	if err := a.Input("/leave"); err != nil {
		t.Fatal(err)
	}
	if _, rooms, _ := h.Counts(); rooms != 1 {
		t.Fatalf("the empty user room is still there: %d rooms", rooms)
	}
	off := newTestHub(t, func(c *Config) { c.AllowUserRooms = false })
	b := connect(t, off, "bob")
	if err := b.Input("/join #new"); err == nil || !strings.Contains(err.Error(), "does not let users create rooms") {
		t.Fatalf("room creation while disabled: %v", err)
	}
}

func TestBlockHidesMessagesAndRequests(t *testing.T) {
	h := newTestHub(t)
	a, b, c := connect(t, h, "alice"), connect(t, h, "bob"), connect(t, h, "carol")
	if err := a.Input("/block bob"); err != nil {
		t.Fatal(err)
	}
	if err := b.Input("spam from bob"); err != nil {
		t.Fatal(err)
	}
	if err := c.Input("hi from carol"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, "bob's line reached carol", message("spam from bob"))
	waitFor(t, a, "carol's line", func(ev Event) bool {
		if ev.Kind == EventMessage && ev.Msg.Text == "spam from bob" {
			t.Fatal("alice saw a blocked user's message")
		}
		return ev.Kind == EventMessage && ev.Msg.Text == "hi from carol"
	})
	if err := b.Input("/join " + a.Code()); err == nil || !strings.Contains(err.Error(), "no one online") {
		t.Fatalf("a blocked user opened a chat: %v", err)
	}
	if err := a.Input("/unblock BOB"); err != nil {
		t.Fatal(err)
	}
}

func TestDMSwitchAndHome(t *testing.T) {
	h := newTestHub(t)
	a := connect(t, h, "alice")
	connect(t, h, "bob")
	if err := a.Input("/dm Bob"); err != nil {
		t.Fatal(err)
	}
	if v := a.Snapshot(); len(v.Convs) != 2 || !strings.HasPrefix(v.Current, "@") {
		t.Fatalf("after /dm: %d conversations, current %q", len(v.Convs), v.Current)
	}
	if err := a.Input("/switch #lobby"); err != nil {
		t.Fatal(err)
	}
	if err := a.Input("/switch bob"); err != nil {
		t.Fatal(err)
	}
	if err := a.Input(":q"); err != nil {
		t.Fatal(err)
	}
	if cur := a.Snapshot().Current; cur != "" {
		t.Fatalf(":q left %q current", cur)
	}
	if err := a.Input("lost words"); err != ErrNoConversation {
		t.Fatalf("a message with no conversation: %v", err)
	}
}

func TestHistoryIsBoundedAndReplayed(t *testing.T) {
	h, clock := newClockHub(t, func(c *Config) { c.Limits.History = 5 })
	a := connect(t, h, "alice")
	for i := 0; i < 12; i++ {
		clock.Add(time.Second)
		if err := a.Input(strings.Repeat("x", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	b := connect(t, h, "bob")
	view := waitFor(t, b, "lobby view", func(ev Event) bool { return ev.Kind == EventConvOpened }).View
	if len(view.History) != 5 || view.History[4].Text != "bob joined" || view.History[3].Text != strings.Repeat("x", 12) {
		t.Fatalf("history: %d messages, last %q", len(view.History), view.History[len(view.History)-1].Text)
	}
	for i := 1; i < len(view.History); i++ {
		if view.History[i].Seq <= view.History[i-1].Seq {
			t.Fatal("history out of order")
		}
	}
}

func TestDrainingRefusesNewSessions(t *testing.T) {
	h := newTestHub(t)
	a := connect(t, h, "alice")
	h.SetDraining()
	h.Announce("going down")
	waitFor(t, a, "notice", func(ev Event) bool { return ev.Kind == EventNotice && ev.Text == "going down" })
	if _, err := h.Connect(ConnectInfo{LoginName: "late"}); err != ErrDraining {
		t.Fatalf("connect while draining: %v", err)
	}
	h.CloseAll("server stopped")
	waitFor(t, a, "closing", func(ev Event) bool { return ev.Kind == EventClosing && ev.Text == "server stopped" })
}

// A room bigger than JoinNoticesUpTo counts arrivals and departures but
// posts no notices, so a crowd coming in does not drown the talk.
func TestBigRoomsPostNoJoinNotices(t *testing.T) {
	h, _ := newClockHub(t, func(c *Config) { c.Limits.JoinNoticesUpTo = 2 })
	a, b, c := connect(t, h, "alice"), connect(t, h, "bob"), connect(t, h, "carol")
	for _, s := range []*Session{a, b, c} {
		if err := s.Input("/join #go"); err != nil {
			t.Fatal(err)
		}
	}
	c.Close("quit")
	b.Close("quit")
	// What alice hears of #go: who came and went, and which was posted.
	var heard []string
	waitFor(t, a, "bob leaving #go", func(ev Event) bool {
		if ev.Conv != "#go" || (ev.Kind != EventMemberJoined && ev.Kind != EventMemberLeft) {
			return false
		}
		posted := "-"
		if ev.Msg != nil {
			posted = ev.Msg.Text
		}
		heard = append(heard, ev.Member.Name+":"+posted)
		return ev.Kind == EventMemberLeft && ev.Member.Name == "bob"
	})
	want := "bob:bob joined|carol:-|carol:-|bob:bob left (quit)"
	if got := strings.Join(heard, "|"); got != want {
		t.Fatalf("alice heard %s, want %s", got, want)
	}
	v := viewOf(t, a, "#go")
	var texts []string
	for _, m := range v.History {
		texts = append(texts, m.Text)
	}
	if got := strings.Join(texts, "|"); got != "alice joined|bob joined|bob left (quit)" {
		t.Fatalf("history: %s", got)
	}
}

// Wrong room passwords from several users of one address draw on the
// address's budget, as wrong codes do: a fresh session from it cannot
// guess again, not even the right password, while another address can.
func TestWrongPasswordsArePerAddressToo(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("sesame"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	h := newTestHub(t, func(c *Config) {
		c.Rooms = append(c.Rooms, RoomConfig{Name: "vault", PasswordHash: string(hash)})
	})
	budget := h.cfg.Limits.WrongCodes
	for i := 0; i < budget; i++ {
		s := connectFrom(t, h, fmt.Sprintf("guesser%d", i), "198.51.100.9:4000")
		if err := s.Input("/join #vault guess" + strconv.Itoa(i)); err == nil || !strings.Contains(err.Error(), "wrong password") {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	fresh := connectFrom(t, h, "fresh", "198.51.100.9:4001")
	if err := fresh.Input("/join #vault sesame"); err == nil || !strings.Contains(err.Error(), "from your address") {
		t.Fatalf("a session from the same address got another guess after %d wrong ones: %v", budget, err)
	}
	elsewhere := connectFrom(t, h, "elsewhere", "203.0.113.5:4000")
	if err := elsewhere.Input("/join #vault sesame"); err != nil {
		t.Fatalf("another address is limited too: %v", err)
	}
}
