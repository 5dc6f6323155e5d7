package webrtcsignal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"
)

// The WebSocket protocol: every frame is one JSON object with a "type"
// field; docs/protocol.md describes each message. Client messages are
// decoded into the typed structs below and checked before anything acts
// on them; server messages are built from typed structs too, never by
// relaying what a client sent.

// Decoder limits. The read limit of the connection bounds the whole frame;
// these bound the fields inside it.
const (
	maxTextBytes      = 16 << 10 // input lines: the core applies its own, smaller, limit
	maxNameBytes      = 256
	maxConvBytes      = 128
	maxCandidateBytes = 2048
)

// clientMessage is one decoded message from a browser.
type clientMessage interface{ clientType() string }

// helloMsg opens a chat session; Name is the name the user would like.
// A resumable session gets a resume secret and outlives its connection
// for the grace period; others (scripts, bots) end with it.
type helloMsg struct {
	Type      string `json:"type"`
	Name      string `json:"name,omitempty"`
	Resumable bool   `json:"resumable,omitempty"`
}

// resumeMsg takes back the user of a tab that reloaded or lost its
// connection; Name is used as hello's when that user is gone.
type resumeMsg struct {
	Type   string `json:"type"`
	Secret string `json:"secret"`
	Name   string `json:"name,omitempty"`
}

// attachMsg opens a call-only session from a one-time call link.
type attachMsg struct {
	Type  string `json:"type"`
	Token string `json:"token"`
}

// inputMsg is a typed line: a command or a message for the current conversation.
type inputMsg struct {
	Type string `json:"type"`
	ID   uint32 `json:"id"`
	Text string `json:"text"`
}

// switchMsg makes a conversation current ("" for none).
type switchMsg struct {
	Type string `json:"type"`
	ID   uint32 `json:"id"`
	Conv string `json:"conv"`
}

// joinMsg joins a room (a click on it), with its password if it has one.
type joinMsg struct {
	Type     string `json:"type"`
	ID       uint32 `json:"id"`
	Room     string `json:"room"`
	Password string `json:"password,omitempty"`
}

// openCodeMsg opens a private chat with the holder of a code, and never
// joins a room, whatever was typed.
type openCodeMsg struct {
	Type string `json:"type"`
	ID   uint32 `json:"id"`
	Code string `json:"code"`
}

// dmMsg opens a private chat with a member of one of the user's rooms.
type dmMsg struct {
	Type string `json:"type"`
	ID   uint32 `json:"id"`
	Name string `json:"name"`
}

// leaveMsg leaves a conversation.
type leaveMsg struct {
	Type string `json:"type"`
	ID   uint32 `json:"id"`
	Conv string `json:"conv"`
}

// membersMsg asks for the members of a conversation.
type membersMsg struct {
	Type string `json:"type"`
	Conv string `json:"conv"`
}

// roomsMsg asks for the listed rooms.
type roomsMsg struct {
	Type string `json:"type"`
}

// callInviteMsg starts a call in a private chat.
type callInviteMsg struct {
	Type string `json:"type"`
	ID   uint32 `json:"id"`
	Conv string `json:"conv"`
}

// callActionMsg is accept, decline, hang up or an ICE-restart request.
type callActionMsg struct {
	Type string `json:"type"` // which of the four
	Call string `json:"call"`
}

// mediaMsg says which of the sender's microphone and camera are on.
type mediaMsg struct {
	Type  string `json:"type"` // "call-media"
	Call  string `json:"call"`
	Audio bool   `json:"audio"`
	Video bool   `json:"video"`
}

// sdpMsg is an offer or an answer.
type sdpMsg struct {
	Type string `json:"type"` // "call-offer" or "call-answer"
	Call string `json:"call"`
	SDP  string `json:"sdp"`
}

// iceMsg carries one trickled ICE candidate.
type iceMsg struct {
	Type      string       `json:"type"`
	Call      string       `json:"call"`
	Candidate iceCandidate `json:"candidate"`
}

