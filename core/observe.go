package core

import "time"

// Observer is told what happens in the hub, for metrics and the operators'
// live monitor. The hub calls it after releasing its lock, in the goroutine
// of the operation that caused it, so it may call back into the hub (for
// Counts, say) but must return quickly: every user's request waits for it.
// Operations running at the same time may be reported in either order.
type Observer interface {
	// SessionStarted: a session of transport connected.
	SessionStarted(transport Transport)
	// SessionEnded: a session of transport ended, and why.
	SessionEnded(transport Transport, why EndReason)
	// MessagePosted: a message of kind was added to a conversation.
	MessagePosted(kind MessageKind)
	// FannedOut: one conversation event was put into the outboxes of
	// recipients members, which took took.
	FannedOut(recipients int, took time.Duration)
	// Dropped: n events were dropped from full outboxes (the sessions are
	// told they missed them).
	Dropped(n int)
	// Refused: a limit or a wrong guess turned a user's request down.
	Refused(why Refusal)
	// Monitor: something the live monitor may show. It never carries the
	// text of a private chat or of a hidden or password-protected room, nor
	// a code.
	Monitor(ev MonitorEvent)
}

// WithObserver reports the hub's activity to o.
func WithObserver(o Observer) Option { return func(h *Hub) { h.watch.obs = o } }

// SetObserver reports the guard's refusals to o (Refused). Call it before
// the guard admits its first connection.
func (g *ConnGuard) SetObserver(o Observer) { g.obs = o }

// EndReason tells why a session ended.
type EndReason uint8

const (
	// EndClosed: the transport closed it, or the user quit.
	EndClosed EndReason = iota + 1
	// EndSlow: the session stayed behind longer than the slow timeout.
	EndSlow
	// EndFlood: the user kept sending while muted for flooding.
	EndFlood
	// EndServer: the server ended every session (shutdown).
	EndServer
	// EndKicked: an operator kicked the user.
	EndKicked
	// EndBanned: an operator banned the user.
	EndBanned
	// EndMoved: the user's session moved to another node (its browser came
	// back through that node); the user goes on there.
	EndMoved
)

func (r EndReason) String() string {
	switch r {
	case EndClosed:
		return "closed"
	case EndSlow:
		return "slow"
	case EndFlood:
		return "flood"
	case EndServer:
		return "server"
	case EndKicked:
		return "kicked"
	case EndBanned:
		return "banned"
	case EndMoved:
		return "moved"
	}
	return "unknown"
}

// Refusal names the limit or check that turned a request down.
type Refusal uint8

const (
	// RefusedMessageRate: a message over the rate limit (warning or mute).
	RefusedMessageRate Refusal = iota + 1
	// RefusedMuted: a message from a user muted for flooding.
	RefusedMuted
	// RefusedGuessRate: a code or password tried after too many wrong ones.
	RefusedGuessRate
	// RefusedWrongCode: /join with a code no one online holds.
	RefusedWrongCode
	// RefusedWrongPassword: a wrong room password.
	RefusedWrongPassword
	// RefusedConnections: a connection from an address that has too many open.
	RefusedConnections
	// RefusedConnectRate: a connection from an address that opened too many
	// in the last minute.
	RefusedConnectRate
	// RefusedBanned: a connection from a banned key or address.
	RefusedBanned
	// RefusedOperatorMute: a message from a user an operator muted.
	RefusedOperatorMute
	// RefusedRenameRate: a rename over the rename limit.
	RefusedRenameRate
	// RefusedPasswordRate: a room password to hash or check after too
	// many in the last minute from the user or the address.
	RefusedPasswordRate
	// RefusedPasswordBusy: a room password to hash or check while the
	// server's password queue is full.
	RefusedPasswordBusy
)

func (r Refusal) String() string {
	switch r {
	case RefusedMessageRate:
		return "message_rate"
	case RefusedMuted:
		return "muted"
	case RefusedGuessRate:
		return "guess_rate"
	case RefusedWrongCode:
		return "wrong_code"
	case RefusedWrongPassword:
		return "wrong_password"
	case RefusedConnections:
		return "connections"
	case RefusedConnectRate:
		return "connect_rate"
	case RefusedBanned:
		return "banned"
	case RefusedOperatorMute:
		return "operator_mute"
	case RefusedRenameRate:
		return "rename_rate"
	case RefusedPasswordRate:
		return "password_rate"
	case RefusedPasswordBusy:
		return "password_busy"
	}
	return "unknown"
}

// MonitorKind names what a MonitorEvent reports.
type MonitorKind uint8

const (
	// MonitorConnected: Name connected over Transport.
	MonitorConnected MonitorKind = iota + 1
	// MonitorDisconnected: Name (of Transport) ended, for reason End.
	MonitorDisconnected
	// MonitorJoined: Name joined Room ("" for a hidden room).
	MonitorJoined
	// MonitorLeft: Name left Room ("" for a hidden room).
	MonitorLeft
	// MonitorRenamed: OldName is now Name.
	MonitorRenamed
	// MonitorMessage: Name posted Text (of MsgKind) in Room, a listed room
	// without a password.
	MonitorMessage
	// MonitorPrivateOpened: a private chat was opened (no one is named).
	MonitorPrivateOpened
	// MonitorPrivateClosed: a private chat ended (no one is named).
	MonitorPrivateClosed
	// MonitorCall: a video call reached stage Call (no one is named).
	MonitorCall
	// MonitorModeration: Operator acted on Name (kick, ban, unban, mute,
	// unmute, message of the day); Text says what, in a line.
	MonitorModeration
)

