package webrtcsignal

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Calls between nodes. A call lives in the registry of its caller's node,
// its home, which runs its state machine alone. Call IDs and link tokens
// end with the home node's name, so any node can tell where a call lives.
// A party whose browser is on another node is a remote endpoint there:
// what the home sends it, and what that browser sends the call, travel as
// relays through the hub's shared log (Hub.Relay, Calls.Relayed), which
// keeps their order. A node with no cluster never makes or meets either.

// relay kinds.
const (
	relayOut      = "out"      // Msg, a server message, is for browser To
	relayIn       = "in"       // Msg is browser From's message about a call homed at the receiver
	relayAttach   = "attach"   // browser From opened link Token, homed at the receiver
	relayAttached = "attached" // the answer to an attach: Self, or Err
	relayGone     = "gone"     // browser From went away
	relayInform   = "inform"   // Title and Lines are for terminal user User
	relayBusy     = "busy"     // browser From is in another call than Call
)

// relayMsg is what one node's registry tells another's.
type relayMsg struct {
	Kind  string          `json:"k"`
	To    string          `json:"to,omitempty"`
	From  string          `json:"from,omitempty"`
	Token string          `json:"token,omitempty"`
	Msg   json.RawMessage `json:"msg,omitempty"`
	Self  *memberJSON     `json:"self,omitempty"`
	Err   string          `json:"err,omitempty"`
	User  uint64          `json:"user,omitempty"`
	Title string          `json:"title,omitempty"`
	Lines []string        `json:"lines,omitempty"`
	Call  string          `json:"call,omitempty"`
	// End says Msg ends the call for To.
	End bool `json:"end,omitempty"`
}

// remoteEndpoint is a browser on another node, known there as key: "u"
// and the ID of a web user, or a link's browser's handle.
type remoteEndpoint struct {
	r    *registry
	node string
	key  string
}

// deliver sends msg to the browser through the hub. The hub's Relay never
// blocks, so this may run with the registry's lock held.
func (e remoteEndpoint) deliver(msg any) {
	data, err := json.Marshal(msg)
	if err != nil {
		return // server messages are plain structs: this cannot happen
	}
	_, end := msg.(callEndedOut)
	e.r.send(e.node, 0, relayMsg{Kind: relayOut, To: e.key, Msg: data, End: end})
}

// awayParty is a browser of this node in a call homed elsewhere.
type awayParty struct {
	key  string // how the home knows it
	home string
	call string
	conv string // the call's private chat, once the home named it
}

// attachAnswer is a home's answer to a link opened on this node.
type attachAnswer struct {
	self memberJSON
	err  string
}

// randLen is the length of rand.Text's output, which IDs begin with.
const randLen = 26

var nodeTag = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID is a call ID or link token that names this node as its home.
func (r *registry) newID() string {
	return rand.Text() + nodeTag.EncodeToString([]byte(r.node))
}

// elsewhere returns the home node of a call ID or token when it is not
// this one, and "" when it is.
func (r *registry) elsewhere(id string) string {
	if r.node == "" || len(id) <= randLen {
		return ""
	}
	home, err := nodeTag.DecodeString(id[randLen:])
	if err != nil || string(home) == r.node {
		return ""
	}
	return string(home)
}

// send hands m to node's registry; user is the local user it is sent for.
func (r *registry) send(node string, user uint64, m relayMsg) {
	data, err := json.Marshal(m)
	if err != nil {
		return
	}
	r.hub.Relay(node, user, string(data))
}

// remoteWeb is the endpoint of web user id when they are on another node,
// or nil.
func (r *registry) remoteWeb(id uint64) endpoint {
	if r.node == "" {
		return nil
	}
	if node := r.hub.Elsewhere(id); node != "" {
		return remoteEndpoint{r, node, "u" + strconv.FormatUint(id, 10)}
	}
	return nil
}

// openLink makes ep the browser of the party a call link is for,
// wherever that call lives.
func (r *registry) openLink(token string, ep endpoint) (memberJSON, error) {
	if home := r.elsewhere(token); home != "" {
		return r.attachElsewhere(home, token, ep)
	}
	self, err := r.attach(token, ep)
	return toMember(self), err
}

// inform shows n to its terminal user, on whichever node they are.
func (r *registry) inform(n note) {
	if r.node != "" {
		if node := r.hub.Elsewhere(n.user); node != "" {
			r.send(node, 0, relayMsg{Kind: relayInform, User: n.user, Title: n.title, Lines: n.lines})
			return
		}
	}
	r.hub.Inform(n.user, n.title, n.lines)
}

// forward sends a browser's message about a call homed elsewhere to its
// home, and reports whether it did. A browser may speak only of calls its
// home told it of.
func (r *registry) forward(ep endpoint, call string, msg clientMessage) bool {
	home := r.elsewhere(call)
	if home == "" {
		return false
	}
	r.mu.Lock()
	a, ok := r.away[ep]
	r.mu.Unlock()
	if !ok {
		if _, action := msg.(callActionMsg); action {
			ep.deliver(callEndedOut{Type: "call-ended", Call: call, Reason: "gone", Text: "that call has ended"})
		}
		return true // signaling is dropped, as for a call here
	}
	data, err := json.Marshal(msg)
	if err == nil {
		r.send(home, 0, relayMsg{Kind: relayIn, From: a.key, Msg: data})
	}
	return true
}

