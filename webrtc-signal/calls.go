package webrtcsignal

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"parley/core"
)

// endpoint is a browser connection that carries one side of a call. deliver
// must not block: the registry calls it with its lock held.
type endpoint interface {
	deliver(msg any)
}

// informer shows a terminal user a call link or outcome, leaves missed
// calls in the private chat, and counts calls for the operators (core.Hub).
type informer interface {
	Inform(id uint64, title string, lines []string) bool
	CallNote(conv, text string)
	ReportCall(stage core.CallStage)
	// Node, Elsewhere and Relay carry calls between nodes (remote.go).
	Node() string
	Elsewhere(id uint64) string
	Relay(node string, user uint64, payload string)
}

// callState is where a call stands. Signaling is relayed only while active.
type callState uint8

const (
	ringing    callState = iota // invited, waiting for the callee to accept
	connecting                  // accepted, waiting for the caller's browser to open the link
	active                      // both browsers attached: offer, answer and ICE flow
)

type party struct {
	member     core.Member
	ep         endpoint // nil until a browser carries this side
	token      string   // one-time link for a user without a browser
	candidates int
}

type call struct {
	id      string
	conv    string
	parties [2]*party // caller, callee
	state   callState
	timer   *time.Timer
	since   time.Time // when it became active
}

// link is a one-time call link waiting to be opened.
type link struct {
	call    string
	user    uint64
	expires time.Time
}

// callSettings are the parts of Config the registry uses.
type callSettings struct {
	ringTimeout    time.Duration
	connectTimeout time.Duration
	linkTTL        time.Duration
	inviteInterval time.Duration
	maxCandidates  int
	maxSDP         int
	attachWait     time.Duration // for the answer of a link's home node
	publicURL      string
	iceServers     func(user uint64) []iceServerJSON
}

// registry runs every call of a server: the call state machine of the
// signaling protocol. One mutex guards it; nothing under it blocks.
type registry struct {
	mu     sync.Mutex
	cfg    callSettings
	hub    informer
	web    func(user uint64) endpoint // the browser session of a web user
	now    func() time.Time
	calls  map[string]*call
	byUser map[uint64]*call
	byEP   map[endpoint]*call
	links  map[string]link
	last   map[uint64]time.Time // when each user last placed a call
	// node is this node's name among several, "" alone. away, guests and
	// waiting are this node's browsers in calls homed elsewhere: by
	// endpoint, by the handle of a link's browser, and links waiting for
	// their home's answer (remote.go).
	node    string
	away    map[endpoint]awayParty
	guests  map[string]endpoint
	waiting map[string]chan attachAnswer
}

func newRegistry(cfg callSettings, hub informer, web func(uint64) endpoint) *registry {
	return &registry{
		cfg: cfg, hub: hub, web: web, now: time.Now,
		calls: map[string]*call{}, byUser: map[uint64]*call{}, byEP: map[endpoint]*call{}, links: map[string]link{},
		last: map[uint64]time.Time{},
		node: hub.Node(), away: map[endpoint]awayParty{}, guests: map[string]endpoint{}, waiting: map[string]chan attachAnswer{},
	}
}

// note is what the hub must hear once the registry is unlocked: a message
// for a terminal user, a line for a private chat (conv), or a call stage
// for the operators' counts.
type note struct {
	user  uint64
	title string
	lines []string
	conv  string
	stage core.CallStage
}

func (r *registry) unlock(notes []note) {
	r.mu.Unlock()
	for _, n := range notes {
		switch {
		case n.stage != 0:
			r.hub.ReportCall(n.stage)
		case n.conv != "":
			r.hub.CallNote(n.conv, n.title)
		default:
			r.inform(n)
		}
	}
}

// Call messages from the server.
type callOut struct {
	Type string     `json:"type"` // "call-ringing" (to the caller) or "call-incoming" (to the callee)
	Call string     `json:"call"`
	Conv string     `json:"conv"`
	Peer memberJSON `json:"peer"`
	// PeerOnLink says the peer is on a terminal and joins by opening a
	// call link: nothing connects until they do.
	PeerOnLink bool `json:"peerOnLink,omitempty"`
}

