package webrtcsignal

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/core"
)

// fakeEndpoint records what the registry sends to one browser.
type fakeEndpoint struct {
	mu   sync.Mutex
	msgs []any
}

func (e *fakeEndpoint) deliver(m any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.msgs = append(e.msgs, m)
}

// waitDelivery waits until something was delivered, for at most 10 s:
// the caller's next check fails if nothing came.
func (e *fakeEndpoint) waitDelivery() {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		e.mu.Lock()
		n := len(e.msgs)
		e.mu.Unlock()
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// take returns and forgets what was delivered.
func (e *fakeEndpoint) take() []any {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.msgs
	e.msgs = nil
	return m
}

// fakeHub records what terminal users were told and the lines left in
// private chats.
type fakeHub struct {
	mu        sync.Mutex
	notes     map[uint64][]string
	chatLines []string // "conv: text"
	stages    []core.CallStage
}

func (h *fakeHub) CallNote(conv, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.chatLines = append(h.chatLines, conv+": "+text)
}

// lines returns and forgets the lines left in private chats.
func (h *fakeHub) lines() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := strings.Join(h.chatLines, "; ")
	h.chatLines = nil
	return s
}

func (h *fakeHub) Inform(id uint64, title string, lines []string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.notes[id] = append(h.notes[id], title+": "+strings.Join(lines, "\n"))
	return true
}

func (h *fakeHub) ReportCall(stage core.CallStage) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stages = append(h.stages, stage)
}

// The fake hub is a single node.
func (h *fakeHub) Node() string            { return "" }
func (h *fakeHub) Elsewhere(uint64) string { return "" }
func (h *fakeHub) Relay(node string, _ uint64, _ string) {
	panic("relay to " + node + " from a single node")
}

func (h *fakeHub) told(id uint64) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.notes[id]
}

type callFixture struct {
	r   *registry
	hub *fakeHub
	eps map[uint64]*fakeEndpoint
}

var (
	ann   = core.Member{ID: 1, Name: "ann", Transport: "web"}
	ben   = core.Member{ID: 2, Name: "ben", Transport: "web"}
	cat   = core.Member{ID: 3, Name: "cat", Transport: "web"}
	tom   = core.Member{ID: 4, Name: "tom", Transport: "ssh"}
	clock = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
)

func newCallFixture(ring time.Duration) *callFixture {
	f := &callFixture{hub: &fakeHub{notes: map[uint64][]string{}}, eps: map[uint64]*fakeEndpoint{}}
	for _, m := range []core.Member{ann, ben, cat} {
		f.eps[m.ID] = &fakeEndpoint{}
	}
	f.r = newRegistry(callSettings{
		ringTimeout:    ring,
		linkTTL:        time.Hour,
		connectTimeout: 20 * time.Second,
		maxCandidates:  3,
		publicURL:      "https://chat.example.org",
		iceServers:     func(uint64) []iceServerJSON { return []iceServerJSON{{URLs: []string{"stun:stun.example.org"}}} },
	}, f.hub, func(id uint64) endpoint {
		if e, ok := f.eps[id]; ok {
			return e
		}
		return nil
	})
	f.r.now = func() time.Time { return clock }
	return f
}

// only returns the single message delivered to ep since the last look.
func only[T any](t *testing.T, ep *fakeEndpoint) T {
	t.Helper()
	msgs := ep.take()
	if len(msgs) != 1 {
		t.Fatalf("got %d messages %+v, want one %T", len(msgs), msgs, *new(T))
	}
	m, ok := msgs[0].(T)
	if !ok {
		t.Fatalf("got %T %+v, want %T", msgs[0], msgs[0], m)
	}
	return m
}

func (f *callFixture) ringing(t *testing.T) string {
	t.Helper()
	if err := f.r.Start("@1-2", ann, ben); err != nil {
		t.Fatal(err)
	}
	out := only[callOut](t, f.eps[ann.ID])
	in := only[callOut](t, f.eps[ben.ID])
	if out.Type != "call-ringing" || in.Type != "call-incoming" || out.Call != in.Call || in.Peer.Name != "ann" || out.Peer.Name != "ben" {
		t.Fatalf("ringing %+v, incoming %+v", out, in)
	}
	return in.Call
}

func (f *callFixture) active(t *testing.T) string {
	t.Helper()
	id := f.ringing(t)
	if err := f.r.accept(f.eps[ben.ID], id); err != nil {
		t.Fatal(err)
	}
	a := only[callStartOut](t, f.eps[ann.ID])
	b := only[callStartOut](t, f.eps[ben.ID])
	if a.Role != "offerer" || b.Role != "answerer" || len(a.ICEServers) != 1 || a.ConnectTimeout != 20000 || b.ConnectTimeout != 20000 {
		t.Fatalf("start %+v / %+v", a, b)
	}
	return id
}

