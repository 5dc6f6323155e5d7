// Package core holds Parley's in-memory state: users, codes, names, rooms,
// private chats and their history, and the limits that protect them. It
// knows nothing of SSH or WebSockets: a transport connects a Session,
// feeds it the user's input and shows the events from its Outbox.
package core

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Hub is one node's chat state. All of its methods are safe for
// concurrent use; none of them blocks on a client.
type Hub struct {
	mu  sync.Mutex
	cfg Config
	// messageChars is cfg.Limits.MessageChars, for cleaning a line
	// before the lock is taken to decide it.
	messageChars atomic.Int64
	// operators is cfg.Operators, for checking a command's permission
	// before the lock is taken to run it.
	operators atomic.Pointer[[]string]
	users     map[uint64]*user
	byCode    map[string]*user
	byName    map[string]*user       // by NameKey
	looks     map[string][]*user     // by lookAlikeKey, for names that resemble each other
	reserved  map[string]reservation // by NameKey
	convs     map[string]*conv
	ipCodes   map[string]*window // wrong codes and passwords per IP, and other per-IP counters by kind
	guesses   window             // wrong codes and passwords from everyone
	// passwords bounds the bcrypt work of the whole server.
	passwords    *passwordGate
	passwordCost int // bcrypt cost of new room passwords
	exempt       ipSet
	// pending are this node's new users whose EntryOnline is not applied
	// yet.
	pending  map[uint64]*user
	log      Log
	dir      Directory
	releases []release // claims to give back once the lock is released
	// node and incarnation name this hub among several ("" for one).
	node        string
	incarnation string
	fenced      string // why the node serves no one now, "" when it does
	now         func() time.Time
	rand        io.Reader
	draining    bool
	kicks       []kick // sessions to cut off once the current operation is done
	watch       watcher
	calls       Calls
	ended       []string  // private chats closed during the current operation, for calls
	relayed     []relayed // call signaling from other nodes, for calls
	bans        BanList
	motd        string             // the message of the day
	mutes       map[string]modMute // operators' mutes by key and address, so reconnecting keeps them
	// countsDue are the big rooms whose member count changed since it was
	// last sent; countWake asks the janitor to send them after the
	// interval it carries.
	countsDue []*conv
	countWake chan time.Duration
	resumable map[resumeKey]*user // by their resume secret's hash; see resume.go

	stop    chan struct{}
	stopped chan struct{}
}

type kick struct {
	u      *user
	reason string
	cause  EndReason
}

type user struct {
	id        uint64
	code      string
	name      string
	nameKey   string
	transport Transport
	ip        string
	convs     []*conv // in the order they were opened
	current   *conv
	blocked   map[uint64]string
	out       *Outbox // nil for a user of another node
	// lastPrivate is who last wrote to the user in a private chat, for
	// /reply.
	lastPrivate uint64
	closed      bool
	leaving     bool // its EntryOffline is decided

	node        string // the node its session is on
	incarnation string

	rate       bucket
	renames    bucket // renames have a slower limit of their own
	warnings   int
	mutedUntil time.Time
	strikes    int
	wrongCodes window
	passwords  window // room passwords hashed or checked

	fingerprint string  // of the SSH key the session authenticated with, or ""
	lookAlike   bool    // another user online has a resembling name
	mute        modMute // set by an operator
	resume      *userResume

	disconnect func(reason string)
}

func (u *user) member() Member {
	return Member{ID: u.id, Name: u.name, Transport: u.transport, KeyTag: KeyTag(u.fingerprint), LookAlike: u.lookAlike}
}

// Option adjusts a Hub at creation.
type Option func(*Hub)

// WithClock replaces time.Now, for tests of time-based limits.
func WithClock(now func() time.Time) Option { return func(h *Hub) { h.now = now } }

// NewHub creates a hub from a validated config and starts its janitor,
// which cuts off sessions that stay behind. Stop ends it.
func NewHub(cfg Config, opts ...Option) (*Hub, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Hub{
		users:        map[uint64]*user{},
		pending:      map[uint64]*user{},
		byCode:       map[string]*user{},
		byName:       map[string]*user{},
		convs:        map[string]*conv{},
		ipCodes:      map[string]*window{},
		mutes:        map[string]modMute{},
		bans:         &MemoryBans{},
		now:          time.Now,
		passwordCost: bcrypt.DefaultCost,
		rand:         defaultRand,
		stop:         make(chan struct{}),
		stopped:      make(chan struct{}),
		countWake:    make(chan time.Duration, 1),
	}
	for _, o := range opts {
		o(h)
	}
	if h.log == nil {
		h.log, h.dir = localLog{h}, newLocalDirectory()
	}
	h.applyConfigLocked(cfg)
	go h.janitor()
	return h, nil
}