// attachElsewhere opens, for ep, a link homed at node home, and waits for
// the home's answer.
func (r *registry) attachElsewhere(home, token string, ep endpoint) (memberJSON, error) {
	handle := "g" + rand.Text()
	answer := make(chan attachAnswer, 1)
	r.mu.Lock()
	r.guests[handle] = ep
	r.away[ep] = awayParty{key: handle, home: home}
	r.waiting[handle] = answer
	r.mu.Unlock()
	r.send(home, 0, relayMsg{Kind: relayAttach, From: handle, Token: token})
	timer := time.NewTimer(r.cfg.attachWait)
	defer timer.Stop()
	var a attachAnswer
	select {
	case a = <-answer:
	case <-timer.C:
		a.err = "the call's server did not answer: try the link again"
	}
	r.mu.Lock()
	delete(r.waiting, handle)
	if a.err != "" {
		delete(r.guests, handle)
		delete(r.away, ep)
	}
	r.mu.Unlock()
	if a.err != "" {
		return memberJSON{}, errors.New(a.err)
	}
	return a.self, nil
}

// Relayed implements core.Calls: node from's registry sent payload.
func (r *registry) Relayed(from, payload string) {
	var m relayMsg
	if err := json.Unmarshal([]byte(payload), &m); err != nil {
		return
	}
	switch m.Kind {
	case relayOut:
		r.deliverHere(from, m)
	case relayIn:
		msg, err := decode(m.Msg, r.cfg.maxSDP)
		if err == nil {
			r.act(remoteEndpoint{r, from, m.From}, msg)
		}
	case relayAttach:
		ep := remoteEndpoint{r, from, m.From}
		self, err := r.attach(m.Token, ep)
		answer := relayMsg{Kind: relayAttached, To: m.From}
		if err != nil {
			answer.Err = err.Error()
		} else {
			mj := toMember(self)
			answer.Self = &mj
		}
		r.send(from, 0, answer)
	case relayAttached:
		r.mu.Lock()
		answer := r.waiting[m.To]
		r.mu.Unlock()
		if answer != nil {
			a := attachAnswer{err: m.Err}
			if m.Self != nil {
				a.self = *m.Self
			} else if a.err == "" {
				a.err = "this call link is not valid"
			}
			select {
			case answer <- a:
			default: // answered already
			}
		}
	case relayGone:
		r.detach(remoteEndpoint{r, from, m.From})
	case relayInform:
		r.hub.Inform(m.User, m.Title, m.Lines)
	case relayBusy:
		r.refuseBusy(remoteEndpoint{r, from, m.From}, m.Call)
	}
}

// deliverHere passes a home's server message to the browser of this node
// it is for.
func (r *registry) deliverHere(home string, m relayMsg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ep := r.guests[m.To]
	if ep == nil && strings.HasPrefix(m.To, "u") {
		if id, err := strconv.ParseUint(m.To[1:], 10, 64); err == nil {
			ep = r.web(id)
		}
	}
	if ep == nil {
		return // the browser has gone; its home hears it from the chat
	}
	a, known := r.away[ep]
	var head struct{ Type, Call, Conv string }
	json.Unmarshal(m.Msg, &head) // server messages: the home built them
	if head.Type == "call-incoming" && (r.byEP[ep] != nil || known && a.call != "" && a.call != head.Call) {
		r.send(home, 0, relayMsg{Kind: relayBusy, From: m.To, Call: head.Call})
		return
	}
	switch {
	case m.End && !known:
		return // ended here already, with its private chat
	case m.End:
		delete(r.away, ep)
		delete(r.guests, m.To)
	default:
		if a.call != head.Call {
			a = awayParty{call: head.Call}
		}
		a.key, a.home = m.To, home
		if head.Conv != "" {
			a.conv = head.Conv
		}
		r.away[ep] = a
	}
	ep.deliver(m.Msg)
}

// busyLocked says whether user is in a call: one of this node's, or, from
// a browser here, one that lives elsewhere.
func (r *registry) busyLocked(user uint64) bool {
	if r.byUser[user] != nil {
		return true
	}
	if r.node == "" {
		return false
	}
	ep := r.web(user)
	_, away := r.away[ep]
	return ep != nil && away
}

// refuseBusy ends a call still ringing whose callee, ep on another node,
// turned out to be in another call there.
func (r *registry) refuseBusy(ep endpoint, id string) {
	r.mu.Lock()
	var notes []note
	defer func() { r.unlock(notes) }()
	c, me, _ := r.lookup(ep, id)
	if c != nil && me == c.parties[1] && c.state == ringing {
		notes = r.end(c, "busy", me)
	}
}

// endAwayLocked ends, for this node's browsers, the calls homed elsewhere
// in the private chat conv, which has closed. The home ends them too, and
// says so, unless it has died: then no one else would.
func (r *registry) endAwayLocked(conv string) {
	for ep, a := range r.away {
		if a.conv != conv {
			continue
		}
		delete(r.away, ep)
		if r.guests[a.key] == ep {
			delete(r.guests, a.key)
		}
		ep.deliver(callEndedOut{Type: "call-ended", Call: a.call, Reason: "chat-closed", Text: endText("chat-closed", false, "", 0, false)})
	}
}

// leftAway tells the home of a call ep took part in that ep has gone.
func (r *registry) leftAway(ep endpoint) {
	r.mu.Lock()
	a, ok := r.away[ep]
	delete(r.away, ep)
	if ok && r.guests[a.key] == ep {
		delete(r.guests, a.key)
	}
	r.mu.Unlock()
	if ok {
		r.send(a.home, 0, relayMsg{Kind: relayGone, From: a.key})
	}
}