func TestCallAcceptRelayAndHangUp(t *testing.T) {
	f := newCallFixture(time.Hour)
	id := f.active(t)
	annEP, benEP := f.eps[ann.ID], f.eps[ben.ID]

	if err := f.r.relay(annEP, sdpMsg{Type: "call-offer", Call: id, SDP: "offer"}); err != nil {
		t.Fatal(err)
	}
	if got := only[sdpOut](t, benEP); got.From != ann.ID || got.SDP != "offer" || got.Type != "call-offer" {
		t.Fatalf("ben got %+v", got)
	}
	if err := f.r.relay(benEP, sdpMsg{Type: "call-answer", Call: id, SDP: "answer"}); err != nil {
		t.Fatal(err)
	}
	if got := only[sdpOut](t, annEP); got.From != ben.ID || got.Type != "call-answer" {
		t.Fatalf("ann got %+v", got)
	}
	if err := f.r.relay(benEP, callActionMsg{Type: "call-restart", Call: id}); err != nil {
		t.Fatal(err)
	}
	only[restartOut](t, annEP)
	if err := f.r.relay(annEP, mediaMsg{Type: "call-media", Call: id, Audio: false, Video: true}); err != nil {
		t.Fatal(err)
	}
	if got := only[mediaOut](t, benEP); got.From != ann.ID || got.Audio || !got.Video {
		t.Fatalf("ben got %+v", got)
	}

	// Candidates are bounded per side.
	for i := range 4 {
		err := f.r.relay(annEP, iceMsg{Type: "call-ice", Call: id, Candidate: iceCandidate{Candidate: "c"}})
		if (i < 3) != (err == nil) {
			t.Fatalf("candidate %d: %v", i, err)
		}
	}
	if n := len(benEP.take()); n != 3 {
		t.Fatalf("ben got %d candidates, want 3", n)
	}

	if err := f.r.hangUp(benEP, id); err != nil {
		t.Fatal(err)
	}
	if got := only[callEndedOut](t, annEP); got.Reason != "hangup" || got.Text != "ben hung up (call lasted 0s)" {
		t.Fatalf("ann got %+v", got)
	}
	if got := only[callEndedOut](t, benEP); got.Text != "you hung up (call lasted 0s)" {
		t.Fatalf("ben got %+v", got)
	}
	if err := f.r.relay(annEP, sdpMsg{Type: "call-offer", Call: id, SDP: "late"}); err != errNoCall {
		t.Fatalf("relay after the end: %v", err)
	}
	f.checkEmpty(t)
	if got := fmt.Sprint(f.hub.stages); got != "[ringing answered ended]" {
		t.Fatalf("reported %s", got)
	}
}

func (f *callFixture) checkEmpty(t *testing.T) {
	t.Helper()
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	if n := len(f.r.calls) + len(f.r.byUser) + len(f.r.byEP) + len(f.r.links); n != 0 {
		t.Fatalf("%d records left in the registry", n)
	}
}

func TestOnlyThePartiesOfAnActiveCallAreRelayed(t *testing.T) {
	f := newCallFixture(time.Hour)
	id := f.ringing(t)
	annEP, benEP, catEP := f.eps[ann.ID], f.eps[ben.ID], f.eps[cat.ID]

	// Before the callee accepts, nothing is relayed (no IP leaks early).
	if err := f.r.relay(annEP, sdpMsg{Type: "call-offer", Call: id, SDP: "early"}); err != errNoCall {
		t.Fatalf("offer while ringing: %v", err)
	}
	// Only the callee accepts or declines; the caller cannot accept its own call.
	if err := f.r.accept(annEP, id); err != errNoCall {
		t.Fatalf("caller accepted: %v", err)
	}
	if err := f.r.accept(catEP, id); err != errNoCall {
		t.Fatalf("outsider accepted: %v", err)
	}
	if err := f.r.decline(catEP, id); err != errNoCall {
		t.Fatalf("outsider declined: %v", err)
	}
	if err := f.r.accept(benEP, id); err != nil {
		t.Fatal(err)
	}
	annEP.take()
	benEP.take()
	// An outsider who knows the call ID is ignored, whatever it sends.
	for _, m := range []clientMessage{
		sdpMsg{Type: "call-offer", Call: id, SDP: "evil"},
		sdpMsg{Type: "call-answer", Call: id, SDP: "evil"},
		iceMsg{Type: "call-ice", Call: id, Candidate: iceCandidate{Candidate: "evil"}},
		callActionMsg{Type: "call-restart", Call: id},
	} {
		if err := f.r.relay(catEP, m); err != errNoCall {
			t.Fatalf("%s from an outsider: %v", m.clientType(), err)
		}
	}
	if err := f.r.hangUp(catEP, id); err != errNoCall {
		t.Fatalf("outsider hung up: %v", err)
	}
	if n := len(annEP.take()) + len(benEP.take()) + len(catEP.take()); n != 0 {
		t.Fatalf("%d messages got through", n)
	}
}