// applyConfigLocked installs cfg: permanent rooms are created or updated;
// rooms dropped from the config become ephemeral and vanish when empty.
func (h *Hub) applyConfigLocked(cfg Config) {
	cfg.DefaultRoom, _ = CleanRoomName(cfg.DefaultRoom)
	if cfg.Motd != h.cfg.Motd {
		h.motd = cfg.Motd // a changed config replaces what an operator set
	}
	h.cfg = cfg
	h.messageChars.Store(int64(cfg.Limits.MessageChars))
	ops := slices.Clone(cfg.Operators)
	h.operators.Store(&ops)
	h.exempt, _ = parseIPSet(cfg.Limits.ExemptIPs)
	h.reserved = reservations(cfg.Reserved)
	keep := map[string]bool{}
	for _, rc := range cfg.Rooms {
		name, _ := CleanRoomName(rc.Name)
		desc, _ := CleanDescription(rc.Description)
		id := "#" + name
		keep[id] = true
		c := h.convs[id]
		if c == nil {
			c = newConv(id, Room)
			h.convs[id] = c
		}
		c.title, c.desc, c.hidden, c.passHash, c.maxMembers, c.permanent = id, desc, rc.Hidden, rc.PasswordHash, rc.MaxMembers, true
	}
	for id, c := range h.convs {
		if c.kind == Room && c.permanent && !keep[id] {
			c.permanent = false
			if len(c.members) == 0 {
				delete(h.convs, id)
			}
		}
	}
}

// Stop ends the janitor. Sessions are left to their transports.
func (h *Hub) Stop() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	<-h.stopped
}

func (h *Hub) janitor() {
	defer close(h.stopped)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var counts <-chan time.Time // fires when the due member counts are to be sent
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.sweep()
		case after := <-h.countWake:
			if counts == nil {
				counts = time.After(after)
			}
		case <-counts:
			counts = nil
			h.sendMemberCounts()
		}
	}
}

// sendMemberCounts tells the members of every big room whose membership
// changed since the last time how many they are now.
func (h *Hub) sendMemberCounts() {
	h.mu.Lock()
	due := h.countsDue
	h.countsDue = nil
	for _, c := range due {
		c.countDue = false
		if h.convs[c.id] == c {
			h.deliverLocked(Event{Kind: EventMemberCount, Conv: c.id, N: len(c.members)})
		}
	}
	h.unlock()
}

// sweep cuts off sessions that have stayed behind too long even when no
// new event arrives to notice it, and forgets stale per-IP counters.
func (h *Hub) sweep() {
	h.mu.Lock()
	now := h.now()
	h.expireDetachedLocked(now)
	for _, u := range h.users {
		if h.isLocal(u) && u.out.behind(now) > h.cfg.Limits.SlowTimeout {
			h.kicks = append(h.kicks, kick{u, "too slow: your connection fell behind", EndSlow})
		}
	}
	for ip, w := range h.ipCodes {
		if full, _ := w.full(now, 1); !full {
			delete(h.ipCodes, ip)
		}
	}
	h.unlock()
}

// unlock processes the sessions marked for cut-off during the operation,
// releases the hub, then reports what the operation observed.
func (h *Hub) unlock() {
	for len(h.kicks) > 0 {
		k := h.kicks[0]
		h.kicks = h.kicks[1:]
		if !k.u.leaving {
			h.pushLocked(k.u, Event{Kind: EventClosing, Text: k.reason})
			h.goOfflineLocked(k.u, k.reason, k.cause)
			go k.u.disconnect(k.reason)
		}
	}
	observed := h.watch.take()
	ended, relays, calls := h.ended, h.relayed, h.calls
	h.ended, h.relayed = nil, nil
	releases, dir := h.releases, h.dir
	h.releases = nil
	h.mu.Unlock() // the one place the hub is released
	h.watch.run(observed)
	for _, id := range ended {
		calls.ConvClosed(id)
	}
	for _, r := range relays {
		calls.Relayed(r.from, r.payload)
	}
	for _, r := range releases {
		ctx, cancel := context.WithTimeout(context.Background(), directoryTimeout)
		_ = dir.Release(ctx, r.kind, r.key, r.o) // a claim left behind is freed with its node
		cancel()
	}
}