// iceCandidate mirrors RTCIceCandidateInit.
type iceCandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

func (m helloMsg) clientType() string      { return m.Type }
func (m resumeMsg) clientType() string     { return m.Type }
func (m attachMsg) clientType() string     { return m.Type }
func (m inputMsg) clientType() string      { return m.Type }
func (m switchMsg) clientType() string     { return m.Type }
func (m joinMsg) clientType() string       { return m.Type }
func (m openCodeMsg) clientType() string   { return m.Type }
func (m dmMsg) clientType() string         { return m.Type }
func (m leaveMsg) clientType() string      { return m.Type }
func (m membersMsg) clientType() string    { return m.Type }
func (m roomsMsg) clientType() string      { return m.Type }
func (m callInviteMsg) clientType() string { return m.Type }
func (m callActionMsg) clientType() string { return m.Type }
func (m mediaMsg) clientType() string      { return m.Type }
func (m sdpMsg) clientType() string        { return m.Type }
func (m iceMsg) clientType() string        { return m.Type }

// errProtocol marks a frame that breaks the protocol.
var errProtocol = errors.New("protocol error")

func protoErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errProtocol}, args...)...)
}

// decode parses and checks one client frame. maxSDP bounds offers and answers.
func decode(data []byte, maxSDP int) (clientMessage, error) {
	// encoding/json would quietly turn bad bytes into U+FFFD.
	if !utf8.Valid(data) {
		return nil, protoErr("frame is not valid UTF-8")
	}
	var env struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, protoErr("not a JSON object")
	}
	// encoding/json keeps the last of two equal keys; another reader
	// may keep the first, and the two would not agree on what was sent.
	if key := duplicateKey(json.NewDecoder(bytes.NewReader(data))); key != "" {
		return nil, protoErr("duplicate field %q", clip(key))
	}
	var msg clientMessage
	var err error
	switch env.Type {
	case "hello":
		var m helloMsg
		if err = strictUnmarshal(data, &m); err == nil {
			err = checkString("name", m.Name, maxNameBytes)
		}
		msg = m
	case "resume":
		var m resumeMsg
		if err = strictUnmarshal(data, &m); err == nil {
			err = checkString("name", m.Name, maxNameBytes)
		}
		if err == nil && !isToken(m.Secret) {
			err = protoErr("bad secret")
		}
		msg = m
	case "attach":
		var m attachMsg
		if err = strictUnmarshal(data, &m); err == nil {
			err = checkToken(m.Token)
		}
		msg = m
	case "input":
		var m inputMsg
		if err = strictUnmarshal(data, &m); err == nil {
			err = checkString("text", m.Text, maxTextBytes)
		}
		msg = m
	case "switch":
		var m switchMsg
		if err = strictUnmarshal(data, &m); err == nil {
			err = checkString("conv", m.Conv, maxConvBytes)
		}
		msg = m
	case "join":
		var m joinMsg
		if err = strictUnmarshal(data, &m); err == nil {
			err = errors.Join(checkString("room", m.Room, maxConvBytes), checkString("password", m.Password, maxNameBytes))
		}
		msg = m
	case "open-code":
		var m openCodeMsg
		if err = strictUnmarshal(data, &m); err == nil {
			err = checkString("code", m.Code, maxNameBytes)
		}
		msg = m
	case "dm":
		var m dmMsg
		if err = strictUnmarshal(data, &m); err == nil {
			err = checkString("name", m.Name, maxNameBytes)
		}
		msg = m
	case "leave":
		var m leaveMsg
		if err = strictUnmarshal(data, &m); err == nil {
			err = checkString("conv", m.Conv, maxConvBytes)
		}
		msg = m
	case "members":
		var m membersMsg
		if err = strictUnmarshal(data, &m); err == nil {
			err = checkString("conv", m.Conv, maxConvBytes)
		}
		msg = m
	case "rooms":
		var m roomsMsg
		err = strictUnmarshal(data, &m)
		msg = m
	case "call-invite":
		var m callInviteMsg
		if err = strictUnmarshal(data, &m); err == nil {
			err = checkString("conv", m.Conv, maxConvBytes)
		}
		msg = m
	case "call-accept", "call-decline", "call-hangup", "call-restart", "call-failed":
		var m callActionMsg
		if err = strictUnmarshal(data, &m); err == nil {
			err = checkCallID(m.Call)
		}
		msg = m
	case "call-media":
		var m mediaMsg
		if err = strictUnmarshal(data, &m); err == nil {
			err = checkCallID(m.Call)
		}
		msg = m
	case "call-offer", "call-answer":
		var m sdpMsg
		if err = strictUnmarshal(data, &m); err == nil {
			err = checkCallID(m.Call)
		}
		if err == nil {
			err = checkString("sdp", m.SDP, maxSDP)
		}
		if err == nil && m.SDP == "" {
			err = protoErr("empty sdp")
		}
		msg = m
	case "call-ice":
		var m iceMsg
		if err = strictUnmarshal(data, &m); err == nil {
			err = checkCallID(m.Call)
		}
		if err == nil {
			err = checkCandidate(m.Candidate)
		}
		msg = m
	case "":
		return nil, protoErr("missing type")
	default:
		return nil, protoErr("unknown type %q", clip(env.Type))
	}
	if err != nil {
		return nil, err
	}
	return msg, nil
}

