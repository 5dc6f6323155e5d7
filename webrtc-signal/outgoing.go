package webrtcsignal

import (
	"parley/core"
)

// Server messages. Each has a "type" and typed fields; user text travels
// as plain strings for the client to insert with textContent.

type memberJSON struct {
	ID        uint64         `json:"id"`
	Name      string         `json:"name"`
	Transport core.Transport `json:"transport"`
	KeyTag    string         `json:"keyTag,omitempty"`    // of an SSH user's key
	LookAlike bool           `json:"lookAlike,omitempty"` // someone online has a resembling name
}

type messageJSON struct {
	Seq  uint64     `json:"seq"`
	Conv string     `json:"conv"`
	Time int64      `json:"time"` // Unix milliseconds
	Kind string     `json:"kind"` // "text", "action" or "system"
	From memberJSON `json:"from"`
	Text string     `json:"text"`
}

type viewJSON struct {
	ID          string        `json:"id"`
	Kind        string        `json:"kind"` // "room" or "private"
	Title       string        `json:"title"`
	Description string        `json:"description,omitempty"`
	Partner     *memberJSON   `json:"partner,omitempty"`
	MemberCount int           `json:"memberCount"`
	History     []messageJSON `json:"history"`
}

type roomJSON struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Members     int    `json:"members"`
	MaxMembers  int    `json:"maxMembers,omitempty"`
	Locked      bool   `json:"locked,omitempty"`
}

type commandJSON struct {
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
	Args    string   `json:"args,omitempty"`
	Help    string   `json:"help"`
}

type welcomeOut struct {
	Type     string        `json:"type"` // "welcome"
	Self     memberJSON    `json:"self"`
	Code     string        `json:"code"`
	Welcome  string        `json:"welcome"`
	Commands []commandJSON `json:"commands"`
	Rooms    []roomJSON    `json:"rooms"`
	// Resume is a new user's resume secret, for the tab to keep.
	Resume string `json:"resume,omitempty"`
	// Resumed says the user came back: a resync with its state follows.
	Resumed bool `json:"resumed,omitempty"`
}

type resultOut struct {
	Type  string `json:"type"` // "result"
	ID    uint32 `json:"id"`
	Error string `json:"error,omitempty"`
}

type messageOut struct {
	Type string      `json:"type"` // "message"
	Msg  messageJSON `json:"msg"`
}

type convOpenedOut struct {
	Type string      `json:"type"` // "conv-opened"
	View viewJSON    `json:"view"`
	By   *memberJSON `json:"by,omitempty"` // who opened it, when someone did
}

type convClosedOut struct {
	Type  string `json:"type"` // "conv-closed"
	Conv  string `json:"conv"`
	Text  string `json:"text"`
	ByYou bool   `json:"byYou,omitempty"` // the user left or blocked
}

type currentOut struct {
	Type string `json:"type"` // "current"
	Conv string `json:"conv"`
}

type memberEventOut struct {
	Type   string       `json:"type"` // "member-joined", "member-left" or "renamed"
	Conv   string       `json:"conv"`
	Member memberJSON   `json:"member"`
	Old    string       `json:"old,omitempty"` // the former name, for "renamed"
	Msg    *messageJSON `json:"msg,omitempty"`
}

type memberCountOut struct {
	Type  string `json:"type"` // "member-count"
	Conv  string `json:"conv"`
	Count int    `json:"count"`
}

type selfOut struct {
	Type string     `json:"type"` // "self"
	Self memberJSON `json:"self"`
}

type infoOut struct {
	Type  string   `json:"type"` // "info"
	Title string   `json:"title"`
	Lines []string `json:"lines"`
}

type textOut struct {
	Type string `json:"type"` // "notice", "closing" or "error"
	Text string `json:"text"`
}

type resyncOut struct {
	Type    string     `json:"type"` // "resync"
	Missed  int        `json:"missed"`
	Convs   []viewJSON `json:"convs"`
	Current string     `json:"current"`
}