// goOfflineLocked decides that local user u is gone: the others are told
// why, and its code and name are given back.
func (h *Hub) goOfflineLocked(u *user, reason string, cause EndReason) {
	if u.leaving {
		return
	}
	u.leaving = true
	h.commitLocked(Entry{Kind: EntryOffline, User: u.id, Text: reason, Cause: cause})
	o := h.owner(u.id)
	h.releases = append(h.releases, u.claims(o)...)
}

// claims are u's code and name as o holds them in the directory.
func (u *user) claims(o Owner) []release {
	return []release{{ClaimCode, u.code, o}, {ClaimName, u.nameKey, o}}
}

func (h *Hub) owner(id uint64) Owner {
	return Owner{Node: h.node, Incarnation: h.incarnation, User: id}
}

// ConnectInfo is what a transport knows of a new session.
type ConnectInfo struct {
	// LoginName is tried as the display name (the SSH user name).
	LoginName string
	Transport Transport
	// IP is the client's address, for per-IP limits and bans.
	IP string
	// Fingerprint is the SHA256 fingerprint of the SSH key the session
	// authenticated with (never one merely offered), "" for none. It
	// makes operators and bans by key.
	Fingerprint string
	// Disconnect ends the transport's session. The core calls it, from a
	// goroutine of its own, when it cuts the session off.
	Disconnect func(reason string)
}

// ErrDraining is returned by Connect while the server shuts down.
var ErrDraining = errors.New("the server is shutting down")

// Connect adds a user. Its first events (the default room, if auto-join
// is on) are already in the session's outbox on a single node.
func (h *Hub) Connect(info ConnectInfo) (*Session, error) {
	h.mu.Lock()
	err := h.refuseConnectLocked(info)
	cfg := h.cfg
	dir := h.dir
	h.unlock()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), directoryTimeout)
	defer cancel()
	id, err := dir.NewID(ctx)
	if err != nil {
		return nil, fmt.Errorf("no user ID to be had: %w", err)
	}
	o := h.owner(id)
	code, err := h.claimCode(ctx, dir, o)
	if err != nil {
		return nil, err
	}
	name, refused, err := h.claimName(ctx, dir, cfg, info.LoginName, info.Fingerprint, o)
	if err != nil {
		_ = dir.Release(ctx, ClaimCode, code, o)
		return nil, err
	}

	h.mu.Lock()
	defer h.unlock()
	u := &user{
		id:          id,
		code:        code,
		name:        name,
		nameKey:     NameKey(name),
		transport:   info.Transport,
		fingerprint: info.Fingerprint,
		node:        h.node,
		incarnation: h.incarnation,
	}
	h.attachLocked(u, info)
	if err := h.refuseConnectLocked(info); err != nil {
		h.releases = append(h.releases, u.claims(o)...)
		return nil, err
	}
	h.pending[id] = u
	h.commitLocked(Entry{Kind: EntryOnline, User: id, Profile: &Profile{
		Name: name, Code: code, Transport: info.Transport, IP: info.IP, Fingerprint: info.Fingerprint,
		Node: h.node, Incarnation: h.incarnation,
	}})
	if h.cfg.AutoJoin {
		if c := h.convs["#"+h.cfg.DefaultRoom]; c != nil && c.hasRoom() {
			h.commitLocked(Entry{Kind: EntryJoin, User: id, Conv: c.id})
		}
	}
	if refused != nil {
		h.pushLocked(u, Event{Kind: EventNotice, Text: fmt.Sprintf("%s: you are %s", refused, u.name)})
	}
	return &Session{h: h, u: u, code: code, id: u.id, out: u.out}, nil
}

// refuseConnectLocked turns a new session away while the server shuts
// down or is cut off, and from banned clients.
func (h *Hub) refuseConnectLocked(info ConnectInfo) error {
	if h.draining {
		return ErrDraining
	}
	if h.fenced != "" {
		return &ErrFenced{Reason: h.fenced}
	}
	return h.admitLocked(info)
}

