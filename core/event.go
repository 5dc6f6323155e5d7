package core

import "time"

// MessageKind tells how a message is shown.
type MessageKind uint8

const (
	// Text is an ordinary chat line.
	Text MessageKind = iota
	// Action is a /me line: "* alice waves".
	Action
	// System is a notice written by the server: joins, leaves, renames.
	System
)

// Message is one line of a conversation. It is immutable once published and
// shared by every recipient; transports render it per viewer.
type Message struct {
	Seq  uint64 // position in its conversation, increasing
	Conv string
	Time time.Time
	Kind MessageKind
	From Member // zero for System messages
	Text string
}

// Transport is how a user is connected.
type Transport string

const (
	// SSH is a terminal over SSH.
	SSH Transport = "ssh"
	// Web is a browser over a WebSocket.
	Web Transport = "web"
)

// Member identifies a user to others: never by code, which only its owner
// and the people it was shared with know.
type Member struct {
	ID   uint64
	Name string
	// Transport is how the user is connected, shown in member lists.
	Transport Transport
	// KeyTag is KeyTag of the SSH key the user logged in with, "" for
	// none: shown next to the name, it tells same-looking names apart.
	KeyTag string
	// LookAlike is set while another user online has a name that
	// resembles this one ("alice" and "alice_"): a message's author then
	// shows its KeyTag, or that it has none, beside the name.
	LookAlike bool
}

// ConvKind distinguishes rooms from private chats.
type ConvKind uint8

const (
	// Room is a named, possibly shared-by-many conversation.
	Room ConvKind = iota
	// Private is a chat between exactly two users.
	Private
)

// ConvView is one conversation as a given user sees it.
type ConvView struct {
	ID          string
	Kind        ConvKind
	Title       string // "#lobby", or the other person's name
	Description string
	Partner     Member // the other person, for private chats
	// MemberCount is kept current by member events (EventMemberJoined
	// and EventMemberLeft, or EventMemberCount in big rooms);
	// Session.Members lists them when a view needs the names.
	MemberCount int
	History     []*Message
	// OpenedBy is who opened a private chat, in the event that adds it to
	// your conversations; zero otherwise. It lives here rather than in
	// Event so that every queued event stays small.
	OpenedBy Member
}

// EventKind names what an Event reports.
type EventKind uint8

const (
	// EventMessage: Msg was posted in Conv.
	EventMessage EventKind = iota + 1
	// EventConvOpened: View was added to your conversations; View.OpenedBy
	// is who opened it, when someone did (a private chat: you or the other).
	EventConvOpened
	// EventConvClosed: Conv was removed from your conversations; Text says why.
	EventConvClosed
	// EventCurrent: Conv is now your current conversation ("" for none).
	EventCurrent
	// EventMemberJoined: Member joined Conv; Msg is the notice for its log.
	EventMemberJoined
	// EventMemberLeft: Member left Conv; Msg is the notice for its log.
	EventMemberLeft
	// EventRenamed: Member (with its new name) was called Text in Conv.
	EventRenamed
	// EventSelf: your own name is now Member.Name.
	EventSelf
	// EventInfo: command output to show you alone: Text is a title, Lines the body.
	EventInfo
	// EventNotice: a short notice for you alone, such as a warning.
	EventNotice
	// EventMissed: N events meant for you were dropped because you fell behind.
	EventMissed
	// EventClosing: the server is ending your session; Text says why.
	EventClosing
	// EventMemberCount: Conv has N members now. A room bigger than
	// Limits.MemberEventsUpTo sends it, at most once per
	// Limits.MemberCountInterval, instead of EventMemberJoined and
	// EventMemberLeft for the joins and leaves that post no notice.
	EventMemberCount
)

// Event is something a session must show. Which fields are set depends on Kind.
type Event struct {
	Kind   EventKind
	Conv   string
	Msg    *Message
	View   *ConvView
	Member Member
	Text   string
	Lines  []string
	N      int
	// ByYou: the user's own request caused it (a conversation closed
	// because they left it or blocked its other member).
	ByYou bool
}