type callStartOut struct {
	Type       string          `json:"type"` // "call-start"
	Call       string          `json:"call"`
	Role       string          `json:"role"` // "offerer" or "answerer"
	Peer       memberJSON      `json:"peer"`
	ICEServers []iceServerJSON `json:"iceServers"`
	// ConnectTimeout (milliseconds) is how long the browser waits for the
	// call to connect before an ICE restart, and again before giving up.
	ConnectTimeout int64 `json:"connectTimeout"`
}

type sdpOut struct {
	Type string `json:"type"` // "call-offer" or "call-answer"
	Call string `json:"call"`
	From uint64 `json:"from"`
	SDP  string `json:"sdp"`
}

type iceOut struct {
	Type      string       `json:"type"` // "call-ice"
	Call      string       `json:"call"`
	From      uint64       `json:"from"`
	Candidate iceCandidate `json:"candidate"`
}

type restartOut struct {
	Type string `json:"type"` // "call-restart"
	Call string `json:"call"`
	From uint64 `json:"from"`
}

// mediaOut tells one side that the other muted or unmuted its microphone
// or camera, so it can show it instead of silence and black video.
type mediaOut struct {
	Type  string `json:"type"` // "call-media"
	Call  string `json:"call"`
	From  uint64 `json:"from"`
	Audio bool   `json:"audio"`
	Video bool   `json:"video"`
}

type callEndedOut struct {
	Type   string `json:"type"` // "call-ended"
	Call   string `json:"call"`
	Reason string `json:"reason"` // listed in docs/protocol.md
	Text   string `json:"text"`
}

// Start implements core.Calls: from rings to.
func (r *registry) Start(conv string, from, to core.Member) error {
	r.mu.Lock()
	var notes []note
	defer func() { r.unlock(notes) }()
	if r.busyLocked(from.ID) {
		if from.Transport != core.Web {
			return errors.New("you are already in a call: take it with its link, or end it by leaving that chat (/leave)")
		}
		return errors.New("you are already in a call: hang up first")
	}
	if r.busyLocked(to.ID) {
		return fmt.Errorf("%s is busy in another call", to.Name)
	}
	now := r.now()
	if wait := r.last[from.ID].Add(r.cfg.inviteInterval).Sub(now); wait > 0 {
		return fmt.Errorf("wait %s before calling again", spell(max(wait, time.Second)))
	}
	c := &call{id: r.newID(), conv: conv, parties: [2]*party{{member: from}, {member: to}}}
	for _, p := range c.parties {
		if p.member.Transport == core.Web {
			p.ep = r.web(p.member.ID)
			if p.ep == nil {
				p.ep = r.remoteWeb(p.member.ID)
			}
			if p.ep == nil {
				return fmt.Errorf("%s cannot take a call right now", p.member.Name)
			}
			continue
		}
		if r.cfg.publicURL == "" {
			return errors.New("this server has no public URL, so calls cannot be opened in a browser from a terminal")
		}
		p.token = r.newID()
	}
	r.calls[c.id] = c
	r.remember(from.ID, now)
	for _, p := range c.parties {
		r.byUser[p.member.ID] = c
		if p.ep != nil {
			r.byEP[p.ep] = c
		}
		if p.token != "" {
			r.links[p.token] = link{call: c.id, user: p.member.ID, expires: r.now().Add(r.cfg.linkTTL)}
		}
	}
	caller, callee := c.parties[0], c.parties[1]
	ring := r.cfg.ringTimeout
	if callee.ep == nil && r.cfg.linkTTL > ring {
		ring = r.cfg.linkTTL // a terminal user needs time to reach a browser
	}
	r.arm(c, ring)
	notes = append(notes, note{stage: core.CallRinging})
	if caller.ep != nil {
		caller.ep.deliver(callOut{Type: "call-ringing", Call: c.id, Conv: conv, Peer: toMember(to), PeerOnLink: callee.ep == nil})
	} else {
		notes = append(notes, r.linkNote(caller, "Video call with "+to.Name, "Ringing "+to.Name+". Open this link in a browser to join the call:"))
	}
	if callee.ep != nil {
		callee.ep.deliver(callOut{Type: "call-incoming", Call: c.id, Conv: conv, Peer: toMember(from), PeerOnLink: caller.ep == nil})
	} else {
		notes = append(notes, r.linkNote(callee, "Incoming video call", from.Name+" is calling you. Open this link in a browser to answer:"))
	}
	return nil
}