// claimCode draws codes until the directory gives one to o.
func (h *Hub) claimCode(ctx context.Context, dir Directory, o Owner) (string, error) {
	for {
		code, err := newCode(h.rand)
		if err != nil {
			return "", fmt.Errorf("drawing a code: %w", err)
		}
		switch err := dir.Claim(ctx, ClaimCode, code, o); {
		case err == nil:
			return code, nil
		case !errors.Is(err, ErrTaken):
			return "", fmt.Errorf("claiming a code: %w", err)
		}
	}
}

// claimName gives a new user the login name if it is free and not
// reserved to other keys, else a random one; refused says why a valid
// login name was not given (a reserved one), for the user to read.
func (h *Hub) claimName(ctx context.Context, dir Directory, cfg Config, login, fingerprint string, o Owner) (name string, refused error, err error) {
	reserved := reservations(cfg.Reserved)
	if name, err := CleanName(login, cfg.Limits.NameCells); err == nil {
		if refused = reservedFor(reserved, name, fingerprint); refused == nil {
			switch err := dir.Claim(ctx, ClaimName, NameKey(name), o); {
			case err == nil:
				return name, nil, nil
			case !errors.Is(err, ErrTaken):
				return "", nil, fmt.Errorf("claiming a name: %w", err)
			}
		}
	}
	isReserved := func(n string) bool { _, r := reserved[NameKey(n)]; return r }
	for {
		name := randomName(isReserved)
		switch err := dir.Claim(ctx, ClaimName, NameKey(name), o); {
		case err == nil:
			return name, refused, nil
		case !errors.Is(err, ErrTaken):
			return "", nil, fmt.Errorf("claiming a name: %w", err)
		}
	}
}

// pushLocked queues ev for u, marking u for cut-off if it stays behind.
func (h *Hub) pushLocked(u *user, ev Event) { h.pushAtLocked(u, ev, h.now()) }

// pushAtLocked is pushLocked with the clock already read, so a fan-out to
// a thousand members reads it once rather than once per member.
func (h *Hub) pushAtLocked(u *user, ev Event, now time.Time) {
	if u.closed || u.out == nil || u.detached() {
		return
	}
	behind, dropped := u.out.push(ev, now)
	if dropped {
		h.watch.dropped++
	}
	if behind > h.cfg.Limits.SlowTimeout {
		h.kicks = append(h.kicks, kick{u, "too slow: your connection fell behind", EndSlow})
	}
}

// deliverLocked gives a conversation event to this node's members of the
// conversation, skipping those who blocked its author.
func (h *Hub) deliverLocked(ev Event) {
	c := h.convs[ev.Conv]
	if c == nil {
		return
	}
	var from uint64
	if ev.Msg != nil {
		from = ev.Msg.From.ID
	}
	start, recipients := h.watch.fanOutStart(), 0
	now := h.now()
	for _, m := range c.order {
		if m.out == nil {
			continue // another node's user: that node delivers
		}
		if from != 0 {
			if _, blocked := m.blocked[from]; blocked {
				continue
			}
		}
		h.pushAtLocked(m, ev, now)
		recipients++
	}
	h.watch.fannedOut(start, recipients)
}

// postLocked appends a message to c's history.
func (h *Hub) postLocked(c *conv, kind MessageKind, from Member, text string) *Message {
	return h.postAtLocked(c, kind, from, text, h.now())
}

// postAtLocked is postLocked for a message written at t.
func (h *Hub) postAtLocked(c *conv, kind MessageKind, from Member, text string, t time.Time) *Message {
	c.seq++
	m := &Message{Seq: c.seq, Conv: c.id, Time: t, Kind: kind, From: from, Text: text}
	c.remember(m, h.cfg.Limits.History)
	h.watch.posted(kind)
	return m
}

// noticesFor says whether a room of size members posts joins and leaves.
func (h *Hub) noticesFor(size int) bool {
	limit := h.cfg.Limits.JoinNoticesUpTo
	return limit == 0 || size <= limit
}

// memberChangedLocked tells c's members that u joined or left it (kind),
// with the notice posted for it, if any; size counts u among the members.
// A room above MemberEventsUpTo sends its new count a moment later
// instead, once for every change in the meantime.
func (h *Hub) memberChangedLocked(c *conv, kind EventKind, u *user, notice *Message, size int) {
	limit := h.cfg.Limits.MemberEventsUpTo
	if notice != nil || c.kind != Room || limit == 0 || size <= limit {
		h.deliverLocked(Event{Kind: kind, Conv: c.id, Member: u.member(), Msg: notice})
		return
	}
	if c.countDue {
		return
	}
	c.countDue = true
	h.countsDue = append(h.countsDue, c)
	select {
	case h.countWake <- h.cfg.Limits.MemberCountInterval:
	default: // a wake-up is pending already
	}
}