// strictUnmarshal decodes one object into v, refusing unknown fields
// (decode has already refused trailing data).
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return protoErr("%s must be %s, not %s", clip(typeErr.Field), jsonKind(typeErr.Type), typeErr.Value)
		}
		return protoErr("%s", clip(strings.TrimPrefix(err.Error(), "json: ")))
	}
	return nil
}

// jsonKind names what a JSON value must be to fill a field of type t, in
// the client's terms rather than Go's.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("a whole number from %d to %d", -(int64(1) << (t.Bits() - 1)), int64(1)<<(t.Bits()-1)-1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("a whole number from 0 to %d", uint64(1)<<t.Bits()-1)
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	}
	return "an object"
}

// duplicateKey reads one JSON value from dec and returns the first key
// that appears twice in one of its objects, or "". Malformed input gives
// "": the decoding that follows refuses it.
func duplicateKey(dec *json.Decoder) string {
	tok, err := dec.Token()
	if err != nil {
		return ""
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			key, ok := k.(string)
			if err != nil || !ok {
				return ""
			}
			if seen[key] {
				return key
			}
			seen[key] = true
			if dup := duplicateKey(dec); dup != "" {
				return dup
			}
		}
		dec.Token()
	case json.Delim('['):
		for dec.More() {
			if dup := duplicateKey(dec); dup != "" {
				return dup
			}
		}
		dec.Token()
	}
	return ""
}

func checkString(field, s string, max int) error {
	if len(s) > max {
		return protoErr("%s longer than %d bytes", field, max)
	}
	return nil
}

// Call IDs and link tokens are what the server made: base32 text, in a
// cluster with the home node's name (up to 32 bytes) at the end.
func isToken(s string) bool {
	if len(s) < 16 || len(s) > 96 {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= '2' && r <= '7') {
			return false
		}
	}
	return true
}

func checkCallID(s string) error {
	if !isToken(s) {
		return protoErr("bad call id")
	}
	return nil
}

func checkToken(s string) error {
	if !isToken(s) {
		return protoErr("bad token")
	}
	return nil
}

func checkCandidate(c iceCandidate) error {
	if err := checkString("candidate", c.Candidate, maxCandidateBytes); err != nil {
		return err
	}
	for _, p := range []*string{c.SDPMid, c.UsernameFragment} {
		if p != nil {
			if err := checkString("candidate", *p, 256); err != nil {
				return err
			}
		}
	}
	return nil
}

// clip shortens text from a client before it goes into an error message.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "?")
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.ToValidUTF8(s, "")
}
