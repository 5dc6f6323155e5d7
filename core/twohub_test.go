package core

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// testSequencer is a test-only cluster: it orders the entries that two or
// more hubs append and hands each hub every entry in that order over a
// link of its own, which a test can hold back. It proves that the seam
// (Log, Directory, Apply) carries everything users of several hubs see.
type testSequencer struct {
	mu    sync.Mutex
	order []Entry
	wake  *sync.Cond
	links []*testLink
	done  bool
}

// testLink feeds one hub. While blocked, entries wait for it, the way a
// stalled network connection would hold them.
type testLink struct {
	seq     *testSequencer
	h       *Hub
	next    int
	blocked bool
	stopped chan struct{}
}

func newTestSequencer() *testSequencer {
	s := &testSequencer{}
	s.wake = sync.NewCond(&s.mu)
	return s
}

// testNodeLog is one node's view of the sequencer: Append only queues.
type testNodeLog struct{ seq *testSequencer }

func (l testNodeLog) Append(e Entry) {
	l.seq.mu.Lock()
	l.seq.order = append(l.seq.order, e)
	l.seq.wake.Broadcast()
	l.seq.mu.Unlock()
}

// slowDirectory is a shared directory whose answers take a while, as a
// network directory's would.
type slowDirectory struct {
	*localDirectory
	delay time.Duration
}

func (d slowDirectory) Claim(ctx context.Context, k ClaimKind, key string, o Owner) error {
	time.Sleep(d.delay)
	return d.localDirectory.Claim(ctx, k, key, o)
}

// addHub starts a hub named node on the sequencer.
func (s *testSequencer) addHub(t *testing.T, node string, dir Directory, mutate ...func(*Config)) (*Hub, *testLink) {
	t.Helper()
	cfg := DefaultConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	h, err := NewHub(cfg, WithCluster(node, node+"-1", testNodeLog{s}, dir))
	if err != nil {
		t.Fatal(err)
	}
	return h, s.join(t, h)
}

// join feeds h every entry, in order, until the test ends.
func (s *testSequencer) join(t *testing.T, h *Hub) *testLink {
	l := &testLink{seq: s, h: h, stopped: make(chan struct{})}
	s.mu.Lock()
	s.links = append(s.links, l)
	s.mu.Unlock()
	go l.run()
	t.Cleanup(func() {
		s.mu.Lock()
		s.done = true
		s.wake.Broadcast()
		s.mu.Unlock()
		<-l.stopped
		h.Stop()
	})
	return l
}

func (l *testLink) run() {
	defer close(l.stopped)
	s := l.seq
	for {
		s.mu.Lock()
		for !s.done && (l.blocked || l.next == len(s.order)) {
			s.wake.Wait()
		}
		if s.done {
			s.mu.Unlock()
			return
		}
		e := s.order[l.next]
		l.next++
		s.mu.Unlock()
		l.h.Apply(e)
	}
}

func (l *testLink) setBlocked(b bool) {
	l.seq.mu.Lock()
	l.blocked = b
	l.seq.wake.Broadcast()
	l.seq.mu.Unlock()
}

func connectTo(t *testing.T, h *Hub, login string) *Session {
	t.Helper()
	s, err := h.Connect(ConnectInfo{LoginName: login, Transport: "ssh", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close("") })
	return s
}