// MonitorEvent is one line of the operators' live monitor. Which fields
// are set depends on Kind.
type MonitorEvent struct {
	Kind      MonitorKind
	Time      time.Time
	Name      string
	OldName   string
	Transport Transport
	Room      string // with its "#"; "" for a hidden room
	Text      string
	MsgKind   MessageKind
	End       EndReason
	Call      CallStage
	Operator  string
}

// CallStage is a step of a 1:1 video call. The web side, which relays the
// calls, reports them with Hub.ReportCall.
type CallStage uint8

const (
	// CallRinging: a call was offered.
	CallRinging CallStage = iota + 1
	// CallAnswered: the callee accepted.
	CallAnswered
	// CallDeclined: the callee declined, or the caller gave up.
	CallDeclined
	// CallEnded: an answered call hung up.
	CallEnded
)

func (c CallStage) String() string {
	switch c {
	case CallRinging:
		return "ringing"
	case CallAnswered:
		return "answered"
	case CallDeclined:
		return "declined"
	case CallEnded:
		return "ended"
	}
	return "unknown"
}

// ReportCall tells the observer that a call reached stage. The core does
// not relay calls itself; the transport that does reports them here.
func (h *Hub) ReportCall(stage CallStage) {
	if h.watch.obs != nil {
		h.watch.obs.Monitor(MonitorEvent{Kind: MonitorCall, Time: h.now(), Call: stage})
	}
}

// watcher collects what an operation observed while the hub is locked,
// and hands it to the Observer once the lock is released.
type watcher struct {
	obs     Observer // set at creation, never changed
	pending []func(Observer)
	dropped int
}

func (w *watcher) note(f func(Observer)) {
	if w.obs != nil {
		w.pending = append(w.pending, f)
	}
}

// take empties the pending observations; the hub calls it with its lock
// held and runs the result after releasing it.
func (w *watcher) take() []func(Observer) {
	if w.dropped > 0 {
		n := w.dropped
		w.dropped = 0
		w.note(func(o Observer) { o.Dropped(n) })
	}
	p := w.pending
	w.pending = nil
	return p
}

func (w *watcher) run(p []func(Observer)) {
	for _, f := range p {
		f(w.obs)
	}
}

// fanOutStart starts timing a fan-out; it is free without an observer.
func (w *watcher) fanOutStart() time.Time {
	if w.obs == nil {
		return time.Time{}
	}
	return time.Now()
}

func (w *watcher) fannedOut(start time.Time, recipients int) {
	if w.obs == nil {
		return
	}
	took := time.Since(start)
	w.note(func(o Observer) { o.FannedOut(recipients, took) })
}

func (w *watcher) refused(why Refusal) {
	w.note(func(o Observer) { o.Refused(why) })
}

func (w *watcher) posted(kind MessageKind) {
	w.note(func(o Observer) { o.MessagePosted(kind) })
}

func (h *Hub) monitorLocked(ev MonitorEvent) {
	if h.watch.obs == nil {
		return
	}
	ev.Time = h.now()
	h.watch.note(func(o Observer) { o.Monitor(ev) })
}

// observeStartLocked reports a user's arrival: to the metrics if the
// session is this node's, to the monitor wherever it is, so that every
// node's monitor shows the whole cluster.
func (h *Hub) observeStartLocked(u *user) {
	if transport := u.transport; h.isLocal(u) {
		h.watch.note(func(o Observer) { o.SessionStarted(transport) })
	}
	h.monitorLocked(MonitorEvent{Kind: MonitorConnected, Name: u.name, Transport: u.transport})
}

func (h *Hub) observeEndLocked(u *user, why EndReason) {
	if transport := u.transport; h.isLocal(u) {
		h.watch.note(func(o Observer) { o.SessionEnded(transport, why) })
	}
	h.monitorLocked(MonitorEvent{Kind: MonitorDisconnected, Name: u.name, Transport: u.transport, End: why})
}

// publicRoom is the name of c as the monitor may show it: "" for a hidden
// room.
func publicRoom(c *conv) string {
	if c.hidden {
		return ""
	}
	return c.id
}

func (h *Hub) observeJoinLocked(u *user, c *conv) {
	h.monitorLocked(MonitorEvent{Kind: MonitorJoined, Name: u.name, Transport: u.transport, Room: publicRoom(c)})
}

func (h *Hub) observeLeaveLocked(u *user, c *conv) {
	if c.kind == Private {
		h.monitorLocked(MonitorEvent{Kind: MonitorPrivateClosed})
		return
	}
	h.monitorLocked(MonitorEvent{Kind: MonitorLeft, Name: u.name, Transport: u.transport, Room: publicRoom(c)})
}

// observeMessageLocked shows m on the monitor only when everyone may read
// it anyway: in a listed room without a password.
func (h *Hub) observeMessageLocked(c *conv, m *Message) {
	if c.kind != Room || c.hidden || c.passHash != "" {
		return
	}
	h.monitorLocked(MonitorEvent{Kind: MonitorMessage, Name: m.From.Name, Transport: m.From.Transport, Room: c.id, Text: m.Text, MsgKind: m.Kind})
}