func (h *Hub) joinLocked(u *user, c *conv) {
	if !c.has(u) {
		var notice *Message
		if h.noticesFor(len(c.members) + 1) {
			notice = h.postLocked(c, System, Member{}, u.name+" joined")
		}
		h.memberChangedLocked(c, EventMemberJoined, u, notice, len(c.members)+1)
		h.observeJoinLocked(u, c)
		c.add(u)
		u.convs = append(u.convs, c)
		h.pushLocked(u, Event{Kind: EventConvOpened, Conv: c.id, View: c.view(u)})
	}
	h.setCurrentLocked(u, c)
}

func (h *Hub) setCurrentLocked(u *user, c *conv) {
	if u.current == c {
		return
	}
	u.current = c
	id := ""
	if c != nil {
		id = c.id
	}
	h.pushLocked(u, Event{Kind: EventCurrent, Conv: id})
}

// leaveLocked takes u out of c; why is shown to the others. A private chat
// ends for both sides.
func (h *Hub) leaveLocked(u *user, c *conv, why, toSelf string) {
	if !c.has(u) {
		return
	}
	h.observeLeaveLocked(u, c)
	if c.kind == Private {
		for _, m := range append([]*user(nil), c.order...) {
			text := toSelf
			if m != u {
				text = why
			}
			h.dropConvLocked(m, c, text, m == u)
		}
		delete(h.convs, c.id)
		if h.calls != nil {
			h.ended = append(h.ended, c.id)
		}
		return
	}
	h.dropConvLocked(u, c, toSelf, true)
	var notice *Message
	if h.noticesFor(len(c.members) + 1) {
		notice = h.postLocked(c, System, Member{}, why)
	}
	h.memberChangedLocked(c, EventMemberLeft, u, notice, len(c.members)+1)
	if len(c.members) == 0 && !c.permanent {
		delete(h.convs, c.id)
	}
}

// dropConvLocked removes c from u's conversations and tells u why, and
// whether it was u's own doing.
func (h *Hub) dropConvLocked(u *user, c *conv, why string, byYou bool) {
	c.remove(u)
	for i, x := range u.convs {
		if x == c {
			u.convs = append(u.convs[:i:i], u.convs[i+1:]...)
			break
		}
	}
	h.pushLocked(u, Event{Kind: EventConvClosed, Conv: c.id, Text: why, ByYou: byYou})
	if u.current == c {
		var next *conv
		if n := len(u.convs); n > 0 {
			next = u.convs[n-1]
		}
		h.setCurrentLocked(u, next)
	}
}

// removeLocked ends u's session: it leaves everything and is forgotten.
func (h *Hub) removeLocked(u *user, reason string, cause EndReason) {
	if u.closed {
		return
	}
	for len(u.convs) > 0 {
		c := u.convs[len(u.convs)-1]
		why := u.name + " left"
		if c.kind == Private {
			why = u.name + " left the private chat"
		}
		if reason != "" {
			why += " (" + reason + ")"
		}
		h.leaveLocked(u, c, why, "")
	}
	u.closed = true
	h.forgetResumeLocked(u)
	delete(h.users, u.id)
	if h.byCode[u.code] == u {
		delete(h.byCode, u.code)
	}
	if h.byName[u.nameKey] == u {
		delete(h.byName, u.nameKey)
	}
	h.lookDropLocked(u)
	h.observeEndLocked(u, cause)
	if h.isLocal(u) {
		if u.node != h.node {
			// It was moving here (a tab resumed it) and ended before the
			// move was applied: the name and code it moved are ours.
			o := h.owner(u.id)
			h.releases = append(h.releases, u.claims(o)...)
		}
		u.out.close()
	}
}

// SetDraining makes Connect refuse new sessions (shutdown has begun).
func (h *Hub) SetDraining() {
	h.mu.Lock()
	h.draining = true
	h.unlock()
}

// Announce shows a notice to every user online.
func (h *Hub) Announce(text string) {
	h.mu.Lock()
	defer h.unlock()
	for _, u := range h.localUsersLocked() {
		h.pushLocked(u, Event{Kind: EventNotice, Text: text})
	}
}

// CloseAll ends every session of this node, telling each why.
func (h *Hub) CloseAll(reason string) {
	h.mu.Lock()
	h.closeAllLocked(reason)
	h.unlock()
}