func (r *registry) linkNote(p *party, title, intro string) note {
	url := r.cfg.publicURL + "/#call=" + p.token
	lines := []string{intro, url, "The link works once and expires in " + spell(r.cfg.linkTTL) + "."}
	if qr, err := qrLines(url); err == nil {
		lines = append(lines, "")
		lines = append(lines, qr...)
	}
	return note{user: p.member.ID, title: title, lines: lines}
}

// remember notes when user placed a call, forgetting calls placed long
// enough ago to no longer matter.
func (r *registry) remember(user uint64, now time.Time) {
	if len(r.last) >= 1024 {
		for id, t := range r.last {
			if now.Sub(t) >= r.cfg.inviteInterval {
				delete(r.last, id)
			}
		}
	}
	r.last[user] = now
}

// spell says a duration the way a person would: "2 minutes", "90 seconds".
func spell(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d == time.Minute:
		return "1 minute"
	case d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	case d == time.Second:
		return "1 second"
	}
	return fmt.Sprintf("%d seconds", d/time.Second)
}

// arm (re)starts the call's deadline for its current state.
func (r *registry) arm(c *call, d time.Duration) {
	if c.timer != nil {
		c.timer.Stop()
	}
	id, state := c.id, c.state
	c.timer = time.AfterFunc(d, func() { r.expire(id, state) })
}

func (r *registry) expire(id string, state callState) {
	r.mu.Lock()
	var notes []note
	defer func() { r.unlock(notes) }()
	c := r.calls[id]
	if c == nil || c.state != state {
		return
	}
	reason := "timeout"
	if state == connecting {
		reason = "unreachable"
	}
	notes = r.end(c, reason, nil)
}

// attach makes ep the browser of a terminal user, from a call link.
func (r *registry) attach(token string, ep endpoint) (core.Member, error) {
	r.mu.Lock()
	defer r.unlock(nil)
	l, ok := r.links[token]
	delete(r.links, token)
	if !ok || r.now().After(l.expires) {
		return core.Member{}, errors.New("this call link is not valid: it works once, for a short time")
	}
	c := r.calls[l.call]
	if c == nil {
		return core.Member{}, errors.New("this call has ended")
	}
	p, other := c.sides(l.user)
	p.ep, p.token = ep, ""
	r.byEP[ep] = c
	switch {
	case c.state == ringing && p == c.parties[0]:
		ep.deliver(callOut{Type: "call-ringing", Call: c.id, Conv: c.conv, Peer: toMember(other.member), PeerOnLink: other.ep == nil})
	case c.state == ringing:
		ep.deliver(callOut{Type: "call-incoming", Call: c.id, Conv: c.conv, Peer: toMember(other.member), PeerOnLink: other.ep == nil})
	default:
		r.startIfReady(c)
	}
	return p.member, nil
}

// sides returns the party of user and the other one.
func (c *call) sides(user uint64) (me, other *party) {
	if c.parties[0].member.ID == user {
		return c.parties[0], c.parties[1]
	}
	return c.parties[1], c.parties[0]
}

// partyOf returns ep's party in c and the other one, or nil.
func (c *call) partyOf(ep endpoint) (me, other *party) {
	for i, p := range c.parties {
		if p.ep != nil && p.ep == ep {
			return p, c.parties[1-i]
		}
	}
	return nil, nil
}

// errNoCall answers an action on a call the sender is not part of: the
// same words whether the call exists or not.
var errNoCall = errors.New("no such call")

func (r *registry) lookup(ep endpoint, id string) (*call, *party, *party) {
	c := r.calls[id]
	if c == nil {
		return nil, nil, nil
	}
	me, other := c.partyOf(ep)
	if me == nil {
		return nil, nil, nil
	}
	return c, me, other
}

// accept is the callee's yes.
func (r *registry) accept(ep endpoint, id string) error {
	r.mu.Lock()
	var notes []note
	defer func() { r.unlock(notes) }()
	c, me, _ := r.lookup(ep, id)
	if c == nil || me != c.parties[1] || c.state != ringing {
		return errNoCall
	}
	notes = append(notes, note{stage: core.CallAnswered})
	c.state = connecting
	if !r.startIfReady(c) {
		r.arm(c, r.linkLeft(c.parties[0]))
	}
	return nil
}