type membersOut struct {
	Type    string       `json:"type"` // "members"
	Conv    string       `json:"conv"`
	Members []memberJSON `json:"members"`
}

type roomsOut struct {
	Type  string     `json:"type"` // "rooms"
	Rooms []roomJSON `json:"rooms"`
}

func toMember(m core.Member) memberJSON {
	return memberJSON{ID: m.ID, Name: m.Name, Transport: m.Transport, KeyTag: m.KeyTag, LookAlike: m.LookAlike}
}

func toMessage(m *core.Message) messageJSON {
	kind := "text"
	switch m.Kind {
	case core.Action:
		kind = "action"
	case core.System:
		kind = "system"
	}
	return messageJSON{Seq: m.Seq, Conv: m.Conv, Time: m.Time.UnixMilli(), Kind: kind, From: toMember(m.From), Text: m.Text}
}

func toView(v *core.ConvView) viewJSON {
	out := viewJSON{ID: v.ID, Kind: "room", Title: v.Title, Description: v.Description, MemberCount: v.MemberCount, History: make([]messageJSON, 0, len(v.History))}
	if v.Kind == core.Private {
		out.Kind = "private"
		p := toMember(v.Partner)
		out.Partner = &p
	}
	for _, m := range v.History {
		out.History = append(out.History, toMessage(m))
	}
	return out
}

func toRooms(rs []core.RoomInfo) []roomJSON {
	out := make([]roomJSON, 0, len(rs))
	for _, r := range rs {
		out = append(out, roomJSON{Name: r.Name, Description: r.Description, Members: r.Members, MaxMembers: r.MaxMembers, Locked: r.Locked})
	}
	return out
}

func toMembers(ms []core.Member) []memberJSON {
	out := make([]memberJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, toMember(m))
	}
	return out
}

func commandList(cmds []core.Command) []commandJSON {
	out := make([]commandJSON, 0, len(cmds))
	for _, c := range cmds {
		out = append(out, commandJSON{Name: c.Name, Aliases: c.Aliases, Args: c.Args, Help: c.Help})
	}
	return out
}

// fromEvent turns a core event into the message for the browser. EventMissed
// is handled by the connection (it resynchronises), so it maps to nil.
func fromEvent(ev core.Event) any {
	switch ev.Kind {
	case core.EventMessage:
		return messageOut{Type: "message", Msg: toMessage(ev.Msg)}
	case core.EventConvOpened:
		out := convOpenedOut{Type: "conv-opened", View: toView(ev.View)}
		if ev.View.OpenedBy.ID != 0 {
			by := toMember(ev.View.OpenedBy)
			out.By = &by
		}
		return out
	case core.EventConvClosed:
		return convClosedOut{Type: "conv-closed", Conv: ev.Conv, Text: ev.Text, ByYou: ev.ByYou}
	case core.EventCurrent:
		return currentOut{Type: "current", Conv: ev.Conv}
	case core.EventMemberJoined, core.EventMemberLeft, core.EventRenamed:
		t := map[core.EventKind]string{core.EventMemberJoined: "member-joined", core.EventMemberLeft: "member-left", core.EventRenamed: "renamed"}[ev.Kind]
		out := memberEventOut{Type: t, Conv: ev.Conv, Member: toMember(ev.Member)}
		if ev.Kind == core.EventRenamed {
			out.Old = ev.Text
		}
		if ev.Msg != nil {
			m := toMessage(ev.Msg)
			out.Msg = &m
		}
		return out
	case core.EventMemberCount:
		return memberCountOut{Type: "member-count", Conv: ev.Conv, Count: ev.N}
	case core.EventSelf:
		return selfOut{Type: "self", Self: toMember(ev.Member)}
	case core.EventInfo:
		lines := ev.Lines
		if lines == nil {
			lines = []string{}
		}
		return infoOut{Type: "info", Title: ev.Text, Lines: lines}
	case core.EventNotice:
		return textOut{Type: "notice", Text: ev.Text}
	case core.EventClosing:
		return textOut{Type: "closing", Text: ev.Text}
	}
	return nil
}