func TestBusyDeclineTimeoutAndClosedChat(t *testing.T) {
	f := newCallFixture(50 * time.Millisecond)
	if err := f.r.Start("@1-2", ann, ben); err != nil {
		t.Fatal(err)
	}
	if err := f.r.Start("@2-3", cat, ben); err == nil || !strings.Contains(err.Error(), "ben is busy") {
		t.Fatalf("calling someone in a call: %v", err)
	}
	if err := f.r.Start("@1-3", ann, cat); err == nil || !strings.Contains(err.Error(), "already in a call") {
		t.Fatalf("a second call from the caller: %v", err)
	}
	f.eps[ann.ID].take()
	id := only[callOut](t, f.eps[ben.ID]).Call
	if len(f.eps[cat.ID].take()) != 0 {
		t.Fatal("cat was rung although ben is busy")
	}
	if err := f.r.decline(f.eps[ben.ID], id); err != nil {
		t.Fatal(err)
	}
	if got := only[callEndedOut](t, f.eps[ann.ID]); got.Reason != "declined" || got.Text != "ben declined the call" {
		t.Fatalf("ann got %+v", got)
	}
	f.eps[ben.ID].take()
	f.checkEmpty(t)
	if got := fmt.Sprint(f.hub.stages); got != "[ringing declined]" {
		t.Fatalf("reported %s", got)
	}
	if got := f.hub.lines(); got != "@1-2: ben declined a call from ann" {
		t.Fatalf("the chat got %q", got)
	}

	// Ring timeout.
	f.ringing(t)
	f.eps[ann.ID].waitDelivery()
	if got := only[callEndedOut](t, f.eps[ann.ID]); got.Reason != "timeout" {
		t.Fatalf("after the ring timeout ann got %+v", got)
	}
	f.eps[ben.ID].take()
	f.checkEmpty(t)
	if got := f.hub.lines(); got != "@1-2: missed call from ann" {
		t.Fatalf("the chat got %q", got)
	}
	// So does a call the caller gives up on while it rings.
	f.r.hangUp(f.eps[ann.ID], f.ringing(t))
	if got := f.hub.lines(); got != "@1-2: missed call from ann" {
		t.Fatalf("the chat got %q", got)
	}
	f.eps[ann.ID].take()
	f.eps[ben.ID].take()

	// The private chat closing ends an active call; so does a browser leaving.
	f = newCallFixture(time.Hour)
	f.active(t)
	f.r.ConvClosed("@1-2")
	if got := only[callEndedOut](t, f.eps[ben.ID]); got.Reason != "chat-closed" {
		t.Fatalf("ben got %+v", got)
	}
	if got := f.hub.lines(); got != "" {
		t.Fatalf("a call that was taken left %q in the chat", got)
	}
	f.eps[ann.ID].take()
	f.active(t)
	f.r.detach(f.eps[ann.ID])
	if got := only[callEndedOut](t, f.eps[ben.ID]); got.Reason != "left" || !strings.HasPrefix(got.Text, "ann left the call") {
		t.Fatalf("ben got %+v", got)
	}
	f.eps[ann.ID].take()
	f.checkEmpty(t)
}

func TestTerminalUserGetsAOneTimeLink(t *testing.T) {
	f := newCallFixture(time.Hour)
	if err := f.r.Start("@1-4", ann, tom); err != nil {
		t.Fatal(err)
	}
	ring := only[callOut](t, f.eps[ann.ID])
	if !ring.PeerOnLink {
		t.Fatal("ann was not told that tom must open a link")
	}
	id := ring.Call
	notes := f.hub.told(tom.ID)
	if len(notes) != 1 || !strings.HasPrefix(notes[0], "Incoming video call: ann is calling you") {
		t.Fatalf("tom was told %q", notes)
	}
	var token string
	for _, l := range strings.Split(notes[0], "\n") {
		if rest, ok := strings.CutPrefix(l, "https://chat.example.org/#call="); ok {
			token = rest
		}
	}
	if !isToken(token) {
		t.Fatalf("no link in %q", notes[0])
	}
	if _, err := f.r.attach("AAAAAAAAAAAAAAAAAAAAAAAAAA", &fakeEndpoint{}); err == nil {
		t.Fatal("a made-up token was accepted")
	}
	phone := &fakeEndpoint{}
	self, err := f.r.attach(token, phone)
	if err != nil || self != tom {
		t.Fatalf("attach: %v, %+v", err, self)
	}
	if got := only[callOut](t, phone); got.Type != "call-incoming" || got.Peer.Name != "ann" || got.PeerOnLink {
		t.Fatalf("the link page got %+v", got)
	}
	if _, err := f.r.attach(token, &fakeEndpoint{}); err == nil {
		t.Fatal("the link worked twice")
	}
	if err := f.r.accept(phone, id); err != nil {
		t.Fatal(err)
	}
	if got := only[callStartOut](t, phone); got.Role != "answerer" || got.Peer.Name != "ann" {
		t.Fatalf("the link page got %+v", got)
	}
	only[callStartOut](t, f.eps[ann.ID])
	if err := f.r.hangUp(phone, id); err != nil {
		t.Fatal(err)
	}
	if notes := f.hub.told(tom.ID); len(notes) != 2 || !strings.Contains(notes[1], "you hung up") {
		t.Fatalf("tom was told %q", notes)
	}
	f.checkEmpty(t)
}