// linkLeft is how long p's link stays valid.
func (r *registry) linkLeft(p *party) time.Duration {
	if l, ok := r.links[p.token]; ok {
		return max(l.expires.Sub(r.now()), 0)
	}
	return 0
}

// startIfReady makes an accepted call active once both sides have a browser.
func (r *registry) startIfReady(c *call) bool {
	caller, callee := c.parties[0], c.parties[1]
	if c.state != connecting || caller.ep == nil || callee.ep == nil {
		return false
	}
	c.state = active
	c.since = r.now()
	if c.timer != nil {
		c.timer.Stop()
	}
	timeout := r.cfg.connectTimeout.Milliseconds()
	caller.ep.deliver(callStartOut{Type: "call-start", Call: c.id, Role: "offerer", Peer: toMember(callee.member), ICEServers: r.cfg.iceServers(caller.member.ID), ConnectTimeout: timeout})
	callee.ep.deliver(callStartOut{Type: "call-start", Call: c.id, Role: "answerer", Peer: toMember(caller.member), ICEServers: r.cfg.iceServers(callee.member.ID), ConnectTimeout: timeout})
	return true
}

// decline is the callee's no while it rings.
func (r *registry) decline(ep endpoint, id string) error {
	return r.endBy(ep, id, "declined", func(c *call, me *party) bool { return me == c.parties[1] && c.state == ringing })
}

// hangUp ends the call from either side, including the caller
// cancelling while it rings.
func (r *registry) hangUp(ep endpoint, id string) error {
	return r.endBy(ep, id, "hangup", func(*call, *party) bool { return true })
}

// fail ends an active call whose browsers found no path to each other,
// even after an ICE restart: either side may say so.
func (r *registry) fail(ep endpoint, id string) error {
	return r.endBy(ep, id, "failed", func(c *call, _ *party) bool { return c.state == active })
}

// endBy ends call id for reason, on the word of ep's party, when may
// says that party may end it so now.
func (r *registry) endBy(ep endpoint, id, reason string, may func(c *call, me *party) bool) error {
	r.mu.Lock()
	var notes []note
	defer func() { r.unlock(notes) }()
	c, me, _ := r.lookup(ep, id)
	if c == nil || !may(c, me) {
		return errNoCall
	}
	notes = r.end(c, reason, me)
	return nil
}

// callOf is the call a browser's call message is about, "" for none.
func callOf(msg clientMessage) string {
	switch m := msg.(type) {
	case sdpMsg:
		return m.Call
	case iceMsg:
		return m.Call
	case callActionMsg:
		return m.Call
	case mediaMsg:
		return m.Call
	}
	return ""
}

// act carries out a browser's call message, here or at the call's home,
// and reports whether msg was one.
func (r *registry) act(ep endpoint, msg clientMessage) bool {
	id := callOf(msg)
	if id == "" {
		return false
	}
	if r.forward(ep, id, msg) {
		return true
	}
	var err error
	if m, ok := msg.(callActionMsg); ok {
		switch m.Type {
		case "call-accept":
			err = r.accept(ep, id)
		case "call-decline":
			err = r.decline(ep, id)
		case "call-hangup":
			err = r.hangUp(ep, id)
		case "call-failed":
			err = r.fail(ep, id)
		case "call-restart":
			r.relay(ep, m)
		}
	} else {
		r.relay(ep, msg) // dropped unless ep is a party of that active call
	}
	if err != nil {
		ep.deliver(callEndedOut{Type: "call-ended", Call: id, Reason: "gone", Text: "that call has ended"})
	}
	return true
}

// relay passes a signaling message from ep to the other side of an active
// call, rebuilt with the sender stamped. Anything from outside the call,
// or before it is active, is dropped.
func (r *registry) relay(ep endpoint, msg clientMessage) error {
	r.mu.Lock()
	defer r.unlock(nil)
	id := callOf(msg)
	c, me, other := r.lookup(ep, id)
	if c == nil || c.state != active {
		return errNoCall
	}
	from := me.member.ID
	switch m := msg.(type) {
	case sdpMsg:
		other.ep.deliver(sdpOut{Type: m.Type, Call: id, From: from, SDP: m.SDP})
	case iceMsg:
		me.candidates++
		if me.candidates > r.cfg.maxCandidates {
			return errors.New("too many ICE candidates in this call")
		}
		other.ep.deliver(iceOut{Type: "call-ice", Call: id, From: from, Candidate: m.Candidate})
	case callActionMsg:
		other.ep.deliver(restartOut{Type: "call-restart", Call: id, From: from})
	case mediaMsg:
		other.ep.deliver(mediaOut{Type: "call-media", Call: id, From: from, Audio: m.Audio, Video: m.Video})
	}
	return nil
}