func TestTwoHubsShareRoomsPrivateChatsAndNames(t *testing.T) {
	seq := newTestSequencer()
	dir := slowDirectory{newLocalDirectory(), time.Millisecond}
	a, _ := seq.addHub(t, "a", dir)
	b, _ := seq.addHub(t, "b", dir)

	alice := connectTo(t, a, "alice")
	bob := connectTo(t, b, "bob")
	waitFor(t, alice, "bob joins the lobby", func(ev Event) bool {
		return ev.Kind == EventMemberJoined && ev.Member.Name == "bob"
	})

	// Names are one namespace: the second alice, on the other hub, is
	// given another name.
	alice2 := connectTo(t, b, "alice")
	if alice2.Name() == "alice" {
		t.Fatal("two users called alice on two hubs")
	}

	// A room: each line reaches both hubs, in one order.
	for i := range 3 {
		if err := alice.Input(fmt.Sprintf("from a %d", i)); err != nil {
			t.Fatal(err)
		}
		if err := bob.Input(fmt.Sprintf("from b %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	onA, onB := chatLines(t, alice, 6), chatLines(t, bob, 6)
	if strings.Join(onA, "|") != strings.Join(onB, "|") {
		t.Fatalf("the hubs disagree on the order:\n a: %q\n b: %q", onA, onB)
	}

	// /list on a shows the member on b.
	if err := alice.Input("/list"); err != nil {
		t.Fatal(err)
	}
	list := waitFor(t, alice, "/list", func(ev Event) bool { return ev.Kind == EventInfo })
	if !strings.Contains(strings.Join(list.Lines, "\n"), "bob") {
		t.Fatalf("/list on a misses bob: %q", list.Lines)
	}

	// A private chat by code across the hubs, both ways.
	if err := alice.Input("/join " + bob.Code()); err != nil {
		t.Fatal(err)
	}
	opened := waitFor(t, bob, "the private chat", func(ev Event) bool {
		return ev.Kind == EventConvOpened && ev.View.Kind == Private
	})
	if opened.View.Title != "alice" {
		t.Fatalf("bob's private chat is titled %q", opened.View.Title)
	}
	waitFor(t, alice, "alice in the private chat", func(ev Event) bool {
		return ev.Kind == EventCurrent && ev.Conv == opened.Conv
	})
	if err := alice.Input("psst"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, "alice's private line", message("psst"))
	if err := bob.Send(opened.Conv, "hi alice"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, "bob's private line", message("hi alice"))

	// Leaving is seen on the other hub, and frees the name everywhere.
	bob.Close("")
	waitFor(t, alice, "bob leaves", func(ev Event) bool {
		return ev.Kind == EventConvClosed && ev.Conv == opened.Conv
	})
	bob2 := connectTo(t, a, "bob")
	if bob2.Name() != "bob" {
		t.Fatalf("the name bob is still held: the new user is %q", bob2.Name())
	}
}

// A link that stops carrying entries to one hub stalls no one: users of
// the other hub go on chatting, and the stalled hub's own users are not
// held up when they type.
func TestBlockedLinkStallsNoOne(t *testing.T) {
	seq := newTestSequencer()
	dir := newLocalDirectory()
	unlimited := func(c *Config) { c.Limits.RateBurst, c.Limits.RatePerSec = 1000, 1000 }
	a, _ := seq.addHub(t, "a", dir, unlimited)
	b, linkB := seq.addHub(t, "b", dir, unlimited)
	alice, ann := connectTo(t, a, "alice"), connectTo(t, a, "ann")
	bob := connectTo(t, b, "bob")
	waitFor(t, ann, "bob joins", func(ev Event) bool { return ev.Kind == EventMemberJoined && ev.Member.Name == "bob" })
	waitFor(t, bob, "bob in the lobby", func(ev Event) bool { return ev.Kind == EventCurrent })

	linkB.setBlocked(true)
	for i := range 50 {
		if err := alice.Input(fmt.Sprintf("line %d", i)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ann, "the line on a", message(fmt.Sprintf("line %d", i)))
	}
	// bob's typing returns at once even though nothing reaches b.
	done := make(chan error, 1)
	go func() { done <- bob.Input("are you there?") }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a blocked link held up bob's input")
	}
	waitFor(t, ann, "bob's line on a", message("are you there?"))

	linkB.setBlocked(false)
	waitFor(t, bob, "the last line once b catches up", message("line 49"))
}

// chatLines collects the next n chat lines s receives, in order.
func chatLines(t *testing.T, s *Session, n int) []string {
	t.Helper()
	var lines []string
	deadline := time.After(5 * time.Second)
	for len(lines) < n {
		for _, ev := range s.Outbox().Drain() {
			if ev.Kind == EventMessage && ev.Msg.Kind == Text {
				lines = append(lines, ev.Msg.Text)
			}
		}
		if len(lines) >= n {
			break
		}
		select {
		case <-s.Outbox().Ready():
		case <-deadline:
			t.Fatalf("%s: %d of %d lines: %q", s.Name(), len(lines), n, lines)
		}
	}
	return lines
}

// Every node's monitor shows the whole cluster: arrivals and room lines of
// another node's users too, under the same privacy rules.
func TestMonitorShowsOtherNodesUsers(t *testing.T) {
	seq := newTestSequencer()
	dir := newLocalDirectory()
	a, rec := newObservedHub(t, nil, WithCluster("a", "a-1", testNodeLog{seq}, dir))
	seq.join(t, a)
	b, _ := seq.addHub(t, "b", dir)
	alice := connectTo(t, a, "alice")
	bob := connectTo(t, b, "bob")
	waitFor(t, alice, "bob joins", func(ev Event) bool { return ev.Kind == EventMemberJoined && ev.Member.Name == "bob" })
	if err := bob.Input("hello from b"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, alice, "bob's line", message("hello from b"))
	// The observer hears of an operation right after the hub is released,
	// so a moment after alice saw the line.
	for _, want := range []string{
		fmt.Sprintf("%d >bob ssh  ", MonitorConnected),
		fmt.Sprintf("%d >bob ssh #lobby hello from b", MonitorMessage),
	} {
		deadline := time.Now().Add(5 * time.Second)
		for !rec.has(want) {
			if time.Now().After(deadline) {
				t.Fatalf("a's monitor lacks %q:\n%s", want, strings.Join(rec.lines(), "\n"))
			}
			time.Sleep(time.Millisecond)
		}
	}
	rec.mu.Lock()
	started := rec.started[SSH]
	rec.mu.Unlock()
	if started != 1 {
		t.Errorf("a's metrics count %d sessions started, want its own 1", started)
	}
}

// /msg to someone on another node with no chat yet: the line follows the
// opening in the log and reaches them, though the opening is applied
// only later.
func TestMsgAcrossHubsOpensTheChatFirst(t *testing.T) {
	seq := newTestSequencer()
	dir := newLocalDirectory()
	a, _ := seq.addHub(t, "a", dir)
	b, _ := seq.addHub(t, "b", dir)
	alice := connectTo(t, a, "alice")
	bob := connectTo(t, b, "bob")
	waitFor(t, alice, "bob joins", func(ev Event) bool { return ev.Kind == EventMemberJoined && ev.Member.Name == "bob" })
	if err := alice.Input("/msg bob psst"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, "alice's private line", func(ev Event) bool {
		return ev.Kind == EventMessage && ev.Msg.Text == "psst" && strings.HasPrefix(ev.Msg.Conv, "@")
	})
}

// A tab that comes back through another hub takes its user there: the
// same code, name and private chat, no leave or join for the others, the
// old hub's connection told it was taken over, and the name and code held
// for the new hub, so that the old hub's end does not end the user.
func TestResumeMovesAUserToAnotherHub(t *testing.T) {
	seq := newTestSequencer()
	dir := newLocalDirectory()
	a, recA := newObservedHub(t, nil, WithCluster("a", "a-1", testNodeLog{seq}, dir))
	seq.join(t, a)
	b, recB := newObservedHub(t, nil, WithCluster("b", "b-1", testNodeLog{seq}, dir))
	seq.join(t, b)
	taken := make(chan string, 1)
	alice, err := a.Connect(ConnectInfo{LoginName: "alice", Transport: Web, IP: "192.0.2.1", Disconnect: func(why string) { taken <- why }})
	if err != nil {
		t.Fatal(err)
	}
	bob := connectTo(t, b, "bob")
	waitFor(t, alice, "bob joins the lobby", func(ev Event) bool { return ev.Kind == EventMemberJoined && ev.Member.Name == "bob" })
	if err := bob.OpenCode(alice.Code()); err != nil {
		t.Fatal(err)
	}
	opened := waitFor(t, alice, "bob's private chat", func(ev Event) bool { return ev.Kind == EventConvOpened && ev.View.Kind == Private })
	secret := alice.ResumeSecret()
	key := sha256.Sum256([]byte(secret))
	waitResumable(t, b, key)

	moved, err := b.Resume(secret, ConnectInfo{Transport: Web, IP: "192.0.2.2"})
	if err != nil {
		t.Fatal(err)
	}
	if moved.Code() != alice.Code() || moved.Name() != "alice" || moved.ID() != alice.ID() {
		t.Fatalf("resumed on b as %s %s, was %s %s", moved.Name(), moved.Code(), alice.Name(), alice.Code())
	}
	select {
	case why := <-taken:
		if why != ReasonTakenOver {
			t.Fatalf("alice's connection on a was ended with %q", why)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("alice's connection on a was not ended")
	}
	if err := bob.Send(opened.Conv, "still there?"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, moved, "bob's line on b", message("still there?"))
	if err := moved.Send(opened.Conv, "yes, on b now"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, bob, "alice's line from b", message("yes, on b now"))
	for _, c := range []struct {
		kind ClaimKind
		key  string
	}{{ClaimCode, alice.Code()}, {ClaimName, NameKey("alice")}} {
		dir.mu.Lock()
		held := dir.claims[claimKey{c.kind, c.key}]
		dir.mu.Unlock()
		if held != (Owner{Node: "b", Incarnation: "b-1", User: alice.ID()}) {
			t.Fatalf("claim %q is held by %+v", c.key, held)
		}
	}

	// Each node counts the sessions it serves: alice's moved from a to b.
	counts := func(r *recorder) (started, ended, moved int) {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.started[Web], r.ended[Web], r.ends[EndMoved]
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		aStarted, aEnded, aMoved := counts(recA)
		bStarted, bEnded, _ := counts(recB)
		if aStarted == 1 && aEnded == 1 && aMoved == 1 && bStarted == 1 && bEnded == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("web sessions started/ended: a %d/%d (%d moved), b %d/%d; want a 1/1 (1 moved), b 1/0", aStarted, aEnded, aMoved, bStarted, bEnded)
		}
	}

	// The end of a's incarnation ends a's users, no longer alice.
	testNodeLog{seq}.Append(a.Lost("a", "a-1"))
	if err := bob.Send(opened.Conv, "and now?"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, moved, "bob's last line", message("and now?"))
	waitFor(t, bob, "bob's own last line", message("and now?"))
	for _, ev := range bob.Outbox().Drain() {
		if ev.Kind == EventConvClosed || ev.Kind == EventMemberLeft {
			t.Fatalf("bob saw alice go: %+v", ev)
		}
	}
}

// A node that starts from another's snapshot knows every user's resume
// secret, so a tab can come back through it too.
func TestSnapshotCarriesResumeSecrets(t *testing.T) {
	seq := newTestSequencer()
	dir := newLocalDirectory()
	a, _ := seq.addHub(t, "a", dir)
	alice, err := a.Connect(ConnectInfo{LoginName: "alice", Transport: Web, IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	secret := alice.ResumeSecret()
	key := sha256.Sum256([]byte(secret))
	waitResumable(t, a, key)
	snap, err := a.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewHub(DefaultConfig(), WithCluster("c", "c-1", testNodeLog{seq}, dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	if err := c.Restore(snap); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	u := c.resumable[key]
	c.unlock()
	if u == nil || u.id != alice.ID() {
		t.Fatalf("the restored node finds %v by alice's secret", u)
	}
}

// A user whose old node is declared lost after another node decided to
// take it, but before that move is applied, ends on every node alike:
// the taking node ends the session it began and gives back the name and
// code it moved.
func TestLostBeforeTheMoveEndsTheUserEverywhere(t *testing.T) {
	seq := newTestSequencer()
	dir := newLocalDirectory()
	a, _ := seq.addHub(t, "a", dir)
	b, linkB := seq.addHub(t, "b", dir)
	alice, err := a.Connect(ConnectInfo{LoginName: "alice", Transport: Web, IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	bob := connectTo(t, b, "bob")
	secret := alice.ResumeSecret()
	key := sha256.Sum256([]byte(secret))
	waitResumable(t, b, key)

	linkB.setBlocked(true)
	testNodeLog{seq}.Append(a.Lost("a", "a-1"))
	moved, err := b.Resume(secret, ConnectInfo{Transport: Web, IP: "192.0.2.2"})
	if err != nil {
		t.Fatal(err)
	}
	linkB.setBlocked(false)
	select {
	case <-moved.Outbox().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the session b began for alice did not end")
	}
	waitFor(t, bob, "alice leaves", func(ev Event) bool { return ev.Kind == EventMemberLeft && ev.Member.Name == "alice" })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		dir.mu.Lock()
		_, code := dir.claims[claimKey{ClaimCode, alice.Code()}]
		_, name := dir.claims[claimKey{ClaimName, NameKey("alice")}]
		dir.mu.Unlock()
		if !code && !name {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's code (%v) or name (%v) is still held", code, name)
		}
	}
}

// waitResumable waits until hub h has applied the resume secret whose
// hash is key.
func waitResumable(t *testing.T, h *Hub, key resumeKey) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		h.mu.Lock()
		known := h.resumable[key] != nil
		h.unlock()
		if known {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub %s never learnt the resume secret", h.node)
		}
	}
}