func TestTerminalCallerWhoNeverOpensTheLink(t *testing.T) {
	f := newCallFixture(time.Hour)
	f.r.cfg.linkTTL = 50 * time.Millisecond
	f.r.now = time.Now
	if err := f.r.Start("@4-1", tom, ann); err != nil {
		t.Fatal(err)
	}
	ring := only[callOut](t, f.eps[ann.ID])
	if !ring.PeerOnLink {
		t.Fatal("ann was not told that tom must open his link first")
	}
	if err := f.r.accept(f.eps[ann.ID], ring.Call); err != nil {
		t.Fatal(err)
	}
	f.eps[ann.ID].waitDelivery()
	if got := only[callEndedOut](t, f.eps[ann.ID]); got.Reason != "unreachable" {
		t.Fatalf("ann got %+v", got)
	}
	f.checkEmpty(t)
}

func TestLinkExpires(t *testing.T) {
	f := newCallFixture(time.Hour)
	if err := f.r.Start("@4-1", tom, ann); err != nil {
		t.Fatal(err)
	}
	line := strings.Split(f.hub.told(tom.ID)[0], "\n")[2]
	token := strings.TrimPrefix(line, "https://chat.example.org/#call=")
	f.r.now = func() time.Time { return clock.Add(2 * time.Hour) }
	if _, err := f.r.attach(token, &fakeEndpoint{}); err == nil || !strings.Contains(err.Error(), "not valid") {
		t.Fatalf("an expired link: %v", err)
	}
}

func TestSpell(t *testing.T) {
	for d, want := range map[time.Duration]string{
		2 * time.Minute:  "2 minutes",
		time.Minute:      "1 minute",
		90 * time.Second: "90 seconds",
		time.Second:      "1 second",
	} {
		if got := spell(d); got != want {
			t.Errorf("%s: %q, want %q", d, got, want)
		}
	}
}

func TestCallingAgainWaitsAMoment(t *testing.T) {
	f := newCallFixture(time.Hour)
	f.r.cfg.inviteInterval = 3 * time.Second
	id := f.ringing(t)
	f.r.hangUp(f.eps[ann.ID], id)
	f.eps[ann.ID].take()
	f.eps[ben.ID].take()
	if err := f.r.Start("@1-2", ann, ben); err == nil || !strings.Contains(err.Error(), "wait 3 seconds") {
		t.Fatalf("calling again at once: %v", err)
	}
	if err := f.r.Start("@2-1", ben, ann); err != nil {
		t.Fatalf("the other side calling back: %v", err)
	}
	f.r.hangUp(f.eps[ben.ID], only[callOut](t, f.eps[ben.ID]).Call)
	f.r.now = func() time.Time { return clock.Add(3 * time.Second) }
	f.eps[ann.ID].take()
	f.eps[ben.ID].take()
	f.ringing(t)
}

func TestACallThatCannotConnectEndsWithAReason(t *testing.T) {
	f := newCallFixture(time.Hour)
	id := f.ringing(t)
	if err := f.r.fail(f.eps[ann.ID], id); err != errNoCall {
		t.Fatalf("a ringing call failed: %v", err)
	}
	f.r.accept(f.eps[ben.ID], id)
	f.eps[ann.ID].take()
	f.eps[ben.ID].take()
	if err := f.r.fail(f.eps[cat.ID], id); err != errNoCall {
		t.Fatalf("an outsider failed the call: %v", err)
	}
	if err := f.r.fail(f.eps[ben.ID], id); err != nil {
		t.Fatal(err)
	}
	for _, ep := range []*fakeEndpoint{f.eps[ann.ID], f.eps[ben.ID]} {
		if got := only[callEndedOut](t, ep); got.Reason != "failed" || !strings.Contains(got.Text, "could not connect") || strings.Contains(got.Text, "lasted") {
			t.Fatalf("got %+v", got)
		}
	}
	if got := f.hub.lines(); got != "@1-2: call from ann could not connect" {
		t.Fatalf("the chat got %q", got)
	}
	f.checkEmpty(t)
}