// detach ends the call ep carries: its browser went away.
func (r *registry) detach(ep endpoint) {
	r.leftAway(ep)
	r.mu.Lock()
	var notes []note
	defer func() { r.unlock(notes) }()
	if c := r.byEP[ep]; c != nil {
		me, _ := c.partyOf(ep)
		notes = r.end(c, "left", me)
	}
}

// ConvClosed implements core.Calls: a call ends with its private chat.
func (r *registry) ConvClosed(conv string) {
	r.mu.Lock()
	var notes []note
	defer func() { r.unlock(notes) }()
	for _, c := range r.calls {
		if c.conv == conv {
			notes = append(notes, r.end(c, "chat-closed", nil)...)
		}
	}
	r.endAwayLocked(conv)
}

// closeAll ends every call (the server is shutting down).
func (r *registry) closeAll() {
	r.mu.Lock()
	var notes []note
	defer func() { r.unlock(notes) }()
	for _, c := range r.calls {
		notes = append(notes, r.end(c, "shutdown", nil)...)
	}
}

// end removes c and tells both sides why; by is the party that caused it,
// if any. It returns the notes for terminal users.
func (r *registry) end(c *call, reason string, by *party) []note {
	if c.timer != nil {
		c.timer.Stop()
	}
	delete(r.calls, c.id)
	notes := []note{{stage: core.CallDeclined}}
	if c.state != ringing {
		notes[0].stage = core.CallEnded
	}
	if line := chatLine(c, reason, by); line != "" {
		notes = append(notes, note{conv: c.conv, title: line})
	}
	for i, p := range c.parties {
		other := c.parties[1-i]
		if r.byUser[p.member.ID] == c {
			delete(r.byUser, p.member.ID)
		}
		delete(r.links, p.token)
		text := endText(reason, p == by, other.member.Name, r.now().Sub(c.since), c.state == active)
		if p.ep != nil {
			delete(r.byEP, p.ep)
			p.ep.deliver(callEndedOut{Type: "call-ended", Call: c.id, Reason: reason, Text: text})
		}
		if p.member.Transport != core.Web {
			notes = append(notes, note{user: p.member.ID, title: "Video call", lines: []string{text}})
		}
	}
	return notes
}

// endText says, to one side, why a call ended.
func endText(reason string, self bool, peer string, length time.Duration, wasActive bool) string {
	var s string
	switch reason {
	case "declined":
		s = peer + " declined the call"
		if self {
			s = "you declined the call"
		}
	case "timeout":
		s = "no answer: the call was not taken in time"
	case "unreachable":
		s = "the call could not connect: the link was not opened in time"
	case "hangup", "left":
		s = peer + " hung up"
		if reason == "left" {
			s = peer + " left the call"
		}
		if self {
			s = "you hung up"
		}
	case "chat-closed":
		s = "the call ended with the private chat"
	case "busy":
		s = peer + " is busy in another call"
	case "failed":
		s = "the call could not connect: your browsers found no network path to each other, even after a retry"
	default:
		s = "the call ended: the server is shutting down"
	}
	if wasActive && reason != "failed" {
		s += fmt.Sprintf(" (call lasted %s)", length.Round(time.Second))
	}
	return s
}

// chatLine is what a call that never got going leaves in its private chat
// ("missed call from alice"), or "" for a call that needs no line.
func chatLine(c *call, reason string, by *party) string {
	caller, callee := c.parties[0], c.parties[1]
	switch {
	case reason == "failed":
		return "call from " + caller.member.Name + " could not connect"
	case c.state != ringing:
		return ""
	case reason == "declined":
		return callee.member.Name + " declined a call from " + caller.member.Name
	case reason == "timeout", by == caller && (reason == "hangup" || reason == "left"):
		return "missed call from " + caller.member.Name
	}
	return ""
}