func (h *Hub) closeAllLocked(reason string) {
	for _, u := range h.localUsersLocked() {
		h.kicks = append(h.kicks, kick{u, reason, EndServer})
	}
}

// localUsersLocked lists this node's sessions, the ones not yet online
// everywhere included.
func (h *Hub) localUsersLocked() []*user {
	var out []*user
	for _, u := range h.users {
		if h.isLocal(u) {
			out = append(out, u)
		}
	}
	for _, u := range h.pending {
		out = append(out, u)
	}
	return out
}

// Counts reports how many users, rooms and private chats exist.
func (h *Hub) Counts() (users, rooms, privates int) {
	h.mu.Lock()
	defer h.unlock()
	for _, c := range h.convs {
		if c.kind == Room {
			rooms++
		} else {
			privates++
		}
	}
	return len(h.users), rooms, privates
}

// RoomInfo describes a listed room for /rooms and the home screen.
type RoomInfo struct {
	Name        string // with its "#"
	Description string
	Members     int
	MaxMembers  int
	Locked      bool
}

func (h *Hub) listedRoomsLocked() []RoomInfo {
	var out []RoomInfo
	for _, c := range h.convs {
		if c.kind == Room && !c.hidden {
			out = append(out, RoomInfo{Name: c.id, Description: c.desc, Members: len(c.members), MaxMembers: c.maxMembers, Locked: c.passHash != ""})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Members != out[j].Members {
			return out[i].Members > out[j].Members
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Session is one connected user, as its transport sees it.
type Session struct {
	h    *Hub
	u    *user
	code string
	id   uint64
	out  *Outbox // the user's outbox while this session holds the user
}

// Code is the user's private-chat code.
func (s *Session) Code() string { return s.code }

// ID identifies the user in Member values.
func (s *Session) ID() uint64 { return s.id }

// Name is the user's current display name.
func (s *Session) Name() string {
	s.h.mu.Lock()
	defer s.h.unlock()
	return s.u.name
}

// Outbox is where the session's events wait.
func (s *Session) Outbox() *Outbox { return s.out }

// Welcome is the home screen's text: the operator's welcome message,
// then the message of the day, if any.
func (s *Session) Welcome() string {
	s.h.mu.Lock()
	defer s.h.unlock()
	return s.h.welcomeLocked()
}

// Rooms lists the listed rooms, busiest first.
func (s *Session) Rooms() []RoomInfo {
	s.h.mu.Lock()
	defer s.h.unlock()
	return s.h.listedRoomsLocked()
}

// SessionView is all a transport shows of its user: to rebuild its screen
// after missed events.
type SessionView struct {
	Name    string
	Current string     // "" for none
	Convs   []ConvView // in the order they were opened
}

// Snapshot returns the user's whole view at one instant.
func (s *Session) Snapshot() SessionView {
	s.h.mu.Lock()
	defer s.h.unlock()
	v := SessionView{Name: s.u.name, Convs: make([]ConvView, 0, len(s.u.convs))}
	for _, c := range s.u.convs {
		v.Convs = append(v.Convs, *c.view(s.u))
	}
	if s.u.current != nil {
		v.Current = s.u.current.id
	}
	return v
}

// Close ends the session: the user leaves everything and the others are
// told why ("" for a plain leave). Safe to call more than once.
func (s *Session) Close(reason string) {
	s.closeAs(reason, EndClosed)
}

// CloseSlow is Close for a transport that found its client no longer
// reads what it is sent; the session counts with those that fell behind.
func (s *Session) CloseSlow(reason string) {
	s.closeAs(reason, EndSlow)
}

// closeAs ends the user, unless another connection (a tab that resumed
// it, here or on another node) holds it now: that one ends it.
func (s *Session) closeAs(reason string, cause EndReason) {
	s.h.mu.Lock()
	defer s.h.unlock()
	if s.stale() {
		return
	}
	s.h.goOfflineLocked(s.u, reason, cause)
}

// Switch makes conversation id current; "" means none (the home screen).
func (s *Session) Switch(id string) error {
	h := s.h
	h.mu.Lock()
	defer h.unlock()
	if id == "" {
		h.setCurrentLocked(s.u, nil)
		return nil
	}
	c := h.convs[id]
	if c == nil || !c.has(s.u) {
		return errors.New("you are not in that conversation")
	}
	h.setCurrentLocked(s.u, c)
	return nil
}

// ErrNoConversation is returned for a message sent with nowhere to go.
var ErrNoConversation = errors.New("you are not in a conversation: /join #room, /join CODE or /chatroom")

// Send posts text to conversation id.
func (s *Session) Send(id, text string) error {
	return s.post(Text, text, id, false)
}

// Act posts an action ("/me waves") to conversation id.
func (s *Session) Act(id, text string) error {
	return s.act(text, id, false)
}

func (s *Session) act(text, id string, toCurrent bool) error {
	if text == "" {
		return errors.New("say what you are doing: /me waves")
	}
	return s.post(Action, text, id, toCurrent)
}

// post decides a line of the user's in conversation id, or in their
// current one when toCurrent is set: looked up in the same hold of the
// hub's lock as the line is decided, the only one a line takes.
func (s *Session) post(kind MessageKind, text, id string, toCurrent bool) error {
	h := s.h
	text, err := CleanMessage(text, int(h.messageChars.Load()))
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.unlock()
	u := s.u
	if err := h.servingLocked(u); err != nil {
		return err
	}
	if toCurrent && u.current != nil {
		id = u.current.id
	}
	c := h.convs[id]
	if id == "" || c == nil || !c.has(u) {
		if id == "" {
			return ErrNoConversation
		}
		return errors.New("you are not in that conversation")
	}
	return h.commitPostLocked(u, id, kind, text)
}

// commitPostLocked decides a line of u's in conversation id, past the
// mutes and the rate limit; text is clean.
func (h *Hub) commitPostLocked(u *user, id string, kind MessageKind, text string) error {
	if err := h.operatorMuteLocked(u); err != nil {
		return err
	}
	if err := h.rateLocked(u); err != nil {
		return err
	}
	h.commitLocked(Entry{Kind: EntryPost, User: u.id, Conv: id, MsgKind: kind, Text: text})
	return nil
}

// servingLocked refuses a request from a session that has ended, or
// while the node is cut off from the others.
func (h *Hub) servingLocked(u *user) error {
	if u.leaving {
		return errors.New("your session has ended")
	}
	if h.fenced != "" {
		return &ErrFenced{Reason: h.fenced}
	}
	return nil
}

func (h *Hub) limits() Limits {
	h.mu.Lock()
	defer h.unlock()
	return h.cfg.Limits
}

// rateLocked applies the message rate limit: a burst, then a steady rate;
// past it a warning, then a mute, then a disconnect.
func (h *Hub) rateLocked(u *user) error {
	l := h.cfg.Limits
	now := h.now()
	if now.Before(u.mutedUntil) {
		u.strikes++
		if u.strikes > l.MutedStrikes {
			h.kicks = append(h.kicks, kick{u, "disconnected for flooding", EndFlood})
		}
		h.watch.refused(RefusedMuted)
		return fmt.Errorf("you are muted for flooding: %s left", roundUp(u.mutedUntil.Sub(now)))
	}
	if u.rate.allow(now, l.RateBurst, l.RatePerSec) {
		if u.rate.tokens >= float64(l.RateBurst)-1 {
			u.warnings = 0
		}
		return nil
	}
	u.warnings++
	h.watch.refused(RefusedMessageRate)
	if u.warnings > l.RateWarnings {
		u.warnings, u.strikes = 0, 0
		u.mutedUntil = now.Add(l.MuteFor)
		return fmt.Errorf("muted for %s: too many messages", roundUp(l.MuteFor))
	}
	return fmt.Errorf("slow down: not sent (at most %g messages, renames, joins and leaves a second after a burst of %d)", l.RatePerSec, l.RateBurst)
}

func roundUp(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

// Input handles one line typed by the user: a command, or a message for
// the current conversation. The error, if any, is for the user to read.
func (s *Session) Input(line string) error {
	cmd, args, err := ParseCommand(line)
	if err != nil {
		return err
	}
	if cmd != nil {
		if cmd.Operator && !s.h.isOperator(s.u.fingerprint) {
			return fmt.Errorf("only operators can use /%s", cmd.Name)
		}
		if args == "" && cmd.needsArgs() {
			return fmt.Errorf("usage: /%s %s", cmd.Name, cmd.Args)
		}
		return cmd.run(s, args)
	}
	if strings.HasPrefix(line, "//") {
		line = line[1:]
	}
	return s.post(Text, line, "", true)
}
